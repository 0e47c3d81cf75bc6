//! Single sign-on: the sign-in page's buttons, and the organisation's
//! identity provider in the settings.

use gloo_net::http::Request;
use shared::routes;
use shared::single_sign_on::{SsoProvider, SsoSettings, SsoSettingsChange};

use super::{get_json, send_json, send_without_body, ApiError, Credentials, DashboardApi};

/// `GET /api/sso/providers`: one "Sign in with …" button each.
pub async fn sso_providers() -> Result<Vec<SsoProvider>, ApiError> {
    get_json(&routes::api(routes::sso::PROVIDERS), Credentials::None).await
}

impl DashboardApi {
    pub async fn sso_settings(&self) -> Result<SsoSettings, ApiError> {
        get_json(&routes::api(routes::v1::SSO), Credentials::None).await
    }

    pub async fn change_sso_settings(
        &self,
        change: &SsoSettingsChange,
    ) -> Result<SsoSettings, ApiError> {
        send_json(
            Request::put(&routes::api(routes::v1::SSO)),
            change,
            self.csrf(),
        )
        .await
    }

    pub async fn remove_sso_settings(&self) -> Result<(), ApiError> {
        send_without_body(Request::delete(&routes::api(routes::v1::SSO)), self.csrf()).await
    }
}
