//! The one HTTP client of the app: typed requests over gloo-net that decode
//! the shared error body, so every screen gets errors in one shape.
//!
//! Connect authenticates with its token (Bearer; no cookies in iframes); the
//! dashboard with the session cookie plus the CSRF token on every change.

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::connect::{
    ChooseMethod, ConnectState, ConnectToken, ContactChoice, SubmitCode, SubmitCredentials,
    SubmitPassword, Unsubscription, UpdateLink, Utility,
};
use shared::credentials::{
    AdapterHealth, Credential, CredentialChange, CredentialCounts, CredentialEvent, CredentialPage,
    ExpiryForecast, OrganisationEvent, RefreshFunnel, UtilityAccount, UtilityIncident,
    UtilityLifetime, UtilityStatement,
};
use shared::health::Health;
use shared::i18n::Language;
use shared::operators::{
    ApiKey, CreatedApiKey, NewApiKey, NewOperator, NewPassword, Operator, OperatorChange,
    OperatorLink, OperatorSession, OrganisationSettings, OrganisationSettingsChange,
    PasswordChange, PasswordResetRequest, Session, SignIn, SignInRecord,
};
use shared::webhooks::{
    WebhookDelivery, WebhookDeliveryDetail, WebhookDeliveryPage, WebhookEndpoint,
    WebhookEndpointChange, WebhookSecret,
};
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
                _ => body.message.clone(),
            },
            ApiError::UnexpectedResponse { status } => language.unexpected_answer(status),
            ApiError::Network => language.network_error().to_owned(),
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
    let response = with_credentials(Request::get(path), credentials)
        .send()
        .await
        .map_err(|_| ApiError::Network)?;
    decode(response).await
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
    get_json("/api/health", Credentials::None).await
}

/// `GET /api/ready`: the server and its database.
pub async fn readiness() -> Result<Health, ApiError> {
    get_json("/api/ready", Credentials::None).await
}

/// The Connect API, for one Connect token, in Connect's language.
#[derive(Debug, Clone)]
pub struct ConnectApi {
    token: String,
    pub language: Language,
}

impl ConnectApi {
    pub fn new(token: String, language: Language) -> Self {
        ConnectApi { token, language }
    }

    fn credentials(&self) -> Credentials<'_> {
        Credentials::Connect(&self.token, self.language)
    }

    pub async fn session(&self) -> Result<ConnectState, ApiError> {
        get_json("/api/connect/session", self.credentials()).await
    }

    /// The state, or while it is "Connecting with your utility", the state
    /// the moment the login ends: the server waits up to `seconds` for it.
    pub async fn session_after_connecting(&self, seconds: u32) -> Result<ConnectState, ApiError> {
        get_json(
            &format!("/api/connect/session?waitSeconds={seconds}"),
            self.credentials(),
        )
        .await
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

    /// "Email me if this connection needs attention" on the success screen.
    pub async fn choose_contact(&self, contact_email: String) -> Result<ConnectState, ApiError> {
        post_json(
            "/api/connect/contact",
            &ContactChoice { contact_email },
            self.credentials(),
        )
        .await
    }
}

/// `GET /api/unsubscribe/{token}`: whom an unsubscribe link is for.
pub async fn unsubscription(token: &str) -> Result<Unsubscription, ApiError> {
    get_json(&format!("/api/unsubscribe/{token}"), Credentials::None).await
}

/// `POST /api/unsubscribe/{token}`: no more notices to that address.
pub async fn unsubscribe(token: &str) -> Result<Unsubscription, ApiError> {
    post_json(
        &format!("/api/unsubscribe/{token}"),
        &serde_json::json!({}),
        Credentials::None,
    )
    .await
}

/// "Forgot password?": the server's answer, the same for any address.
pub async fn request_password_reset(email: String) -> Result<String, ApiError> {
    let answer: serde_json::Value = post_json(
        "/api/password-reset",
        &PasswordResetRequest { email },
        Credentials::None,
    )
    .await?;
    Ok(answer["message"].as_str().unwrap_or_default().to_owned())
}

/// What a mailed operator link is for.
pub async fn operator_link(token: &str) -> Result<OperatorLink, ApiError> {
    get_json(&format!("/api/password-reset/{token}"), Credentials::None).await
}

/// Chooses a password with a mailed operator link.
pub async fn choose_password(token: String, new_password: String) -> Result<(), ApiError> {
    send_json_without_answer(
        Request::post(&format!("/api/password-reset/{token}")),
        &NewPassword { new_password },
        Credentials::None,
    )
    .await
}

/// `POST /api/session`: signs in; the browser keeps the session cookie.
pub async fn sign_in(email: String, password: String) -> Result<Session, ApiError> {
    post_json(
        "/api/session",
        &SignIn { email, password },
        Credentials::None,
    )
    .await
}

