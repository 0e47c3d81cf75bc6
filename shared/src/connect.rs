//! Connect: the tokens that open it and the state its screens show.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::credentials::Owner;
use crate::i18n::Language;
use crate::mfa::MfaMethod;
use crate::status::StatusDetail;

crate::wire_enum! {
    /// Why a Connect session exists.
    pub enum ConnectPurpose {
        /// Add a new credential.
        NewCredential = "NEW_CREDENTIAL",
        /// Re-authenticate one credential, started by an operator ("Retry MFA Verification").
        RetryMfa = "RETRY_MFA",
        /// Re-authenticate one credential from a link sent to the end-user (72 hours).
        UpdateLink = "UPDATE_LINK",
    }
}

impl ConnectPurpose {
    /// Whether Connect re-authenticates an existing credential (no login re-entry).
    pub fn is_update_mode(self) -> bool {
        self != ConnectPurpose::NewCredential
    }
}

/// `POST /api/v1/connect-tokens`: open Connect to add a credential.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewConnectToken {
    /// Skip the utility list and go straight to this utility's login.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<crate::schema::UtilityId>")
    )]
    pub utility_id: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = 200), extend("pattern" = r"^[^\x00-\x1f\x7f-\x9f]*$")))]
    pub correlation_id: Option<String>,
    #[serde(default)]
    pub owner: Owner,
    /// The end-user's email, for notices when the credential needs them
    /// (the organisation's `notifyEndUsers`). Given here, it may appear in
    /// webhooks. Blank means none.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = 254), extend("pattern" = crate::validation::EmailAddress::PATTERN_OR_BLANK)))]
    pub contact_email: Option<String>,
    /// The language of those notices; default: the organisation's Connect language.
    #[serde(default)]
    pub contact_language: Option<Language>,
}

/// A Connect token and the URL that opens Connect with it. Shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConnectToken {
    pub id: String,
    pub purpose: ConnectPurpose,
    pub token: String,
    pub url: String,
    pub credential_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub expires_at: OffsetDateTime,
}

/// An update link as listed later (the token itself is never shown again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UpdateLink {
    pub id: String,
    pub credential_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub expires_at: OffsetDateTime,
}

/// Where the end-user is in Connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConnectStep {
    /// Pick a utility and enter the login.
    EnterCredentials,
    /// Update mode, not started yet: Connect starts connecting at once.
    Start,
    /// "Connecting with your utility": the server is logging in.
    Connecting,
    /// "Select your preferred verification method".
    ChooseMethod,
    /// Enter the code that was sent.
    EnterCode,
    Success,
    /// Something went wrong; `failure` says what and the way forward.
    Failed,
}

/// Why Connect stopped, so the screen can offer the right way forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConnectFailure {
    /// Wrong username or password: re-enter them.
    InvalidCredentials,
    /// Locked at the utility: unlock it there first.
    AccountLocked,
    /// The utility's verification cannot be done through Gridlink.
    UnsupportedMfa,
    /// Too many wrong codes, or the code or verification session expired: start again.
    MfaFailed,
    /// The utility is not answering: wait, or try again.
    UtilityUnavailable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MfaOption {
    pub method: MfaMethod,
    /// Masked, e.g. `•••-•••-1234`.
    pub destination: String,
}

/// `GET /api/connect/session`: everything a Connect screen needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConnectState {
    pub purpose: ConnectPurpose,
    pub organisation_name: String,
    pub branding: Branding,
    pub step: ConnectStep,
    pub credential_id: Option<String>,
    pub utility_id: Option<String>,
    /// The utility's name, as people know it ("Sandbox Water").
    #[serde(default)]
    pub utility_name: Option<String>,
    pub username: Option<String>,
    pub status_detail: Option<StatusDetail>,
    pub failure: Option<ConnectFailure>,
    /// What happened, in words, for failures and retries.
    pub message: Option<String>,
    pub mfa_options: Vec<MfaOption>,
    pub mfa_method: Option<MfaMethod>,
    pub code_sent_to: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub code_expires_at: Option<OffsetDateTime>,
    pub resends_left: Option<u32>,
    pub attempts_left: Option<u32>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub expires_at: OffsetDateTime,
    /// On the success screen: whether to offer "Email me if this connection
    /// needs attention" (the organisation sends such mail and has no address yet).
    #[serde(default)]
    pub offer_contact: bool,
    /// The address notices go to, masked (`j•••@example.com`), when there is one.
    #[serde(default)]
    pub contact_email: Option<String>,
}

/// `POST /api/connect/contact`: the end-user's address for notices, from the success screen.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactChoice {
    #[cfg_attr(feature = "schema", schemars(length(max = 254), extend("pattern" = crate::validation::EmailAddress::PATTERN)))]
    pub contact_email: String,
}

/// `POST /api/connect/recovery-alert`: "Email me when it works again", from
/// Connect, for a utility having trouble right now (an open incident).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecoveryAlertRequest {
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::UtilityId"))]
    pub utility_id: String,
    #[cfg_attr(feature = "schema", schemars(length(max = 254), extend("pattern" = crate::validation::EmailAddress::PATTERN)))]
    pub email: String,
}

/// What Gridlink will do: mail `email` (masked) a fresh Connect link, once,
/// in the end-user's language, when the utility's incident resolves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RecoveryAlert {
    pub utility_id: String,
    /// The address, masked (`j•••@example.com`).
    pub email: String,
}

/// How Connect looks for an organisation, and which pages may embed it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Branding {
    pub logo_url: Option<String>,
    /// `#RRGGBB`, dark enough for white text.
    pub accent_color: Option<String>,
    /// When set, the end-user agrees to these before submitting the login.
    pub terms_url: Option<String>,
    pub privacy_url: Option<String>,
    /// Origins that may frame Connect and receive its events.
    pub embed_origins: Vec<String>,
    /// Connect's language when the browser asks for none Connect speaks.
    #[serde(default)]
    pub default_language: Language,
    /// Whether the organisation mails end-users when their connection needs
    /// them (kept on the server; Connect learns it as [`ConnectState::offer_contact`]).
    #[serde(skip)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub notify_end_users: crate::operators::NotifyEndUsers,
}

/// `POST /api/connect/credentials`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitCredentials {
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::UtilityId"))]
    pub utility_id: String,
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 128), extend("pattern" = r"^(?=.*\S)[^\x00-\x1f\x7f-\x9f]*$")))]
    pub username: String,
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 256)))]
    pub password: String,
    /// Required when the organisation set terms or a privacy policy.
    #[serde(default)]
    pub accepted_terms: bool,
}

/// `POST /api/connect/password`: re-enter the password in update mode.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitPassword {
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 256)))]
    pub password: String,
}

/// `POST /api/connect/mfa/method`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChooseMethod {
    pub method: MfaMethod,
}

/// `POST /api/connect/mfa/code`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitCode {
    /// 4 to 8 digits.
    #[cfg_attr(feature = "schema", schemars(extend("pattern" = "^[0-9]{4,8}$")))]
    pub code: String,
}

/// `GET /api/connect/utilities`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Utility {
    pub id: String,
    pub name: String,
    /// Set while the utility has an open incident (it stopped answering for
    /// many calls at once): since when it has been having trouble.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub trouble_since: Option<OffsetDateTime>,
}

/// `GET` and `POST /api/unsubscribe/{token}`: whom an unsubscribe link is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Unsubscription {
    pub organisation_name: String,
    /// The address, masked (`j•••@example.com`).
    pub email: String,
    /// Whether the address gets no more notices from the organisation.
    pub unsubscribed: bool,
}
