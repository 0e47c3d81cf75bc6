//! `Idempotency-Key` on the requests that create things an integration may
//! retry (`POST /api/v1/credentials`, `/api/v1/connect-tokens`,
//! `/api/v1/credentials/{id}/connect-tokens` and `…/update-links`): the same
//! key and body within 24 hours answer the first answer again (status and
//! body); the same key with another body is refused (422); a key whose first
//! request is still running answers 409. Keys belong to the caller (an API
//! key or an operator), are kept in the database (so they hold across
//! replicas) and are forgotten after 24 hours. A 5xx answer is not kept: the
//! request may be tried again. Kept answers carry secrets (a Connect token,
//! an update link), so they are sealed with the master key like every other
//! secret at rest (case 40).

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::http::auth::Actor;
use crate::http::error::{is_unique_violation, ApiError};
use crate::http::state::AppState;
use crate::jobs::retention::IDEMPOTENCY_KEY_LIFETIME_MS;

/// The largest body an idempotent request may have (the routes take small JSON).
const MAX_BODY_BYTES: usize = 64 * 1024;
/// The largest answer kept for replay.
const MAX_KEPT_ANSWER_BYTES: usize = 256 * 1024;

/// Whether a request is one of the creations that honour `Idempotency-Key`.
fn honours_keys(method: &Method, path: &str) -> bool {
    *method == Method::POST
        && (path == "/api/v1/credentials"
            || path == "/api/v1/connect-tokens"
            || (path.starts_with("/api/v1/credentials/")
                && (path.ends_with("/connect-tokens") || path.ends_with("/update-links"))))
}

pub async fn honour_idempotency_keys(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(key) = request.headers().get("idempotency-key").cloned() else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    if !honours_keys(&parts.method, &crate::http::extract::full_path(&parts)) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let request = Request::from_parts(parts, body);
    match replay_or_run(&state, key, request, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn replay_or_run(
    state: &AppState,
    key: HeaderValue,
    request: Request,
    next: Next,
) -> Result<Response, Response> {
    let key = key
        .to_str()
        .ok()
        .filter(|key| {
            !key.is_empty() && key.len() <= 255 && key.chars().all(|c| c.is_ascii_graphic())
        })
        .ok_or_else(|| {
            ApiError::Malformed("Idempotency-Key must be 1 to 255 visible ASCII characters.".into())
                .into_response()
        })?
        .to_owned();
    let (mut parts, body) = request.into_parts();
    // Keys belong to the caller; an unauthenticated request gets its 401 from the handler.
    let Ok(actor) = Actor::from_request_parts(&mut parts, state).await else {
        return Ok(Next::run(next, Request::from_parts(parts, body)).await);
    };
    let bytes = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        ApiError::PayloadTooLarge("The request body is too large.".into()).into_response()
    })?;
    let mut fingerprint = Sha256::new();
    fingerprint.update(parts.method.as_str());
    fingerprint.update(b" ");
    fingerprint.update(crate::http::extract::full_path(&parts).as_bytes());
    fingerprint.update(b"\n");
    fingerprint.update(&bytes);
    let fingerprint: String = fingerprint
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let owner = actor.label();
    let now = state.clock.now_ms();
    let internal = |error: sqlx::Error| ApiError::from(error).into_response();

    // Forget this caller's expired use of the key, then claim it. The writer
    // is given back before the request runs: the request writes too.
    let mut writer = state.db.writer().await.map_err(internal)?;
    sqlx::query("DELETE FROM idempotency_keys WHERE owner = $1 AND key = $2 AND created_at <= $3")
        .bind(&owner)
        .bind(&key)
        .bind(now - IDEMPOTENCY_KEY_LIFETIME_MS)
        .execute(&mut *writer)
        .await
        .map_err(internal)?;
    let claimed = sqlx::query(
        "INSERT INTO idempotency_keys (owner, key, fingerprint, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&owner)
    .bind(&key)
    .bind(&fingerprint)
    .bind(now)
    .execute(&mut *writer)
    .await;
    drop(writer);
    match claimed {
        Ok(_) => {}
        Err(error) if is_unique_violation(&error) => {
            return Err(earlier_use(state, &owner, &key, &fingerprint).await);
        }
        Err(error) => return Err(internal(error)),
    }

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = response.status();
    if status.is_server_error() {
        forget(state, &owner, &key).await;
        return Ok(response);
    }
    let (mut response_parts, body) = response.into_parts();
    let Ok(answer) = to_bytes(body, MAX_KEPT_ANSWER_BYTES).await else {
        forget(state, &owner, &key).await;
        return Ok(
            ApiError::Internal(anyhow::anyhow!("An answer was too large to keep")).into_response(),
        );
    };
    let kept = async {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $1, answer = $2 WHERE owner = $3 AND key = $4",
        )
        .bind(i64::from(status.as_u16()))
        .bind(state.keyring.seal(&answer, &associated_data(&owner, &key)))
        .bind(&owner)
        .bind(&key)
        .execute(&mut *state.db.writer().await?)
        .await
    }
    .await;
    if let Err(error) = kept {
        tracing::error!(%error, "cannot keep an idempotent answer");
    }
    response_parts
        .headers
        .remove(axum::http::header::CONTENT_LENGTH);
    Ok(Response::from_parts(response_parts, Body::from(answer)))
}

