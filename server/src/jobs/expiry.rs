//! The expiry sweep: every connected credential whose session token's expiry
//! has passed moves to MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED, with one
//! event and one STATUS_CHANGE webhook each, even when several sweeps (or
//! replicas) race. Before that, a configurable time ahead of the expiry, each
//! token gets one SESSION_TOKEN_EXPIRING event and webhook.
//!
//! It works in batches: one guarded `UPDATE … RETURNING` moves a batch and
//! reports exactly the rows it moved, and the events for those rows are
//! inserted in the same transaction. A racing sweep's UPDATE finds those rows
//! no longer connected and returns nothing for them.

use std::time::Duration;

use shared::StatusDetail;
use tokio_util::sync::CancellationToken;

use serde_json::json;
use shared::webhooks::WebhookEventType;

use crate::clock::{from_ms, Clock};
use crate::credentials::status::{record_event, NewEvent};
use crate::state::AppState;
use crate::store::{Database, DatabaseKind};
use crate::webhooks::outbox::{self, CredentialRef, Message};

const ACTOR: &str = "job:expiry_sweep";
const MESSAGE: &str = "The session token expired; the end-user must verify again.";
const BATCH: usize = 1000;

pub async fn run(
    state: AppState,
    every: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    super::every(every, &shutdown, || async {
        match warn_expiring_tokens(&state.db, &state.clock, state.settings.jobs.expiry_warning)
            .await
        {
            Ok(0) => {}
            Ok(warned) => tracing::info!(warned, "warned about session tokens expiring soon"),
            Err(error) => tracing::error!(error = format!("{error:#}"), "expiry warnings failed"),
        }
        match sweep_expired_tokens(&state.db, &state.clock).await {
            Ok(0) => {}
            Ok(flagged) => {
                tracing::info!(flagged, "expiry sweep flagged credentials for MFA refresh")
            }
            Err(error) => tracing::error!(error = format!("{error:#}"), "expiry sweep failed"),
        }
    })
    .await;
    Ok(())
}

/// Flags every expired token now; returns how many credentials this call moved.
pub async fn sweep_expired_tokens(db: &Database, clock: &Clock) -> anyhow::Result<u64> {
    let mut flagged = 0;
    loop {
        let moved = sweep_batch(db, clock).await?;
        flagged += moved as u64;
        if moved < BATCH {
            return Ok(flagged);
        }
    }
}

async fn sweep_batch(db: &Database, clock: &Clock) -> anyhow::Result<usize> {
    let now = clock.now_ms();
    let connected = StatusDetail::LoginAndDataDiscoverySuccessful.as_str();
    let refresh = StatusDetail::MultiFactorAuthenticationRefreshRequired.as_str();
    // Concurrent PostgreSQL sweeps take different rows instead of waiting.
    let skip_locked = match db.kind() {
        DatabaseKind::Postgres => "FOR UPDATE SKIP LOCKED",
        DatabaseKind::Sqlite => "",
    };
    let mut tx = db.begin_write().await?;
    // The status is written out (not bound) so SQLite can use the partial index.
    let moved: Vec<MovedRow> = sqlx::query_as(&format!(
        "UPDATE credentials SET status_detail = $1, updated_at = $2, failure_message = $3, sealed_session_token = NULL, \
           next_sync_at = NULL, sync_lease_until = NULL, repair_needed_since = COALESCE(repair_needed_since, $2) \
         WHERE id IN (SELECT id FROM credentials WHERE status_detail = '{connected}' AND token_expires_at <= $2 \
                        AND deactivated_at IS NULL ORDER BY token_expires_at LIMIT {BATCH} {skip_locked}) \
           AND status_detail = '{connected}' \
         RETURNING id, organisation_id, utility_id, correlation_id"
    ))
    .bind(refresh)
    .bind(now)
    .bind(MESSAGE)
    .fetch_all(&mut *tx)
    .await?;
    for chunk in moved.chunks(250) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|index| {
                format!(
                    "(${}, ${}, 'STATUS_CHANGE', $1, $2, $3, $4, $5)",
                    6 + 2 * index,
                    7 + 2 * index
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO credential_events (credential_id, organisation_id, kind, from_detail, to_detail, actor, message, created_at) VALUES {}",
            rows.join(", ")
        );
        let mut insert = sqlx::query(&sql)
            .bind(connected)
            .bind(refresh)
            .bind(ACTOR)
            .bind(MESSAGE)
            .bind(now);
        for (id, organisation_id, ..) in chunk {
            insert = insert.bind(id.as_str()).bind(organisation_id.as_str());
        }
        insert.execute(&mut *tx).await?;
    }
    let credentials: Vec<CredentialRef<'_>> = moved.iter().map(credential_ref).collect();
    let messages: Vec<Message<'_>> = credentials
        .iter()
        .map(|credential| {
            let data = credential.data(
                StatusDetail::MultiFactorAuthenticationRefreshRequired,
                json!({"previousStatusDetail": connected, "message": MESSAGE}),
            );
            credential.message(WebhookEventType::StatusChange, data)
        })
        .collect();
    outbox::enqueue_many(&mut tx, &messages, now).await?;
    tx.commit().await?;
    for (id, ..) in &moved {
        tracing::debug!(
            credential_id = id,
            actor = ACTOR,
            "credential status changed to {refresh}"
        );
    }
    Ok(moved.len())
}

