//! Operators, their sessions, and API keys: request and response bodies.

use serde::{Deserialize, Serialize};

use crate::i18n::Language;
use time::OffsetDateTime;

crate::wire_enum! {
    pub enum Role {
        /// Everything, including settings, API keys and operators.
        Admin = "ADMIN",
        /// Credentials, Connect and update links; no settings.
        Member = "MEMBER",
    }
}

/// `POST /api/session`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignIn {
    #[cfg_attr(feature = "schema", schemars(length(max = 254), extend("pattern" = crate::validation::EmailAddress::PATTERN)))]
    pub email: String,
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub password: String,
}

/// `POST /api/session/password`: a signed-in operator changes their own
/// password; their other sessions end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    #[cfg_attr(feature = "schema", schemars(length(min = 12, max = 256)))]
    pub new_password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Organisation {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Operator {
    pub id: String,
    pub email: String,
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub created_at: OffsetDateTime,
    /// Invited by mail and has not chosen a password yet.
    #[serde(default)]
    pub invitation_pending: bool,
}

/// The signed-in operator: `GET /api/session` and the answer to signing in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub operator: Operator,
    pub organisation: Organisation,
    /// Send it back as the `x-csrf-token` header on every state-changing request.
    pub csrf_token: String,
    /// The organisation requires a second factor and this operator has none
    /// yet: until they set one up on their account page, every other request
    /// answers 403.
    #[serde(default)]
    pub must_set_up_second_factor: bool,
}

/// The answer to a correct password when the operator has a second factor
/// (`202` from `POST /api/session`): send one to `POST /api/session/second-factor`
/// within five minutes, from the same browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SecondFactorRequired {
    /// `PASSKEY` (when the operator has one), `TOTP` (a code from an
    /// authenticator app, when they have one) and `RECOVERY_CODE`.
    pub methods: Vec<String>,
}

/// `POST /api/session/second-factor` and `POST /api/session/totp/disable`:
/// a code from the authenticator app, one of the recovery codes, or (for the
/// second step only) a passkey's answer to its challenge.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecondFactorProof {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub recovery_code: Option<String>,
    #[serde(default)]
    pub passkey: Option<PasskeyAnswer>,
}

/// A WebAuthn ceremony started by the server: `options` go to the browser's
/// `navigator.credentials.create()` or `.get()` (WebAuthn's JSON, binary
/// fields in base64url); its answer comes back with `ceremonyId` within five
/// minutes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PasskeyChallenge {
    pub ceremony_id: String,
    pub options: serde_json::Value,
}

/// The browser's answer to a [`PasskeyChallenge`]: WebAuthn's
/// `PublicKeyCredential` as JSON (binary fields in base64url).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasskeyAnswer {
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 100)))]
    pub ceremony_id: String,
    pub credential: serde_json::Value,
}

/// `POST /api/session/passkeys`: a new passkey, named by its operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPasskey {
    /// What the operator calls it ("Work laptop", "YubiKey").
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 60)))]
    pub name: String,
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 100)))]
    pub ceremony_id: String,
    pub credential: serde_json::Value,
}

/// One of the signed-in operator's passkeys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Passkey {
    pub id: String,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub last_used_at: Option<OffsetDateTime>,
}

/// `GET /api/session/passkeys`: the operator's passkeys, and whether this
/// Gridlink can register any (WebAuthn needs a domain name, not an address).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PasskeyList {
    pub passkeys: Vec<Passkey>,
    /// Why passkeys cannot be used here, and what would make them work.
    #[serde(default)]
    pub unavailable: Option<String>,
    /// The origin passkeys belong to, where they are added and used: the
    /// public URL's, or `http://localhost:3000` for a Gridlink reached at
    /// `http://127.0.0.1:3000` (WebAuthn refuses addresses).
    #[serde(default)]
    pub available_at: Option<String>,
}

impl SecondFactorProof {
    /// What an operator typed, as a recovery code or as a code from the app.
    pub fn typed(text: String, is_recovery_code: bool) -> SecondFactorProof {
        if is_recovery_code {
            SecondFactorProof {
                recovery_code: Some(text),
                ..SecondFactorProof::default()
            }
        } else {
            SecondFactorProof {
                code: Some(text),
                ..SecondFactorProof::default()
            }
        }
    }
}

/// `GET /api/session/totp`: the operator's authenticator app, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TotpStatus {
    pub enabled: bool,
    pub recovery_codes_left: u32,
}

/// `POST /api/session/totp`: a new secret to add to an authenticator app,
/// confirmed with its first code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TotpEnrolment {
    /// The secret in base32, to type in when the QR code cannot be scanned.
    pub secret: String,
    /// The `otpauth://` URL the QR code holds.
    pub otpauth_url: String,
    /// The QR code as an SVG document.
    pub qr_svg: String,
}

/// `POST /api/session/totp/confirm`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TotpConfirmation {
    pub code: String,
}

/// Ten one-time recovery codes, shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
}

