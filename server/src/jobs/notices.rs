//! The end-user notice job: starts refresh-notice sequences and sends their
//! reminders ([`crate::mail::notices`]), once a minute by default. The mail
//! itself goes out through the mail job.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::mail::notices;
use crate::state::AppState;

pub async fn run(
    state: AppState,
    every: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    super::every(every, &shutdown, || async {
        match notices::run_once(&state).await {
            Ok(0) => {}
            Ok(mails) => tracing::info!(mails, "end-user notices queued"),
            Err(error) => tracing::error!(error = format!("{error:#}"), "end-user notices failed"),
        }
    })
    .await;
    Ok(())
}