/// `GET /api/session`: the signed-in operator, or `Unauthenticated`.
pub async fn current_session() -> Result<Session, ApiError> {
    get_json("/api/session", Credentials::None).await
}

/// The dashboard's API, for a signed-in operator.
#[derive(Debug, Clone)]
pub struct DashboardApi {
    csrf_token: String,
}

impl DashboardApi {
    pub fn new(csrf_token: String) -> Self {
        DashboardApi { csrf_token }
    }

    fn csrf(&self) -> Credentials<'_> {
        Credentials::Csrf(&self.csrf_token)
    }

    pub async fn sign_out(&self) -> Result<(), ApiError> {
        send_without_body(Request::delete("/api/session"), self.csrf()).await
    }

    /// `GET /api/v1/credentials?…` with an already-encoded query string.
    pub async fn credentials(&self, query: &str) -> Result<CredentialPage, ApiError> {
        get_json(&format!("/api/v1/credentials?{query}"), Credentials::None).await
    }

    /// The utilities' names, to show instead of their ids.
    pub async fn utility_names(&self) -> Result<Vec<Utility>, ApiError> {
        get_json("/api/v1/utilities", Credentials::None).await
    }

    pub async fn counts(&self) -> Result<CredentialCounts, ApiError> {
        get_json("/api/v1/credentials/counts", Credentials::None).await
    }

    /// The utilities with an open incident.
    pub async fn open_incidents(&self) -> Result<Vec<UtilityIncident>, ApiError> {
        get_json("/api/v1/utility-incidents", Credentials::None).await
    }

    pub async fn expiries(&self, days: u32) -> Result<ExpiryForecast, ApiError> {
        get_json(
            &format!("/api/v1/credentials/expiries?days={days}"),
            Credentials::None,
        )
        .await
    }

    pub async fn latest_events(&self, limit: u32) -> Result<Vec<OrganisationEvent>, ApiError> {
        get_json(&format!("/api/v1/events?limit={limit}"), Credentials::None).await
    }

    pub async fn accounts(&self, id: &str) -> Result<Vec<UtilityAccount>, ApiError> {
        get_json(
            &format!("/api/v1/credentials/{id}/accounts"),
            Credentials::None,
        )
        .await
    }

    pub async fn statements(&self, id: &str) -> Result<Vec<UtilityStatement>, ApiError> {
        get_json(
            &format!("/api/v1/credentials/{id}/statements"),
            Credentials::None,
        )
        .await
    }

    pub async fn credential(&self, id: &str) -> Result<Credential, ApiError> {
        get_json(&format!("/api/v1/credentials/{id}"), Credentials::None).await
    }

    pub async fn events(&self, id: &str) -> Result<Vec<CredentialEvent>, ApiError> {
        get_json(
            &format!("/api/v1/credentials/{id}/events"),
            Credentials::None,
        )
        .await
    }

    pub async fn sync(&self, id: &str) -> Result<Credential, ApiError> {
        post_json(
            &format!("/api/v1/credentials/{id}/sync"),
            &serde_json::json!({}),
            self.csrf(),
        )
        .await
    }

    pub async fn deactivate(&self, id: &str) -> Result<(), ApiError> {
        send_without_body(
            Request::delete(&format!("/api/v1/credentials/{id}")),
            self.csrf(),
        )
        .await
    }

    /// A Connect token for a new credential owned by `owner`.
    pub async fn new_connect_token(
        &self,
        owner: shared::credentials::Owner,
    ) -> Result<ConnectToken, ApiError> {
        let body = shared::connect::NewConnectToken {
            utility_id: None,
            correlation_id: None,
            owner,
            contact_email: None,
            contact_language: None,
        };
        post_json("/api/v1/connect-tokens", &body, self.csrf()).await
    }

    /// "Retry MFA Verification": a Connect token in update mode.
    pub async fn retry_mfa(&self, id: &str) -> Result<ConnectToken, ApiError> {
        post_json(
            &format!("/api/v1/credentials/{id}/connect-tokens"),
            &serde_json::json!({}),
            self.csrf(),
        )
        .await
    }

    pub async fn generate_update_link(&self, id: &str) -> Result<ConnectToken, ApiError> {
        post_json(
            &format!("/api/v1/credentials/{id}/update-links"),
            &serde_json::json!({}),
            self.csrf(),
        )
        .await
    }

    pub async fn update_links(&self, id: &str) -> Result<Vec<UpdateLink>, ApiError> {
        get_json(
            &format!("/api/v1/credentials/{id}/update-links"),
            Credentials::None,
        )
        .await
    }

    /// The utility adapters and their health.
    pub async fn adapters(&self) -> Result<Vec<AdapterHealth>, ApiError> {
        get_json("/api/v1/adapters", Credentials::None).await
    }

    /// Reads every adapter's catalogue now (admins); answers the adapters.
    pub async fn refresh_adapters(&self) -> Result<Vec<AdapterHealth>, ApiError> {
        post_json(
            "/api/v1/adapters/refresh",
            &serde_json::json!({}),
            self.csrf(),
        )
        .await
    }

    pub async fn organisation(&self) -> Result<OrganisationSettings, ApiError> {
        get_json("/api/v1/organisation", Credentials::None).await
    }

    pub async fn change_organisation(
        &self,
        change: &OrganisationSettingsChange,
    ) -> Result<OrganisationSettings, ApiError> {
        send_json(Request::put("/api/v1/organisation"), change, self.csrf()).await
    }

    pub async fn api_keys(&self) -> Result<Vec<ApiKey>, ApiError> {
        get_json("/api/v1/api-keys", Credentials::None).await
    }

    pub async fn create_api_key(&self, name: String) -> Result<CreatedApiKey, ApiError> {
        post_json("/api/v1/api-keys", &NewApiKey { name }, self.csrf()).await
    }

    pub async fn revoke_api_key(&self, id: &str) -> Result<(), ApiError> {
        send_without_body(
            Request::delete(&format!("/api/v1/api-keys/{id}")),
            self.csrf(),
        )
        .await
    }

    /// Changes the signed-in operator's own password; their other sessions end.
    pub async fn change_own_password(&self, change: &PasswordChange) -> Result<(), ApiError> {
        send_json_without_answer(Request::post("/api/session/password"), change, self.csrf()).await
    }

    pub async fn own_sessions(&self) -> Result<Vec<OperatorSession>, ApiError> {
        get_json("/api/session/sessions", Credentials::None).await
    }

    pub async fn end_own_session(&self, id: &str) -> Result<(), ApiError> {
        send_without_body(
            Request::delete(&format!("/api/session/sessions/{id}")),
            self.csrf(),
        )
        .await
    }

    pub async fn sign_in_history(&self) -> Result<Vec<SignInRecord>, ApiError> {
        get_json("/api/session/history", Credentials::None).await
    }

    pub async fn operators(&self) -> Result<Vec<Operator>, ApiError> {
        get_json("/api/v1/operators", Credentials::None).await
    }

    pub async fn add_operator(&self, operator: &NewOperator) -> Result<Operator, ApiError> {
        post_json("/api/v1/operators", operator, self.csrf()).await
    }

    pub async fn refresh_funnel(&self) -> Result<RefreshFunnel, ApiError> {
        get_json("/api/v1/notices/funnel", Credentials::None).await
    }

    pub async fn token_lifetimes(&self) -> Result<Vec<UtilityLifetime>, ApiError> {
        get_json("/api/v1/utilities/lifetimes", Credentials::None).await
    }

    /// A new update link for every active credential matching `filters` (the
    /// list's query string), as the CSV the server writes.
    pub async fn bulk_update_links_csv(&self, filters: &str) -> Result<String, ApiError> {
        let response = with_credentials(
            Request::post(&format!("/api/v1/update-links/bulk?{filters}")),
            self.csrf(),
        )
        .header("Accept", "text/csv")
        .send()
        .await
        .map_err(|_| ApiError::Network)?;
        if response.ok() {
            return response.text().await.map_err(|_| ApiError::Network);
        }
        decode::<()>(response).await.map(|()| String::new())
    }

    /// Sets (or, with an empty string, removes) a credential's end-user contact email.
    pub async fn change_contact(
        &self,
        id: &str,
        contact_email: String,
    ) -> Result<Credential, ApiError> {
        send_json(
            Request::patch(&format!("/api/v1/credentials/{id}")),
            &CredentialChange {
                password: None,
                correlation_id: None,
                contact_email: Some(contact_email),
                contact_language: None,
            },
            self.csrf(),
        )
        .await
    }

    pub async fn change_operator(
        &self,
        id: &str,
        change: &OperatorChange,
    ) -> Result<Operator, ApiError> {
        send_json(
            Request::patch(&format!("/api/v1/operators/{id}")),
            change,
            self.csrf(),
        )
        .await
    }

    pub async fn remove_operator(&self, id: &str) -> Result<(), ApiError> {
        send_without_body(
            Request::delete(&format!("/api/v1/operators/{id}")),
            self.csrf(),
        )
        .await
    }

    /// The organisation's webhook endpoint; `None` when none is set.
    pub async fn webhook_endpoint(&self) -> Result<Option<WebhookEndpoint>, ApiError> {
        match get_json("/api/v1/webhook-endpoint", Credentials::None).await {
            Ok(endpoint) => Ok(Some(endpoint)),
            Err(error) if error.code() == Some(ErrorCode::NotFound) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Sets the URL; the first time the answer carries the signing secret.
    pub async fn set_webhook_endpoint(&self, url: String) -> Result<SetEndpoint, ApiError> {
        let answer: serde_json::Value = send_json(
            Request::put("/api/v1/webhook-endpoint"),
            &WebhookEndpointChange {
                url,
                secret_created_at: None,
                previous_secret_expires_at: None,
                created_at: None,
                updated_at: None,
                disabled_at: None,
                disabled_reason: None,
            },
            self.csrf(),
        )
        .await?;
        let unexpected = |_| ApiError::UnexpectedResponse { status: 200 };
        if answer.get("secret").is_some() {
            serde_json::from_value(answer)
                .map(SetEndpoint::Created)
                .map_err(unexpected)
        } else {
            serde_json::from_value(answer)
                .map(SetEndpoint::Updated)
                .map_err(unexpected)
        }
    }

    pub async fn remove_webhook_endpoint(&self) -> Result<(), ApiError> {
        send_without_body(Request::delete("/api/v1/webhook-endpoint"), self.csrf()).await
    }

    pub async fn rotate_webhook_secret(&self) -> Result<WebhookSecret, ApiError> {
        post_json(
            "/api/v1/webhook-endpoint/rotate-secret",
            &serde_json::json!({}),
            self.csrf(),
        )
        .await
    }

    pub async fn send_test_webhook(&self) -> Result<WebhookDelivery, ApiError> {
        post_json(
            "/api/v1/webhook-endpoint/test",
            &serde_json::json!({}),
            self.csrf(),
        )
        .await
    }

    /// A page of deliveries, newest first; `before` is the previous page's cursor.
    /// A page of the delivery log; `filters` is an encoded query string
    /// (`eventType=…&state=…`, may be empty).
    pub async fn webhook_deliveries(
        &self,
        filters: &str,
        before: Option<&str>,
    ) -> Result<WebhookDeliveryPage, ApiError> {
        let mut path = format!("/api/v1/webhook-deliveries?limit=25&{filters}");
        if let Some(cursor) = before {
            path.push_str(&format!("&before={cursor}"));
        }
        get_json(&path, Credentials::None).await
    }

    /// Sends every failed message of a range again (`{"from"}` RFC 3339 and/or
    /// `{"credentialId"}`), oldest first; answers how many.
    pub async fn replay_failed_webhooks(&self, range: serde_json::Value) -> Result<u64, ApiError> {
        let answer: serde_json::Value =
            post_json("/api/v1/webhook-deliveries/replay", &range, self.csrf()).await?;
        Ok(answer["requeued"].as_u64().unwrap_or(0))
    }

    /// The newest messages about one credential.
    pub async fn credential_webhooks(
        &self,
        credential_id: &str,
    ) -> Result<Vec<WebhookDelivery>, ApiError> {
        let page: WebhookDeliveryPage = get_json(
            &format!("/api/v1/webhook-deliveries?limit=5&credentialId={credential_id}"),
            Credentials::None,
        )
        .await?;
        Ok(page.deliveries)
    }

    /// The newest delivery that was given up, if any.
    pub async fn latest_failed_webhook(&self) -> Result<Option<WebhookDelivery>, ApiError> {
        let page: WebhookDeliveryPage = get_json(
            "/api/v1/webhook-deliveries?state=FAILED&limit=1",
            Credentials::None,
        )
        .await?;
        Ok(page.deliveries.into_iter().next())
    }

    pub async fn webhook_delivery(&self, id: &str) -> Result<WebhookDeliveryDetail, ApiError> {
        get_json(
            &format!("/api/v1/webhook-deliveries/{id}"),
            Credentials::None,
        )
        .await
    }

    pub async fn resend_webhook(&self, id: &str) -> Result<WebhookDelivery, ApiError> {
        post_json(
            &format!("/api/v1/webhook-deliveries/{id}/resend"),
            &serde_json::json!({}),
            self.csrf(),
        )
        .await
    }

    pub async fn revoke_update_link(&self, id: &str, link_id: &str) -> Result<(), ApiError> {
        send_without_body(
            Request::delete(&format!("/api/v1/credentials/{id}/update-links/{link_id}")),
            self.csrf(),
        )
        .await
    }
}

/// What setting the webhook endpoint did.
#[derive(Debug, Clone, PartialEq)]
pub enum SetEndpoint {
    /// Created: the signing secret is shown this once.
    Created(WebhookSecret),
    Updated(WebhookEndpoint),
}
