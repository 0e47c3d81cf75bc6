//! Two-factor sign-in over HTTP: the second step of a sign-in
//! (`POST /api/session/second-factor`, after a right password answered 202),
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
    RecoveryCodes, SecondFactorProof, SecondFactorRequired, TotpConfirmation, TotpEnrolment,
    TotpStatus,
};
use shared::routes;

use super::{begin_attempt, complete_sign_in};
use crate::domain::audit::Target;
use crate::domain::operator_sessions as sessions;
use crate::domain::second_factor;
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
    let mut response = (
        StatusCode::ACCEPTED,
        Json(SecondFactorRequired {
            methods: vec!["TOTP".into(), "RECOVERY_CODE".into()],
        }),
    )
        .into_response();
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

/// Which proof was sent: exactly one of a code and a recovery code.
fn proof(body: &SecondFactorProof) -> Result<(&'static str, &str), ApiError> {
    fn given(value: &Option<String>) -> Option<&str> {
        value.as_deref().filter(|value| !value.trim().is_empty())
    }
    match (given(&body.code), given(&body.recovery_code)) {
        (Some(code), None) => Ok(("TOTP", code)),
        (None, Some(code)) => Ok(("RECOVERY_CODE", code)),
        (None, None) => Err(ApiError::invalid_field(
            "code",
            "Enter the 6-digit code from your authenticator app, or a recovery code.",
        )),
        (Some(_), Some(_)) => Err(ApiError::invalid_field(
            "recoveryCode",
            "Send a code or a recovery code, not both.",
        )),
    }
}

/// Checks `proof` for `operator_id` inside `tx`: a code is used up, a
/// recovery code too.
async fn check_proof(
    state: &AppState,
    tx: &mut sqlx::AnyConnection,
    operator_id: &str,
    (factor, code): (&'static str, &str),
) -> Result<bool, sqlx::Error> {
    let now = state.clock.now_ms();
    if factor == "TOTP" {
        second_factor::use_code(tx, &state.keyring, operator_id, code, now, true).await
    } else {
        second_factor::use_recovery_code(tx, operator_id, code, now).await
    }
}

fn wrong_proof(factor: &str) -> ApiError {
    let field = if factor == "TOTP" {
        "code"
    } else {
        "recoveryCode"
    };
    ApiError::invalid_field(
        field,
        "This code is not right, or was used already. Check your authenticator app and try again.",
    )
}

/// The second step: a right code or recovery code ends the sign-in as a
/// password alone would (session cookie and CSRF token).
async fn complete_with_second_factor(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    Json(body): Json<SecondFactorProof>,
) -> Result<Response, ApiError> {
    let proof = proof(&body)?;
    // No pending sign-in, or its five minutes are over: the password again.
    let expired = || ApiError::Unauthenticated;
    let secret = cookie(&headers, PENDING_COOKIE).ok_or_else(expired)?;
    let now = state.clock.now_ms();
    let pending: Option<(String, String, String, String)> = sqlx::query_as(
        "SELECT p.operator_id, o.organisation_id, o.email, p.token_hash FROM pending_sign_ins p \
           JOIN operators o ON o.id = p.operator_id \
         WHERE p.token_hash = $1 AND p.expires_at > $2 AND o.removed_at IS NULL",
    )
    .bind(tokens::hash(secret))
    .bind(now)
    .fetch_optional(state.db.pool())
    .await?;
    let (operator_id, organisation_id, email, token_hash) = pending.ok_or_else(expired)?;
    let target = sessions::SignInTarget {
        operator_id,
        organisation_id,
        email,
    };
    let limit_key = client.limit_key().to_string();
    let client = client.0.to_string();
    let user_agent = user_agent(&headers);
    let attempt = begin_attempt(&state, &target.email, &limit_key).await?;
    let mut tx = state.db.begin_write().await?;
    if !check_proof(&state, &mut tx, &target.operator_id, proof).await? {
        drop(tx);
        metrics::counter!(crate::infra::metrics::SIGN_IN_FAILURES, "reason" => "wrong_second_factor")
            .increment(1);
        sessions::record_sign_in(&state, &target, &client, &user_agent, proof.0, false).await?;
        return Err(wrong_proof(proof.0));
    }
    // The pending sign-in works once: of two proofs sent at once, one signs in.
    let used = sqlx::query("DELETE FROM pending_sign_ins WHERE token_hash = $1")
        .bind(&token_hash)
        .execute(&mut *tx)
        .await?;
    if used.rows_affected() == 0 {
        return Err(expired());
    }
    tx.commit().await?;
    attempt.forget(&state).await?;
    let mut response = complete_sign_in(&state, &target, &client, &user_agent, proof.0).await?;
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
    Json(body): Json<SecondFactorProof>,
) -> Result<StatusCode, ApiError> {
    let (operator_id, email) = operator(&actor)?;
    let proof = proof(&body)?;
    let attempt = begin_attempt(&state, email, &client.limit_key().to_string()).await?;
    let mut tx = state.db.begin_write().await?;
    if !check_proof(&state, &mut tx, operator_id, proof).await? {
        return Err(wrong_proof(proof.0));
    }
    second_factor::remove(&mut tx, operator_id).await?;
    actor
        .audit(
            &mut tx,
            state.clock.now_ms(),
            AuditAction::SecondFactorDisabled,
            Some(Target::operator(operator_id)),
            json!({ "factor": "TOTP", "provedWith": proof.0 }),
        )
        .await?;
    tx.commit().await?;
    attempt.forget(&state).await?;
    Ok(StatusCode::NO_CONTENT)
}
