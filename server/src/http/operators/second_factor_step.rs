//! Two-factor sign-in over HTTP: the second step of a sign-in
//! (`POST /api/session/second-factor`, after a right password answered 202,
//! with a code, a recovery code, or a passkey whose challenge
//! `POST /api/session/second-factor/passkey` gave),
//! and the signed-in operator's authenticator app (`/api/session/totp`: set
//! up with a QR code and a first code, which gives ten recovery codes; removed
//! with a code or a recovery code). Wrong codes count toward the sign-in
//! limits as wrong passwords do. The codes themselves are
//! [`crate::domain::second_factor`]'s.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use shared::audit::AuditAction;
use shared::operators::{
    PasskeyAnswer, PasskeyChallenge, RecoveryCodes, SecondFactorProof, SecondFactorRequired,
    TotpConfirmation, TotpEnrolment, TotpStatus,
};
use shared::routes;

use super::passkeys as passkeys_http;
use super::{begin_attempt, complete_sign_in};
use crate::domain::audit::Target;
use crate::domain::operator_sessions as sessions;
use crate::domain::{passkeys, second_factor};
use crate::http::auth::{cookie, cookie_value, user_agent, Actor, Principal};
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::Json;
use crate::http::state::AppState;
use crate::infra::tokens;

/// The cookie that carries a sign-in from its password to its second step.
const PENDING_COOKIE: &str = "gridlink_pending";
/// How long the second step may take.
const PENDING_LIFETIME_SECONDS: i64 = 5 * 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            routes::session::SECOND_FACTOR,
            post(complete_with_second_factor),
        )
        .route(
            routes::session::SECOND_FACTOR_PASSKEY,
            post(passkey_challenge),
        )
        .route(
            routes::session::TOTP,
            get(totp_status).post(start_enrolment),
        )
        .route(routes::session::TOTP_CONFIRM, post(confirm_enrolment))
        .route(routes::session::TOTP_DISABLE, post(remove_totp))
}

/// After a right password: a pending sign-in (its secret in an HttpOnly
/// cookie only the second step reads) and 202 with the methods.
pub(super) async fn ask_for_it(
    state: &AppState,
    operator_id: &str,
    client: &str,
) -> Result<Response, ApiError> {
    let factors = second_factor::factors(state, operator_id).await?;
    let secret = tokens::generate("gps_");
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    sqlx::query("DELETE FROM pending_sign_ins WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO pending_sign_ins (token_hash, operator_id, client, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(tokens::hash(&secret))
    .bind(operator_id)
    .bind(client)
    .bind(now + PENDING_LIFETIME_SECONDS * 1000)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let methods = [
        (factors.passkeys > 0, "PASSKEY"),
        (factors.totp, "TOTP"),
        (factors.recovery_codes_left > 0, "RECOVERY_CODE"),
    ]
    .into_iter()
    .filter(|(has, _)| *has)
    .map(|(_, method)| method.to_owned())
    .collect();
    let mut response =
        (StatusCode::ACCEPTED, Json(SecondFactorRequired { methods })).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookie_value(
            state,
            PENDING_COOKIE,
            &secret,
            &routes::api(routes::session::SECOND_FACTOR),
            PENDING_LIFETIME_SECONDS,
        ),
    );
    Ok(response)
}

/// The one proof a request sent.
enum Proof<'a> {
    Totp(&'a str),
    RecoveryCode(&'a str),
    Passkey(&'a PasskeyAnswer),
}

impl Proof<'_> {
    /// The factor's name in the sign-in history and the audit trail.
    fn factor(&self) -> &'static str {
        match self {
            Proof::Totp(_) => "TOTP",
            Proof::RecoveryCode(_) => "RECOVERY_CODE",
            Proof::Passkey(_) => "PASSKEY",
        }
    }

    fn wrong(&self) -> ApiError {
        match self {
            Proof::Totp(_) => ApiError::invalid_field(
                "code",
                "This code is not right, or was used already. Check your authenticator app and try again.",
            ),
            Proof::RecoveryCode(_) => ApiError::invalid_field(
                "recoveryCode",
                "This code is not right, or was used already. Check your authenticator app and try again.",
            ),
            Proof::Passkey(_) => ApiError::invalid_field(
                "passkey",
                "This passkey was not accepted, or its request is over. Try again.",
            ),
        }
    }
}

