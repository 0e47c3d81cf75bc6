//! The expiry sweep's writes (see `jobs::expiry`): expired tokens moved to
//! MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED in batches, and tokens about
//! to expire warned about once.

use serde_json::json;
use shared::webhooks::WebhookEventType;
use shared::StatusDetail;

use super::events::{record_event, EventKind, NewEvent};
use crate::domain::webhooks::outbox::{self, CredentialRef, Message};
use crate::infra::clock::{from_ms, Clock};
use crate::infra::store::{Database, DatabaseKind};

/// SQLite: a batch touches far more pages than a request; its connection may
/// cache 16 MiB of them while it runs, and gives them back before it commits
/// (a batch that fails has them given back when the writer is next taken,
/// `store::take_writer`).
const BULK_CACHE: &str = "PRAGMA cache_size = -16384";

/// Credentials one batch moves or warns at most.
pub const BATCH: usize = 1000;

/// Moves up to [`BATCH`] connected credentials whose token expired to
/// REFRESH_REQUIRED, with their events and STATUS_CHANGE webhooks; returns how
/// many. The guarded UPDATE reports exactly the rows it moved, so racing
/// sweeps move each credential once.
pub async fn sweep_batch(
    db: &Database,
    clock: &Clock,
    actor: &str,
    message: &str,
) -> anyhow::Result<usize> {
    let now = clock.now_ms();
    let connected = StatusDetail::LoginAndDataDiscoverySuccessful.as_str();
    let refresh = StatusDetail::MultiFactorAuthenticationRefreshRequired.as_str();
    let mut tx = db.begin_write().await?;
    let set = "status_detail = $1, updated_at = $2, failure_message = $3, sealed_session_token = NULL, \
               next_sync_at = NULL, sync_lease_until = NULL, repair_needed_since = COALESCE(repair_needed_since, $2)";
    // The status is written out (not bound) so SQLite can use the partial index.
    let due = |columns: &str| {
        format!(
            "SELECT {columns} FROM credentials \
             WHERE status_detail = '{connected}' AND token_expires_at <= $2 AND deactivated_at IS NULL \
               AND token_expiry_predicted = 0 \
             ORDER BY token_expires_at LIMIT {BATCH}"
        )
    };
    let moved: Vec<MovedRow> = match db.kind() {
        // Concurrent sweeps skip each other's rows instead of waiting, and
        // the guarded UPDATE reports exactly the rows it moved.
        DatabaseKind::Postgres => {
            sqlx::query_as(&format!(
                "UPDATE credentials SET {set} WHERE id IN ({} FOR UPDATE SKIP LOCKED) \
                   AND status_detail = '{connected}' RETURNING id, organisation_id, utility_id, correlation_id",
                due("id")
            ))
            .bind(refresh)
            .bind(now)
            .bind(message)
            .fetch_all(&mut *tx)
            .await?
        }
        // SQLite hands every row a statement returns from its own thread, one
        // by one, at the cost of two thread switches each: the batch comes
        // back as one JSON row, and is moved by its ids. The transaction holds
        // the only write lock, so nothing else moves these rows in between.
        DatabaseKind::Sqlite => {
            sqlx::query(BULK_CACHE).execute(&mut *tx).await?;
            let (due_rows,): (String,) = sqlx::query_as(&format!(
                "SELECT COALESCE(json_group_array(json_array(id, organisation_id, utility_id, correlation_id)), '[]') \
                 FROM ({}) AS due",
                due("id, organisation_id, utility_id, correlation_id")
            ))
            .bind(refresh) // `$1` is the UPDATE's; `due` reads `$2`.
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let due_rows: Vec<MovedRow> = serde_json::from_str(&due_rows)?;
            let ids: Vec<&str> = due_rows.iter().map(|(id, ..)| id.as_str()).collect();
            let updated = sqlx::query(&format!(
                "UPDATE credentials SET {set} WHERE id IN (SELECT value FROM json_each($4)) \
                   AND status_detail = '{connected}'"
            ))
            .bind(refresh)
            .bind(now)
            .bind(message)
            .bind(serde_json::to_string(&ids)?)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            anyhow::ensure!(
                updated == due_rows.len() as u64,
                "the expiry sweep moved {updated} of {} credentials it selected",
                due_rows.len()
            );
            due_rows
        }
    };
    if moved.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    // `[credential_id, organisation_id]` per event.
    let event_rows: Vec<(&str, &str)> = moved
        .iter()
        .map(|(id, organisation_id, ..)| (id.as_str(), organisation_id.as_str()))
        .collect();
    sqlx::query(&format!(
        "INSERT INTO credential_events (credential_id, organisation_id, kind, from_detail, to_detail, actor, message, created_at) \
         SELECT value ->> 0, value ->> 1, 'STATUS_CHANGE', $1, $2, $3, $4, $5 FROM {}",
        crate::infra::store::sql::json_rows(&tx, "$6")
    ))
    .bind(connected)
    .bind(refresh)
    .bind(actor)
    .bind(message)
    .bind(now)
    .bind(serde_json::to_string(&event_rows)?)
    .execute(&mut *tx)
    .await?;
    // A stated expiry reached is a token's observed life too.
    crate::domain::lifetimes::record_expired(&mut tx, &serde_json::to_string(&event_rows)?).await?;
    let credentials: Vec<CredentialRef<'_>> = moved.iter().map(credential_ref).collect();
    let messages: Vec<Message<'_>> = credentials
        .iter()
        .map(|credential| {
            let data = credential.data(
                StatusDetail::MultiFactorAuthenticationRefreshRequired,
                json!({"previousStatusDetail": connected, "message": message}),
            );
            credential.message(WebhookEventType::StatusChange, data, actor)
        })
        .collect();
    outbox::enqueue_many(&mut tx, &messages, now).await?;
    if db.kind() == DatabaseKind::Sqlite {
        sqlx::query(crate::infra::store::SQLITE_CACHE)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    for (id, ..) in &moved {
        tracing::debug!(
            credential_id = id,
            actor,
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

/// One SESSION_TOKEN_EXPIRING event and webhook for up to [`BATCH`] connected
/// credentials whose token expires within `ahead` and was not warned about;
/// returns how many.
pub async fn warn_batch(
    db: &Database,
    clock: &Clock,
    ahead: time::Duration,
    actor: &str,
) -> anyhow::Result<usize> {
    let now = clock.now_ms();
    let connected = StatusDetail::LoginAndDataDiscoverySuccessful;
    let skip_locked = db.skip_locked();
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
        let credential = CredentialRef {
            id,
            organisation_id,
            utility_id,
            correlation_id: correlation_id.as_deref(),
        };
        let event = NewEvent::notice(
            &credential,
            EventKind::SessionTokenExpiring,
            actor,
            &message,
        );
        record_event(&mut tx, &event, now).await?;
        let expires_text = expires
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        messages.push(credential.message(
            WebhookEventType::SessionTokenExpiring,
            credential.data(connected, json!({"tokenExpiresAt": expires_text})),
            actor,
        ));
    }
    outbox::enqueue_many(&mut tx, &messages, now).await?;
    tx.commit().await?;
    Ok(warned.len())
}
