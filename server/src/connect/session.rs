//! A Connect session, found by the Bearer token Connect holds (not a cookie:
//! third-party cookies are blocked in iframes), and the state its screens show.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use shared::connect::{
    Branding, ConnectFailure, ConnectPurpose, ConnectState, ConnectStep, MfaOption,
};
use shared::credentials::Owner;
use shared::i18n::Language;
use shared::{ErrorCode, MfaMethod, StatusDetail};

use crate::auth::bearer_token;
use crate::clock::from_ms;
use crate::credentials::store::CredentialRow;
use crate::error::ApiError;
use crate::state::AppState;
use crate::tokens;

/// Codes that can be sent in one verification attempt (the first and the resends).
pub const MAX_SENDS: i64 = 4;
/// Wrong codes allowed in one verification attempt.
pub const MAX_WRONG_CODES: i64 = 5;
/// A verification attempt with no activity for this long expires.
pub const MFA_IDLE_TIMEOUT_MS: i64 = 30 * 60 * 1000;
/// How long a used link still shows its success screen to whoever used it.
pub const USED_LINK_SHOWS_SUCCESS_MS: i64 = 15 * 60 * 1000;

#[derive(Debug, Clone)]
pub struct ConnectSession {
    pub id: String,
    pub organisation_id: String,
    pub purpose: ConnectPurpose,
    pub credential_id: Option<String>,
    pub utility_id: Option<String>,
    pub correlation_id: Option<String>,
    pub owner: Owner,
    pub expires_at: i64,
    pub attempt_started_at: Option<i64>,
    pub completed_at: Option<i64>,
    /// The language Connect's screens are in, as its requests say
    /// (`Accept-Language`): the errors answered to it are in that language.
    pub language: Language,
    /// The end-user's contact the integrator gave with the Connect token.
    pub contact_email: Option<String>,
    pub contact_language: Option<Language>,
    /// When an end-user first opened it (update links: the refresh funnel).
    pub first_opened_at: Option<i64>,
}

impl ConnectSession {
    /// Refuses a session that can no longer change anything: already used.
    pub fn require_open(&self) -> Result<(), ApiError> {
        if self.completed_at.is_some() {
            return Err(ApiError::ConnectLinkUnusable(ErrorCode::ConnectLinkUsed));
        }
        Ok(())
    }
}

/// A `connect_sessions` row as the extractor reads it.
#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    organisation_id: String,
    purpose: String,
    credential_id: Option<String>,
    utility_id: Option<String>,
    correlation_id: Option<String>,
    owner: String,
    expires_at: i64,
    attempt_started_at: Option<i64>,
    completed_at: Option<i64>,
    revoked_at: Option<i64>,
    revoked_reason: Option<String>,
    contact_email: Option<String>,
    contact_language: Option<String>,
    first_opened_at: Option<i64>,
}

impl FromRequestParts<AppState> for ConnectSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<ConnectSession, ApiError> {
        let token = bearer_token(&parts.headers).ok_or(ApiError::Unauthenticated)?;
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT id, organisation_id, purpose, credential_id, utility_id, correlation_id, owner, expires_at, \
               attempt_started_at, completed_at, revoked_at, revoked_reason, contact_email, contact_language, first_opened_at \
             FROM connect_sessions WHERE token_hash = $1",
        )
        .bind(tokens::hash(token))
        .fetch_optional(state.db.pool())
        .await?;
        let Some(SessionRow {
            id,
            organisation_id,
            purpose,
            credential_id,
            utility_id,
            correlation_id,
            owner,
            expires_at,
            attempt_started_at,
            completed_at,
            revoked_at,
            revoked_reason,
            contact_email,
            contact_language,
            first_opened_at,
        }) = row
        else {
            return Err(ApiError::Unauthenticated);
        };
        if revoked_at.is_some() {
            return Err(ApiError::ConnectLinkUnusable(
                match revoked_reason.as_deref() {
                    Some("REPLACED") => ErrorCode::ConnectLinkReplaced,
                    _ => ErrorCode::ConnectLinkRevoked,
                },
            ));
        }
        // A used link shows its success to the person who just used it, for a
        // while; after that it says only that it was used, and reveals no
        // username, utility or status to whoever finds it later.
        if completed_at.is_some_and(|at| state.clock.now_ms() >= at + USED_LINK_SHOWS_SUCCESS_MS) {
            return Err(ApiError::ConnectLinkUnusable(ErrorCode::ConnectLinkUsed));
        }
        // A used session still shows its success; it just cannot act again.
        if completed_at.is_none() && state.clock.now_ms() >= expires_at {
            return Err(ApiError::ConnectLinkUnusable(ErrorCode::ConnectLinkExpired));
        }
        Ok(ConnectSession {
            id,
            organisation_id,
            purpose: ConnectPurpose::parse(&purpose).unwrap_or(ConnectPurpose::NewCredential),
            credential_id,
            utility_id,
            correlation_id,
            owner: Owner::parse(&owner).unwrap_or_default(),
            expires_at,
            attempt_started_at,
            completed_at,
            language: requested_language(&parts.headers),
            contact_email,
            contact_language: contact_language.as_deref().and_then(Language::from_tag),
            first_opened_at,
        })
    }
}

