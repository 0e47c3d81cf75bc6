//! The dashboard's requests: signing in, mailed operator links, and
//! everything a signed-in operator does (with the CSRF token on every change).

use gloo_net::http::Request;
use shared::audit::AuditEventPage;
use shared::connect::{ConnectToken, UpdateLink, Utility};
use shared::credentials::{
    AdapterHealth, Credential, CredentialChange, CredentialCounts, CredentialEvent, CredentialPage,
    ExpiryForecast, OrganisationEvent, RefreshFunnel, UtilityAccount, UtilityIncident,
    UtilityLifetime, UtilityStatement,
};
use shared::operators::{
    ApiKey, ApiKeyScope, CreatedApiKey, NewApiKey, NewOperator, NewPassword, Operator,
    OperatorChange, OperatorLink, OperatorSession, OrganisationSettings,
    OrganisationSettingsChange, PasswordChange, PasswordResetRequest, RecoveryCodes,
    SecondFactorProof, SecondFactorRequired, Session, SignIn, SignInRecord, TotpConfirmation,
    TotpEnrolment, TotpStatus,
};
use shared::routes;
use shared::webhooks::{
    WebhookDelivery, WebhookDeliveryDetail, WebhookDeliveryPage, WebhookEndpoint,
    WebhookEndpointChange, WebhookSecret,
};
use shared::ErrorCode;

use super::{
    decode, get_json, post_json, send_json, send_json_without_answer, send_without_body,
    with_credentials, ApiError, Credentials,
};

/// "Forgot password?": the server's answer, the same for any address.
pub async fn request_password_reset(email: String) -> Result<String, ApiError> {
    let answer: serde_json::Value = post_json(
        &routes::api(routes::session::PASSWORD_RESET),
        &PasswordResetRequest { email },
        Credentials::None,
    )
    .await?;
    Ok(answer["message"].as_str().unwrap_or_default().to_owned())
}

/// What a mailed operator link is for.
pub async fn operator_link(token: &str) -> Result<OperatorLink, ApiError> {
    get_json(
        &routes::api_with(routes::session::PASSWORD_LINK, &[token]),
        Credentials::None,
    )
    .await
}

/// Chooses a password with a mailed operator link.
pub async fn choose_password(token: String, new_password: String) -> Result<(), ApiError> {
    send_json_without_answer(
        Request::post(&routes::api_with(routes::session::PASSWORD_LINK, &[&token])),
        &NewPassword { new_password },
        Credentials::None,
    )
    .await
}

/// What a right password leads to.
pub enum SignInOutcome {
    SignedIn(Session),
    /// The operator has a second factor (these methods): send it with
    /// [`complete_sign_in`].
    SecondFactorDue(SecondFactorRequired),
}

/// `POST /api/session`: signs in (the browser keeps the session cookie), or
/// asks for the second factor.
pub async fn sign_in(email: String, password: String) -> Result<SignInOutcome, ApiError> {
    let answer: serde_json::Value = post_json(
        &routes::api(routes::session::SESSION),
        &SignIn { email, password },
        Credentials::None,
    )
    .await?;
    if let Ok(required) = serde_json::from_value::<SecondFactorRequired>(answer.clone()) {
        return Ok(SignInOutcome::SecondFactorDue(required));
    }
    serde_json::from_value(answer)
        .map(SignInOutcome::SignedIn)
        .map_err(|_| ApiError::Network)
}

/// `POST /api/session/second-factor`: the sign-in's second step.
pub async fn complete_sign_in(proof: SecondFactorProof) -> Result<Session, ApiError> {
    post_json(
        &routes::api(routes::session::SECOND_FACTOR),
        &proof,
        Credentials::None,
    )
    .await
}

