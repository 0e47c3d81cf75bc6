//! Logging in and the second factor: log in, send a code, check a code.

use axum::extract::State;
use axum::http::StatusCode;
use time::Duration;

use super::catalog::{
    find_scenario, MfaPolicy, SandboxUtility, Scenario, GOOD_PASSWORD, SLOW_ANSWER,
};
use super::contact::masked_destination;
use super::error::{Json, Path, SandboxError};
use super::state::{
    random_code, random_token, Challenge, IssuedCode, OutboxEntry, Sandbox, SandboxData, Session,
};
use super::utility_or_404;
use crate::infra::utility::protocol::{
    CodeSentResponse, LoginRequest, LoginResponse, OfferedMethod, SendCodeRequest,
    SessionTokenResponse, UtilityErrorKind, VerifyCodeRequest,
};

/// How long a login may wait for its code before starting again.
const CHALLENGE_LIFETIME: Duration = Duration::minutes(30);
/// How long a sent code is valid.
const CODE_LIFETIME: Duration = Duration::minutes(10);
/// Codes that can be sent for one challenge (first send and resends).
const MAX_SENDS: u32 = 5;
/// Wrong codes that lock the login.
const MAX_WRONG_CODES: u32 = 5;
/// How long a login stays locked after too many wrong codes.
const LOCKOUT: Duration = Duration::minutes(15);

pub async fn log_in(
    State(sandbox): State<Sandbox>,
    Path(utility_id): Path<String>,
    Json(request): Json<LoginRequest>,
) -> Result<Json<LoginResponse>, SandboxError> {
    let utility = utility_or_404(&utility_id)?;
    let scenario = find_scenario(&request.username).filter(|_| request.password == GOOD_PASSWORD);
    if scenario == Some(Scenario::Slow) {
        tokio::time::sleep(SLOW_ANSWER).await;
    }
    let Some(scenario) = scenario else {
        return Err(SandboxError::new(
            StatusCode::UNAUTHORIZED,
            UtilityErrorKind::InvalidCredentials,
            "The username or password is incorrect.",
        ));
    };
    let mut data = sandbox.lock();
    let now = data.now();
    if let Some(until) = data
        .lockouts
        .get(&(utility.id, request.username.clone()))
        .filter(|until| **until > now)
    {
        return Err(SandboxError::locked(*until));
    }
    match scenario {
        Scenario::Locked => Err(SandboxError::locked(now + Duration::days(3650))),
        Scenario::Down => Err(SandboxError::unavailable()),
        Scenario::NoMfa => Ok(Json(start_session(&mut data, utility, &request.username))),
        Scenario::Good | Scenario::Slow => match utility.mfa {
            MfaPolicy::None => Ok(Json(start_session(&mut data, utility, &request.username))),
            MfaPolicy::Codes(_) | MfaPolicy::SecurityQuestions => {
                Ok(Json(start_challenge(&mut data, utility, &request.username)))
            }
        },
    }
}

fn start_session(
    data: &mut SandboxData,
    utility: &SandboxUtility,
    username: &str,
) -> LoginResponse {
    let session = issue_session(data, utility, username);
    LoginResponse::Authenticated {
        session_token: session.session_token,
        expires_at: session.expires_at,
        idle_timeout_seconds: session.idle_timeout_seconds,
    }
}

fn issue_session(
    data: &mut SandboxData,
    utility: &SandboxUtility,
    username: &str,
) -> SessionTokenResponse {
    let token = random_token("sbx_tok_");
    let (life, stated) = utility.new_token_life();
    let now = data.now();
    let expires_at = now + life;
    data.sessions.insert(
        token.clone(),
        Session {
            utility_id: utility.id,
            username: username.to_owned(),
            expires_at,
            last_used_at: now,
        },
    );
    SessionTokenResponse {
        session_token: token,
        expires_at: stated.then_some(expires_at),
        idle_timeout_seconds: utility.idle_timeout_seconds,
    }
}

fn start_challenge(
    data: &mut SandboxData,
    utility: &'static SandboxUtility,
    username: &str,
) -> LoginResponse {
    let challenge_id = random_token("sbx_chl_");
    let methods = utility.offered_methods();
    let expires_at = data.now() + CHALLENGE_LIFETIME;
    let offered = methods
        .iter()
        .map(|method| OfferedMethod {
            method: (*method).to_owned(),
            destination: masked_destination(method, utility.id, username),
        })
        .collect();
    data.challenges.insert(
        challenge_id.clone(),
        Challenge {
            utility_id: utility.id,
            username: username.to_owned(),
            methods,
            expires_at,
            code: None,
            sends: 0,
            wrong_codes: 0,
        },
    );
    LoginResponse::MfaRequired {
        challenge_id,
        methods: offered,
        challenge_expires_at: expires_at,
    }
}

