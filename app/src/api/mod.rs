//! The one HTTP client of the app: typed requests over gloo-net that decode
//! the shared error body, so every screen gets errors in one shape. Connect's
//! requests are in [`connect`], the dashboard's in [`dashboard`]; this module
//! holds the error, the transport and the two unauthenticated health reads.
//!
//! Connect authenticates with its token (Bearer; no cookies in iframes); the
//! dashboard with the session cookie plus the CSRF token on every change.

mod connect;
mod dashboard;
mod passkeys;
mod single_sign_on;
pub use passkeys::{passkey_answer, sign_in_with_passkey};
pub use single_sign_on::sso_providers;

pub use connect::{unsubscribe, unsubscription, ConnectApi};
pub use dashboard::{
    choose_password, complete_sign_in, current_session, operator_link, request_password_reset,
    sign_in, DashboardApi, SetEndpoint, SignInOutcome,
};

use gloo_net::http::{Request, RequestBuilder, Response};
use leptos::prelude::{on_cleanup, Owner};
use send_wrapper::SendWrapper;
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::health::Health;
use shared::i18n::Language;
use shared::routes;
use shared::{ErrorBody, ErrorCode};

/// Why a request did not give the expected answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The server answered with the shared error body.
    Server(ErrorBody),
    /// The server answered with something else (a proxy's page, an unexpected status).
    UnexpectedResponse { status: u16 },
    /// The request never got an answer: offline, DNS, server down.
    Network,
    /// The browser itself refused (a passkey dialog cancelled or timed out),
    /// in words for the operator.
    Browser(String),
}

impl ApiError {
    /// A sentence to show to a person (the dashboard speaks English).
    pub fn message(&self) -> String {
        self.message_in(Language::En)
    }

