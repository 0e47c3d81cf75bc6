//! The sync worker: syncs every connected credential whose `next_sync_at`
//! has passed. A worker claims a batch with a lease (`sync_lease_until`;
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL), so replicas share the work
//! without syncing a credential twice at once, and a crashed worker's batch
//! is picked up again once its lease runs out.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::state::AppState;
use crate::store::DatabaseKind;
use crate::sync::{self, SyncOutcome};

const ACTOR: &str = "job:sync";
/// Syncs running at once in this process.
const CONCURRENCY: usize = 16;

pub async fn run(
    state: AppState,
    poll: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let wakeup = Arc::clone(&state.wakeups.syncs);
    super::run_claimed(
        state,
        poll,
        shutdown,
        wakeup,
        CONCURRENCY,
        |state, limit| async move { claim_due(&state, limit).await },
        |state, credential_id| async move { run_one(&state, &credential_id).await },
    )
    .await
}

async fn run_one(state: &AppState, credential_id: &str) {
    match sync::sync(state, credential_id, ACTOR).await {
        Ok(SyncOutcome::Synced {
            new_accounts,
            new_statements,
        }) => tracing::debug!(credential_id, new_accounts, new_statements, "synced"),
        Ok(outcome) => tracing::info!(credential_id, ?outcome, "sync did not complete"),
        Err(error) => {
            tracing::error!(credential_id, error = format!("{error:#}"), "sync failed");
            // Not lost: the lease runs out and the sync is tried again.
        }
    }
}

/// Claims up to `limit` credentials whose sync is due.
async fn claim_due(state: &AppState, limit: usize) -> anyhow::Result<Vec<String>> {
    let now = state.clock.now_ms();
    let lease_until = now + state.settings.jobs.lease.whole_milliseconds() as i64;
    let skip_locked = match state.db.kind() {
        DatabaseKind::Postgres => "FOR UPDATE SKIP LOCKED",
        DatabaseKind::Sqlite => "",
    };
    let claimed: Vec<(String,)> = sqlx::query_as(&format!(
        "UPDATE credentials SET sync_lease_until = $1 \
         WHERE id IN (SELECT id FROM credentials WHERE next_sync_at <= $2 \
                        AND (sync_lease_until IS NULL OR sync_lease_until <= $2) \
                      ORDER BY next_sync_at LIMIT {limit} {skip_locked}) \
           AND (sync_lease_until IS NULL OR sync_lease_until <= $2) \
         RETURNING id"
    ))
    .bind(lease_until)
    .bind(now)
    .fetch_all(state.db.pool())
    .await?;
    Ok(claimed.into_iter().map(|(id,)| id).collect())
}
