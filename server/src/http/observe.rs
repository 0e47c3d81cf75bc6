//! Every request observed: a span (continuing the caller's W3C trace, named
//! by its route template, carrying a request id that the response repeats in
//! `X-Request-Id`) and a duration in
//! [`crate::infra::metrics::HTTP_REQUEST_DURATION`] by method, route template
//! and status class. Paths appear only with link tokens cut ([`redact_tokens`]);
//! metric labels only as templates, never with ids.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::infra::metrics::HTTP_REQUEST_DURATION;
use crate::infra::trace_context;

/// The middleware, layered on the whole router (so routes are matched).
pub async fn observe_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = route_template(&request);
    let request_id = next_request_id();
    let span = tracing::info_span!(
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        path = %redact_tokens(request.uri().path()),
        http.response.status_code = tracing::field::Empty,
        request_id = %request_id,
        trace_id = tracing::field::Empty,
    );
    trace_context::continue_from(&span, request.headers());
    if let Some(trace_id) = trace_context::trace_id(&span)
        .or_else(|| trace_context::incoming_trace_id(request.headers()))
    {
        span.record("trace_id", trace_id);
    }
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    let elapsed = started.elapsed();
    span.in_scope(|| tracing::debug!(status = status.as_u16(), ?elapsed, "request finished"));
    if crate::infra::metrics::enabled() {
        metrics::histogram!(
            HTTP_REQUEST_DURATION,
            &[
                ("method", method.as_str().to_owned()),
                ("route", route),
                ("status_class", format!("{}xx", status.as_u16() / 100)),
            ]
        )
        .record(elapsed);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// `req_` + this process's random prefix + a counter: unique across
/// replicas and restarts, and cheap enough for every request.
fn next_request_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        let id = crate::infra::tokens::new_id("req");
        id[..16].to_owned()
    });
    format!("{prefix}{:08x}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The route's template (`/api/v1/credentials/{id}`); requests no route
/// matched are grouped as the API's or the web app's.
fn route_template(request: &Request) -> String {
    match request.extensions().get::<MatchedPath>() {
        Some(matched) => matched.as_str().to_owned(),
        None if request.uri().path().starts_with("/api/") => "/api/{unmatched}".to_owned(),
        None => "/{web_app}".to_owned(),
    }
}

/// A path with any link token (`/connect/gct_…`, `/unsubscribe/gus_…`,
/// `/dashboard/set-password/gol_…`) cut, so no log line or span shows one.
pub fn redact_tokens(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment.split_once('_') {
            Some((prefix @ ("gct" | "glk" | "gls" | "gus" | "gol"), _)) => format!("{prefix}_…"),
            _ => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_paths_are_cut_from_logs() {
        assert_eq!(redact_tokens("/connect/gct_abcDEF123"), "/connect/gct_…");
        assert_eq!(
            redact_tokens("/api/unsubscribe/gus_abc"),
            "/api/unsubscribe/gus_…"
        );
        assert_eq!(
            redact_tokens("/api/password-reset/gol_abc"),
            "/api/password-reset/gol_…"
        );
        assert_eq!(
            redact_tokens("/api/v1/credentials/cred_1/sync"),
            "/api/v1/credentials/cred_1/sync"
        );
    }
}
