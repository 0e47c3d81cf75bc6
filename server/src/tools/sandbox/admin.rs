//! Admin knobs over HTTP: expire a login's tokens, set faults on a utility,
//! move the sandbox clock forward, reset everything; and the fault layer that
//! applies them to utility calls.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::{Deserialize, Serialize};
use time::Duration;

use super::error::{Json, Path, SandboxError};
use super::state::{Faults, Sandbox};
use super::utility_or_404;
use crate::infra::utility::protocol::UtilityErrorKind;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpireTokensRequest {
    pub username: String,
    /// Only this utility's tokens; default: every utility.
    #[serde(default)]
    pub utility: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpireTokensResponse {
    pub expired: usize,
}

pub async fn expire_tokens(
    State(sandbox): State<Sandbox>,
    Json(request): Json<ExpireTokensRequest>,
) -> Result<Json<ExpireTokensResponse>, SandboxError> {
    if request.username.trim().is_empty() {
        return Err(SandboxError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            UtilityErrorKind::BadRequest,
            "username: give the login whose tokens to expire.",
        ));
    }
    let utility_id = match &request.utility {
        Some(id) => Some(utility_or_404(id)?.id),
        None => None,
    };
    let mut data = sandbox.lock();
    let now = data.now();
    let mut expired = 0;
    for session in data.sessions.values_mut() {
        let matches = session.username == request.username
            && utility_id.is_none_or(|id| id == session.utility_id)
            && session.expires_at > now;
        if matches {
            session.expires_at = now;
            expired += 1;
        }
    }
    Ok(Json(ExpireTokensResponse { expired }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultsRequest {
    #[serde(default)]
    pub down: bool,
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default)]
    pub failure_rate: f64,
    #[serde(default)]
    pub fail_next: u32,
}

/// Replaces a utility's faults (send `{}` to clear them).
pub async fn set_faults(
    State(sandbox): State<Sandbox>,
    Path(utility_id): Path<String>,
    Json(request): Json<FaultsRequest>,
) -> Result<Json<Faults>, SandboxError> {
    let utility = utility_or_404(&utility_id)?;
    if !(0.0..=1.0).contains(&request.failure_rate) {
        return Err(SandboxError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            UtilityErrorKind::BadRequest,
            "failureRate: a share from 0 to 1.",
        ));
    }
    if request.latency_ms > 120_000 {
        return Err(SandboxError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            UtilityErrorKind::BadRequest,
            "latencyMs: at most 120000 (two minutes).",
        ));
    }
    let faults = Faults {
        down: request.down,
        latency_ms: request.latency_ms,
        failure_rate: request.failure_rate,
        fail_next: request.fail_next,
    };
    sandbox.lock().faults.insert(utility.id, faults.clone());
    Ok(Json(faults))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdvanceClockRequest {
    pub seconds: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockResponse {
    #[serde(with = "time::serde::rfc3339")]
    pub now: time::OffsetDateTime,
}

/// Moves the sandbox's clock forward (codes, challenges and tokens expire by it).
pub async fn advance_clock(
    State(sandbox): State<Sandbox>,
    Json(request): Json<AdvanceClockRequest>,
) -> Result<Json<ClockResponse>, SandboxError> {
    const TEN_YEARS: u64 = 10 * 366 * 24 * 60 * 60;
    if request.seconds > TEN_YEARS {
        return Err(SandboxError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            UtilityErrorKind::BadRequest,
            "seconds: at most ten years at a time.",
        ));
    }
    let mut data = sandbox.lock();
    data.clock_offset += Duration::seconds(request.seconds as i64);
    Ok(Json(ClockResponse { now: data.now() }))
}

/// Forgets every challenge, session, sent code, lockout and fault.
/// Admin knobs take JSON only: a browser cannot send `application/json`
/// cross-site without a CORS preflight (which the sandbox never grants), so a
/// form or `text/plain` post from another site changes nothing (case 49).
pub async fn require_json(request: Request, next: Next) -> Response {
    let is_json = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return SandboxError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            UtilityErrorKind::BadRequest,
            "Admin knobs take a JSON body: send Content-Type: application/json (`{}` when there is nothing to say).",
        )
        .into_response();
    }
    next.run(request).await
}

