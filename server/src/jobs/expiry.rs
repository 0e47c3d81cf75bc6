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

use tokio_util::sync::CancellationToken;

use crate::domain::ctx::Ctx;
use crate::domain::lifecycle::expiry;
use crate::infra::clock::Clock;
use crate::infra::store::outage;
use crate::infra::store::Database;

const ACTOR: &str = "job:expiry_sweep";
const MESSAGE: &str = "The session token expired; the end-user must verify again.";

pub async fn run(ctx: Ctx, every: Duration, shutdown: CancellationToken) -> anyhow::Result<()> {
    super::every(
        super::Cadence::new("expiry_sweep", every),
        &shutdown,
        || async {
            match warn_expiring_tokens(&ctx.db, &ctx.clock, ctx.settings.jobs.expiry_warning).await
            {
                Ok(0) => {}
                Ok(warned) => tracing::info!(warned, "warned about session tokens expiring soon"),
                Err(error) => outage::job_failed("expiry warnings", &error),
            }
            match sweep_expired_tokens(&ctx.db, &ctx.clock).await {
                Ok(0) => {}
                Ok(flagged) => {
                    tracing::info!(flagged, "expiry sweep flagged credentials for MFA refresh");
                    ctx.wakeups.notices.notify_one();
                }
                Err(error) => outage::job_failed("expiry sweep", &error),
            }
        },
    )
    .await;
    Ok(())
}

/// Flags every expired token now; returns how many credentials this call moved.
pub async fn sweep_expired_tokens(db: &Database, clock: &Clock) -> anyhow::Result<u64> {
    let mut flagged = 0;
    loop {
        let moved = expiry::sweep_batch(db, clock, ACTOR, MESSAGE).await?;
        flagged += moved as u64;
        if moved < expiry::BATCH {
            return Ok(flagged);
        }
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
        let batch = expiry::warn_batch(db, clock, ahead, WARNING_ACTOR).await?;
        warned += batch as u64;
        if batch < expiry::BATCH {
            return Ok(warned);
        }
    }
}
