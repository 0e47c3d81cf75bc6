//! The signed-in operator's passkeys (`/api/session/passkeys`): list them,
//! register one (a challenge, then the browser's answer and a name), remove
//! one; and signing in with a passkey alone (`/api/session/passkey`), where
//! the organisation allows it. Using one as a sign-in's second step is in
//! [`super::second_factor_step`]; the ceremonies themselves are
//! [`crate::domain::passkeys`]'.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use serde_json::json;
use shared::audit::AuditAction;
use shared::operators::{NewPasskey, Passkey, PasskeyAnswer, PasskeyChallenge, PasskeyList};
use shared::routes;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential, Webauthn};

use super::complete_sign_in;
use crate::domain::audit::Target;
use crate::domain::operator_sessions as sessions;
use crate::domain::passkeys::{self, Registered, RelyingParty};
use crate::http::auth::{user_agent, Actor, Principal};
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path};
use crate::http::state::AppState;
use crate::infra::clock::from_ms;

/// The longest name a passkey may have.
const NAME_MAX_CHARS: usize = 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::session::PASSKEYS, get(list).post(register))
        .route(
            routes::session::PASSKEY_REGISTRATION,
            post(start_registration),
        )
        .route(routes::session::ONE_PASSKEY, delete(remove))
        .route(
            routes::session::PASSKEY_SIGN_IN_CHALLENGE,
            post(start_sign_in),
        )
        .route(routes::session::PASSKEY_SIGN_IN, post(sign_in))
}

/// The signed-in operator behind `actor`: id and email.
fn operator(actor: &Actor) -> Result<(&str, &str), ApiError> {
    match &actor.principal {
        Principal::Operator { id, email, .. } => Ok((id, email)),
        Principal::ApiKey { .. } => Err(ApiError::Forbidden(
            "Only a signed-in operator has passkeys.",
        )),
    }
}

/// The relying party for a ceremony asked from the page that sent `headers`;
/// a clear refusal where passkeys cannot work.
pub(super) fn relying_party(state: &AppState, headers: &HeaderMap) -> Result<Webauthn, ApiError> {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|origin| origin.to_str().ok());
    match RelyingParty::for_public_url(&state.settings.public_url, origin) {
        RelyingParty::Here(webauthn) => Ok(*webauthn),
        RelyingParty::Elsewhere(origin) => Err(ApiError::Conflict(format!(
            "Passkeys work on Gridlink at {}: open it there to use one.",
            origin.as_str().trim_end_matches('/')
        ))),
        RelyingParty::Unavailable(why) => Err(ApiError::Conflict(why.into())),
    }
}

/// A ceremony's challenge, as the browser gets it (201).
pub(super) fn challenge(
    ceremony_id: String,
    options: serde_json::Value,
) -> (StatusCode, Json<PasskeyChallenge>) {
    (
        StatusCode::CREATED,
        Json(PasskeyChallenge {
            ceremony_id,
            options,
        }),
    )
}

/// A browser's WebAuthn answer, or a clear 400.
pub(super) fn answer<T: serde::de::DeserializeOwned>(
    field: &str,
    credential: serde_json::Value,
) -> Result<T, ApiError> {
    serde_json::from_value(credential).map_err(|_| {
        ApiError::invalid_field(
            field,
            "This is not a passkey's answer (WebAuthn's PublicKeyCredential as JSON).",
        )
    })
}

async fn list(State(state): State<AppState>, actor: Actor) -> Result<Json<PasskeyList>, ApiError> {
    let (operator_id, _) = operator(&actor)?;
    let origin = passkeys::passkey_origin(&state.settings.public_url);
    let unavailable = match RelyingParty::for_public_url(&state.settings.public_url, None) {
        RelyingParty::Unavailable(why) => Some(why.to_owned()),
        RelyingParty::Here(_) | RelyingParty::Elsewhere(_) => None,
    };
    let passkeys = passkeys::list(&state, operator_id)
        .await?
        .into_iter()
        .map(|passkey| Passkey {
            id: passkey.id,
            name: passkey.name,
            created_at: from_ms(passkey.created_at),
            last_used_at: passkey.last_used_at.map(from_ms),
        })
        .collect();
    Ok(Json(PasskeyList {
        passkeys,
        unavailable,
        available_at: origin.map(|origin| origin.as_str().trim_end_matches('/').to_owned()),
    }))
}

/// The challenge a new passkey signs (the operator's passkeys excluded).
async fn start_registration(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<PasskeyChallenge>), ApiError> {
    let (operator_id, email) = operator(&actor)?;
    let webauthn = relying_party(&state, &headers)?;
    let (ceremony_id, options) =
        passkeys::start_registration(&state, &webauthn, operator_id, email).await?;
    Ok(challenge(ceremony_id, options))
}

