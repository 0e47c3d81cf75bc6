//! The one HTTP client of the app: typed requests over gloo-net that decode
//! the shared error body, so every screen gets errors in one shape.

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use shared::health::Health;
use shared::ErrorBody;

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
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ApiError {}

async fn get_json<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    let response = Request::get(path)
        .header("Accept", "application/json")
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
    get_json("/api/health").await
}
