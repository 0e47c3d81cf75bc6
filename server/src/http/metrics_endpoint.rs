//! `GET /metrics` on the metrics listener (`GRIDLINK_METRICS_LISTEN`): the
//! Prometheus text format, with the database's figures read at each scrape
//! and the jobs' lag worked out then.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::domain::ctx::Ctx;

#[derive(Clone)]
struct Scrape {
    ctx: Ctx,
    handle: PrometheusHandle,
}

/// The metrics listener's whole application.
pub fn router(ctx: Ctx, handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .with_state(Scrape { ctx, handle })
}

async fn render(State(scrape): State<Scrape>) -> Response {
    if let Err(error) = crate::domain::gauges::refresh(&scrape.ctx).await {
        // The process's own figures are still worth having: the database ones keep their last value.
        tracing::warn!(%error, "metrics: cannot read the database's figures");
    }
    crate::jobs::runs::report_lag();
    scrape.handle.run_upkeep();
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        scrape.handle.render(),
    )
        .into_response()
}
