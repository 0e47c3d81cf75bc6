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
    let sync = sync::sync(state, credential_id, ACTOR);
    tokio::pin!(sync);
    // A slow utility can make a sync outlast its lease; renewing it while the
    // sync runs keeps another replica from starting the same sync meanwhile.
    let renew_every: Duration = state.settings.jobs.lease.unsigned_abs() / 3;
    let mut renewals =
        tokio::time::interval_at(tokio::time::Instant::now() + renew_every, renew_every);
    let outcome = loop {
        tokio::select! {
            outcome = &mut sync => break outcome,
            _ = renewals.tick() => {
                if let Err(error) = renew_lease(state, credential_id).await {
                    tracing::warn!(credential_id, error = format!("{error:#}"), "cannot renew a sync lease");
                }
            }
        }
    };
    match outcome {
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

/// Extends the lease of a sync still running (a finished one has none left to extend).
async fn renew_lease(state: &AppState, credential_id: &str) -> Result<(), sqlx::Error> {
    let lease_until = state.clock.now_ms() + state.settings.jobs.lease.whole_milliseconds() as i64;
    sqlx::query(
        "UPDATE credentials SET sync_lease_until = $1 WHERE id = $2 AND sync_lease_until IS NOT NULL",
    )
    .bind(lease_until)
    .bind(credential_id)
    .execute(state.db.pool())
    .await?;
    Ok(())
}

/// Claims up to `limit` credentials whose sync is due. Credentials of a
/// utility with an open incident wait: the incident watch probes it instead.
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
                        AND utility_id NOT IN (SELECT utility_id FROM utility_incidents WHERE resolved_at IS NULL) \
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