/// The live challenge `challenge_id` of `utility`, or the error the utility gives.
fn live_challenge<'a>(
    data: &'a mut SandboxData,
    utility: &SandboxUtility,
    challenge_id: &str,
) -> Result<&'a mut Challenge, SandboxError> {
    let now = data.now();
    let expired = data
        .challenges
        .get(challenge_id)
        .is_some_and(|challenge| challenge.expires_at <= now || challenge.utility_id != utility.id);
    if expired {
        data.challenges.remove(challenge_id);
    }
    data.challenges.get_mut(challenge_id).ok_or_else(|| {
        SandboxError::new(
            StatusCode::NOT_FOUND,
            UtilityErrorKind::ChallengeNotFound,
            "This verification session does not exist or has expired. Log in again.",
        )
    })
}

async fn pause_if_slow(sandbox: &Sandbox, challenge_id: &str) {
    let slow = sandbox
        .lock()
        .challenges
        .get(challenge_id)
        .is_some_and(|challenge| find_scenario(&challenge.username) == Some(Scenario::Slow));
    if slow {
        tokio::time::sleep(SLOW_ANSWER).await;
    }
}

pub async fn send_code(
    State(sandbox): State<Sandbox>,
    Path((utility_id, challenge_id)): Path<(String, String)>,
    Json(request): Json<SendCodeRequest>,
) -> Result<Json<CodeSentResponse>, SandboxError> {
    let utility = utility_or_404(&utility_id)?;
    pause_if_slow(&sandbox, &challenge_id).await;
    let mut data = sandbox.lock();
    let now = data.now();
    let challenge = live_challenge(&mut data, utility, &challenge_id)?;
    let Some(method) = challenge
        .methods
        .iter()
        .copied()
        .find(|method| *method == request.method)
    else {
        return Err(SandboxError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            UtilityErrorKind::MethodNotOffered,
            format!(
                "This login offers {}; {:?} is not one of them.",
                challenge.methods.join(", "),
                request.method
            ),
        ));
    };
    let Some(destination) = masked_destination(method, utility.id, &challenge.username) else {
        return Err(SandboxError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            UtilityErrorKind::MethodNotOffered,
            "Security questions are answered on the utility's website; no code can be sent.",
        ));
    };
    if challenge.sends >= MAX_SENDS {
        let retry_after = (challenge.expires_at - now).whole_seconds().max(1) as u64;
        return Err(SandboxError::new(
            StatusCode::TOO_MANY_REQUESTS,
            UtilityErrorKind::TooManySends,
            "Too many codes were sent. Log in again later.",
        )
        .with_retry_after(retry_after));
    }
    let code = match &challenge.code {
        Some(code) if code.expires_at > now => code.clone(),
        _ => IssuedCode {
            value: random_code(),
            expires_at: now + CODE_LIFETIME,
        },
    };
    challenge.code = Some(code.clone());
    challenge.sends += 1;
    let sends_left = MAX_SENDS - challenge.sends;
    let username = challenge.username.clone();
    data.outbox.push(OutboxEntry {
        utility: utility.name.to_owned(),
        utility_id: utility.id.to_owned(),
        username,
        method: method.to_owned(),
        destination: destination.clone(),
        code: code.value,
        sent_at: now,
    });
    Ok(Json(CodeSentResponse {
        method: method.to_owned(),
        destination,
        code_expires_at: code.expires_at,
        sends_left,
    }))
}

pub async fn verify_code(
    State(sandbox): State<Sandbox>,
    Path((utility_id, challenge_id)): Path<(String, String)>,
    Json(request): Json<VerifyCodeRequest>,
) -> Result<Json<SessionTokenResponse>, SandboxError> {
    let utility = utility_or_404(&utility_id)?;
    pause_if_slow(&sandbox, &challenge_id).await;
    let mut data = sandbox.lock();
    let now = data.now();
    let challenge = live_challenge(&mut data, utility, &challenge_id)?;
    let Some(code) = challenge.code.clone() else {
        return Err(SandboxError::new(
            StatusCode::CONFLICT,
            UtilityErrorKind::NoCodeSent,
            "No code has been sent yet: choose a method first.",
        ));
    };
    if code.expires_at <= now {
        return Err(SandboxError::new(
            StatusCode::GONE,
            UtilityErrorKind::CodeExpired,
            "The code expired. Send a new one.",
        ));
    }
    if request.code.trim() != code.value {
        challenge.wrong_codes += 1;
        if challenge.wrong_codes >= MAX_WRONG_CODES {
            let key = (utility.id, challenge.username.clone());
            let until = now + LOCKOUT;
            data.challenges.remove(&challenge_id);
            data.lockouts.insert(key, until);
            return Err(SandboxError::new(
                StatusCode::LOCKED,
                UtilityErrorKind::TooManyAttempts,
                "Too many wrong codes. The login is locked for 15 minutes.",
            )
            .with_locked_until(until));
        }
        let attempts_left = MAX_WRONG_CODES - challenge.wrong_codes;
        return Err(SandboxError::new(
            StatusCode::UNAUTHORIZED,
            UtilityErrorKind::WrongCode,
            format!("That code is not right. {attempts_left} attempts left."),
        )
        .with_attempts_left(attempts_left));
    }
    let username = challenge.username.clone();
    data.challenges.remove(&challenge_id);
    Ok(Json(issue_session(&mut data, utility, &username)))
}
