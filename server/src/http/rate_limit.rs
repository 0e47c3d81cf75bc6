//! Per-client rate limits (the client as [`crate::http::client_ip`] decides), in
//! this process's memory: a burst, then a steady rate. They protect the
//! server from floods; limits that must hold across replicas (sign-in
//! failures, MFA slots, test events) are counted in the database instead.
//!
//! | what | burst | then |
//! | --- | --- | --- |
//! | sign-in attempts and password-reset requests | 30 | 1 every 2 s |
//! | Connect API calls | 300 | 10 a second |
//! | Connect-token and update-link creation, webhook test events | 100 | 5 a second |
//! | unauthenticated answers (401, and 404 without credentials) | 60 | 1 a second |
//! | adapter catalogue refreshes, per organisation | 5 | 1 every 10 s |

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use shared::i18n::Language;

use crate::http::client_ip::{client_ip, TrustedProxies};
use crate::http::error::ApiError;
use crate::infra::metrics::RATE_LIMIT_REFUSALS;

/// One limiter per kind of request.
#[derive(Debug)]
pub struct RateLimits {
    /// Catalogue refreshes per organisation: each calls every adapter.
    catalogue_refresh: DefaultKeyedRateLimiter<String>,
    sign_in: DefaultKeyedRateLimiter<IpAddr>,
    connect: DefaultKeyedRateLimiter<IpAddr>,
    token_creation: DefaultKeyedRateLimiter<IpAddr>,
    unauthenticated: DefaultKeyedRateLimiter<IpAddr>,
}

fn limiter(burst: u32, every: Duration) -> DefaultKeyedRateLimiter<IpAddr> {
    let burst = NonZeroU32::new(burst).expect("a burst is at least 1");
    let quota = Quota::with_period(every)
        .expect("a period above zero")
        .allow_burst(burst);
    RateLimiter::keyed(quota)
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            catalogue_refresh: RateLimiter::keyed(
                Quota::with_period(Duration::from_secs(10))
                    .expect("a period above zero")
                    .allow_burst(NonZeroU32::new(5).expect("five")),
            ),
            sign_in: limiter(30, Duration::from_secs(2)),
            connect: limiter(300, Duration::from_millis(100)),
            token_creation: limiter(100, Duration::from_millis(200)),
            unauthenticated: limiter(60, Duration::from_secs(1)),
        }
    }
}

impl RateLimits {
    /// Takes the organisation's turn to read the adapters' catalogues, or
    /// says how many milliseconds until its next turn.
    pub fn catalogue_refresh(&self, organisation_id: &str) -> Result<(), i64> {
        self.catalogue_refresh
            .check_key(&organisation_id.to_owned())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                i64::try_from(wait.as_millis()).unwrap_or(i64::MAX)
            })
    }

    /// Forgets clients that have been quiet long enough to have a full burst again.
    pub fn forget_idle_clients(&self) {
        for limiter in [
            &self.sign_in,
            &self.connect,
            &self.token_creation,
            &self.unauthenticated,
        ] {
            limiter.retain_recent();
        }
        self.catalogue_refresh.retain_recent();
    }
}

/// Which limiter, if any, a request counts against before it runs.
fn limiter_for<'a>(
    limits: &'a RateLimits,
    method: &Method,
    path: &str,
) -> Option<&'a DefaultKeyedRateLimiter<IpAddr>> {
    let creates = *method == Method::POST;
    // A reset mail is asked for like a sign-in: without a password, so it
    // counts against the same limit (case 44).
    if (path == "/api/session" || path == "/api/password-reset") && creates {
        Some(&limits.sign_in)
    } else if path.starts_with("/api/connect/") {
        Some(&limits.connect)
    } else if creates
        && (path == "/api/v1/connect-tokens"
            || path == "/api/v1/webhook-endpoint/test"
            || (path.starts_with("/api/v1/credentials/")
                && (path.ends_with("/connect-tokens") || path.ends_with("/update-links"))))
    {
        Some(&limits.token_creation)
    } else {
        None
    }
}

fn refusal(
    limiter: &DefaultKeyedRateLimiter<IpAddr>,
    client: &IpAddr,
    language: Language,
) -> Option<Response> {
    match limiter.check_key(client) {
        Ok(()) => None,
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Some(
                ApiError::rate_limited(
                    language.too_many_requests(),
                    i64::try_from(wait.as_millis()).unwrap_or(i64::MAX),
                )
                .into_response(),
            )
        }
    }
}

/// The middleware: refuses a request over its limit with 429 and
/// `Retry-After`, and counts unauthenticated refusals against their client.
pub async fn limit_clients(
    State(limits): State<Arc<RateLimits>>,
    State(proxies): State<Arc<TrustedProxies>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let client = client_ip(&parts, &proxies).limit_key();
    let path = crate::http::extract::full_path(&parts);
    // Connect's screens speak the end-user's language; the rest of the API English.
    let language = if path.starts_with("/api/connect/") {
        crate::http::extract::requested_language(&parts.headers)
    } else {
        Language::En
    };
    if let Some(limiter) = limiter_for(&limits, &parts.method, &path) {
        if let Some(refused) = refusal(limiter, &client, language) {
            tracing::info!(%client, path, "rate limit reached");
            metrics::counter!(RATE_LIMIT_REFUSALS, "limit" => "client").increment(1);
            return refused;
        }
    }
    let had_credentials =
        parts.headers.contains_key("authorization") || parts.headers.contains_key("cookie");
    let response = next.run(Request::from_parts(parts, body)).await;
    let unauthenticated = response.status() == StatusCode::UNAUTHORIZED
        || (response.status() == StatusCode::NOT_FOUND && !had_credentials);
    if unauthenticated {
        if let Some(refused) = refusal(&limits.unauthenticated, &client, language) {
            tracing::info!(%client, "rate limit reached for unauthenticated requests");
            metrics::counter!(RATE_LIMIT_REFUSALS, "limit" => "unauthenticated").increment(1);
            return refused;
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let limiter = limiter(3, Duration::from_secs(10));
        let client = IpAddr::from([198, 51, 100, 1]);
        for _ in 0..3 {
            assert!(refusal(&limiter, &client, Language::En).is_none());
        }
        let refused = refusal(&limiter, &client, Language::En).expect("the fourth is refused");
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=11).contains(&retry_after), "{retry_after}");
        // Another client has its own budget.
        assert!(refusal(&limiter, &IpAddr::from([198, 51, 100, 2]), Language::En).is_none());
    }

    #[test]
    fn requests_are_sorted_into_their_limits() {
        let limits = RateLimits::default();
        let kind = |method: Method, path: &str| {
            limiter_for(&limits, &method, path).map(|chosen| chosen as *const _)
        };
        assert_eq!(
            kind(Method::POST, "/api/session"),
            Some(&limits.sign_in as *const _)
        );
        assert_eq!(kind(Method::GET, "/api/session"), None);
        assert_eq!(
            kind(Method::GET, "/api/connect/session"),
            Some(&limits.connect as *const _)
        );
        assert_eq!(
            kind(Method::POST, "/api/v1/credentials/cred_1/update-links"),
            Some(&limits.token_creation as *const _)
        );
        assert_eq!(kind(Method::GET, "/api/v1/credentials"), None);
    }
}
