//! Reading accounts and statements with a session token (401 without a valid one).

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};

use super::bills;
use super::catalog::SandboxUtility;
use super::error::{Json, Path, SandboxError};
use super::state::Sandbox;
use super::utility_or_404;
use crate::infra::utility::protocol::{Account, Statement, UtilityErrorKind};

/// The login that `headers`' Bearer token belongs to, if the token is valid now.
fn authenticated_username(
    sandbox: &Sandbox,
    utility: &SandboxUtility,
    headers: &HeaderMap,
) -> Result<String, SandboxError> {
    let invalid = || {
        SandboxError::new(
            StatusCode::UNAUTHORIZED,
            UtilityErrorKind::InvalidToken,
            "Send a valid session token as `Authorization: Bearer <token>`.",
        )
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(invalid)?;
    let mut data = sandbox.lock();
    let now = data.now();
    let session = data
        .sessions
        .get_mut(token.trim())
        .filter(|session| session.utility_id == utility.id)
        .ok_or_else(invalid)?;
    let idled_out = utility.idle_timeout_seconds.is_some_and(|seconds| {
        now - session.last_used_at >= time::Duration::seconds(seconds as i64)
    });
    if session.expires_at <= now || idled_out {
        return Err(SandboxError::new(
            StatusCode::UNAUTHORIZED,
            UtilityErrorKind::TokenExpired,
            "The session expired. Log in again with a new verification code.",
        ));
    }
    session.last_used_at = now;
    Ok(session.username.clone())
}

pub async fn list_accounts(
    State(sandbox): State<Sandbox>,
    Path(utility_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Vec<Account>>, SandboxError> {
    let utility = utility_or_404(&utility_id)?;
    let username = authenticated_username(&sandbox, utility, &headers)?;
    Ok(Json(bills::accounts(utility, &username)))
}

pub async fn list_statements(
    State(sandbox): State<Sandbox>,
    Path((utility_id, account_number)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Vec<Statement>>, SandboxError> {
    let utility = utility_or_404(&utility_id)?;
    let username = authenticated_username(&sandbox, utility, &headers)?;
    let account = bills::accounts(utility, &username)
        .into_iter()
        .find(|account| account.account_number == account_number)
        .ok_or_else(|| {
            SandboxError::new(
                StatusCode::NOT_FOUND,
                UtilityErrorKind::NotFound,
                "This login has no such account.",
            )
        })?;
    let today = sandbox.lock().now().date();
    Ok(Json(bills::statements(utility, &username, &account, today)))
}
