//! The wire protocol between Gridlink and a utility service (the sandbox
//! speaks it; [`super::http::HttpUtilityConnector`] consumes it).
//!
//! All bodies are JSON with camelCase keys; times are RFC 3339 UTC.
//!
//! | call | request | answer |
//! | --- | --- | --- |
//! | `GET /api/utilities` | | [`UtilityInfo`] list |
//! | `POST /api/utilities/{utility}/login` | [`LoginRequest`] | [`LoginResponse`] |
//! | `POST /api/utilities/{utility}/mfa/{challenge}/send` | [`SendCodeRequest`] | [`CodeSentResponse`] |
//! | `POST /api/utilities/{utility}/mfa/{challenge}/verify` | [`VerifyCodeRequest`] | [`SessionTokenResponse`] |
//! | `GET /api/utilities/{utility}/accounts` (Bearer token) | | [`Account`] list |
//! | `GET /api/utilities/{utility}/accounts/{account}/statements` (Bearer token) | | [`Statement`] list |
//!
//! Errors answer with [`UtilityErrorBody`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

// Dates travel as `YYYY-MM-DD`, as the protocol document says.
time::serde::format_description!(calendar_date, Date, "[year]-[month]-[day]");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UtilityInfo {
    pub id: String,
    pub name: String,
    /// Wire names of the verification methods it uses (may include ones Gridlink cannot do).
    pub mfa_methods: Vec<String>,
    /// How long its session tokens live, when the utility says; `null` when
    /// it does not (Gridlink then learns it from the tokens it sees rejected).
    #[serde(default)]
    pub token_lifetime_days: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "result",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum LoginResponse {
    /// No MFA needed: here is the session.
    Authenticated {
        session_token: String,
        /// When the token stops working, if the utility says.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "time::serde::rfc3339::option"
        )]
        #[schemars(with = "Option<String>", extend("format" = "date-time"))]
        expires_at: Option<OffsetDateTime>,
        /// How long the token survives unused, in seconds, if the utility
        /// says: Gridlink uses it before then (see docs/utility-protocol.md).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        idle_timeout_seconds: Option<u64>,
    },
    /// A code is needed: pick one of these methods.
    MfaRequired {
        challenge_id: String,
        methods: Vec<OfferedMethod>,
        #[serde(with = "time::serde::rfc3339")]
        #[schemars(with = "String", extend("format" = "date-time"))]
        challenge_expires_at: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfferedMethod {
    /// `sms`, `call`, `email`, or a kind Gridlink cannot do (`security_question`).
    pub method: String,
    /// Masked, e.g. `•••-•••-1234` or `j•••@example.com`.
    pub destination: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendCodeRequest {
    pub method: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CodeSentResponse {
    pub method: String,
    pub destination: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub code_expires_at: OffsetDateTime,
    pub sends_left: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyCodeRequest {
    pub code: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionTokenResponse {
    pub session_token: String,
    /// When the token stops working, if the utility says.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schemars(with = "Option<String>", extend("format" = "date-time"))]
    pub expires_at: Option<OffsetDateTime>,
    /// How long the token survives unused, in seconds, if the utility says:
    /// Gridlink uses it before then (see docs/utility-protocol.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub idle_timeout_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub account_number: String,
    pub service_address: String,
    /// `electricity`, `gas` or `water`.
    pub fuel: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    /// Stable for an account and period, so a repeated sync recognises it.
    pub id: String,
    pub account_number: String,
    #[serde(with = "calendar_date")]
    #[schemars(with = "String", extend("format" = "date"))]
    pub period_start: Date,
    #[serde(with = "calendar_date")]
    #[schemars(with = "String", extend("format" = "date"))]
    pub period_end: Date,
    pub usage: f64,
    /// `kWh`, `therms` or `gallons`.
    pub usage_unit: String,
    pub amount_cents: i64,
    pub currency: String,
}

/// Every utility error, with the fields that some kinds carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UtilityErrorBody {
    pub error: UtilityErrorKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schemars(with = "Option<String>")]
    pub locked_until: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UtilityErrorKind {
    BadRequest,
    NotFound,
    UnknownUtility,
    InvalidCredentials,
    AccountLocked,
    ChallengeNotFound,
    MethodNotOffered,
    NoCodeSent,
    WrongCode,
    CodeExpired,
    TooManyAttempts,
    TooManySends,
    InvalidToken,
    TokenExpired,
    Unavailable,
    ServerError,
    /// The adapter refused the request's signature (401).
    Unauthorized,
}
