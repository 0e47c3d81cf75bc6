//! Single sign-on with OpenID Connect: an organisation's identity provider
//! (`/api/v1/sso`, admins) and the buttons on the sign-in page
//! (`/api/sso/providers`).

use serde::{Deserialize, Serialize};

crate::wire_enum! {
    /// What the first sign-in of someone without an operator account does.
    pub enum SsoFirstSignIn {
        /// Creates a MEMBER operator for them (their email in an allowed domain).
        CreateMember = "CREATE_MEMBER",
        /// Refuses them: only operators an admin added or invited sign in.
        InvitedOnly = "INVITED_ONLY",
    }
}

/// `GET /api/v1/sso`: the organisation's identity provider, if any, and the
/// address to register at it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SsoSettings {
    #[serde(default)]
    pub provider: Option<SsoProviderSettings>,
    /// The redirect URI to register with the identity provider.
    pub redirect_uri: String,
}

/// An identity provider as its admin sees it (the client secret never leaves).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SsoProviderSettings {
    /// Shown on the sign-in page as "Sign in with <displayName>".
    pub display_name: String,
    pub issuer_url: String,
    pub client_id: String,
    pub allowed_domains: Vec<String>,
    pub first_sign_in: SsoFirstSignIn,
}

/// `PUT /api/v1/sso`: sets up or changes the identity provider. The issuer's
/// discovery document is read (over verified HTTPS) before it is saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SsoSettingsChange {
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 60)))]
    pub display_name: String,
    /// `https://…`, the issuer exactly as its discovery document names it.
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 2048)))]
    pub issuer_url: String,
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 256)))]
    pub client_id: String,
    /// Required the first time; leave it out to keep the saved one.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 512)))]
    pub client_secret: Option<String>,
    /// Emails in these domains may sign in (`example.com`; at least one).
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 20)))]
    pub allowed_domains: Vec<String>,
    pub first_sign_in: SsoFirstSignIn,
}

/// One "Sign in with …" button (`GET /api/sso/providers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SsoProvider {
    pub id: String,
    pub name: String,
    /// Where the button goes (a browser navigation, not a fetch).
    pub start_url: String,
}

/// Why a single sign-on ended on the sign-in page (`?sso=<code>`).
pub fn sso_failure_message(code: &str) -> &'static str {
    match code {
        "STATE_MISMATCH" => "This sign-in did not start in this browser, or took too long. Try again.",
        "PROVIDER_REFUSED" => "Your identity provider did not sign you in.",
        "CODE_REJECTED" => "Your identity provider refused this sign-in's code (it works once). Try again.",
        "TOKEN_INVALID" => "Your identity provider's answer could not be verified. Ask your admin to check the single sign-on settings.",
        "EMAIL_NOT_ALLOWED" => "Your email address is not in a domain allowed to sign in here.",
        "NOT_INVITED" => "You have no operator account here yet. Ask an admin to invite you.",
        "PROVIDER_UNREACHABLE" => "Your identity provider cannot be reached right now. Try again in a moment.",
        _ => "Single sign-on did not work. Try again.",
    }
}
