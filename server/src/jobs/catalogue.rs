//! Reads every adapter's catalogue every few minutes, so a utility an adapter
//! adds shows up (and one it drops stops being offered) without anyone asking.
//! Credentials of a dropped utility are kept: their syncs wait for it.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::jobs::JobCtx;

pub async fn run(ctx: JobCtx, every: Duration, shutdown: CancellationToken) -> anyhow::Result<()> {
    super::every(
        super::Cadence::new("catalogue_refresh", every),
        &shutdown,
        || async {
            if let Err(error) = ctx.utilities.refresh().await {
                tracing::warn!(%error, "no utility adapter answered the catalogue refresh");
            }
        },
    )
    .await;
    Ok(())
}
