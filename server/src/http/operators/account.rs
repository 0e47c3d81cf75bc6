//! The signed-in operator's own account (`/api/session/…`): their live
//! sessions (and ending one) and their sign-in history. Changing the password
//! is beside sign-in in [`super`].

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get};
use axum::Router;
use shared::audit::AuditAction;
use shared::operators::{OperatorSession, SignInRecord};
use shared::routes;

use crate::domain::audit::Target;
use crate::domain::operator_sessions as sessions;
use crate::http::auth::{session_cookie, Actor, Principal};
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path};
use crate::http::state::AppState;
use crate::infra::clock::from_ms;
use crate::infra::tokens;

/// Sign-ins shown in the history, newest first.
const HISTORY_LENGTH: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::session::SESSIONS, get(list_sessions))
        .route(routes::session::ONE_SESSION, delete(end_session))
        .route(routes::session::HISTORY, get(sign_in_history))
}

/// The operator behind a cookie session (API keys have no account page).
fn operator_id(actor: &Actor) -> Result<&str, ApiError> {
    match &actor.principal {
        Principal::Operator { id, .. } => Ok(id),
        Principal::ApiKey { .. } => Err(ApiError::Forbidden(
            "Only a signed-in operator has an account.",
        )),
    }
}

async fn list_sessions(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
) -> Result<Json<Vec<OperatorSession>>, ApiError> {
    let operator_id = operator_id(&actor)?;
    let current = session_cookie(&headers).map(tokens::hash);
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT token_hash, client, created_at, last_seen_at FROM operator_sessions \
         WHERE operator_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC",
    )
    .bind(operator_id)
    .bind(state.clock.now_ms())
    .fetch_all(state.db.pool())
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(hash, client, created_at, last_seen_at)| OperatorSession {
                id: sessions::public_id(&hash),
                current: current.as_deref() == Some(hash.as_str()),
                client,
                created_at: from_ms(created_at),
                last_seen_at: from_ms(last_seen_at),
            })
            .collect(),
    ))
}

/// Ends one of the operator's sessions (the current one too: that signs out).
async fn end_session(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let operator_id = operator_id(&actor)?;
    if id.len() != 16 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound("The session"));
    }
    let mut tx = state.db.begin_write().await?;
    let ended =
        sqlx::query("DELETE FROM operator_sessions WHERE operator_id = $1 AND token_hash LIKE $2")
            .bind(operator_id)
            .bind(format!("{id}%"))
            .execute(&mut *tx)
            .await?;
    if ended.rows_affected() == 0 {
        return Err(ApiError::NotFound("The session"));
    }
    actor
        .audit(
            &mut tx,
            state.clock.now_ms(),
            AuditAction::SessionEnded,
            Some(Target::session(&id)),
            serde_json::json!({}),
        )
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sign_in_history(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<Vec<SignInRecord>>, ApiError> {
    let operator_id = operator_id(&actor)?;
    let rows: Vec<(i64, String, String)> = sqlx::query_as(&format!(
        "SELECT signed_in_at, client, outcome FROM sign_in_history WHERE operator_id = $1 \
         ORDER BY signed_in_at DESC LIMIT {HISTORY_LENGTH}"
    ))
    .bind(operator_id)
    .fetch_all(state.db.pool())
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(at, client, outcome)| SignInRecord {
                at: from_ms(at),
                client,
                succeeded: outcome == "SUCCEEDED",
            })
            .collect(),
    ))
}