/// Which proof was sent: exactly one of a code, a recovery code and a passkey.
fn proof(body: &SecondFactorProof) -> Result<Proof<'_>, ApiError> {
    fn given(value: &Option<String>) -> Option<&str> {
        value.as_deref().filter(|value| !value.trim().is_empty())
    }
    match (given(&body.code), given(&body.recovery_code), &body.passkey) {
        (Some(code), None, None) => Ok(Proof::Totp(code)),
        (None, Some(code), None) => Ok(Proof::RecoveryCode(code)),
        (None, None, Some(passkey)) => Ok(Proof::Passkey(passkey)),
        (None, None, None) => Err(ApiError::invalid_field(
            "code",
            "Enter the 6-digit code from your authenticator app, or a recovery code.",
        )),
        _ => Err(ApiError::invalid_field(
            "recoveryCode",
            "Send one proof: a code, a recovery code or a passkey.",
        )),
    }
}

/// Checks `proof` for `operator_id` inside `tx`: a code is used up, a
/// recovery code too, a passkey's challenge too.
async fn check_proof(
    state: &AppState,
    headers: &HeaderMap,
    tx: &mut sqlx::AnyConnection,
    operator_id: &str,
    proof: &Proof<'_>,
) -> Result<bool, ApiError> {
    let now = state.clock.now_ms();
    Ok(match proof {
        Proof::Totp(code) => {
            second_factor::use_code(tx, &state.keyring, operator_id, code, now, true).await?
        }
        Proof::RecoveryCode(code) => {
            second_factor::use_recovery_code(tx, operator_id, code, now).await?
        }
        Proof::Passkey(passkey) => {
            let webauthn = passkeys_http::relying_party(state, headers)?;
            let credential = passkeys_http::answer("passkey", passkey.credential.clone())?;
            passkeys::finish_second_step(
                tx,
                &webauthn,
                operator_id,
                &passkey.ceremony_id,
                &credential,
                now,
            )
            .await?
        }
    })
}

/// The sign-in waiting for its second step in the `gridlink_pending` cookie
/// (and its row's key); 401 when there is none or its five minutes are over:
/// the password again.
async fn pending_sign_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(sessions::SignInTarget, String), ApiError> {
    let secret = cookie(headers, PENDING_COOKIE).ok_or(ApiError::Unauthenticated)?;
    let pending: Option<(String, String, String, String)> = sqlx::query_as(
        "SELECT p.operator_id, o.organisation_id, o.email, p.token_hash FROM pending_sign_ins p \
           JOIN operators o ON o.id = p.operator_id \
         WHERE p.token_hash = $1 AND p.expires_at > $2 AND o.removed_at IS NULL",
    )
    .bind(tokens::hash(secret))
    .bind(state.clock.now_ms())
    .fetch_optional(state.db.pool())
    .await?;
    let (operator_id, organisation_id, email, token_hash) =
        pending.ok_or(ApiError::Unauthenticated)?;
    Ok((
        sessions::SignInTarget {
            operator_id,
            organisation_id,
            email,
        },
        token_hash,
    ))
}

/// A passkey's challenge for the pending sign-in (409 when the operator has
/// no passkey, or passkeys do not work here).
async fn passkey_challenge(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<PasskeyChallenge>), ApiError> {
    let (target, _) = pending_sign_in(&state, &headers).await?;
    let webauthn = passkeys_http::relying_party(&state, &headers)?;
    let (ceremony_id, challenge) =
        passkeys::start_second_step(&state, &webauthn, &target.operator_id)
            .await?
            .ok_or_else(|| {
                ApiError::Conflict(
                    "You have no passkey: use your authenticator app or a recovery code.".into(),
                )
            })?;
    let options = serde_json::to_value(challenge).map_err(anyhow::Error::from)?;
    Ok(passkeys_http::challenge(ceremony_id, options))
}

/// The second step: a right code, recovery code or passkey ends the sign-in
/// as a password alone would (session cookie and CSRF token).
async fn complete_with_second_factor(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    Json(body): Json<SecondFactorProof>,
) -> Result<Response, ApiError> {
    let proof = proof(&body)?;
    let (target, token_hash) = pending_sign_in(&state, &headers).await?;
    let limit_key = client.limit_key().to_string();
    let client = client.0.to_string();
    let user_agent = user_agent(&headers);
    let attempt = begin_attempt(&state, &target.email, &limit_key).await?;
    let mut tx = state.db.begin_write().await?;
    if !check_proof(&state, &headers, &mut tx, &target.operator_id, &proof).await? {
        drop(tx);
        metrics::counter!(crate::infra::metrics::SIGN_IN_FAILURES, "reason" => "wrong_second_factor")
            .increment(1);
        sessions::record_sign_in(&state, &target, &client, &user_agent, proof.factor(), false)
            .await?;
        return Err(proof.wrong());
    }
    // The pending sign-in works once: of two proofs sent at once, one signs in.
    let used = sqlx::query("DELETE FROM pending_sign_ins WHERE token_hash = $1")
        .bind(&token_hash)
        .execute(&mut *tx)
        .await?;
    if used.rows_affected() == 0 {
        return Err(ApiError::Unauthenticated);
    }
    tx.commit().await?;
    attempt.forget(&state).await?;
    let mut response =
        complete_sign_in(&state, &target, &client, &user_agent, proof.factor()).await?;
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie_value(
            &state,
            PENDING_COOKIE,
            "",
            &routes::api(routes::session::SECOND_FACTOR),
            0,
        ),
    );
    Ok(response)
}

