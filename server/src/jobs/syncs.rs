//! The sync worker: syncs every connected credential whose `next_sync_at`
//! has passed. A worker claims a batch with a lease (`sync_lease_until`;
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL), so replicas share the work
//! without syncing a credential twice at once, and a crashed worker's batch
//! is picked up again once its lease runs out.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::domain::lifecycle::syncs;
use crate::domain::lifecycle::syncs::SyncOutcome;
use crate::domain::sync;
use crate::jobs::JobCtx;

const ACTOR: &str = "job:sync";

pub async fn run(ctx: JobCtx, poll: Duration, shutdown: CancellationToken) -> anyhow::Result<()> {
    let wakeup = Arc::clone(&ctx.wakeups.syncs);
    let concurrency = ctx.settings.jobs.sync_concurrency;
    super::run_claimed(
        ctx,
        super::Cadence::new("syncs", poll),
        shutdown,
        wakeup,
        concurrency,
        |ctx, limit| async move { syncs::claim_due(&ctx, limit).await },
        |ctx, credential_id| async move { run_one(&ctx, &credential_id).await },
    )
    .await
}

async fn run_one(ctx: &JobCtx, credential_id: &str) {
    let sync = sync::sync(ctx, ctx.utility.as_ref(), credential_id, ACTOR);
    tokio::pin!(sync);
    // A slow utility can make a sync outlast its lease; renewing it while the
    // sync runs keeps another replica from starting the same sync meanwhile.
    let renew_every: Duration = ctx.settings.jobs.lease.unsigned_abs() / 3;
    let mut renewals =
        tokio::time::interval_at(tokio::time::Instant::now() + renew_every, renew_every);
    let outcome = loop {
        tokio::select! {
            outcome = &mut sync => break outcome,
            _ = renewals.tick() => {
                if let Err(error) = syncs::renew_lease(ctx, credential_id).await {
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
