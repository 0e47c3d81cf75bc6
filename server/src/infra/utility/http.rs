//! [`UtilityConnector`] over HTTP: timeouts on every call, retries with
//! backoff only for calls that are safe to repeat (reads), and every answer
//! classified into a [`UtilityError`].

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::validation::{OtpCode, Password, Username};
use shared::MfaMethod;

use crate::infra::outbound::bounded_body::{read_at_most, BoundedBody};
use crate::infra::outbound::{self, TrustRoots};
use crate::infra::webhook_signing::SigningSecret;

use super::protocol::{
    CodeSentResponse, LoginRequest, LoginResponse, SendCodeRequest, SessionTokenResponse,
    UtilityErrorBody, UtilityErrorKind, VerifyCodeRequest,
};
use super::signing;
use super::{
    idle_timeout, Account, CodeSent, LoginOutcome, MfaChallenge, MfaOption, SecretToken,
    SessionToken, Statement, UtilityConnector, UtilityError, UtilityInfo,
};

/// How often and how patiently reads are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Total tries, the first included.
    pub attempts: u32,
    /// Delay before the second try; doubled for each further one.
    pub first_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            first_delay: Duration::from_millis(250),
        }
    }
}

#[derive(Debug, Clone)]
pub struct HttpUtilityConnector {
    client: reqwest::Client,
    base_url: Url,
    retry: RetryPolicy,
    /// Signs every call (see [`super::signing`]) when the adapter has a secret.
    secret: Option<SigningSecret>,
}

