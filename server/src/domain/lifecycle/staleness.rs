//! Stale credentials (see `jobs::staleness`): flagged once with a
//! CREDENTIAL_STALE event and webhook, cleared by the next successful sync
//! with one CREDENTIAL_RECOVERED.

use serde_json::json;
use shared::webhooks::WebhookEventType;
use shared::StatusDetail;
use sqlx::AnyConnection;

use super::events::{record_event, record_event_and_notify, EventKind, NewEvent};
use crate::domain::credentials::store::CredentialRow;
use crate::domain::ctx::Ctx;
use crate::domain::webhooks::outbox::{self, CredentialRef};
use crate::infra::clock::readable;

/// A credential the check flagged.
#[derive(sqlx::FromRow)]
struct FlaggedRow {
    id: String,
    organisation_id: String,
    utility_id: String,
    correlation_id: Option<String>,
    status_detail: String,
    last_synced_at: Option<i64>,
}

/// How many credentials one [`flag_batch`] flags at most.
pub const BATCH: usize = 1000;

/// Flags up to [`BATCH`] credentials that went stale, each with its event and
/// webhook; returns how many.
pub async fn flag_batch(ctx: &Ctx, actor: &str) -> anyhow::Result<usize> {
    let now = ctx.clock.now_ms();
    let cutoff = now - ctx.settings.jobs.stale_after.whole_milliseconds() as i64;
    let skip_locked = ctx.db.skip_locked();
    let syncable = StatusDetail::ALL
        .into_iter()
        .filter(|detail| detail.is_syncable())
        .map(|detail| format!("'{detail}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut tx = ctx.db.begin_write().await?;
    let flagged: Vec<FlaggedRow> = sqlx::query_as(&format!(
        "UPDATE credentials SET stale_since = $1 \
         WHERE id IN (SELECT id FROM credentials WHERE stale_since IS NULL AND deactivated_at IS NULL \
                        AND last_fresh_at <= $2 AND status_detail IN ({syncable}) \
                      ORDER BY last_fresh_at LIMIT {BATCH} {skip_locked}) \
           AND stale_since IS NULL \
         RETURNING id, organisation_id, utility_id, correlation_id, status_detail, last_synced_at"
    ))
    .bind(now)
    .bind(cutoff)
    .fetch_all(&mut *tx)
    .await?;
    let mut messages = Vec::with_capacity(flagged.len());
    for FlaggedRow {
        id,
        organisation_id,
        utility_id,
        correlation_id,
        status_detail,
        last_synced_at,
    } in &flagged
    {
        let message = match last_synced_at {
            Some(at) => format!(
                "Stale: no data since {}; syncs have not succeeded since then.",
                readable(*at)
            ),
            None => "Stale: connected, but no sync has succeeded yet.".to_owned(),
        };
        let credential = CredentialRef {
            id,
            organisation_id,
            utility_id,
            correlation_id: correlation_id.as_deref(),
        };
        let event = NewEvent::notice(&credential, EventKind::CredentialStale, actor, &message);
        record_event(&mut tx, &event, now).await?;
        let detail = StatusDetail::parse(status_detail)
            .unwrap_or(StatusDetail::LoginAndDataDiscoverySuccessful);
        messages.push(credential.message(
            WebhookEventType::CredentialStale,
            credential.data(
                detail,
                json!({
                    "lastSyncedAt": last_synced_at.map(outbox::rfc3339),
                    "staleSince": outbox::rfc3339(now),
                    "message": message,
                }),
            ),
            actor,
        ));
    }
    outbox::enqueue_many(&mut tx, &messages, now).await?;
    tx.commit().await?;
    Ok(flagged.len())
}

/// Clears the stale flag (set at `stale_since`) after a successful sync, with
/// one CREDENTIAL_RECOVERED event and webhook. Run it in the sync's
/// transaction; the guarded UPDATE makes it announce a recovery only once.
pub async fn recovered(
    connection: &mut AnyConnection,
    row: &CredentialRow,
    stale_since: i64,
    actor: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let cleared =
        sqlx::query("UPDATE credentials SET stale_since = NULL WHERE id = $1 AND stale_since = $2")
            .bind(&row.id)
            .bind(stale_since)
            .execute(&mut *connection)
            .await?;
    if cleared.rows_affected() == 0 {
        return Ok(());
    }
    let message = "Recovered: data synced again after the credential went stale.";
    let credential = row.reference();
    let event = NewEvent::notice(&credential, EventKind::CredentialRecovered, actor, message);
    let data = credential.data(
        StatusDetail::LoginAndDataDiscoverySuccessful,
        json!({"staleSince": outbox::rfc3339(stale_since), "lastSyncedAt": outbox::rfc3339(now_ms), "message": message}),
    );
    let webhook = credential.message(WebhookEventType::CredentialRecovered, data, actor);
    record_event_and_notify(connection, &event, &webhook, now_ms).await?;
    Ok(())
}
