//! Stale credentials: a credential that is connected (or waiting for its
//! utility to answer again) yet has had no successful sync for
//! `GRIDLINK_STALE_AFTER` is flagged once, with a CREDENTIAL_STALE event and
//! webhook. The next successful sync clears the flag with a
//! CREDENTIAL_RECOVERED event and webhook.
//!
//! The clock starts at the later of the last successful sync and the last
//! connection (`last_fresh_at`), so a credential that has just reconnected
//! after weeks without a token is not stale before its first sync.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::domain::ctx::Ctx;
use crate::domain::lifecycle::staleness;

const ACTOR: &str = "job:staleness";

pub async fn run(ctx: Ctx, every: Duration, shutdown: CancellationToken) -> anyhow::Result<()> {
    super::every(
        super::Cadence::new("staleness_check", every),
        &shutdown,
        || async {
            match flag_stale_credentials(&ctx).await {
                Ok(0) => {}
                Ok(flagged) => {
                    tracing::warn!(flagged, "credentials flagged stale: no data for too long")
                }
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "staleness check failed")
                }
            }
        },
    )
    .await;
    Ok(())
}

/// Flags every credential that went stale; returns how many this call flagged.
pub async fn flag_stale_credentials(ctx: &Ctx) -> anyhow::Result<u64> {
    let mut flagged = 0;
    loop {
        let batch = staleness::flag_batch(ctx, ACTOR).await?;
        flagged += batch as u64;
        if batch < staleness::BATCH {
            return Ok(flagged);
        }
    }
}