/// `GET /api/session`: the signed-in operator, or `Unauthenticated`.
pub async fn current_session() -> Result<Session, ApiError> {
    get_json(&routes::api(routes::session::SESSION), Credentials::None).await
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

    pub(super) fn csrf(&self) -> Credentials<'_> {
        Credentials::Csrf(&self.csrf_token)
    }

    pub async fn sign_out(&self) -> Result<(), ApiError> {
        send_without_body(
            Request::delete(&routes::api(routes::session::SESSION)),
            self.csrf(),
        )
        .await
    }

    /// `GET /api/v1/credentials?…` with an already-encoded query string.
    pub async fn credentials(&self, query: &str) -> Result<CredentialPage, ApiError> {
        get_json(
            &format!("{}?{query}", routes::api(routes::v1::CREDENTIALS)),
            Credentials::None,
        )
        .await
    }

    /// The utilities' names, to show instead of their ids.
    pub async fn utility_names(&self) -> Result<Vec<Utility>, ApiError> {
        get_json(&routes::api(routes::v1::UTILITIES), Credentials::None).await
    }

    pub async fn counts(&self) -> Result<CredentialCounts, ApiError> {
        get_json(
            &routes::api(routes::v1::CREDENTIAL_COUNTS),
            Credentials::None,
        )
        .await
    }

    /// The utilities with an open incident.
    pub async fn open_incidents(&self) -> Result<Vec<UtilityIncident>, ApiError> {
        get_json(
            &routes::api(routes::v1::UTILITY_INCIDENTS),
            Credentials::None,
        )
        .await
    }

    pub async fn expiries(&self, days: u32) -> Result<ExpiryForecast, ApiError> {
        get_json(
            &format!(
                "{}?days={days}",
                routes::api(routes::v1::CREDENTIAL_EXPIRIES)
            ),
            Credentials::None,
        )
        .await
    }

    pub async fn latest_events(&self, limit: u32) -> Result<Vec<OrganisationEvent>, ApiError> {
        get_json(
            &format!("{}?limit={limit}", routes::api(routes::v1::EVENTS)),
            Credentials::None,
        )
        .await
    }

    pub async fn accounts(&self, id: &str) -> Result<Vec<UtilityAccount>, ApiError> {
        get_json(
            &routes::api_with(routes::v1::CREDENTIAL_ACCOUNTS, &[id]),
            Credentials::None,
        )
        .await
    }

    pub async fn statements(&self, id: &str) -> Result<Vec<UtilityStatement>, ApiError> {
        get_json(
            &routes::api_with(routes::v1::CREDENTIAL_STATEMENTS, &[id]),
            Credentials::None,
        )
        .await
    }

    pub async fn credential(&self, id: &str) -> Result<Credential, ApiError> {
        get_json(
            &routes::api_with(routes::v1::CREDENTIAL, &[id]),
            Credentials::None,
        )
        .await
    }

    pub async fn events(&self, id: &str) -> Result<Vec<CredentialEvent>, ApiError> {
        get_json(
            &routes::api_with(routes::v1::CREDENTIAL_EVENTS, &[id]),
            Credentials::None,
        )
        .await
    }

    pub async fn sync(&self, id: &str) -> Result<Credential, ApiError> {
        post_json(
            &routes::api_with(routes::v1::CREDENTIAL_SYNC, &[id]),
            &serde_json::json!({}),
            self.csrf(),
        )
        .await
    }

    pub async fn deactivate(&self, id: &str) -> Result<(), ApiError> {
        send_without_body(
            Request::delete(&routes::api_with(routes::v1::CREDENTIAL, &[id])),
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
        post_json(&routes::api(routes::v1::CONNECT_TOKENS), &body, self.csrf()).await
    }

    /// "Retry MFA Verification": a Connect token in update mode.
    pub async fn retry_mfa(&self, id: &str) -> Result<ConnectToken, ApiError> {
        post_json(
            &routes::api_with(routes::v1::CREDENTIAL_CONNECT_TOKENS, &[id]),
            &serde_json::json!({}),
            self.csrf(),
        )
        .await
    }

    pub async fn generate_update_link(&self, id: &str) -> Result<ConnectToken, ApiError> {
        post_json(
            &routes::api_with(routes::v1::CREDENTIAL_UPDATE_LINKS, &[id]),
            &serde_json::json!({}),
            self.csrf(),
        )
        .await
    }

    pub async fn update_links(&self, id: &str) -> Result<Vec<UpdateLink>, ApiError> {
        get_json(
            &routes::api_with(routes::v1::CREDENTIAL_UPDATE_LINKS, &[id]),
            Credentials::None,
        )
        .await
    }

    /// The utility adapters and their health.
    pub async fn adapters(&self) -> Result<Vec<AdapterHealth>, ApiError> {
        get_json(&routes::api(routes::v1::ADAPTERS), Credentials::None).await
    }

    /// Reads every adapter's catalogue now (admins); answers the adapters.
    pub async fn refresh_adapters(&self) -> Result<Vec<AdapterHealth>, ApiError> {
        post_json(
            &routes::api(routes::v1::ADAPTERS_REFRESH),
            &serde_json::json!({}),
            self.csrf(),
        )
        .await
    }

    pub async fn organisation(&self) -> Result<OrganisationSettings, ApiError> {
        get_json(&routes::api(routes::v1::ORGANISATION), Credentials::None).await
    }

    pub async fn change_organisation(
        &self,
        change: &OrganisationSettingsChange,
    ) -> Result<OrganisationSettings, ApiError> {
        send_json(
            Request::put(&routes::api(routes::v1::ORGANISATION)),
            change,
            self.csrf(),
        )
        .await
    }

    pub async fn api_keys(&self) -> Result<Vec<ApiKey>, ApiError> {
        get_json(&routes::api(routes::v1::API_KEYS), Credentials::None).await
    }

    pub async fn create_api_key(
        &self,
        name: String,
        scope: ApiKeyScope,
    ) -> Result<CreatedApiKey, ApiError> {
        post_json(
            &routes::api(routes::v1::API_KEYS),
            &NewApiKey { name, scope },
            self.csrf(),
        )
        .await
    }

    pub async fn totp_status(&self) -> Result<TotpStatus, ApiError> {
        get_json(&routes::api(routes::session::TOTP), Credentials::None).await
    }

    /// Starts setting up an authenticator app: its secret and QR code.
    pub async fn start_totp(&self) -> Result<TotpEnrolment, ApiError> {
        post_json(
            &routes::api(routes::session::TOTP),
            &serde_json::json!({}),
            self.csrf(),
        )
        .await
    }

    /// Confirms the app with its current code; answers the recovery codes.
    pub async fn confirm_totp(&self, code: String) -> Result<RecoveryCodes, ApiError> {
        post_json(
            &routes::api(routes::session::TOTP_CONFIRM),
            &TotpConfirmation { code },
            self.csrf(),
        )
        .await
    }

    /// Removes the app, proven with a code or a recovery code.
    pub async fn remove_totp(&self, proof: &SecondFactorProof) -> Result<(), ApiError> {
        send_json_without_answer(
            Request::post(&routes::api(routes::session::TOTP_DISABLE)),
            proof,
            self.csrf(),
        )
        .await
    }

    /// A page of the audit log; `filters` is an encoded query string
    /// (`action=…&actor=…`, may be empty), `before` the previous page's cursor.
    pub async fn audit_events(
        &self,
        filters: &str,
        before: Option<&str>,
    ) -> Result<AuditEventPage, ApiError> {
        let mut path = format!(
            "{}?limit=50&{filters}",
            routes::api(routes::v1::AUDIT_EVENTS)
        );
        if let Some(cursor) = before {
            path.push_str(&format!("&before={cursor}"));
        }
        get_json(&path, Credentials::None).await
    }

    pub async fn revoke_api_key(&self, id: &str) -> Result<(), ApiError> {
        send_without_body(
            Request::delete(&routes::api_with(routes::v1::API_KEY, &[id])),
            self.csrf(),
        )
        .await
    }

    /// Changes the signed-in operator's own password; their other sessions end.
    pub async fn change_own_password(&self, change: &PasswordChange) -> Result<(), ApiError> {
        send_json_without_answer(
            Request::post(&routes::api(routes::session::PASSWORD)),
            change,
            self.csrf(),
        )
        .await
    }

    pub async fn own_sessions(&self) -> Result<Vec<OperatorSession>, ApiError> {
        get_json(&routes::api(routes::session::SESSIONS), Credentials::None).await
    }

    pub async fn end_own_session(&self, id: &str) -> Result<(), ApiError> {
        send_without_body(
            Request::delete(&routes::api_with(routes::session::ONE_SESSION, &[id])),
            self.csrf(),
        )
        .await
    }

    pub async fn sign_in_history(&self) -> Result<Vec<SignInRecord>, ApiError> {
        get_json(&routes::api(routes::session::HISTORY), Credentials::None).await
    }

    pub async fn operators(&self) -> Result<Vec<Operator>, ApiError> {
        get_json(&routes::api(routes::v1::OPERATORS), Credentials::None).await
    }

    pub async fn add_operator(&self, operator: &NewOperator) -> Result<Operator, ApiError> {
        post_json(&routes::api(routes::v1::OPERATORS), operator, self.csrf()).await
    }

    pub async fn refresh_funnel(&self) -> Result<RefreshFunnel, ApiError> {
        get_json(&routes::api(routes::v1::NOTICE_FUNNEL), Credentials::None).await
    }

    pub async fn token_lifetimes(&self) -> Result<Vec<UtilityLifetime>, ApiError> {
        get_json(
            &routes::api(routes::v1::UTILITY_LIFETIMES),
            Credentials::None,
        )
        .await
    }

    /// A new update link for every active credential matching `filters` (the
    /// list's query string), as the CSV the server writes.
    pub async fn bulk_update_links_csv(&self, filters: &str) -> Result<String, ApiError> {
        let response = with_credentials(
            Request::post(&format!(
                "{}?{filters}",
                routes::api(routes::v1::UPDATE_LINKS_BULK)
            )),
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
            Request::patch(&routes::api_with(routes::v1::CREDENTIAL, &[id])),
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
            Request::patch(&routes::api_with(routes::v1::OPERATOR, &[id])),
            change,
            self.csrf(),
        )
        .await
    }

    pub async fn remove_operator(&self, id: &str) -> Result<(), ApiError> {
        send_without_body(
            Request::delete(&routes::api_with(routes::v1::OPERATOR, &[id])),
            self.csrf(),
        )
        .await
    }

    /// The organisation's webhook endpoint; `None` when none is set.
    pub async fn webhook_endpoint(&self) -> Result<Option<WebhookEndpoint>, ApiError> {
        match get_json(
            &routes::api(routes::v1::WEBHOOK_ENDPOINT),
            Credentials::None,
        )
        .await
        {
            Ok(endpoint) => Ok(Some(endpoint)),
            Err(error) if error.code() == Some(ErrorCode::NotFound) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Sets the URL; the first time the answer carries the signing secret.
    pub async fn set_webhook_endpoint(&self, url: String) -> Result<SetEndpoint, ApiError> {
        let answer: serde_json::Value = send_json(
            Request::put(&routes::api(routes::v1::WEBHOOK_ENDPOINT)),
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
        send_without_body(
            Request::delete(&routes::api(routes::v1::WEBHOOK_ENDPOINT)),
            self.csrf(),
        )
        .await
    }

    pub async fn rotate_webhook_secret(&self) -> Result<WebhookSecret, ApiError> {
        post_json(
            &routes::api(routes::v1::WEBHOOK_ENDPOINT_ROTATE_SECRET),
            &serde_json::json!({}),
            self.csrf(),
        )
        .await
    }

    pub async fn send_test_webhook(&self) -> Result<WebhookDelivery, ApiError> {
        post_json(
            &routes::api(routes::v1::WEBHOOK_ENDPOINT_TEST),
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
        let mut path = format!(
            "{}?limit=25&{filters}",
            routes::api(routes::v1::WEBHOOK_DELIVERIES)
        );
        if let Some(cursor) = before {
            path.push_str(&format!("&before={cursor}"));
        }
        get_json(&path, Credentials::None).await
    }

    /// Sends every failed message of a range again (`{"from"}` RFC 3339 and/or
    /// `{"credentialId"}`), oldest first; answers how many.
    pub async fn replay_failed_webhooks(&self, range: serde_json::Value) -> Result<u64, ApiError> {
        let answer: serde_json::Value = post_json(
            &routes::api(routes::v1::WEBHOOK_DELIVERIES_REPLAY),
            &range,
            self.csrf(),
        )
        .await?;
        Ok(answer["requeued"].as_u64().unwrap_or(0))
    }

    /// The newest messages about one credential.
    pub async fn credential_webhooks(
        &self,
        credential_id: &str,
    ) -> Result<Vec<WebhookDelivery>, ApiError> {
        let page: WebhookDeliveryPage = get_json(
            &format!(
                "{}?limit=5&credentialId={credential_id}",
                routes::api(routes::v1::WEBHOOK_DELIVERIES)
            ),
            Credentials::None,
        )
        .await?;
        Ok(page.deliveries)
    }

    /// The newest delivery that was given up, if any.
    pub async fn latest_failed_webhook(&self) -> Result<Option<WebhookDelivery>, ApiError> {
        let page: WebhookDeliveryPage = get_json(
            &format!(
                "{}?state=FAILED&limit=1",
                routes::api(routes::v1::WEBHOOK_DELIVERIES)
            ),
            Credentials::None,
        )
        .await?;
        Ok(page.deliveries.into_iter().next())
    }

    pub async fn webhook_delivery(&self, id: &str) -> Result<WebhookDeliveryDetail, ApiError> {
        get_json(
            &routes::api_with(routes::v1::WEBHOOK_DELIVERY, &[id]),
            Credentials::None,
        )
        .await
    }

    pub async fn resend_webhook(&self, id: &str) -> Result<WebhookDelivery, ApiError> {
        post_json(
            &routes::api_with(routes::v1::WEBHOOK_DELIVERY_RESEND, &[id]),
            &serde_json::json!({}),
            self.csrf(),
        )
        .await
    }

    pub async fn revoke_update_link(&self, id: &str, link_id: &str) -> Result<(), ApiError> {
        send_without_body(
            Request::delete(&routes::api_with(
                routes::v1::CREDENTIAL_UPDATE_LINK,
                &[id, link_id],
            )),
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