    /// The sentence in `language`: the server's own words where it chose them
    /// for that language (Connect asks in it), else the catalogue's.
    pub fn message_in(&self, language: Language) -> String {
        match self {
            ApiError::Server(body) => match body.code {
                ErrorCode::ValidationFailed => language.fields_not_valid().to_owned(),
                ErrorCode::Internal => language.something_went_wrong().to_owned(),
                ErrorCode::DatabaseUnavailable | ErrorCode::StorageFull => {
                    language.briefly_unavailable().to_owned()
                }
                _ => body.message.clone(),
            },
            ApiError::UnexpectedResponse { status } => language.unexpected_answer(status),
            ApiError::Network => language.network_error().to_owned(),
            ApiError::Browser(message) => message.clone(),
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
    /// Nothing, or the session cookie the browser sends by itself (for reads).
    None,
    /// A Connect token, and the language Connect's answers should be in.
    Connect(&'a str, Language),
    /// The session cookie plus the CSRF token, for changes made from the dashboard.
    Csrf(&'a str),
}

/// A random value this browser tab keeps for Connect (in session storage, so
/// a reload keeps it): the server binds a session to the tab that drives it
/// and shows its success to that tab alone. Where storage is refused (some
/// embedding browsers), it lasts as long as the page.
fn browser_key() -> String {
    const STORAGE_KEY: &str = "gridlink-connect-browser";
    thread_local! {
        static KEY: std::cell::OnceCell<String> = const { std::cell::OnceCell::new() };
    }
    KEY.with(|key| {
        key.get_or_init(|| {
            let storage =
                web_sys::window().and_then(|window| window.session_storage().ok().flatten());
            if let Some(kept) = storage
                .as_ref()
                .and_then(|storage| storage.get_item(STORAGE_KEY).ok().flatten())
                .filter(|kept| kept.len() == 32)
            {
                return kept;
            }
            let mut bytes = [0u8; 16];
            let filled = web_sys::window()
                .and_then(|window| window.crypto().ok())
                .is_some_and(|crypto| crypto.get_random_values_with_u8_array(&mut bytes).is_ok());
            if !filled {
                // No Web Crypto: the value only needs to differ between browsers.
                for byte in &mut bytes {
                    *byte = (js_sys::Math::random() * 256.0) as u8;
                }
            }
            let fresh: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
            if let Some(storage) = storage {
                let _ = storage.set_item(STORAGE_KEY, &fresh);
            }
            fresh
        })
        .clone()
    })
}

fn with_credentials(request: RequestBuilder, credentials: Credentials<'_>) -> RequestBuilder {
    let request = request.header("Accept", "application/json");
    match credentials {
        Credentials::None => request,
        Credentials::Connect(token, language) => request
            .header("Authorization", &format!("Bearer {token}"))
            .header("Accept-Language", language.code())
            .header("X-Connect-Browser", &browser_key()),
        Credentials::Csrf(token) => request.header("x-csrf-token", token),
    }
}

async fn get_json<T: DeserializeOwned>(
    path: &str,
    credentials: Credentials<'_>,
) -> Result<T, ApiError> {
    let abort = abort_with_reader(&credentials);
    let response = with_credentials(Request::get(path), credentials)
        .abort_signal(abort.as_ref())
        .send()
        .await
        .map_err(|_| ApiError::Network)?;
    decode(response).await
}

/// A page's read belongs to whoever asked for it: when that goes away (the
/// page unmounts, or a resource asks again with new filters), the browser
/// cancels the request instead of finishing it for nobody. Connect's reads
/// are never cancelled: Connect never leaves its page, and its flow's state
/// outlives the step screen that asked (a step replaced while its read is
/// under way still needs the answer). Reads made outside a reactive owner,
/// and every write, run to their end too.
fn abort_with_reader(credentials: &Credentials<'_>) -> Option<web_sys::AbortSignal> {
    if matches!(credentials, Credentials::Connect(..)) {
        return None;
    }
    let _reader = Owner::current()?;
    let controller = web_sys::AbortController::new().ok()?;
    let signal = controller.signal();
    let controller = SendWrapper::new(controller);
    on_cleanup(move || controller.abort());
    Some(signal)
}

/// Sends `body` as JSON with `request` (POST, PUT or PATCH) and decodes the answer.
async fn send_json<B: Serialize, T: DeserializeOwned>(
    request: RequestBuilder,
    body: &B,
    credentials: Credentials<'_>,
) -> Result<T, ApiError> {
    let response = with_credentials(request, credentials)
        .json(body)
        .map_err(|_| ApiError::Network)?
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
    send_json(Request::post(path), body, credentials).await
}

/// Sends `body` as JSON with `request`; the answer has no body (204).
async fn send_json_without_answer<B: Serialize>(
    request: RequestBuilder,
    body: &B,
    credentials: Credentials<'_>,
) -> Result<(), ApiError> {
    let response = with_credentials(request, credentials)
        .json(body)
        .map_err(|_| ApiError::Network)?
        .send()
        .await
        .map_err(|_| ApiError::Network)?;
    no_content(response).await
}

async fn send_without_body(
    request: RequestBuilder,
    credentials: Credentials<'_>,
) -> Result<(), ApiError> {
    let response = with_credentials(request, credentials)
        .send()
        .await
        .map_err(|_| ApiError::Network)?;
    no_content(response).await
}

/// An answer without a body: success, or the shared error body.
async fn no_content(response: Response) -> Result<(), ApiError> {
    if response.ok() {
        return Ok(());
    }
    let status = response.status();
    match response.json::<ErrorBody>().await {
        Ok(body) => Err(ApiError::Server(body)),
        Err(_) => Err(ApiError::UnexpectedResponse { status }),
    }
}

/// An operator whose session ended (idle timeout, sign-out elsewhere) while
/// on a dashboard page is sent to the sign-in page, which says why.
fn sign_in_again_if_session_ended(response: &Response) {
    let dashboard_call = response.url().contains("/api/v1/");
    if response.status() != 401 || !dashboard_call {
        return;
    }
    if let Some(window) = web_sys::window() {
        let on_dashboard = window
            .location()
            .pathname()
            .is_ok_and(|path| path.starts_with("/dashboard"));
        if on_dashboard {
            let _ = window.location().assign("/dashboard/sign-in?expired=1");
        }
    }
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    sign_in_again_if_session_ended(&response);
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

/// `GET /api/health`: the server's version and mode (its database is not checked).
pub async fn health() -> Result<Health, ApiError> {
    get_json(&routes::api(routes::system::HEALTH), Credentials::None).await
}

/// `GET /api/ready`: the server and its database.
pub async fn readiness() -> Result<Health, ApiError> {
    get_json(&routes::api(routes::system::READY), Credentials::None).await
}
