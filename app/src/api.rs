//! The one HTTP client of the app: typed requests over gloo-net that decode
//! the shared error body, so every screen gets errors in one shape.
//!
//! Connect authenticates with its token (Bearer; no cookies in iframes); the
//! dashboard with the session cookie plus the CSRF token on every change.

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::connect::{
    ChooseMethod, ConnectState, SubmitCode, SubmitCredentials, SubmitPassword, Utility,
};
use shared::health::Health;
use shared::{ErrorBody, ErrorCode, MfaMethod};

/// Why a request did not give the expected answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The server answered with the shared error body.
    Server(ErrorBody),
    /// The server answered with something else (a proxy's page, an unexpected status).
    UnexpectedResponse { status: u16 },
    /// The request never got an answer: offline, DNS, server down.
    Network,
}

impl ApiError {
    /// A sentence to show to a person.
    pub fn message(&self) -> String {
        match self {
            ApiError::Server(body) => body.message.clone(),
            ApiError::UnexpectedResponse { status } => {
                format!(
                    "The server gave an unexpected answer (HTTP {status}). Try again in a moment."
                )
            }
            ApiError::Network => {
                "Cannot reach Gridlink. Check your connection and try again.".to_owned()
            }
        }
    }

    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ApiError::Server(body) => Some(body.code),
            _ => None,
        }
    }

    /// The message for one field of a form, if the server named it.
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            ApiError::Server(body) => body
                .fields
                .iter()
                .find(|field| field.field == name)
                .map(|field| field.message.clone()),
            _ => None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ApiError {}

/// How a request proves who sends it.
#[derive(Debug, Clone, Copy)]
pub enum Credentials<'a> {
    None,
    /// A Connect token.
    Bearer(&'a str),
}

fn with_credentials(request: RequestBuilder, credentials: Credentials<'_>) -> RequestBuilder {
    let request = request.header("Accept", "application/json");
    match credentials {
        Credentials::None => request,
        Credentials::Bearer(token) => request.header("Authorization", &format!("Bearer {token}")),
    }
}

async fn get_json<T: DeserializeOwned>(
    path: &str,
    credentials: Credentials<'_>,
) -> Result<T, ApiError> {
    let response = with_credentials(Request::get(path), credentials)
        .send()
        .await
        .map_err(|_| ApiError::Network)?;
    decode(response).await
}

async fn post_json<B: Serialize, T: DeserializeOwned>(
    path: &str,
    body: &B,
    credentials: Credentials<'_>,
) -> Result<T, ApiError> {
    let response = with_credentials(Request::post(path), credentials)
        .json(body)
        .map_err(|_| ApiError::Network)?
        .send()
        .await
        .map_err(|_| ApiError::Network)?;
    decode(response).await
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    let status = response.status();
    if response.ok() {
        return response
            .json::<T>()
            .await
            .map_err(|_| ApiError::UnexpectedResponse { status });
    }
    match response.json::<ErrorBody>().await {
        Ok(body) => Err(ApiError::Server(body)),
        Err(_) => Err(ApiError::UnexpectedResponse { status }),
    }
}

/// `GET /api/health`.
pub async fn health() -> Result<Health, ApiError> {
    get_json("/api/health", Credentials::None).await
}

/// The Connect API, for one Connect token.
#[derive(Debug, Clone)]
pub struct ConnectApi {
    token: String,
}

impl ConnectApi {
    pub fn new(token: String) -> Self {
        ConnectApi { token }
    }

    fn credentials(&self) -> Credentials<'_> {
        Credentials::Bearer(&self.token)
    }

    pub async fn session(&self) -> Result<ConnectState, ApiError> {
        get_json("/api/connect/session", self.credentials()).await
    }

    pub async fn utilities(&self) -> Result<Vec<Utility>, ApiError> {
        get_json("/api/connect/utilities", self.credentials()).await
    }

    pub async fn submit_credentials(
        &self,
        body: &SubmitCredentials,
    ) -> Result<ConnectState, ApiError> {
        post_json("/api/connect/credentials", body, self.credentials()).await
    }

    pub async fn reconnect(&self) -> Result<ConnectState, ApiError> {
        post_json(
            "/api/connect/reconnect",
            &serde_json::json!({}),
            self.credentials(),
        )
        .await
    }

    pub async fn submit_password(&self, password: String) -> Result<ConnectState, ApiError> {
        post_json(
            "/api/connect/password",
            &SubmitPassword { password },
            self.credentials(),
        )
        .await
    }

    pub async fn choose_method(&self, method: MfaMethod) -> Result<ConnectState, ApiError> {
        post_json(
            "/api/connect/mfa/method",
            &ChooseMethod { method },
            self.credentials(),
        )
        .await
    }

    pub async fn resend(&self) -> Result<ConnectState, ApiError> {
        post_json(
            "/api/connect/mfa/resend",
            &serde_json::json!({}),
            self.credentials(),
        )
        .await
    }

    pub async fn submit_code(&self, code: String) -> Result<ConnectState, ApiError> {
        post_json(
            "/api/connect/mfa/code",
            &SubmitCode { code },
            self.credentials(),
        )
        .await
    }
}
