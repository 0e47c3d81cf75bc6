//! Who is calling: an operator (session cookie, with CSRF defence on every
//! state-changing request) or an integrator (API key as Bearer). Every
//! handler that reads organisation data takes an [`Actor`] and scopes its
//! queries by `actor.organisation_id`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use shared::audit::{AuditAction, AuditActorKind};
use shared::operators::ApiKeyScope;
pub use shared::operators::Role;

use crate::domain::audit::{self, AuditActor, Target};
use crate::domain::credentials::ContactSource;
use crate::domain::operator_sessions::SESSION_MAX_AGE;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::infra::tokens;

pub const SESSION_COOKIE: &str = "gridlink_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Operator {
        id: String,
        role: Role,
        email: String,
    },
    ApiKey {
        id: String,
        name: String,
        scope: ApiKeyScope,
    },
}

/// An authenticated caller and the organisation it acts for.
#[derive(Debug, Clone)]
pub struct Actor {
    pub organisation_id: String,
    pub principal: Principal,
    /// The client's address (after trusted proxies), for the audit trail.
    pub client: String,
    pub user_agent: String,
}

impl Actor {
    /// Who gave a contact this caller sets: an API key is the integrator, a
    /// signed-in operator an operator.
    pub fn contact_source(&self) -> ContactSource {
        match self.principal {
            Principal::ApiKey { .. } => ContactSource::Integrator,
            Principal::Operator { .. } => ContactSource::Operator,
        }
    }

    /// How the caller appears on timelines: `operator:ID` or `api_key:ID`.
    pub fn label(&self) -> String {
        match &self.principal {
            Principal::Operator { id, .. } => format!("operator:{id}"),
            Principal::ApiKey { id, .. } => format!("api_key:{id}"),
        }
    }

    /// The caller as the audit trail names it.
    pub fn audit_actor(&self) -> AuditActor {
        let (kind, id, name) = match &self.principal {
            Principal::Operator { id, email, .. } => (AuditActorKind::Operator, id, email),
            Principal::ApiKey { id, name, .. } => (AuditActorKind::ApiKey, id, name),
        };
        AuditActor::new(
            kind,
            Some(id.clone()),
            name.clone(),
            self.client.clone(),
            &self.user_agent,
        )
    }

    /// Records `action` on `target` by this caller in `tx`, the transaction
    /// of the change.
    pub async fn audit(
        &self,
        tx: &mut sqlx::AnyConnection,
        now_ms: i64,
        action: AuditAction,
        target: Option<Target<'_>>,
        details: serde_json::Value,
    ) -> Result<(), sqlx::Error> {
        audit::record(
            tx,
            now_ms,
            audit::Entry {
                organisation_id: Some(&self.organisation_id),
                actor: &self.audit_actor(),
                action,
                target,
                details,
            },
        )
        .await
    }

    pub fn is_admin(&self) -> bool {
        matches!(
            self.principal,
            Principal::Operator {
                role: Role::Admin,
                ..
            }
        )
    }
}

/// An operator with the admin role, signed in to the dashboard.
#[derive(Debug, Clone)]
pub struct AdminOperator(pub Actor);

pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE)
}

/// The value of the cookie called `wanted`.
pub fn cookie<'h>(headers: &'h HeaderMap, wanted: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value)
}

fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The request's `User-Agent`, as the audit trail keeps it.
pub fn user_agent(headers: &HeaderMap) -> String {
    headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Actor, ApiError> {
        let client = crate::http::client_ip::client_ip(parts, &state.trusted_proxies)
            .0
            .to_string();
        let user_agent = user_agent(&parts.headers);
        if let Some(token) = bearer_token(&parts.headers) {
            let actor = api_key_actor(state, token, client, user_agent).await?;
            if matches!(
                actor.principal,
                Principal::ApiKey {
                    scope: ApiKeyScope::Read,
                    ..
                }
            ) && !is_safe_method(&parts.method)
            {
                return Err(ApiError::Forbidden(
                    "This API key may only read (its scope is READ). Use a key with the WRITE scope to change anything.",
                ));
            }
            return Ok(actor);
        }
        let Some(session_token) = session_cookie(&parts.headers) else {
            return Err(ApiError::Unauthenticated);
        };
        let session = crate::domain::operator_sessions::find_live(state, session_token)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        // An organisation that requires a second factor lets an operator
        // without one reach only their own account until they set it up.
        // (Under `/api`, axum strips the prefix from the URI; the original keeps it.)
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| parts.uri.path(), |original| original.0.path());
        let own_account = shared::routes::api(shared::routes::session::SESSION);
        let on_own_account = path == own_account
            || path
                .strip_prefix(own_account.as_str())
                .is_some_and(|rest| rest.starts_with('/'));
        if session.must_set_up_second_factor && !on_own_account {
            return Err(ApiError::Forbidden(
                "Your organisation requires two-factor sign-in: set it up on your account page first.",
            ));
        }
        // Cookies ride along on cross-site requests; the CSRF token cannot.
        if !is_safe_method(&parts.method) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|value| value.to_str().ok());
            if sent != Some(session.csrf_token.as_str()) {
                return Err(ApiError::Forbidden(
                    "The request lacks a valid CSRF token (send the x-csrf-token header from GET /api/session).",
                ));
            }
        }
        Ok(Actor {
            organisation_id: session.organisation_id,
            principal: Principal::Operator {
                id: session.operator_id,
                role: session.role,
                email: session.email,
            },
            client,
            user_agent,
        })
    }
}

/// How stale an API key's `last_used_at` may get before a request writes it:
/// a busy integrator's every request stays a read.
const LAST_USED_PRECISION_MS: i64 = 60_000;

async fn api_key_actor(
    state: &AppState,
    token: &str,
    client: String,
    user_agent: String,
) -> Result<Actor, ApiError> {
    let now = state.clock.now_ms();
    let hash = tokens::hash(token);
    let row: Option<(String, String, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT id, organisation_id, name, scope, last_used_at FROM api_keys WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(&hash)
    .fetch_optional(state.db.pool())
    .await?;
    let (id, organisation_id, name, scope, last_used_at) = row.ok_or(ApiError::Unauthenticated)?;
    if last_used_at.is_none_or(|at| now - at >= LAST_USED_PRECISION_MS) {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&id)
            .execute(&mut *state.db.writer().await?)
            .await?;
    }
    Ok(Actor {
        organisation_id,
        principal: Principal::ApiKey {
            id,
            name,
            // Unknown means the narrower scope.
            scope: ApiKeyScope::parse(&scope).unwrap_or(ApiKeyScope::Read),
        },
        client,
        user_agent,
    })
}

impl FromRequestParts<AppState> for AdminOperator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<AdminOperator, ApiError> {
        let actor = Actor::from_request_parts(parts, state).await?;
        if actor.is_admin() {
            Ok(AdminOperator(actor))
        } else {
            Err(ApiError::Forbidden(
                "Only an organisation admin signed in to the dashboard can do this.",
            ))
        }
    }
}

/// The `Set-Cookie` value that stores `secret`: HttpOnly, SameSite=Strict,
/// and Secure unless Gridlink is served over plain HTTP on this machine.
pub fn session_cookie_value(state: &AppState, secret: &str) -> HeaderValue {
    cookie_value(
        state,
        SESSION_COOKIE,
        secret,
        "/",
        SESSION_MAX_AGE.whole_seconds(),
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn cleared_session_cookie(state: &AppState) -> HeaderValue {
    cookie_value(state, SESSION_COOKIE, "", "/", 0)
}

/// A `Set-Cookie` value for `name` under `path`, as [`session_cookie_value`]'s.
pub fn cookie_value(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age_seconds: i64,
) -> HeaderValue {
    let secure = if state.settings.cookies_are_secure() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; gridlink_session=abc123; x=y"),
        );
        assert_eq!(session_cookie(&headers), Some("abc123"));
    }

    #[test]
    fn a_bearer_token_is_read_from_the_authorization_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer glk_xyz"),
        );
        assert_eq!(bearer_token(&headers), Some("glk_xyz"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
    }
}
