//! With a secret configured (`GRIDLINK_SANDBOX_SECRET`), the sandbox checks
//! every protocol call the way an adapter should: signed with the shared
//! secret, timestamped within 5 minutes, and never seen before.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::SandboxError;
use super::state::Sandbox;
use crate::infra::utility::protocol::UtilityErrorKind;
use crate::infra::utility::signing::{now_seconds, verify, TOLERANCE_SECONDS};

/// The largest request body the sandbox reads to check its signature.
const MAX_SIGNED_BODY: usize = 64 * 1024;

pub async fn require_signature(
    State(sandbox): State<Sandbox>,
    request: Request,
    next: Next,
) -> Response {
    let Some(secret) = sandbox.options().secret.clone() else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_SIGNED_BODY).await else {
        return SandboxError::bad_request("The body is larger than 64 KiB.").into_response();
    };
    let path_and_query = parts.uri.path_and_query().map_or_else(
        || parts.uri.path().to_owned(),
        |value| value.as_str().to_owned(),
    );
    let now = now_seconds();
    let refused = match verify(
        &secret,
        parts.method.as_str(),
        &path_and_query,
        &parts.headers,
        &bytes,
        now,
    ) {
        Ok(id) => {
            let mut data = sandbox.lock();
            data.seen_requests
                .retain(|_, at| now - *at <= 2 * TOLERANCE_SECONDS);
            if data.seen_requests.insert(id, now).is_some() {
                Some("This request was already received: a replay is refused.".to_owned())
            } else {
                None
            }
        }
        Err(why) => Some(format!("Refused: {why}.")),
    };
    match refused {
        Some(message) => SandboxError::new(
            StatusCode::UNAUTHORIZED,
            UtilityErrorKind::Unauthorized,
            message,
        )
        .into_response(),
        None => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    }
}
