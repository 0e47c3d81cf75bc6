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
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::domain::credentials::store::{self as credential_store, CredentialRow};
use crate::domain::lifecycle::mfa_slots::{MAX_SENDS, MAX_WRONG_CODES};
use crate::domain::organisations;
use crate::http::auth::bearer_token;
use crate::http::error::ApiError;
use crate::http::extract::requested_language;
use crate::http::state::AppState;
use crate::infra::clock::from_ms;
use crate::infra::tokens;

/// A verification attempt with no activity for this long expires.
pub const MFA_IDLE_TIMEOUT_MS: i64 = 30 * 60 * 1000;
/// How long a used link still shows its success screen to whoever used it.
pub const USED_LINK_SHOWS_SUCCESS_MS: i64 = 15 * 60 * 1000;

/// A Connect session with what every answer to it needs: its organisation's
/// name and branding and its credential, read together in one statement
/// ([`ConnectSession::read`]).
#[derive(Debug, Clone)]
pub struct ConnectSession {
    pub id: String,
    pub organisation_id: String,
    pub purpose: ConnectPurpose,
    pub utility_id: Option<String>,
    pub correlation_id: Option<String>,
    pub owner: Owner,
    pub expires_at: i64,
    pub attempt_started_at: Option<i64>,
    pub completed_at: Option<i64>,
    /// The browser that drives the session ([`BROWSER_HEADER`]), once one acted on it.
    pub browser_hash: Option<String>,
    revoked_at: Option<i64>,
    revoked_reason: Option<String>,
    /// The language Connect's screens are in, as its requests say
    /// (`Accept-Language`): the errors answered to it are in that language.
    pub language: Language,
    /// The end-user's contact the integrator gave with the Connect token.
    pub contact_email: Option<String>,
    pub contact_language: Option<Language>,
    /// When an end-user first opened it (update links: the refresh funnel).
    pub first_opened_at: Option<i64>,
    pub organisation_name: String,
    pub branding: Branding,
    /// The session's credential as read with it (`None` before a login).
    pub credential: Option<CredentialRow>,
}