pub async fn reset(State(sandbox): State<Sandbox>) -> StatusCode {
    sandbox.lock().reset();
    StatusCode::NO_CONTENT
}

/// Decides this call's fate from the utility's faults: its added latency and
/// the status to fail with, if any. Consumes one `fail_next`.
fn draw_fault(sandbox: &Sandbox, utility_id: &str) -> (u64, Option<StatusCode>) {
    let mut data = sandbox.lock();
    let Some(faults) = data.faults.get_mut(utility_id) else {
        return (0, None);
    };
    let fail = if faults.down {
        Some(StatusCode::SERVICE_UNAVAILABLE)
    } else if faults.fail_next > 0 {
        faults.fail_next -= 1;
        Some(StatusCode::SERVICE_UNAVAILABLE)
    } else if faults.failure_rate > 0.0 && rand::thread_rng().gen_bool(faults.failure_rate) {
        Some(StatusCode::INTERNAL_SERVER_ERROR)
    } else {
        None
    };
    (faults.latency_ms, fail)
}

/// Applies the faults of the utility named in the path to every utility call.
pub async fn apply_faults(
    State(sandbox): State<Sandbox>,
    Path(params): Path<std::collections::HashMap<String, String>>,
    matched: axum::extract::MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let Some(utility) = params
        .get("utility")
        .and_then(|id| super::catalog::find_utility(id))
    else {
        return next.run(request).await;
    };
    if !sandbox.offers(utility.id) {
        return SandboxError::unknown_utility(utility.id).into_response();
    }
    // Every call that reached a utility is counted, failed ones included.
    *sandbox
        .lock()
        .calls
        .entry(utility.id)
        .or_default()
        .entry(call_name(matched.as_str()))
        .or_default() += 1;
    let _answering = Answering::start(&sandbox, utility.id);
    let (latency_ms, fail) = draw_fault(&sandbox, utility.id);
    if latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency_ms)).await;
    }
    match fail {
        Some(StatusCode::SERVICE_UNAVAILABLE) => SandboxError::unavailable().into_response(),
        Some(status) => SandboxError::new(
            status,
            UtilityErrorKind::ServerError,
            "Internal error at the utility.",
        )
        .into_response(),
        None => next.run(request).await,
    }
}

/// One call a utility is answering: counted in `in_flight` until dropped.
struct Answering {
    sandbox: Sandbox,
    utility_id: &'static str,
}

impl Answering {
    fn start(sandbox: &Sandbox, utility_id: &'static str) -> Answering {
        let mut data = sandbox.lock();
        let in_flight = data.in_flight.entry(utility_id).or_default();
        in_flight.now += 1;
        in_flight.peak = in_flight.peak.max(in_flight.now);
        Answering {
            sandbox: sandbox.clone(),
            utility_id,
        }
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        if let Some(in_flight) = self.sandbox.lock().in_flight.get_mut(self.utility_id) {
            in_flight.now = in_flight.now.saturating_sub(1);
        }
    }
}

/// The name `/api/admin/stats` gives a utility call, from its route.
fn call_name(route: &str) -> &'static str {
    match route.rsplit('/').next() {
        Some("login") => "login",
        Some("send") => "sendCode",
        Some("verify") => "verifyCode",
        Some("accounts") => "accounts",
        Some("statements") => "statements",
        _ => "other",
    }
}

/// `GET /api/admin/stats`: how many calls each utility received, per call
/// (`login`, `sendCode`, `verifyCode`, `accounts`, `statements`), and the
/// most it answered at once (`maxInFlight`), since the start or the last
/// reset, so a test or an integrator can see how often and how politely
/// Gridlink called a utility.
pub async fn stats(
    State(sandbox): State<Sandbox>,
) -> Json<std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>>> {
    let data = sandbox.lock();
    Json(
        data.calls
            .iter()
            .map(|(utility, calls)| {
                (
                    (*utility).to_owned(),
                    calls
                        .iter()
                        .map(|(name, count)| ((*name).to_owned(), *count))
                        .chain(
                            data.in_flight
                                .get(utility)
                                .map(|in_flight| ("maxInFlight".to_owned(), in_flight.peak)),
                        )
                        .collect(),
                )
            })
            .collect(),
    )
}
