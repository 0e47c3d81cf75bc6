//! The end-user notice job: starts refresh-notice sequences and sends their
//! reminders ([`crate::domain::mail::notices`]), once a minute and at once when a
//! credential is flagged or given a contact. The mail itself goes out
//! through the mail job.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::domain::mail::notices;
use crate::infra::store::outage;
use crate::jobs::JobCtx;

pub async fn run(ctx: JobCtx, every: Duration, shutdown: CancellationToken) -> anyhow::Result<()> {
    let wakeup = std::sync::Arc::clone(&ctx.wakeups.notices);
    let cadence = super::Cadence::new("notices", every);
    loop {
        let run = cadence.start();
        match notices::run_once(&ctx, &ctx.utilities)
            .instrument(cadence.span())
            .await
        {
            Ok(0) => {}
            Ok(mails) => tracing::info!(mails, "end-user notices queued"),
            Err(error) => outage::job_failed("end-user notices", &error),
        }
        run.finished();
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = wakeup.notified() => {}
            () = tokio::time::sleep(every) => {}
        }
    }
}