/// A credential the sweep moved: id, organisation_id, utility_id, correlation_id.
type MovedRow = (String, String, String, Option<String>);

fn credential_ref(
    (id, organisation_id, utility_id, correlation_id): &MovedRow,
) -> CredentialRef<'_> {
    CredentialRef {
        id,
        organisation_id,
        utility_id,
        correlation_id: correlation_id.as_deref(),
    }
}

const WARNING_ACTOR: &str = "job:expiry_warning";

/// Sends one SESSION_TOKEN_EXPIRING event and webhook for every connected
/// credential whose token expires within `ahead`; returns how many it warned.
/// A token is warned about once: the mark is cleared only by a new token.
pub async fn warn_expiring_tokens(
    db: &Database,
    clock: &Clock,
    ahead: time::Duration,
) -> anyhow::Result<u64> {
    let mut warned = 0;
    loop {
        let batch = warn_batch(db, clock, ahead).await?;
        warned += batch as u64;
        if batch < BATCH {
            return Ok(warned);
        }
    }
}

async fn warn_batch(db: &Database, clock: &Clock, ahead: time::Duration) -> anyhow::Result<usize> {
    let now = clock.now_ms();
    let connected = StatusDetail::LoginAndDataDiscoverySuccessful;
    let skip_locked = match db.kind() {
        DatabaseKind::Postgres => "FOR UPDATE SKIP LOCKED",
        DatabaseKind::Sqlite => "",
    };
    let mut tx = db.begin_write().await?;
    let warned: Vec<(String, String, String, Option<String>, i64)> = sqlx::query_as(&format!(
        "UPDATE credentials SET expiry_warned_at = $1 \
         WHERE id IN (SELECT id FROM credentials WHERE expiry_warned_at IS NULL \
                        AND status_detail = '{connected}' AND token_expires_at <= $2 AND token_expires_at > $1 \
                        AND deactivated_at IS NULL ORDER BY token_expires_at LIMIT {BATCH} {skip_locked}) \
           AND expiry_warned_at IS NULL \
         RETURNING id, organisation_id, utility_id, correlation_id, token_expires_at",
        connected = connected.as_str()
    ))
    .bind(now)
    .bind(now + ahead.whole_milliseconds() as i64)
    .fetch_all(&mut *tx)
    .await?;
    let mut messages = Vec::with_capacity(warned.len());
    for (id, organisation_id, utility_id, correlation_id, expires_at) in &warned {
        let expires = from_ms(*expires_at);
        let message = format!(
            "The session token expires on {} at {:02}:{:02} UTC; refresh MFA before then to keep data flowing.",
            expires.date(),
            expires.hour(),
            expires.minute()
        );
        let event = NewEvent {
            credential_id: id,
            organisation_id,
            kind: "SESSION_TOKEN_EXPIRING",
            change: None,
            actor: WARNING_ACTOR,
            message: &message,
        };
        record_event(&mut tx, &event, now).await?;
        let credential = CredentialRef {
            id,
            organisation_id,
            utility_id,
            correlation_id: correlation_id.as_deref(),
        };
        let expires_text = expires
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        messages.push(credential.message(
            WebhookEventType::SessionTokenExpiring,
            credential.data(connected, json!({"tokenExpiresAt": expires_text})),
        ));
    }
    outbox::enqueue_many(&mut tx, &messages, now).await?;
    tx.commit().await?;
    Ok(warned.len())
}
