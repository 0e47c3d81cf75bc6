//! How Gridlink talks to utilities: the [`UtilityConnector`] trait the rest of
//! the server uses, its errors, and the HTTP implementation.

pub mod adapters;
pub mod catalog;
pub mod http;
pub mod in_flight;
pub mod protocol;
pub mod signing;

use async_trait::async_trait;
use shared::validation::{OtpCode, Password, Username};
use shared::MfaMethod;
use time::OffsetDateTime;

pub use protocol::{Account, Statement, UtilityInfo};

/// A utility session token. Its `Debug` output is redacted so it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    pub fn new(value: String) -> SecretToken {
        SecretToken(value)
    }

    /// The token itself; call only to send it to the utility or to encrypt it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretToken(<redacted>)")
    }
}

/// A session the utility issued, and when it stops working.
#[derive(Debug, Clone)]
pub struct SessionToken {
    pub secret: SecretToken,
    /// When the utility says the token stops working; `None` when it does not.
    pub expires_at: Option<OffsetDateTime>,
    /// How long the token survives unused, when the utility says (never zero).
    pub idle_timeout: Option<std::time::Duration>,
}

/// A stated idle timeout as Gridlink keeps it: zero seconds says nothing.
pub fn idle_timeout(seconds: Option<u64>) -> Option<std::time::Duration> {
    seconds
        .filter(|seconds| *seconds > 0)
        .map(std::time::Duration::from_secs)
}

/// A verification method the login offers, with the masked destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaOption {
    pub method: MfaMethod,
    pub destination: String,
}

/// The utility wants a one-time code before it issues a session.
#[derive(Debug, Clone)]
pub struct MfaChallenge {
    pub challenge_id: String,
    /// Only methods Gridlink can do; never empty (else the login is unsupported).
    pub options: Vec<MfaOption>,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub enum LoginOutcome {
    Authenticated(SessionToken),
    MfaRequired(MfaChallenge),
}

/// A code is on its way.
#[derive(Debug, Clone)]
pub struct CodeSent {
    pub method: MfaMethod,
    pub destination: String,
    pub code_expires_at: OffsetDateTime,
    pub sends_left: u32,
}

/// What went wrong, classified so callers can pick the right status detail.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UtilityError {
    #[error("the utility rejected the username or password")]
    InvalidCredentials,
    #[error("the account is locked at the utility")]
    AccountLocked { until: Option<OffsetDateTime> },
    #[error("the utility asks for a verification method Gridlink cannot do")]
    UnsupportedMfa,
    #[error("the verification session expired; log in again")]
    ChallengeExpired,
    #[error("this login does not offer that verification method")]
    MethodNotOffered,
    #[error("no code has been sent yet")]
    NoCodeSent,
    #[error("wrong code, {attempts_left} attempts left")]
    WrongCode { attempts_left: u32 },
    #[error("the code expired")]
    CodeExpired,
    #[error("too many wrong codes; the login is locked for a while")]
    TooManyAttempts { until: Option<OffsetDateTime> },
    #[error("too many codes sent; try again later")]
    TooManySends { retry_after_seconds: Option<u64> },
    #[error("the session token expired")]
    TokenExpired,
    #[error("the utility does not recognise the session token")]
    InvalidToken,
    #[error("no such utility")]
    UnknownUtility,
    /// Holds what went wrong in the utility's or the network's words, for the
    /// operator's timeline only: `Display` leaves it out, so messages that
    /// reach Connect, webhooks or an end-user never repeat a utility's text.
    #[error("the utility is not answering")]
    Unavailable(String),
    #[error("the utility answered something Gridlink cannot use")]
    Protocol(String),
}

impl UtilityError {
    /// Whether the utility refused the session token (expired or unknown):
    /// the credential then needs its end-user to verify again.
    pub fn rejects_the_token(&self) -> bool {
        matches!(
            self,
            UtilityError::TokenExpired | UtilityError::InvalidToken
        )
    }

    /// The details behind an `Unavailable` or `Protocol` error (at most a few
    /// hundred characters), for the operator's timeline and the logs.
    pub fn details(&self) -> Option<&str> {
        match self {
            UtilityError::Unavailable(details) | UtilityError::Protocol(details) => Some(details),
            _ => None,
        }
    }

    /// A short name of the kind of error, for metrics and traces.
    pub fn kind(&self) -> &'static str {
        match self {
            UtilityError::InvalidCredentials => "invalid_credentials",
            UtilityError::AccountLocked { .. } => "account_locked",
            UtilityError::UnsupportedMfa => "unsupported_mfa",
            UtilityError::ChallengeExpired => "challenge_expired",
            UtilityError::MethodNotOffered => "method_not_offered",
            UtilityError::NoCodeSent => "no_code_sent",
            UtilityError::WrongCode { .. } => "wrong_code",
            UtilityError::CodeExpired => "code_expired",
            UtilityError::TooManyAttempts { .. } => "too_many_attempts",
            UtilityError::TooManySends { .. } => "too_many_sends",
            UtilityError::TokenExpired => "token_expired",
            UtilityError::InvalidToken => "invalid_token",
            UtilityError::UnknownUtility => "unknown_utility",
            UtilityError::Unavailable(_) => "unavailable",
            UtilityError::Protocol(_) => "protocol_error",
        }
    }

    /// Whether trying the same call again later might succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, UtilityError::Unavailable(_))
    }
}

/// Everything Gridlink asks of a utility.
#[async_trait]
pub trait UtilityConnector: Send + Sync {
    async fn list_utilities(&self) -> Result<Vec<UtilityInfo>, UtilityError>;

    async fn login(
        &self,
        utility: &str,
        username: &Username,
        password: &Password,
    ) -> Result<LoginOutcome, UtilityError>;

    /// Sends (or re-sends: the same code while it is valid) a code by `method`.
    async fn send_code(
        &self,
        utility: &str,
        challenge_id: &str,
        method: MfaMethod,
    ) -> Result<CodeSent, UtilityError>;

    async fn verify_code(
        &self,
        utility: &str,
        challenge_id: &str,
        code: &OtpCode,
    ) -> Result<SessionToken, UtilityError>;

    async fn accounts(
        &self,
        utility: &str,
        token: &SecretToken,
    ) -> Result<Vec<Account>, UtilityError>;

    async fn statements(
        &self,
        utility: &str,
        token: &SecretToken,
        account_number: &str,
    ) -> Result<Vec<Statement>, UtilityError>;
}