/// The signed-in operator behind `actor`: id and email.
fn operator(actor: &Actor) -> Result<(&str, &str), ApiError> {
    match &actor.principal {
        Principal::Operator { id, email, .. } => Ok((id, email)),
        Principal::ApiKey { .. } => Err(ApiError::Forbidden(
            "Only a signed-in operator has a second factor.",
        )),
    }
}

async fn totp_status(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<TotpStatus>, ApiError> {
    let (operator_id, _) = operator(&actor)?;
    let (enabled, left) = second_factor::status(&state, operator_id).await?;
    Ok(Json(TotpStatus {
        enabled,
        recovery_codes_left: u32::try_from(left).unwrap_or(0),
    }))
}

/// A new secret for an authenticator app, to confirm with its first code.
async fn start_enrolment(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<(StatusCode, Json<TotpEnrolment>), ApiError> {
    let (operator_id, email) = operator(&actor)?;
    let enrolment = second_factor::start_enrolment(&state, operator_id, email)
        .await?
        .ok_or_else(|| {
            ApiError::Conflict(
                "An authenticator app is set up already; remove it first to set up another.".into(),
            )
        })?;
    Ok((
        StatusCode::CREATED,
        Json(TotpEnrolment {
            secret: enrolment.secret_base32,
            otpauth_url: enrolment.otpauth_url,
            qr_svg: enrolment.qr_svg,
        }),
    ))
}

/// The first code confirms the app; the answer holds ten recovery codes, once.
async fn confirm_enrolment(
    State(state): State<AppState>,
    actor: Actor,
    Json(body): Json<TotpConfirmation>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let (operator_id, _) = operator(&actor)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    if !second_factor::use_code(&mut tx, &state.keyring, operator_id, &body.code, now, false)
        .await?
    {
        return Err(ApiError::invalid_field(
            "code",
            "This code is not right. Enter the code your authenticator app shows now (start again if you closed the QR code).",
        ));
    }
    let codes = second_factor::confirm(&mut tx, operator_id, now).await?;
    actor
        .audit(
            &mut tx,
            now,
            AuditAction::SecondFactorEnabled,
            Some(Target::operator(operator_id)),
            json!({ "factor": "TOTP" }),
        )
        .await?;
    tx.commit().await?;
    Ok(Json(RecoveryCodes { codes }))
}

/// Removes the authenticator app (and the recovery codes), proven with a
/// current code or a recovery code; guesses count toward the sign-in limits.
async fn remove_totp(
    State(state): State<AppState>,
    actor: Actor,
    client: ClientIp,
    headers: HeaderMap,
    Json(body): Json<SecondFactorProof>,
) -> Result<StatusCode, ApiError> {
    let (operator_id, email) = operator(&actor)?;
    let proof = proof(&body)?;
    if let Proof::Passkey(_) = proof {
        return Err(ApiError::invalid_field(
            "passkey",
            "Prove it with a code from the authenticator app or a recovery code.",
        ));
    }
    let attempt = begin_attempt(&state, email, &client.limit_key().to_string()).await?;
    let mut tx = state.db.begin_write().await?;
    if !check_proof(&state, &headers, &mut tx, operator_id, &proof).await? {
        return Err(proof.wrong());
    }
    second_factor::remove(&mut tx, operator_id).await?;
    actor
        .audit(
            &mut tx,
            state.clock.now_ms(),
            AuditAction::SecondFactorDisabled,
            Some(Target::operator(operator_id)),
            json!({ "factor": "TOTP", "provedWith": proof.factor() }),
        )
        .await?;
    tx.commit().await?;
    attempt.forget(&state).await?;
    Ok(StatusCode::NO_CONTENT)
}
