//! The end-user's steps (`/api/connect`): submit the login, start connecting
//! (update mode), choose a method, resend, enter the code.

use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use shared::audit::{AuditAction, AuditActorKind};
use shared::connect::{
    ChooseMethod, ConnectPurpose, ConnectState, ConnectStep, ContactChoice, SubmitCode,
    SubmitCredentials, SubmitPassword, Utility,
};
use shared::i18n::Language;
use shared::validation::{EmailAddress, OtpCode, Password, Username};
use shared::StatusDetail;

use super::session::{connect_state, ConnectSession, MFA_IDLE_TIMEOUT_MS};
use crate::domain::audit::{self, AuditActor, Target};
use crate::domain::credentials::store::{find_by_id, CredentialRow};
use crate::domain::credentials::ValidatedCredential;
use crate::domain::credentials::{Contact, ContactSource};
use crate::domain::lifecycle::connection::{self, complete_connection};
use crate::domain::lifecycle::events::{transition, Transition};
use crate::domain::lifecycle::mfa_slots::MAX_WRONG_CODES;
use crate::domain::lifecycle::mfa_slots::{self, NotClaimed, Refusal};
use crate::domain::lifecycle::{records, sessions};
use crate::domain::login_watch as waiting;
use crate::http::auth::user_agent;
use crate::http::client_ip::ClientIp;
use crate::http::credentials::check_utility;
use crate::http::error::{ApiError, FieldErrors};
use crate::http::extract::{Json, Query};
use crate::http::state::AppState;
use crate::infra::utility::UtilityError;

const ACTOR: &str = "end_user";

/// The end-user as the audit trail names them: by where they connect from.
fn end_user(client: ClientIp, headers: &HeaderMap) -> AuditActor {
    AuditActor::new(
        AuditActorKind::EndUser,
        None,
        "",
        client.0.to_string(),
        &user_agent(headers),
    )
}

/// The session's credential as read with it, after expiring a verification
/// attempt left idle for 30 minutes or whose code expired.
async fn current_credential(
    state: &AppState,
    session: &ConnectSession,
) -> Result<Option<CredentialRow>, ApiError> {
    let Some(row) = &session.credential else {
        return Ok(None);
    };
    let verifying = row.status_detail.is_verifying();
    let idle = row
        .mfa_last_activity_at
        .is_some_and(|at| state.clock.now_ms() - at > MFA_IDLE_TIMEOUT_MS);
    let code_expired = code_expired(state, row);
    if verifying && (idle || code_expired) {
        let message = if code_expired {
            "The code expired. Start again to get a new one."
        } else {
            "The verification expired after 30 minutes without activity. Start again."
        };
        fail_verification(state, row, message).await?;
        return Ok(find_by_id(&state.db, &row.id).await?);
    }
    Ok(Some(row.clone()))
}

/// Whether the code the end-user was sent has expired.
fn code_expired(state: &AppState, row: &CredentialRow) -> bool {
    row.status_detail == StatusDetail::MultiFactorAuthenticationCodeRequired
        && row
            .mfa_code_expires_at
            .is_some_and(|at| at <= state.clock.now_ms())
}

/// `answer`, the state right after a login was requested (CONNECTING), and
/// only then the login worker is woken: the answer never skips
/// "Connecting with your utility".
fn answer_then_log_in(
    state: &AppState,
    answer: Result<Json<ConnectState>, ApiError>,
) -> Result<Json<ConnectState>, ApiError> {
    state.wakeups.logins.notify_one();
    answer
}

/// The state after this request's own writes.
async fn fresh_state(
    state: &AppState,
    session: &ConnectSession,
) -> Result<Json<ConnectState>, ApiError> {
    state_of(state, &session.reload(state).await?).await
}

/// The state after this request's write left the session's credential as
/// `credential` (returned by the write, or built from what it inserted):
/// [`fresh_state`] without reading the session again, which Connect's every
/// step would otherwise cost (docs/benchmarks.md, MFA flows). The session's own columns that the write
/// may change (the attempt completed) decide no step that the credential's
/// status does not decide already.
async fn state_after(
    state: &AppState,
    session: &ConnectSession,
    credential: CredentialRow,
) -> Result<Json<ConnectState>, ApiError> {
    state_of(state, &session.with_credential(credential)).await
}