/// What a second use of a key gets: the first answer, or why not.
async fn earlier_use(state: &AppState, owner: &str, key: &str, fingerprint: &str) -> Response {
    /// The first request's fingerprint, then its status and answer once it has them.
    type EarlierUse = (String, Option<i64>, Option<String>);
    let earlier: Result<Option<EarlierUse>, sqlx::Error> = sqlx::query_as(
        "SELECT fingerprint, status, answer FROM idempotency_keys WHERE owner = $1 AND key = $2",
    )
    .bind(owner)
    .bind(key)
    .fetch_optional(state.db.pool())
    .await;
    match earlier {
        Err(error) => ApiError::from(error).into_response(),
        Ok(None) => ApiError::Conflict(
            "A request with this Idempotency-Key just failed; send it again.".into(),
        )
        .into_response(),
        Ok(Some((earlier_fingerprint, _, _))) if earlier_fingerprint != fingerprint => {
            ApiError::InvalidFields(vec![shared::FieldError {
                field: "Idempotency-Key".into(),
                message: "This Idempotency-Key was used for a different request. Use a new key."
                    .into(),
            }])
            .into_response()
        }
        Ok(Some((_, None, _))) => ApiError::Conflict(
            "A request with this Idempotency-Key is still being handled. Try again in a moment."
                .into(),
        )
        .into_response(),
        Ok(Some((_, Some(status), answer))) => {
            let status = u16::try_from(status)
                .ok()
                .and_then(|status| StatusCode::from_u16(status).ok())
                .unwrap_or(StatusCode::OK);
            let Some(answer) = answer.and_then(|sealed| {
                state
                    .keyring
                    .open(&sealed, &associated_data(owner, key))
                    .ok()
            }) else {
                // Kept before answers were sealed, or under a key no longer configured.
                return ApiError::Conflict(
                    "The first answer to this Idempotency-Key can no longer be read. Use a new key."
                        .into(),
                )
                .into_response();
            };
            let mut response = (status, answer).into_response();
            let headers = response.headers_mut();
            headers.insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
    }
}

/// What a kept answer is sealed under: its caller and key, so an answer
/// moved to another row does not open.
fn associated_data(owner: &str, key: &str) -> String {
    format!("idempotency_keys:{owner}:{key}")
}

async fn forget(state: &AppState, owner: &str, key: &str) {
    let forgotten = async {
        sqlx::query("DELETE FROM idempotency_keys WHERE owner = $1 AND key = $2")
            .bind(owner)
            .bind(key)
            .execute(&mut *state.db.writer().await?)
            .await
    }
    .await;
    if let Err(error) = forgotten {
        tracing::error!(%error, "cannot forget an idempotency key");
    }
}
