//! Passkeys: the server's half (`/api/session/passkeys…`, the second step's
//! challenge) and the browser's (`navigator.credentials`), joined so a page
//! asks for "a new passkey" or "a passkey's answer" in one call. WebAuthn's
//! JSON becomes the browser's binary options and back through
//! `webauthn-rs-proto`, the server library's own types.

use gloo_net::http::Request;
use shared::operators::{
    NewPasskey, Passkey, PasskeyAnswer, PasskeyChallenge, PasskeyList, Session,
};
use shared::routes;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use webauthn_rs_proto::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse,
};

use super::{get_json, post_json, send_without_body, ApiError, Credentials, DashboardApi};

impl DashboardApi {
    pub async fn passkeys(&self) -> Result<PasskeyList, ApiError> {
        get_json(&routes::api(routes::session::PASSKEYS), Credentials::None).await
    }

    /// Registers a passkey named `name`: the server's challenge, the
    /// browser's dialog, the server's check.
    pub async fn add_passkey(&self, name: String) -> Result<Passkey, ApiError> {
        let challenge: PasskeyChallenge = post_json(
            &routes::api(routes::session::PASSKEY_REGISTRATION),
            &serde_json::json!({}),
            self.csrf(),
        )
        .await?;
        let options: CreationChallengeResponse = serde_json::from_value(challenge.options)
            .map_err(|_| ApiError::Browser(NOT_UNDERSTOOD.into()))?;
        let options: web_sys::CredentialCreationOptions = options.into();
        let credentials = credentials()?;
        let promise = credentials.create_with_options(&options).map_err(refused)?;
        let created = JsFuture::from(promise).await.map_err(refused)?;
        let created: web_sys::PublicKeyCredential = created
            .dyn_into()
            .map_err(|_| ApiError::Browser(NOT_UNDERSTOOD.into()))?;
        let answer = RegisterPublicKeyCredential::from(created);
        post_json(
            &routes::api(routes::session::PASSKEYS),
            &NewPasskey {
                name,
                ceremony_id: challenge.ceremony_id,
                credential: serde_json::to_value(answer).map_err(|_| ApiError::Network)?,
            },
            self.csrf(),
        )
        .await
    }

    pub async fn remove_passkey(&self, id: &str) -> Result<(), ApiError> {
        send_without_body(
            Request::delete(&routes::api_with(routes::session::ONE_PASSKEY, &[id])),
            self.csrf(),
        )
        .await
    }
}

/// A passkey's answer for the sign-in waiting for its second step: the
/// server's challenge, then the browser's dialog.
pub async fn passkey_answer() -> Result<PasskeyAnswer, ApiError> {
    answer_challenge(routes::session::SECOND_FACTOR_PASSKEY).await
}

/// Signs in with a passkey alone (where the organisation allows it): the
/// server's challenge, the browser's dialog (it asks which passkey), the
/// server's check.
pub async fn sign_in_with_passkey() -> Result<Session, ApiError> {
    let answer = answer_challenge(routes::session::PASSKEY_SIGN_IN_CHALLENGE).await?;
    post_json(
        &routes::api(routes::session::PASSKEY_SIGN_IN),
        &answer,
        Credentials::None,
    )
    .await
}

/// The browser's answer to the challenge `route` gives.
async fn answer_challenge(route: &str) -> Result<PasskeyAnswer, ApiError> {
    let challenge: PasskeyChallenge = post_json(
        &routes::api(route),
        &serde_json::json!({}),
        Credentials::None,
    )
    .await?;
    let options: RequestChallengeResponse = serde_json::from_value(challenge.options)
        .map_err(|_| ApiError::Browser(NOT_UNDERSTOOD.into()))?;
    let options: web_sys::CredentialRequestOptions = options.into();
    let promise = credentials()?.get_with_options(&options).map_err(refused)?;
    let answered = JsFuture::from(promise).await.map_err(refused)?;
    let answered: web_sys::PublicKeyCredential = answered
        .dyn_into()
        .map_err(|_| ApiError::Browser(NOT_UNDERSTOOD.into()))?;
    Ok(PasskeyAnswer {
        ceremony_id: challenge.ceremony_id,
        credential: serde_json::to_value(PublicKeyCredential::from(answered))
            .map_err(|_| ApiError::Network)?,
    })
}

const NOT_UNDERSTOOD: &str =
    "This browser's passkey answer could not be read. Try another browser.";

fn credentials() -> Result<web_sys::CredentialsContainer, ApiError> {
    web_sys::window()
        .map(|window| window.navigator().credentials())
        .ok_or_else(|| ApiError::Browser("This browser cannot use passkeys.".into()))
}

/// The browser's refusal in words: cancelled, timed out, or not possible here.
fn refused(error: wasm_bindgen::JsValue) -> ApiError {
    let name = error
        .dyn_ref::<js_sys::Error>()
        .map(|error| String::from(error.name()))
        .unwrap_or_default();
    ApiError::Browser(
        match name.as_str() {
            "NotAllowedError" => "The passkey dialog was closed or timed out. Try again.",
            "InvalidStateError" => "This passkey is registered already.",
            "SecurityError" => "Passkeys do not work at this address.",
            _ => "The browser could not use a passkey. Try again, or use another way.",
        }
        .to_owned(),
    )
}
