//! The body of `GET /api/health` (liveness) and `GET /api/ready` (readiness).

use serde::{Deserialize, Serialize};

/// Whether the server and the things it depends on are working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `"ok"` when every check passed, `"degraded"` otherwise.
    pub status: String,
    /// Readiness: `"ok"` when the database answered a query and accepted a write;
    /// otherwise `"unreachable"` or `"not writable"` (a full disk, a read-only
    /// replica). Liveness: `"not checked"`.
    pub database: String,
    /// `"sqlite"` or `"postgres"`.
    pub database_kind: String,
    /// The server's version (its Cargo package version).
    pub version: String,
    /// True when the server runs in demo mode (generated key, demo data).
    pub demo: bool,
}