/// What Connect shows for `session` as it was read.
async fn state_of(
    state: &AppState,
    session: &ConnectSession,
) -> Result<Json<ConnectState>, ApiError> {
    let credential = current_credential(state, session).await?;
    let utility_id = credential
        .as_ref()
        .map(|row| row.utility_id.as_str())
        .or(session.utility_id.as_deref());
    // The name is a nicety: a catalogue that cannot be read leaves it out.
    let utility_name = match utility_id {
        Some(id) => state
            .utilities
            .find(id)
            .await
            .ok()
            .flatten()
            .map(|utility| utility.name),
        None => None,
    };
    Ok(Json(connect_state(
        session,
        credential.as_ref(),
        utility_name,
    )))
}

pub async fn read_session(
    State(state): State<AppState>,
    session: ConnectSession,
    Query(read): Query<SessionRead>,
) -> Result<Json<ConnectState>, ApiError> {
    let wait = read.wait(session.language)?;
    // An update link's first opening is remembered (the refresh funnel);
    // otherwise nothing is written here: the session the extractor read is current.
    if session.purpose == ConnectPurpose::UpdateLink && session.first_opened_at.is_none() {
        let mut connection = state.db.writer().await?;
        sessions::mark_opened(&mut connection, &session.id, state.clock.now_ms()).await?;
    }
    let answer = state_of(&state, &session).await?;
    match wait {
        Some(wait) => wait_while_connecting(&state, session, answer, wait).await,
        None => Ok(answer),
    }
}

/// `GET /api/connect/session`'s query.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRead {
    /// While Connect shows "Connecting with your utility", how long the
    /// answer may wait for the login to end (1 to 30 seconds).
    wait_seconds: Option<String>,
}

impl SessionRead {
    fn wait(&self, language: Language) -> Result<Option<Duration>, ApiError> {
        match self.wait_seconds.as_deref().map(str::parse::<u64>) {
            None => Ok(None),
            Some(Ok(seconds)) if (1..=waiting::MAX_WAIT_SECONDS).contains(&seconds) => {
                Ok(Some(Duration::from_secs(seconds)))
            }
            Some(_) => Err(ApiError::invalid_field(
                "waitSeconds",
                language.wait_seconds_range(waiting::MAX_WAIT_SECONDS),
            )),
        }
    }
}

/// `answer`, or while it is "Connecting with your utility", the state the
/// moment the login ends (the login worker says so; a login elsewhere is
/// seen by a read every second), at most `wait` later: Connect learns at
/// once what it used to learn by asking every second.
async fn wait_while_connecting(
    state: &AppState,
    mut session: ConnectSession,
    mut answer: Json<ConnectState>,
    wait: Duration,
) -> Result<Json<ConnectState>, ApiError> {
    let deadline = tokio::time::Instant::now() + wait;
    let watching = match &answer.0.credential_id {
        Some(id) if answer.0.step == ConnectStep::Connecting => state.wakeups.connecting.watch(id),
        _ => None,
    };
    let Some(watching) = watching else {
        return Ok(answer);
    };
    // A login that ended between the extractor's read and now is seen by
    // the read after the first recheck, as soon as a poll would have seen it.
    let mut armed = watching.armed();
    while answer.0.step == ConnectStep::Connecting && !watching.is_over() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break;
        }
        watching.wait(armed, left).await;
        armed = watching.armed();
        session = session.reload(state).await?;
        session.require_usable(state.clock.now_ms())?;
        answer = state_of(state, &session).await?;
    }
    Ok(answer)
}

