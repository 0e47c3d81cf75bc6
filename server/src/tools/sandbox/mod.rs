//! The sandbox utilities: real HTTP services that behave like utilities with
//! MFA and expiring session tokens, with an outbox of "sent" codes and admin
//! knobs. `gridlink serve` runs them on their own port; `gridlink sandbox`
//! runs them alone. The protocol is in [`crate::infra::utility::protocol`].

mod admin;
mod bills;
mod bills_routes;
pub mod catalog;
mod contact;
mod error;
mod login;
mod mail;
mod outbox;
mod pages;
mod signatures;
mod state;

use anyhow::Context;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{middleware, Router};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

use crate::infra::utility::protocol::{UtilityErrorKind, UtilityInfo};
use catalog::{find_utility, SandboxUtility, UTILITIES};
use error::{Json, SandboxError};
pub use state::{Sandbox, SandboxOptions};

/// The sandbox application with fresh state.
pub fn router() -> Router {
    router_with(Sandbox::default())
}

pub fn router_with(sandbox: Sandbox) -> Router {
    let utility_calls = Router::new()
        .route("/api/utilities/{utility}/login", post(login::log_in))
        .route(
            "/api/utilities/{utility}/mfa/{challenge}/send",
            post(login::send_code),
        )
        .route(
            "/api/utilities/{utility}/mfa/{challenge}/verify",
            post(login::verify_code),
        )
        .route(
            "/api/utilities/{utility}/accounts",
            get(bills_routes::list_accounts),
        )
        .route(
            "/api/utilities/{utility}/accounts/{account}/statements",
            get(bills_routes::list_statements),
        )
        .route_layer(middleware::from_fn_with_state(
            sandbox.clone(),
            admin::apply_faults,
        ));
    // The protocol an adapter speaks: signed when a secret is configured.
    let protocol = Router::new()
        .route("/api/utilities", get(list_utilities))
        .merge(utility_calls)
        .route_layer(middleware::from_fn_with_state(
            sandbox.clone(),
            signatures::require_signature,
        ));

    Router::new()
        .route("/", get(pages::index))
        .route("/outbox", get(outbox::outbox_page))
        .route("/api/outbox", get(outbox::outbox_json))
        .route("/mail", get(mail::mail_page))
        .route("/api/mail", get(mail::mail_json))
        .merge(protocol)
        .merge(
            Router::new()
                .route("/api/admin/expire-tokens", post(admin::expire_tokens))
                .route(
                    "/api/admin/utilities/{utility}/faults",
                    post(admin::set_faults),
                )
                .route("/api/admin/clock/advance", post(admin::advance_clock))
                .route("/api/admin/reset", post(admin::reset))
                .route("/api/admin/mail/outage", post(mail::set_outage))
                .route_layer(middleware::from_fn(admin::require_json)),
        )
        .route("/api/admin/stats", get(admin::stats))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Simulated outages answer 5xx on purpose: not errors of this process.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(adapter_span)
                .on_failure(()),
        )
        .with_state(sandbox)
}

/// Each request the sandbox serves continues the caller's trace, as a real
/// adapter that reads `traceparent` would: a trace then reaches into it.
fn adapter_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let span = tracing::info_span!(
        "sandbox request",
        otel.name = %format_args!("sandbox {} {}", request.method(), request.uri().path()),
        otel.kind = "server",
    );
    crate::infra::trace_context::continue_from(&span, request.headers());
    span
}

pub use mail::{converse as converse_smtp, serve_smtp};

/// Serves the sandbox's HTTP side and its mail catcher until `shutdown` is cancelled.
pub async fn serve_all(
    http: TcpListener,
    smtp: TcpListener,
    shutdown: CancellationToken,
    sandbox: Sandbox,
) -> anyhow::Result<()> {
    tokio::try_join!(
        serve(http, shutdown.clone(), sandbox.clone()),
        serve_smtp(smtp, sandbox, shutdown),
    )
    .map(|_| ())
}

/// Serves the sandbox on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    shutdown: CancellationToken,
    sandbox: Sandbox,
) -> anyhow::Result<()> {
    axum::serve(listener, router_with(sandbox))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .context("The sandbox server failed")
}

fn utility_or_404(id: &str) -> Result<&'static SandboxUtility, SandboxError> {
    find_utility(id).ok_or_else(|| SandboxError::unknown_utility(id))
}

async fn list_utilities(
    axum::extract::State(sandbox): axum::extract::State<Sandbox>,
) -> Json<Vec<UtilityInfo>> {
    Json(
        UTILITIES
            .iter()
            .filter(|utility| sandbox.offers(utility.id))
            .map(|utility| UtilityInfo {
                id: utility.id.to_owned(),
                name: utility.name.to_owned(),
                mfa_methods: utility
                    .offered_methods()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                token_lifetime_days: utility.stated_lifetime_days(),
            })
            .collect(),
    )
}

async fn not_found() -> SandboxError {
    SandboxError::new(
        StatusCode::NOT_FOUND,
        UtilityErrorKind::NotFound,
        "No such endpoint. GET / lists them.",
    )
}

async fn method_not_allowed() -> SandboxError {
    SandboxError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        UtilityErrorKind::BadRequest,
        "This endpoint does not accept that HTTP method.",
    )
}
