//! The HTTP application: every feature's router merged under `/api`, the web
//! app for everything else, and the layers that apply to all of it.

use axum::http::{Method, Uri};
use axum::{middleware, Router};
use tower_http::compression::CompressionLayer;

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::http::{
    api_keys, audit, connect, credentials, embed, health, idempotency, incidents, observe, openapi,
    operators, organisations, rate_limit, security_headers, spa, webhooks,
};

/// Builds the whole application; tests call this without a socket too.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .merge(health::router())
        .merge(operators::router())
        .merge(api_keys::router())
        .merge(audit::router())
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
        .merge(crate::http::single_sign_on::router())
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
        .layer(middleware::from_fn(observe::observe_requests))
        .with_state(state)
}

async fn api_route_not_found(method: Method, uri: Uri) -> ApiError {
    tracing::debug!(%method, %uri, "no API route");
    ApiError::NotFound("The API endpoint")
}

async fn api_method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
