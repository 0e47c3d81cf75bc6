//! Connect's requests, for one Connect token, in Connect's language; and the
//! unsubscribe link's.

use shared::connect::{
    ChooseMethod, ConnectState, ContactChoice, RecoveryAlert, RecoveryAlertRequest, SubmitCode,
    SubmitCredentials, SubmitPassword, Unsubscription, Utility,
};
use shared::i18n::Language;
use shared::routes;
use shared::MfaMethod;

use super::{get_json, post_json, ApiError, Credentials};

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
        get_json(&routes::api(routes::connect::SESSION), self.credentials()).await
    }

    /// The state, or while it is "Connecting with your utility", the state
    /// the moment the login ends: the server waits up to `seconds` for it.
    pub async fn session_after_connecting(&self, seconds: u32) -> Result<ConnectState, ApiError> {
        get_json(
            &format!(
                "{}?waitSeconds={seconds}",
                routes::api(routes::connect::SESSION)
            ),
            self.credentials(),
        )
        .await
    }

    pub async fn utilities(&self) -> Result<Vec<Utility>, ApiError> {
        get_json(&routes::api(routes::connect::UTILITIES), self.credentials()).await
    }

    pub async fn submit_credentials(
        &self,
        body: &SubmitCredentials,
    ) -> Result<ConnectState, ApiError> {
        post_json(
            &routes::api(routes::connect::CREDENTIALS),
            body,
            self.credentials(),
        )
        .await
    }

    pub async fn reconnect(&self) -> Result<ConnectState, ApiError> {
        post_json(
            &routes::api(routes::connect::RECONNECT),
            &serde_json::json!({}),
            self.credentials(),
        )
        .await
    }

    pub async fn submit_password(&self, password: String) -> Result<ConnectState, ApiError> {
        post_json(
            &routes::api(routes::connect::PASSWORD),
            &SubmitPassword { password },
            self.credentials(),
        )
        .await
    }

    pub async fn choose_method(&self, method: MfaMethod) -> Result<ConnectState, ApiError> {
        post_json(
            &routes::api(routes::connect::MFA_METHOD),
            &ChooseMethod { method },
            self.credentials(),
        )
        .await
    }

    pub async fn resend(&self) -> Result<ConnectState, ApiError> {
        post_json(
            &routes::api(routes::connect::MFA_RESEND),
            &serde_json::json!({}),
            self.credentials(),
        )
        .await
    }

    pub async fn submit_code(&self, code: String) -> Result<ConnectState, ApiError> {
        post_json(
            &routes::api(routes::connect::MFA_CODE),
            &SubmitCode { code },
            self.credentials(),
        )
        .await
    }

    /// "Email me if this connection needs attention" on the success screen.
    pub async fn choose_contact(&self, contact_email: String) -> Result<ConnectState, ApiError> {
        post_json(
            &routes::api(routes::connect::CONTACT),
            &ContactChoice { contact_email },
            self.credentials(),
        )
        .await
    }

    /// "Email me when it works again", for a utility having trouble.
    pub async fn recovery_alert(
        &self,
        utility_id: String,
        email: String,
    ) -> Result<RecoveryAlert, ApiError> {
        post_json(
            &routes::api(routes::connect::RECOVERY_ALERT),
            &RecoveryAlertRequest { utility_id, email },
            self.credentials(),
        )
        .await
    }
}

/// `GET /api/unsubscribe/{token}`: whom an unsubscribe link is for.
pub async fn unsubscription(token: &str) -> Result<Unsubscription, ApiError> {
    get_json(
        &routes::api_with(routes::connect::UNSUBSCRIBE, &[token]),
        Credentials::None,
    )
    .await
}

/// `POST /api/unsubscribe/{token}`: no more notices to that address.
pub async fn unsubscribe(token: &str) -> Result<Unsubscription, ApiError> {
    post_json(
        &routes::api_with(routes::connect::UNSUBSCRIBE, &[token]),
        &serde_json::json!({}),
        Credentials::None,
    )
    .await
}