/// One of the signed-in operator's live sessions (`GET /api/session/sessions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OperatorSession {
    /// Names the session to end it; not its secret.
    pub id: String,
    /// The client address it was started from.
    pub client: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub last_seen_at: OffsetDateTime,
    /// The session this request came with.
    pub current: bool,
}

/// One sign-in to the operator's account (`GET /api/session/history`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SignInRecord {
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub at: OffsetDateTime,
    pub client: String,
    pub succeeded: bool,
}

/// `POST /api/v1/operators`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewOperator {
    #[cfg_attr(feature = "schema", schemars(length(max = 254), extend("pattern" = crate::validation::EmailAddress::PATTERN)))]
    pub email: String,
    /// Leave it out to mail the operator an invitation to set their own
    /// password (a one-time link, valid 48 hours).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(min = 12, max = 256)))]
    pub password: Option<String>,
    pub role: Role,
}

/// `POST /api/password-reset`: "Forgot password?".
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[cfg_attr(feature = "schema", schemars(length(max = 254), extend("pattern" = crate::validation::EmailAddress::PATTERN)))]
    pub email: String,
}

crate::wire_enum! {
    /// What a one-time link mailed to an operator is for.
    pub enum OperatorLinkPurpose {
        /// An admin invited them: they choose their first password (48 hours).
        Invitation = "INVITATION",
        /// "Forgot password?" (1 hour); using it ends every session of theirs.
        PasswordReset = "PASSWORD_RESET",
    }
}

/// `GET /api/password-reset/{token}`: what the link is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OperatorLink {
    pub purpose: OperatorLinkPurpose,
    pub email: String,
    pub organisation_name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub expires_at: OffsetDateTime,
}

/// `POST /api/password-reset/{token}`: the new password.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPassword {
    #[cfg_attr(feature = "schema", schemars(length(min = 12, max = 256)))]
    pub new_password: String,
}

/// `PATCH /api/v1/operators/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperatorChange {
    pub role: Role,
}

crate::wire_enum! {
    /// What an API key may do.
    #[derive(Default)]
    pub enum ApiKeyScope {
        /// Lists, reads and exports; every state change answers 403.
        Read = "READ",
        /// Everything an API key may do (the default, as keys did before scopes).
        #[default]
        Write = "WRITE",
    }
}

/// `POST /api/v1/api-keys`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewApiKey {
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 100), extend("pattern" = crate::validation::DisplayName::PATTERN)))]
    pub name: String,
    /// `READ` or `WRITE` (the default).
    #[serde(default)]
    pub scope: ApiKeyScope,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    pub scope: ApiKeyScope,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub created_at: OffsetDateTime,
    /// When the key was last used, to the minute.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub revoked_at: Option<OffsetDateTime>,
}

/// The answer to creating an API key: the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    pub api_key: ApiKey,
    pub secret: String,
}

crate::wire_enum! {
    /// Whether Gridlink mails end-users an update link when their credential needs them.
    #[derive(Default)]
    pub enum NotifyEndUsers {
        /// No mail to end-users.
        #[default]
        Off = "OFF",
        /// When a credential with a contact email needs its MFA refreshed.
        WhenRefreshRequired = "WHEN_REFRESH_REQUIRED",
        /// That, and also when its session token is about to expire.
        BeforeTokenExpiry = "BEFORE_TOKEN_EXPIRY",
    }
}

/// `GET /api/v1/organisation`: the organisation's branding and embedding settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OrganisationSettings {
    pub id: String,
    pub name: String,
    pub logo_url: Option<String>,
    pub accent_color: Option<String>,
    pub terms_url: Option<String>,
    pub privacy_url: Option<String>,
    /// Origins allowed to embed Connect in an iframe and to receive its events.
    pub embed_origins: Vec<String>,
    /// Connect's language when the end-user's browser asks for none it speaks.
    pub connect_language: Language,
    /// Mail end-users an update link (and two reminders) when their credential needs them.
    pub notify_end_users: NotifyEndUsers,
    /// Every operator must sign in with a second factor.
    #[serde(default)]
    pub require_second_factor: bool,
    /// Operators may sign in with a passkey alone, without their password.
    #[serde(default)]
    pub allow_passkey_sign_in: bool,
}

/// `PUT /api/v1/organisation` (admins): the whole settings; `null` clears a field.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrganisationSettingsChange {
    /// Read-only: accepted when it is the organisation's own id, so the body
    /// a GET answered can be sent back as it is.
    #[serde(default)]
    pub id: Option<String>,
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 100), extend("pattern" = crate::validation::DisplayName::PATTERN)))]
    pub name: String,
    #[serde(default)]
    pub logo_url: Option<String>,
    #[serde(default)]
    pub accent_color: Option<String>,
    #[serde(default)]
    pub terms_url: Option<String>,
    #[serde(default)]
    pub privacy_url: Option<String>,
    #[serde(default)]
    pub embed_origins: Vec<String>,
    #[serde(default)]
    pub connect_language: Language,
    #[serde(default)]
    pub notify_end_users: NotifyEndUsers,
    #[serde(default)]
    pub require_second_factor: bool,
    #[serde(default)]
    pub allow_passkey_sign_in: bool,
}
