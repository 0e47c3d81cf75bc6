//! Gridlink's server, in floors: each folder imports only the floors below it
//! (`docs/architecture.md` draws them).
//!
//! - [`infra`]: configuration errors, the database, crypto, clocks, outgoing
//!   connections, mail transport, the utility connector.
//! - [`domain`]: credentials and their lifecycle, syncs, notices, webhooks,
//!   incidents, organisations — over a narrow [`domain::ctx::Ctx`].
//! - [`jobs`]: the background workers that drive the domain.
//! - [`http`]: the router, the request handlers and everything a request meets.
//! - [`app`]: the command line, configuration assembly, start and shutdown.
//! - [`tools`]: the sandbox utilities and the adapter conformance kit.

// The OpenAPI document is one large `serde_json::json!` literal.
#![recursion_limit = "256"]

pub mod app;
pub mod domain;
pub mod http;
pub mod infra;
pub mod jobs;
pub mod tools;