/// "Email me if this connection needs attention" on the success screen: the
/// end-user's own address for notices (the organisation's name and branding,
/// in the language Connect was in).
pub async fn choose_contact(
    State(state): State<AppState>,
    session: ConnectSession,
    client: ClientIp,
    headers: HeaderMap,
    Json(body): Json<ContactChoice>,
) -> Result<Json<ConnectState>, ApiError> {
    let language = session.language;
    let (Some(row), Some(_)) = (&session.credential, session.completed_at) else {
        return Err(ApiError::Conflict(language.contact_after_success().into()));
    };
    let mut errors = FieldErrors::default();
    let email = match EmailAddress::parse(&body.contact_email) {
        Ok(email) => Some(email),
        Err(error) => {
            errors.add("contactEmail", error.in_language(language));
            None
        }
    };
    errors.finish()?;
    let Some(email) = email else {
        unreachable!("FieldErrors::finish returned Ok, so the address parsed")
    };
    let contact = Contact {
        email,
        source: ContactSource::EndUser,
        language: Some(language),
    };
    let mut tx = state.db.begin_write().await?;
    // The success screen's offer, and nothing more: it adds an address, never
    // replaces one (case 43), read where the write happens so two tabs saving
    // at once set one; a link used a while ago is refused by the extractor
    // like any of its requests (USED_LINK_SHOWS_SUCCESS_MS).
    let (current,): (Option<String>,) =
        sqlx::query_as("SELECT contact_email FROM credentials WHERE id = $1")
            .bind(&row.id)
            .fetch_one(&mut *tx)
            .await?;
    if current.is_some() {
        return Err(ApiError::Conflict(language.contact_already_set().into()));
    }
    let now = state.clock.now_ms();
    records::set_contact(&mut tx, &row.reference(), Some(&contact), ACTOR, now).await?;
    audit::record(
        &mut tx,
        now,
        audit::Entry {
            organisation_id: Some(&session.organisation_id),
            actor: &end_user(client, &headers),
            action: AuditAction::CredentialContactChanged,
            target: Some(Target::credential(&row.id)),
            details: serde_json::json!({ "source": ContactSource::EndUser.as_str() }),
        },
    )
    .await?;
    tx.commit().await?;
    fresh_state(&state, &session).await
}

pub async fn list_utilities(
    State(state): State<AppState>,
    _session: ConnectSession,
) -> Result<Json<Vec<Utility>>, ApiError> {
    Ok(Json(
        crate::http::credentials::utilities_by_name(&state).await?,
    ))
}

/// New credential: the end-user's login. After INVALID_CREDENTIALS the same
/// call corrects the login and tries again.
pub async fn submit_credentials(
    State(state): State<AppState>,
    session: ConnectSession,
    client: ClientIp,
    headers: HeaderMap,
    Json(body): Json<SubmitCredentials>,
) -> Result<Json<ConnectState>, ApiError> {
    session.require_open()?;
    if session.purpose != ConnectPurpose::NewCredential {
        return Err(ApiError::Conflict(
            session.language.login_fixed_by_link().into(),
        ));
    }
    let mut errors = FieldErrors::default();
    let language = session.language;
    let username = errors.check(
        "username",
        Username::parse(&body.username).map_err(|error| error.in_language(language)),
    );
    let password = errors.check(
        "password",
        Password::parse(&body.password).map_err(|error| error.in_language(language)),
    );
    let branding = &session.branding;
    if (branding.terms_url.is_some() || branding.privacy_url.is_some()) && !body.accepted_terms {
        errors.add("acceptedTerms", language.consent_required());
    }
    match &session.utility_id {
        Some(preset) if *preset != body.utility_id => {
            errors.add("utilityId", language.link_for_other_utility())
        }
        _ => check_utility(&state, &mut errors, "utilityId", &body.utility_id).await?,
    }
    errors.finish()?;
    let (Some(username), Some(password)) = (username, password) else {
        unreachable!("FieldErrors::finish returned Ok, so every field parsed")
    };
    let now = state.clock.now_ms();
    match current_credential(&state, &session).await? {
        None => {
            let validated = ValidatedCredential {
                utility_id: body.utility_id,
                username,
                password,
                correlation_id: session.correlation_id.clone(),
                owner: session.owner,
                contact: session
                    .contact_email
                    .as_deref()
                    .and_then(|email| EmailAddress::parse(email).ok())
                    .map(|email| Contact {
                        email,
                        source: ContactSource::Integrator,
                        language: session.contact_language,
                    }),
            };
            // Created and attached together: a double submit that loses
            // the race leaves nothing behind.
            let created = records::insert_credential_for_session(
                &state,
                &session.id,
                &session.organisation_id,
                &validated,
                ACTOR,
                &end_user(client, &headers),
            )
            .await?;
            let Some(created) = created else {
                return Err(ApiError::Conflict(
                    language.login_already_submitted().into(),
                ));
            };
            let answer = state_after(&state, &session, created).await;
            return answer_then_log_in(&state, answer);
        }
        Some(row) if row.status_detail == StatusDetail::InvalidCredentials => {
            let mut tx = state.db.begin_write().await?;
            records::replace_login(
                &mut tx,
                &state,
                &row.id,
                &body.utility_id,
                username.as_str(),
                &password,
                now,
            )
            .await?;
            reconnect_in(
                &mut tx,
                &state,
                &session,
                &row,
                "The end-user corrected the login; reconnecting.",
            )
            .await?;
            tx.commit().await?;
        }
        Some(_) => {
            return Err(ApiError::Conflict(
                language.login_already_submitted().into(),
            ))
        }
    }
    answer_then_log_in(&state, fresh_state(&state, &session).await)
}