impl HttpUtilityConnector {
    /// A connector to the utility service at `base_url`, verifying its TLS
    /// certificate against `trust`; each call gives up after `timeout`.
    pub fn new(
        base_url: Url,
        timeout: Duration,
        retry: RetryPolicy,
        trust: &TrustRoots,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(trust.client_config())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("Gridlink/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(HttpUtilityConnector {
            client,
            base_url,
            retry,
            secret: None,
        })
    }

    /// Signs every call with the adapter's shared secret.
    pub fn with_secret(mut self, secret: Option<SigningSecret>) -> Self {
        self.secret = secret;
        self
    }

    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    pub fn is_signed(&self) -> bool {
        self.secret.is_some()
    }

    /// `method url` with `body`, signed when there is a secret (a new id
    /// each time), carrying the current trace context.
    fn request(&self, method: Method, url: &Url, body: Option<Vec<u8>>) -> RequestBuilder {
        let mut trace_headers = reqwest::header::HeaderMap::new();
        crate::infra::trace_context::inject_current(&mut trace_headers);
        let mut request = self
            .client
            .request(method.clone(), url.clone())
            .headers(trace_headers);
        if let Some(secret) = &self.secret {
            let signed = body.as_deref().unwrap_or_default();
            request = signing::sign(
                request,
                secret,
                &method,
                url,
                signed,
                signing::now_seconds(),
            );
        }
        match body {
            Some(body) => request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body),
            None => request,
        }
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        // path_segments_mut percent-encodes each segment: ids cannot change the path.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// One call, never retried: for calls with effects (log in, send, verify).
    async fn call_once<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<T, UtilityError> {
        let response = request
            .send()
            .await
            .map_err(|error| transport_error(&error))?;
        decode(response).await
    }

    /// A read, retried with exponential backoff while the utility is unavailable.
    async fn read<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        token: Option<&SecretToken>,
    ) -> Result<T, UtilityError> {
        let url = self.url(segments);
        let mut delay = self.retry.first_delay;
        let mut attempt = 1;
        loop {
            let mut request = self.request(Method::GET, &url, None);
            if let Some(token) = token {
                request = request.bearer_auth(token.expose());
            }
            match self.call_once(request).await {
                Err(error) if error.is_transient() && attempt < self.retry.attempts => {
                    tracing::debug!(%error, attempt, "utility read failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &B,
    ) -> Result<T, UtilityError> {
        let body = serde_json::to_vec(body).map_err(|error| {
            UtilityError::Protocol(format!("cannot write the request: {error}"))
        })?;
        self.call_once(self.request(Method::POST, &self.url(segments), Some(body)))
            .await
    }
}

/// The most Gridlink reads of one answer from a utility.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// The most Gridlink keeps of a utility's own error text (for the operator's timeline).
const MAX_UTILITY_TEXT_CHARS: usize = 300;

fn transport_error(error: &reqwest::Error) -> UtilityError {
    if let Some(tls) = outbound::describe_tls_failure(error) {
        // Not transient: retrying will not make the certificate trusted.
        UtilityError::Protocol(tls)
    } else if error.is_timeout() {
        UtilityError::Unavailable("no answer before the timeout".into())
    } else if error.is_connect() {
        UtilityError::Unavailable("cannot connect".into())
    } else if error.is_decode() || error.is_body() {
        UtilityError::Protocol("unreadable body".into())
    } else {
        UtilityError::Unavailable("the request failed".into())
    }
}

/// The utility's own words, cut to a length fit for a timeline.
fn utility_text(text: &str) -> String {
    outbound::truncate(text, MAX_UTILITY_TEXT_CHARS)
}

async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, UtilityError> {
    let status = response.status();
    let bytes = match read_at_most(response, MAX_ANSWER_BYTES)
        .await
        .map_err(|error| transport_error(&error))?
    {
        BoundedBody::Complete(bytes) => bytes,
        BoundedBody::Truncated(_) => {
            return Err(UtilityError::Protocol(format!(
                "an answer larger than {} KiB",
                MAX_ANSWER_BYTES / 1024
            )))
        }
    };
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|error| {
            UtilityError::Protocol(utility_text(&format!("unexpected body: {error}")))
        });
    }
    match serde_json::from_slice::<UtilityErrorBody>(&bytes) {
        Ok(body) => Err(classify(body)),
        Err(_) if status.is_server_error() => {
            Err(UtilityError::Unavailable(format!("HTTP {status}")))
        }
        Err(_) if status == StatusCode::TOO_MANY_REQUESTS => Err(UtilityError::TooManySends {
            retry_after_seconds: None,
        }),
        Err(_) => Err(UtilityError::Protocol(format!(
            "HTTP {status} without an error body"
        ))),
    }
}

fn classify(body: UtilityErrorBody) -> UtilityError {
    use UtilityErrorKind as Kind;
    match body.error {
        Kind::InvalidCredentials => UtilityError::InvalidCredentials,
        Kind::AccountLocked => UtilityError::AccountLocked {
            until: body.locked_until,
        },
        Kind::ChallengeNotFound => UtilityError::ChallengeExpired,
        Kind::MethodNotOffered => UtilityError::MethodNotOffered,
        Kind::NoCodeSent => UtilityError::NoCodeSent,
        Kind::WrongCode => UtilityError::WrongCode {
            attempts_left: body.attempts_left.unwrap_or(0),
        },
        Kind::CodeExpired => UtilityError::CodeExpired,
        Kind::TooManyAttempts => UtilityError::TooManyAttempts {
            until: body.locked_until,
        },
        Kind::TooManySends => UtilityError::TooManySends {
            retry_after_seconds: body.retry_after_seconds,
        },
        Kind::TokenExpired => UtilityError::TokenExpired,
        Kind::InvalidToken => UtilityError::InvalidToken,
        Kind::UnknownUtility => UtilityError::UnknownUtility,
        Kind::Unavailable | Kind::ServerError => {
            UtilityError::Unavailable(utility_text(&body.message))
        }
        Kind::BadRequest | Kind::NotFound => UtilityError::Protocol(utility_text(&body.message)),
        Kind::Unauthorized => UtilityError::Protocol(utility_text(&format!(
            "the adapter refused Gridlink's signature: {}",
            body.message
        ))),
    }
}

#[async_trait]
impl UtilityConnector for HttpUtilityConnector {
    #[tracing::instrument(skip(self))]
    async fn list_utilities(&self) -> Result<Vec<UtilityInfo>, UtilityError> {
        self.read(&["api", "utilities"], None).await
    }

    #[tracing::instrument(skip(self, password))]
    async fn login(
        &self,
        utility: &str,
        username: &Username,
        password: &Password,
    ) -> Result<LoginOutcome, UtilityError> {
        let body = LoginRequest {
            username: username.as_str().to_owned(),
            password: password.expose().to_owned(),
        };
        let response: LoginResponse = self
            .post(&["api", "utilities", utility, "login"], &body)
            .await?;
        match response {
            LoginResponse::Authenticated {
                session_token,
                expires_at,
                idle_timeout_seconds,
            } => Ok(LoginOutcome::Authenticated(SessionToken {
                secret: SecretToken::new(session_token),
                expires_at,
                idle_timeout: idle_timeout(idle_timeout_seconds),
            })),
            LoginResponse::MfaRequired {
                challenge_id,
                methods,
                challenge_expires_at,
            } => {
                let options: Vec<MfaOption> = methods
                    .into_iter()
                    .filter_map(|offered| {
                        Some(MfaOption {
                            method: MfaMethod::from_wire_name(&offered.method)?,
                            destination: offered.destination.unwrap_or_default(),
                        })
                    })
                    .collect();
                if options.is_empty() {
                    return Err(UtilityError::UnsupportedMfa);
                }
                Ok(LoginOutcome::MfaRequired(MfaChallenge {
                    challenge_id,
                    options,
                    expires_at: challenge_expires_at,
                }))
            }
        }
    }

    #[tracing::instrument(skip(self))]
    async fn send_code(
        &self,
        utility: &str,
        challenge_id: &str,
        method: MfaMethod,
    ) -> Result<CodeSent, UtilityError> {
        let body = SendCodeRequest {
            method: method.wire_name().to_owned(),
        };
        let sent: CodeSentResponse = self
            .post(
                &["api", "utilities", utility, "mfa", challenge_id, "send"],
                &body,
            )
            .await?;
        Ok(CodeSent {
            method: MfaMethod::from_wire_name(&sent.method).unwrap_or(method),
            destination: sent.destination,
            code_expires_at: sent.code_expires_at,
            sends_left: sent.sends_left,
        })
    }

    #[tracing::instrument(skip(self, code))]
    async fn verify_code(
        &self,
        utility: &str,
        challenge_id: &str,
        code: &OtpCode,
    ) -> Result<SessionToken, UtilityError> {
        let body = VerifyCodeRequest {
            code: code.expose().to_owned(),
        };
        let session: SessionTokenResponse = self
            .post(
                &["api", "utilities", utility, "mfa", challenge_id, "verify"],
                &body,
            )
            .await?;
        Ok(SessionToken {
            secret: SecretToken::new(session.session_token),
            expires_at: session.expires_at,
            idle_timeout: idle_timeout(session.idle_timeout_seconds),
        })
    }

    #[tracing::instrument(skip(self, token))]
    async fn accounts(
        &self,
        utility: &str,
        token: &SecretToken,
    ) -> Result<Vec<Account>, UtilityError> {
        self.read(&["api", "utilities", utility, "accounts"], Some(token))
            .await
    }

    #[tracing::instrument(skip(self, token))]
    async fn statements(
        &self,
        utility: &str,
        token: &SecretToken,
        account_number: &str,
    ) -> Result<Vec<Statement>, UtilityError> {
        self.read(
            &[
                "api",
                "utilities",
                utility,
                "accounts",
                account_number,
                "statements",
            ],
            Some(token),
        )
        .await
    }
}