/// Verifies the browser's answer and keeps the passkey under its name.
async fn register(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    Json(body): Json<NewPasskey>,
) -> Result<(StatusCode, Json<Passkey>), ApiError> {
    let (operator_id, _) = operator(&actor)?;
    let name = body.name.trim();
    if name.is_empty()
        || name.chars().count() > NAME_MAX_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(ApiError::invalid_field(
            "name",
            format!("Name the passkey (1 to {NAME_MAX_CHARS} characters), e.g. “Work laptop”."),
        ));
    }
    let credential: RegisterPublicKeyCredential = answer("credential", body.credential)?;
    let webauthn = relying_party(&state, &headers)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    let id = match passkeys::finish_registration(
        &mut tx,
        &webauthn,
        operator_id,
        &body.ceremony_id,
        name,
        &credential,
        now,
    )
    .await?
    {
        Registered::Stored(id) => id,
        Registered::NoCeremony => {
            return Err(ApiError::invalid_field(
                "ceremonyId",
                "This passkey request is over (five minutes, once). Start again.",
            ))
        }
        Registered::Refused(why) => {
            tracing::info!(operator_id, why, "a passkey registration was refused");
            return Err(ApiError::invalid_field(
                "credential",
                "This passkey's answer does not verify. Start again.",
            ));
        }
        Registered::Duplicate => {
            return Err(ApiError::Conflict(
                "This passkey is registered already.".into(),
            ))
        }
    };
    actor
        .audit(
            &mut tx,
            now,
            AuditAction::PasskeyAdded,
            Some(Target::operator(operator_id)),
            json!({ "passkey": id, "name": name }),
        )
        .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(Passkey {
            id,
            name: name.to_owned(),
            created_at: from_ms(now),
            last_used_at: None,
        }),
    ))
}

async fn remove(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (operator_id, _) = operator(&actor)?;
    let mut tx = state.db.begin_write().await?;
    let name = passkeys::remove(&mut tx, operator_id, &id)
        .await?
        .ok_or(ApiError::NotFound("No such passkey of yours."))?;
    actor
        .audit(
            &mut tx,
            state.clock.now_ms(),
            AuditAction::PasskeyRemoved,
            Some(Target::operator(operator_id)),
            json!({ "passkey": id, "name": name }),
        )
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A challenge for signing in with a passkey alone (any of this site's
/// passkeys may answer; the browser asks which).
async fn start_sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<PasskeyChallenge>), ApiError> {
    let webauthn = relying_party(&state, &headers)?;
    let (ceremony_id, options) = passkeys::start_sign_in(&state, &webauthn).await?;
    Ok(challenge(ceremony_id, options))
}

/// Signs in the operator whose passkey answered, if their organisation
/// allows a passkey alone; the same answer as a password's.
async fn sign_in(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    Json(body): Json<PasskeyAnswer>,
) -> Result<Response, ApiError> {
    let credential: PublicKeyCredential = answer("credential", body.credential)?;
    let webauthn = relying_party(&state, &headers)?;
    let client = client.0.to_string();
    let user_agent = user_agent(&headers);
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    let operator_id =
        passkeys::finish_sign_in(&mut tx, &webauthn, &body.ceremony_id, &credential, now).await?;
    tx.commit().await?;
    let Some(operator_id) = operator_id else {
        return Err(ApiError::SignInFailed);
    };
    let found: Option<(String, String, i64)> = sqlx::query_as(
        "SELECT o.organisation_id, o.email, g.allow_passkey_sign_in FROM operators o \
           JOIN organisations g ON g.id = o.organisation_id \
         WHERE o.id = $1 AND o.removed_at IS NULL",
    )
    .bind(&operator_id)
    .fetch_optional(state.db.pool())
    .await?;
    let Some((organisation_id, email, allowed)) = found else {
        return Err(ApiError::SignInFailed);
    };
    let target = sessions::SignInTarget {
        operator_id,
        organisation_id,
        email,
    };
    if allowed == 0 {
        sessions::record_sign_in(
            &state,
            &target,
            &client,
            &user_agent,
            "PASSKEY_ALONE",
            false,
        )
        .await?;
        return Err(ApiError::Forbidden(
            "Your organisation asks for your password first: sign in with it, then use your passkey.",
        ));
    }
    complete_sign_in(&state, &target, &client, &user_agent, "PASSKEY_ALONE").await
}