/// Moves the credential to CONNECTING and queues a login; marks the attempt started.
async fn reconnect_in(
    connection: &mut sqlx::AnyConnection,
    state: &AppState,
    session: &ConnectSession,
    row: &CredentialRow,
    message: &str,
) -> Result<(), ApiError> {
    let now = state.clock.now_ms();
    let change = Transition {
        credential_id: &row.id,
        from: row.status_detail,
        to: StatusDetail::Connecting,
        actor: ACTOR,
        message: message.to_owned(),
    };
    if !transition(connection, &change, now).await? {
        return Err(ApiError::Conflict(session.language.state_changed().into()));
    }
    mfa_slots::claim_login_attempt(state, connection, &row.id)
        .await
        .map_err(|error| not_claimed(error, session.language))?;
    records::request_login(connection, &row.id, now).await?;
    sessions::start_attempt(connection, &session.id, now).await?;
    Ok(())
}

/// Update mode, or a retry after a failure: log in again with the stored login.
pub async fn reconnect(
    State(state): State<AppState>,
    session: ConnectSession,
) -> Result<Json<ConnectState>, ApiError> {
    session.require_open()?;
    let row = current_credential(&state, &session)
        .await?
        .ok_or_else(|| ApiError::Conflict(session.language.enter_login_first().into()))?;
    if row.status_detail == StatusDetail::Connecting {
        return fresh_state(&state, &session).await;
    }
    if row.deactivated_at.is_some() {
        return Err(ApiError::Conflict(
            session.language.account_deactivated().into(),
        ));
    }
    let mut tx = state.db.begin_write().await?;
    reconnect_in(
        &mut tx,
        &state,
        &session,
        &row,
        "Connecting with the utility again.",
    )
    .await?;
    tx.commit().await?;
    answer_then_log_in(&state, fresh_state(&state, &session).await)
}

/// Update mode after INVALID_CREDENTIALS: the end-user re-enters the password.
pub async fn submit_password(
    State(state): State<AppState>,
    session: ConnectSession,
    Json(body): Json<SubmitPassword>,
) -> Result<Json<ConnectState>, ApiError> {
    session.require_open()?;
    let mut errors = FieldErrors::default();
    let password = errors.check(
        "password",
        Password::parse(&body.password).map_err(|error| error.in_language(session.language)),
    );
    errors.finish()?;
    let password = password.expect("validated above");
    let row = current_credential(&state, &session)
        .await?
        .ok_or_else(|| ApiError::Conflict(session.language.enter_login_first().into()))?;
    if row.status_detail != StatusDetail::InvalidCredentials {
        return Err(ApiError::Conflict(
            session.language.password_not_asked().into(),
        ));
    }
    let mut tx = state.db.begin_write().await?;
    records::store_password(&mut tx, &state, &row.id, &password, state.clock.now_ms()).await?;
    reconnect_in(
        &mut tx,
        &state,
        &session,
        &row,
        "The end-user entered a new password; reconnecting.",
    )
    .await?;
    tx.commit().await?;
    answer_then_log_in(&state, fresh_state(&state, &session).await)
}

