//! Utility incidents: when a large share of one utility's recent calls fail
//! for availability reasons, Gridlink opens one incident for it instead of
//! letting thousands of credentials fail on their own. While it is open the
//! overview shows a banner, Connect warns end-users choosing the utility,
//! syncs to it wait (one probe sync at a time tests whether it is back), and
//! each organisation with credentials there gets one UTILITY_INCIDENT_OPENED
//! and later one UTILITY_INCIDENT_RESOLVED webhook.
//!
//! [`tally`] counts the calls; the incident watch job opens, probes and
//! resolves; this module holds the rules and the announcements, and
//! [`recovery_alerts`] the end-users who asked to hear when it is fixed.

pub mod recovery_alerts;
pub mod tally;

use std::collections::HashMap;

use serde_json::json;
use shared::webhooks::WebhookEventType;
use sqlx::AnyConnection;

use crate::domain::webhooks::outbox::{self, Message};
use crate::infra::clock::readable;
use crate::infra::store::Database;

/// The calls an incident looks at: the last ten minutes.
pub const WINDOW_MS: i64 = 10 * 60_000;
/// Fewer calls than this in the window never open an incident.
pub const MIN_CALLS: i64 = 20;
/// An incident opens when at least this share of the window's calls failed
/// (failures × DENOMINATOR ≥ calls × NUMERATOR).
pub const FAILURE_SHARE: (i64, i64) = (1, 2);
/// How often one probe sync tries the utility while the incident is open.
pub const PROBE_EVERY_MS: i64 = 30_000;
/// Successful probes in a row that resolve an incident.
pub const PROBES_TO_RESOLVE: i64 = 2;

/// Whether `failures` of `calls` in the window are enough to open an incident.
pub fn is_failing(calls: i64, failures: i64) -> bool {
    let (numerator, denominator) = FAILURE_SHARE;
    calls >= MIN_CALLS && failures * denominator >= calls * numerator
}

/// Utilities with an open incident, and since when each is failing.
pub async fn open_incidents(db: &Database) -> Result<HashMap<String, i64>, sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT utility_id, failing_since FROM utility_incidents WHERE resolved_at IS NULL",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().collect())
}

/// An incident's change, told to every organisation with active credentials
/// at the utility (each with its own count), in the transaction that made it.
pub struct Announcement<'a> {
    pub event_type: WebhookEventType,
    pub incident_id: &'a str,
    pub utility_id: &'a str,
    pub utility_name: &'a str,
    pub failing_since: i64,
    pub opened_at: i64,
    pub resolved_at: Option<i64>,
}

pub async fn announce(
    connection: &mut AnyConnection,
    announcement: &Announcement<'_>,
    now_ms: i64,
) -> Result<u64, sqlx::Error> {
    let organisations: Vec<(String, i64)> = sqlx::query_as(
        "SELECT organisation_id, COUNT(*) FROM credentials WHERE utility_id = $1 \
           AND deactivated_at IS NULL GROUP BY organisation_id",
    )
    .bind(announcement.utility_id)
    .fetch_all(&mut *connection)
    .await?;
    let message = match announcement.resolved_at {
        None => format!(
            "{} is not answering since {}.",
            announcement.utility_name,
            readable(announcement.failing_since)
        ),
        Some(resolved_at) => format!(
            "{} answers again since {}; its credentials resume by themselves.",
            announcement.utility_name,
            readable(resolved_at)
        ),
    };
    let messages: Vec<Message<'_>> = organisations
        .iter()
        .map(|(organisation_id, affected)| Message {
            organisation_id,
            credential_id: None,
            event_type: announcement.event_type,
            data: json!({
                "incidentId": announcement.incident_id,
                "utilityId": announcement.utility_id,
                "utilityName": announcement.utility_name,
                "failingSince": outbox::rfc3339(announcement.failing_since),
                "openedAt": outbox::rfc3339(announcement.opened_at),
                "resolvedAt": announcement.resolved_at.map(outbox::rfc3339),
                "affectedCredentials": affected,
                "message": message,
            }),
            // Only the incident watch opens and resolves incidents.
            actor: "job:incident_watch",
        })
        .collect();
    outbox::enqueue_many(connection, &messages, now_ms).await
}
