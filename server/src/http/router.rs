//! The HTTP application: every feature's router merged under `/api`, the web
//! app for everything else, and the layers that apply to all of it.

use axum::http::{Method, Uri};
use axum::{middleware, Router};
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::http::{
    api_keys, connect, credentials, embed, health, idempotency, incidents, openapi, operators,
    organisations, rate_limit, security_headers, spa, webhooks,
};

/// Builds the whole application; tests call this without a socket too.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .merge(health::router())
        .merge(operators::router())
        .merge(api_keys::router())
        .merge(credentials::router())
        .merge(incidents::router())
        .merge(crate::http::adapters::router())
        .merge(crate::http::adapter_protocol::router())
        .merge(connect::router())
        .merge(openapi::router())
        .merge(organisations::router())
        .merge(webhooks::router())
        .merge(crate::http::unsubscribe::router())
        .merge(crate::http::lifetimes::router())
        .merge(crate::http::notice_funnel::router())
        .fallback(api_route_not_found)
        .method_not_allowed_fallback(api_method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::honour_idempotency_keys,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit_clients,
        ));

    let web_app = Router::new()
        .merge(embed::router())
        // A browser opens the page; a mail client's one-click POST unsubscribes.
        .route(
            "/unsubscribe/{token}",
            axum::routing::post(crate::http::unsubscribe::unsubscribe)
                .fallback_service(state.spa.service()),
        )
        .fallback_service(state.spa.service())
        .layer(middleware::from_fn(spa::cache_static_files));

    Router::new()
        .nest("/api", api)
        .merge(web_app)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers::set_security_headers,
        ))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span every request's log lines carry: its method and path, with any
/// link token in the path (`/connect/gct_…`, `/unsubscribe/gus_…`,
/// `/dashboard/set-password/gol_…`) cut, so no log level shows one.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %redact_tokens(request.uri().path()),
    )
}

fn redact_tokens(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment.split_once('_') {
            Some((prefix @ ("gct" | "glk" | "gls" | "gus" | "gol"), _)) => format!("{prefix}_…"),
            _ => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn api_route_not_found(method: Method, uri: Uri) -> ApiError {
    tracing::debug!(%method, %uri, "no API route");
    ApiError::NotFound("The API endpoint")
}

async fn api_method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
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