/// Ends the verification attempt as MULTI_FACTOR_AUTHENTICATION_FAILED.
async fn fail_verification(
    state: &AppState,
    row: &CredentialRow,
    message: &str,
) -> Result<(), ApiError> {
    connection::fail_verification(state, row, ACTOR, message).await?;
    Ok(())
}

fn utility_unavailable(language: Language) -> ApiError {
    ApiError::ServiceUnavailable(language.utility_not_answering().into())
}

/// Sends a code by `method` (the first send, or another method).
pub async fn choose_method(
    State(state): State<AppState>,
    session: ConnectSession,
    Json(body): Json<ChooseMethod>,
) -> Result<Json<ConnectState>, ApiError> {
    session.require_open()?;
    send_code(&state, &session, Some(body.method)).await
}

/// Sends the code again by the method already chosen.
pub async fn resend_code(
    State(state): State<AppState>,
    session: ConnectSession,
) -> Result<Json<ConnectState>, ApiError> {
    session.require_open()?;
    send_code(&state, &session, None).await
}

async fn send_code(
    state: &AppState,
    session: &ConnectSession,
    method: Option<shared::MfaMethod>,
) -> Result<Json<ConnectState>, ApiError> {
    let row = current_credential(state, session)
        .await?
        .ok_or_else(|| ApiError::Conflict(session.language.enter_login_first().into()))?;
    let verifying = row.status_detail.is_verifying();
    let Some(challenge_id) = row.mfa_challenge_id.clone().filter(|_| verifying) else {
        return Err(ApiError::Conflict(
            session.language.no_verification_waiting().into(),
        ));
    };
    let method = match method.or_else(|| {
        row.mfa_method
            .as_deref()
            .and_then(shared::MfaMethod::from_wire_name)
    }) {
        Some(method) => method,
        None => {
            return Err(ApiError::invalid_field(
                "method",
                session.language.choose_how_to_receive(),
            ))
        }
    };
    let offered: Vec<shared::connect::MfaOption> = row
        .mfa_options
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default();
    if !offered.iter().any(|option| option.method == method) {
        return Err(ApiError::invalid_field(
            "method",
            session.language.method_not_offered(),
        ));
    }
    mfa_slots::claim_send(state, &row, method)
        .await
        .map_err(|error| not_claimed(error, session.language))?;
    match state
        .utility
        .send_code(&row.utility_id, &challenge_id, method)
        .await
    {
        Ok(sent) => {
            if let Some(sent) = connection::code_sent(state, &row, method, &sent, ACTOR).await? {
                return state_after(state, session, sent).await;
            }
        }
        Err(UtilityError::TooManySends {
            retry_after_seconds,
        }) => {
            mfa_slots::release(state, &row.id).await?;
            return Err(ApiError::RateLimited {
                message: session.language.utility_sends_no_more().into(),
                retry_after_seconds: retry_after_seconds.unwrap_or(60),
            });
        }
        Err(UtilityError::MethodNotOffered) => {
            mfa_slots::give_back_send(state, &row.id).await?;
            return Err(ApiError::invalid_field(
                "method",
                session.language.method_not_offered(),
            ));
        }
        Err(error) if error.is_transient() => {
            mfa_slots::give_back_send(state, &row.id).await?;
            return Err(utility_unavailable(session.language));
        }
        Err(error) => {
            let message = match error {
                UtilityError::ChallengeExpired => {
                    "The verification expired at the utility. Start again.".to_owned()
                }
                other => format!("The utility refused to send a code: {other}."),
            };
            fail_verification(state, &row, &message).await?;
        }
    }
    fresh_state(state, session).await
}

/// A code typed after it expired is refused here, without asking the
/// utility, and ends the verification (the end-user starts again).
async fn refuse_an_expired_code(
    state: &AppState,
    session: &ConnectSession,
) -> Result<(), ApiError> {
    let Some(row) = &session.credential else {
        return Ok(());
    };
    if code_expired(state, row) {
        fail_verification(
            state,
            row,
            "The code expired. Start again to get a new one.",
        )
        .await?;
        return Err(refused(Refusal::CodeExpired, session.language));
    }
    Ok(())
}