/// The language a Connect request asks for (`Accept-Language`), English by default.
pub fn requested_language(headers: &axum::http::HeaderMap) -> Language {
    headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .and_then(Language::from_accept_language)
        .unwrap_or_default()
}

fn failure_of(detail: StatusDetail) -> Option<ConnectFailure> {
    match detail {
        StatusDetail::InvalidCredentials => Some(ConnectFailure::InvalidCredentials),
        StatusDetail::OtherAccessLimitation => Some(ConnectFailure::AccountLocked),
        StatusDetail::UnsupportedMultiFactorAuthentication => Some(ConnectFailure::UnsupportedMfa),
        StatusDetail::MultiFactorAuthenticationFailed => Some(ConnectFailure::MfaFailed),
        StatusDetail::ProviderWebsiteInaccessible => Some(ConnectFailure::UtilityUnavailable),
        _ => None,
    }
}

/// What Connect shows for this session and its credential.
pub fn connect_state(
    session: &ConnectSession,
    organisation_name: String,
    branding: Branding,
    credential: Option<&CredentialRow>,
    utility_name: Option<String>,
) -> ConnectState {
    let step = match credential {
        _ if session.completed_at.is_some() => ConnectStep::Success,
        None => ConnectStep::EnterCredentials,
        Some(_) if session.purpose.is_update_mode() && session.attempt_started_at.is_none() => {
            ConnectStep::Start
        }
        Some(row) => match row.status_detail {
            StatusDetail::Connecting => ConnectStep::Connecting,
            StatusDetail::MultiFactorAuthenticationMethodRequired => ConnectStep::ChooseMethod,
            StatusDetail::MultiFactorAuthenticationCodeRequired => ConnectStep::EnterCode,
            StatusDetail::LoginAndDataDiscoverySuccessful => ConnectStep::Success,
            StatusDetail::MultiFactorAuthenticationRefreshRequired => ConnectStep::Start,
            _ => ConnectStep::Failed,
        },
    };
    let mfa_options: Vec<MfaOption> = credential
        .and_then(|row| row.mfa_options.as_deref())
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default();
    let in_verification = matches!(step, ConnectStep::ChooseMethod | ConnectStep::EnterCode);
    let contact_email = credential
        .filter(|_| step == ConnectStep::Success)
        .and_then(|row| row.contact_email.as_deref())
        .map(shared::validation::mask_email);
    let offer_contact = step == ConnectStep::Success
        && credential.is_some()
        && contact_email.is_none()
        && branding.notify_end_users != shared::operators::NotifyEndUsers::Off;
    ConnectState {
        purpose: session.purpose,
        organisation_name,
        branding,
        step,
        credential_id: credential.map(|row| row.id.clone()),
        utility_id: credential
            .map(|row| row.utility_id.clone())
            .or_else(|| session.utility_id.clone()),
        utility_name,
        username: credential.map(|row| row.username.clone()),
        status_detail: credential.map(|row| row.status_detail),
        failure: if step == ConnectStep::Failed {
            credential.and_then(|row| failure_of(row.status_detail))
        } else {
            None
        },
        message: if step == ConnectStep::Failed {
            credential.and_then(|row| row.failure_message.clone())
        } else {
            None
        },
        mfa_options: if in_verification {
            mfa_options
        } else {
            Vec::new()
        },
        mfa_method: credential
            .filter(|_| step == ConnectStep::EnterCode)
            .and_then(|row| row.mfa_method.as_deref())
            .and_then(MfaMethod::from_wire_name),
        code_sent_to: credential
            .filter(|_| step == ConnectStep::EnterCode)
            .and_then(|row| row.mfa_destination.clone()),
        code_expires_at: credential
            .filter(|_| step == ConnectStep::EnterCode)
            .and_then(|row| row.mfa_code_expires_at)
            .map(from_ms),
        resends_left: credential
            .filter(|_| step == ConnectStep::EnterCode)
            .map(|row| (MAX_SENDS - row.mfa_sends).max(0) as u32),
        attempts_left: credential
            .filter(|_| step == ConnectStep::EnterCode)
            .map(|row| (MAX_WRONG_CODES - row.mfa_wrong_codes).max(0) as u32),
        expires_at: from_ms(session.expires_at),
        offer_contact,
        contact_email,
    }
}
