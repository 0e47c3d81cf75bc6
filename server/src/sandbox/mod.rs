//! The sandbox utilities: real HTTP services that behave like utilities with
//! MFA and expiring session tokens.

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub fn router() -> Router {
    Router::new()
}

/// Serves the sandbox on `listener` until `shutdown` is cancelled.
pub async fn serve(listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
    axum::serve(listener, router())
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .context("The sandbox server failed")
}