/// Checks the code. A wrong code answers 422 with the attempts left; the fifth
/// wrong code, an expired code or an expired verification end the attempt.
pub async fn submit_code(
    State(state): State<AppState>,
    session: ConnectSession,
    Json(body): Json<SubmitCode>,
) -> Result<Json<ConnectState>, ApiError> {
    session.require_open()?;
    let code = OtpCode::parse(&body.code)
        .map_err(|error| ApiError::invalid_field("code", error.in_language(session.language)))?;
    refuse_an_expired_code(&state, &session).await?;
    let row = current_credential(&state, &session)
        .await?
        .ok_or_else(|| ApiError::Conflict(session.language.enter_login_first().into()))?;
    let Some(challenge_id) = row
        .mfa_challenge_id
        .clone()
        .filter(|_| row.status_detail == StatusDetail::MultiFactorAuthenticationCodeRequired)
    else {
        return Err(refused(Refusal::NotExpected, session.language));
    };
    mfa_slots::claim_code_check(&state, &row)
        .await
        .map_err(|error| not_claimed(error, session.language))?;
    match state
        .utility
        .verify_code(&row.utility_id, &challenge_id, &code)
        .await
    {
        Ok(token) => {
            if let Some(connected) = complete_connection(&state, &row, &token, None, ACTOR).await? {
                return state_after(&state, &session, connected).await;
            }
        }
        Err(UtilityError::WrongCode { attempts_left }) => {
            let wrong_codes = row.mfa_wrong_codes + 1;
            let left = (MAX_WRONG_CODES - wrong_codes).min(i64::from(attempts_left));
            if left <= 0 {
                fail_verification(
                    &state,
                    &row,
                    "Too many wrong codes. Start again to get a new code.",
                )
                .await?;
                return fresh_state(&state, &session).await;
            }
            connection::wrong_code(&state, &row, left, ACTOR).await?;
            return Err(ApiError::invalid_field(
                "code",
                session.language.wrong_code(left.max(0) as u64),
            ));
        }
        Err(error) if error.is_transient() => {
            // The utility did not decide: the attempt is not used up.
            mfa_slots::give_back_code_check(&state, &row.id).await?;
            return Err(utility_unavailable(session.language));
        }
        Err(error) => {
            let message = match error {
                UtilityError::CodeExpired => {
                    "The code expired. Start again to get a new one.".to_owned()
                }
                UtilityError::TooManyAttempts { .. } => {
                    "Too many wrong codes. Start again to get a new code.".to_owned()
                }
                UtilityError::ChallengeExpired => {
                    "The verification expired at the utility. Start again.".to_owned()
                }
                other => format!("The utility could not check the code: {other}."),
            };
            fail_verification(&state, &row, &message).await?;
        }
    }
    fresh_state(&state, &session).await
}

/// A refusal as Connect shows it, in Connect's language.
fn refused(refusal: Refusal, language: Language) -> ApiError {
    match refusal {
        Refusal::NotExpected => ApiError::Conflict(language.code_not_expected().into()),
        Refusal::InFlight => ApiError::Conflict(language.request_in_flight().into()),
        Refusal::CodeExpired => ApiError::Conflict(language.code_expired().into()),
        Refusal::AttemptsUsed => ApiError::Conflict(language.too_many_wrong_codes().into()),
        Refusal::SendsUsed => ApiError::TooManyRequests(language.no_more_sends().into()),
        Refusal::Cooldown { retry_after_ms } => {
            ApiError::rate_limited(language.code_just_sent(), retry_after_ms)
        }
        Refusal::DailyCeiling { retry_after_ms } => {
            ApiError::rate_limited(language.daily_code_ceiling(), retry_after_ms)
        }
        Refusal::ConnectingTooOften { retry_after_ms } => {
            ApiError::rate_limited(language.connect_too_often(), retry_after_ms)
        }
    }
}

/// A slot Connect could not claim: the refusal in Connect's language, or a
/// database error.
fn not_claimed(error: NotClaimed, language: Language) -> ApiError {
    match error {
        NotClaimed::Refused(refusal) => refused(refusal, language),
        NotClaimed::Database(error) => error.into(),
    }
}