/// Which session [`ConnectSession::read`] reads.
#[derive(Debug, Clone, Copy)]
enum SessionKey<'a> {
    /// The hash of the token Connect holds.
    TokenHash(&'a str),
    Id(&'a str),
}

impl ConnectSession {
    /// Refuses a session that can no longer change anything: already used.
    pub fn require_open(&self) -> Result<(), ApiError> {
        if self.completed_at.is_some() {
            return Err(ApiError::ConnectLinkUnusable(ErrorCode::ConnectLinkUsed));
        }
        Ok(())
    }

    /// The session as read, with `credential` as its credential.
    pub fn with_credential(&self, credential: CredentialRow) -> ConnectSession {
        ConnectSession {
            credential: Some(credential),
            ..self.clone()
        }
    }

    /// The session as stored now (after this request's own writes), still
    /// answered in the request's language.
    pub async fn reload(&self, state: &AppState) -> Result<ConnectSession, ApiError> {
        ConnectSession::read(state, SessionKey::Id(&self.id), self.language)
            .await?
            .ok_or(ApiError::Unauthenticated)
    }

    /// The session, its organisation's branding and its credential in one
    /// statement: Connect reads its state every second while it waits, and
    /// each statement is a round trip to a database thread (docs/benchmarks.md,
    /// MFA flows).
    async fn read(
        state: &AppState,
        key: SessionKey<'_>,
        language: Language,
    ) -> Result<Option<ConnectSession>, ApiError> {
        let (column, value) = match key {
            SessionKey::TokenHash(hash) => ("token_hash", hash),
            SessionKey::Id(id) => ("id", id),
        };
        let row = sqlx::query(&format!(
            "SELECT s.id AS session_id, s.organisation_id AS session_organisation_id, s.purpose, \
               s.utility_id AS session_utility_id, \
               s.correlation_id AS session_correlation_id, s.owner AS session_owner, s.expires_at, \
               s.attempt_started_at, s.completed_at, s.revoked_at, s.revoked_reason, \
               s.contact_email AS session_contact_email, s.contact_language AS session_contact_language, \
               s.first_opened_at, s.browser_hash, {branding}, {credential} \
             FROM connect_sessions s \
             JOIN organisations o ON o.id = s.organisation_id \
             LEFT JOIN credentials c ON c.id = s.credential_id \
             WHERE s.{column} = $1",
            branding = organisations::branding_columns(state.db.kind()),
            credential = credential_store::columns_of("c"),
        ))
        .bind(value)
        .fetch_optional(state.db.pool())
        .await?;
        row.as_ref()
            .map(|row| ConnectSession::from_row(row, language))
            .transpose()
            .map_err(ApiError::from)
    }

    fn from_row(row: &AnyRow, language: Language) -> Result<ConnectSession, sqlx::Error> {
        let purpose: String = row.try_get("purpose")?;
        let owner: String = row.try_get("session_owner")?;
        let (organisation_name, branding) = organisations::branding_of(row)?;
        let credential = match row.try_get::<Option<String>, _>("id")? {
            Some(_) => Some(CredentialRow::from_row(row)?),
            None => None,
        };
        Ok(ConnectSession {
            id: row.try_get("session_id")?,
            organisation_id: row.try_get("session_organisation_id")?,
            purpose: ConnectPurpose::parse(&purpose).unwrap_or(ConnectPurpose::NewCredential),
            utility_id: row.try_get("session_utility_id")?,
            correlation_id: row.try_get("session_correlation_id")?,
            owner: Owner::parse(&owner).unwrap_or_default(),
            expires_at: row.try_get("expires_at")?,
            attempt_started_at: row.try_get("attempt_started_at")?,
            completed_at: row.try_get("completed_at")?,
            revoked_at: row.try_get("revoked_at")?,
            revoked_reason: row.try_get("revoked_reason")?,
            language,
            contact_email: row.try_get("session_contact_email")?,
            contact_language: row
                .try_get::<Option<String>, _>("session_contact_language")?
                .as_deref()
                .and_then(Language::from_tag),
            first_opened_at: row.try_get("first_opened_at")?,
            browser_hash: row.try_get("browser_hash")?,
            organisation_name,
            branding,
            credential,
        })
    }

    /// After its success, a session shows it only to the browser that drove
    /// it; anyone else holding the link (a forwarded mail, a shared screen)
    /// learns only that it was used (case 42). A session no browser drove
    /// (the API alone) keeps showing it to its token's holder.
    pub fn require_its_browser(&self, browser_hash: Option<&str>) -> Result<(), ApiError> {
        match (&self.browser_hash, self.completed_at) {
            (Some(bound), Some(_)) if browser_hash != Some(bound.as_str()) => {
                Err(ApiError::ConnectLinkUnusable(ErrorCode::ConnectLinkUsed))
            }
            _ => Ok(()),
        }
    }

    /// Refuses a link that was revoked, replaced, used a while ago or expired.
    pub fn require_usable(&self, now_ms: i64) -> Result<(), ApiError> {
        if self.revoked_at.is_some() {
            return Err(ApiError::ConnectLinkUnusable(
                match self.revoked_reason.as_deref() {
                    Some("REPLACED") => ErrorCode::ConnectLinkReplaced,
                    _ => ErrorCode::ConnectLinkRevoked,
                },
            ));
        }
        // A used link shows its success to the person who just used it, for a
        // while; after that it says only that it was used, and reveals no
        // username, utility or status to whoever finds it later.
        if self
            .completed_at
            .is_some_and(|at| now_ms >= at + USED_LINK_SHOWS_SUCCESS_MS)
        {
            return Err(ApiError::ConnectLinkUnusable(ErrorCode::ConnectLinkUsed));
        }
        // A used session still shows its success; it just cannot act again.
        if self.completed_at.is_none() && now_ms >= self.expires_at {
            return Err(ApiError::ConnectLinkUnusable(ErrorCode::ConnectLinkExpired));
        }
        Ok(())
    }
}

impl FromRequestParts<AppState> for ConnectSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<ConnectSession, ApiError> {
        let token = bearer_token(&parts.headers).ok_or(ApiError::Unauthenticated)?;
        let hash = tokens::hash(token);
        let session = ConnectSession::read(
            state,
            SessionKey::TokenHash(&hash),
            requested_language(&parts.headers),
        )
        .await?
        .ok_or(ApiError::Unauthenticated)?;
        session.require_usable(state.clock.now_ms())?;
        let browser = browser_hash(&parts.headers);
        session.require_its_browser(browser.as_deref())?;
        if let (Some(browser), None, None, false) = (
            &browser,
            &session.browser_hash,
            session.completed_at,
            parts.method == axum::http::Method::GET,
        ) {
            crate::domain::lifecycle::sessions::bind_browser(
                &mut *state.db.writer().await?,
                &session.id,
                browser,
            )
            .await?;
        }
        Ok(session)
    }
}

/// The header Connect sends with a random value it keeps in the browser's
/// session storage, naming the browser that drives a session.
pub const BROWSER_HEADER: &str = "x-connect-browser";

/// The hash of the request's [`BROWSER_HEADER`] value, when it has a usable one.
fn browser_hash(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(BROWSER_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|value| {
            (16..=128).contains(&value.len()) && value.chars().all(|c| c.is_ascii_alphanumeric())
        })
        .map(tokens::hash)
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
        && session.branding.notify_end_users != shared::operators::NotifyEndUsers::Off;
    ConnectState {
        purpose: session.purpose,
        organisation_name: session.organisation_name.clone(),
        branding: session.branding.clone(),
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
