//! The API's error type. Every handler returns it; it always answers with the
//! shared [`ErrorBody`], and internal errors are logged, never shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shared::{ErrorBody, ErrorCode, FieldError};

use crate::domain::error::DomainError;
use crate::infra::store::outage::{self, Outage};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request could not be read: bad JSON, wrong types, unknown fields.
    #[error("{0}")]
    Malformed(String),
    /// The request was read, but some fields have values that are not allowed.
    #[error("some fields are not valid")]
    InvalidFields(Vec<FieldError>),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("sign-in failed")]
    SignInFailed,
    #[error("{0}")]
    Forbidden(&'static str),
    /// The resource does not exist, or belongs to someone else.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// Too many requests, with how long to wait (sent as `Retry-After`).
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_seconds: u64,
    },
    /// A Connect token that no longer works; the code says why.
    #[error("connect link unusable: {0:?}")]
    ConnectLinkUnusable(ErrorCode),
    #[error("{0}")]
    ServiceUnavailable(String),
    /// The database cannot serve right now (503 with `Retry-After`).
    #[error("the database cannot serve: {}", .0.as_str())]
    DatabaseOutage(Outage),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// Too many requests; the caller may try again in `wait_ms` milliseconds
    /// (sent as `Retry-After`, in whole seconds rounded up).
    pub fn rate_limited(message: impl Into<String>, wait_ms: i64) -> ApiError {
        ApiError::RateLimited {
            message: message.into(),
            retry_after_seconds: u64::try_from(wait_ms).unwrap_or(0).div_ceil(1000).max(1),
        }
    }

    /// One invalid field, for handlers that validate a single value.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::InvalidFields(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    fn body(&self) -> ErrorBody {
        match self {
            ApiError::Malformed(message) => ErrorBody::new(ErrorCode::MalformedRequest, message),
            ApiError::InvalidFields(fields) => ErrorBody::invalid_fields(fields.clone()),
            ApiError::UnsupportedMediaType(message) => {
                ErrorBody::new(ErrorCode::UnsupportedMediaType, message)
            }
            ApiError::PayloadTooLarge(message) => {
                ErrorBody::new(ErrorCode::PayloadTooLarge, message)
            }
            ApiError::Unauthenticated => ErrorBody::new(
                ErrorCode::Unauthenticated,
                "Sign in or send a valid API key.",
            ),
            ApiError::SignInFailed => ErrorBody::new(
                ErrorCode::Unauthenticated,
                "The email or password is incorrect.",
            ),
            ApiError::Forbidden(message) => ErrorBody::new(ErrorCode::Forbidden, *message),
            ApiError::NotFound(what) => {
                ErrorBody::new(ErrorCode::NotFound, format!("{what} was not found."))
            }
            ApiError::MethodNotAllowed => ErrorBody::new(
                ErrorCode::MethodNotAllowed,
                "This endpoint does not accept that HTTP method.",
            ),
            ApiError::Conflict(message) => ErrorBody::new(ErrorCode::Conflict, message),
            ApiError::TooManyRequests(message) | ApiError::RateLimited { message, .. } => {
                ErrorBody::new(ErrorCode::TooManyRequests, message)
            }
            ApiError::ConnectLinkUnusable(code) => ErrorBody::new(
                *code,
                match code {
                    ErrorCode::ConnectLinkExpired => {
                        "This link has expired. Ask the company that sent it for a new one."
                    }
                    ErrorCode::ConnectLinkUsed => {
                        "This link was already used: your account is connected. Nothing more to do."
                    }
                    ErrorCode::ConnectLinkReplaced => {
                        "A newer link was sent for this account. Use the newest link you received, or ask the company that sent it for a new one."
                    }
                    _ => {
                        "This link is no longer valid. Ask the company that sent it for a new one."
                    }
                },
            ),
            ApiError::ServiceUnavailable(message) => {
                ErrorBody::new(ErrorCode::ServiceUnavailable, message)
            }
            ApiError::DatabaseOutage(Outage::Unreachable) => ErrorBody::new(
                ErrorCode::DatabaseUnavailable,
                "Gridlink cannot reach its database right now. Try again in a moment.",
            ),
            ApiError::DatabaseOutage(Outage::StorageFull) => ErrorBody::new(
                ErrorCode::StorageFull,
                "Gridlink's storage is full, so it cannot save anything right now. Try again in a moment.",
            ),
            ApiError::Internal(_) => ErrorBody::new(
                ErrorCode::Internal,
                "Something went wrong on our side. Try again in a moment.",
            ),
        }
    }
}

/// Collects per-field problems so a request reports all of them at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Keeps the value if it parsed; records the problem under `field` otherwise.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        parsed: Result<T, E>,
    ) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(problem) => {
                self.add(field, problem.to_string());
                None
            }
        }
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// `Err` with every recorded problem, if there is any.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::InvalidFields(self.0))
        }
    }
}

/// Whether a database error is a unique-constraint violation (both backends).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(database_error) => {
            database_error.kind() == sqlx::error::ErrorKind::UniqueViolation
                || database_error
                    .code()
                    .is_some_and(|code| code == "23505" || code == "2067" || code == "1555")
        }
        _ => false,
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::NotFound(what) => ApiError::NotFound(what),
            DomainError::Database(error) => error.into(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if let Some(outage) = outage::outage(&error) {
            outage::met(outage, &error);
            return ApiError::DatabaseOutage(outage);
        }
        ApiError::Internal(anyhow::Error::new(error).context("Database query failed"))
    }
}

/// Seconds a client is told to wait when the database cannot serve.
const RETRY_AFTER_OUTAGE_SECONDS: u32 = 5;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = self.outage_behind_internal();
        if let ApiError::Internal(error) = &error {
            // The chain may name tables or hosts; it goes to the log, not the client.
            tracing::error!(error = format!("{error:#}"), "request failed");
        }
        let body = error.body();
        let status = StatusCode::from_u16(body.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(body)).into_response();
        let retry_after = match error {
            ApiError::RateLimited {
                retry_after_seconds,
                ..
            } => Some(retry_after_seconds.max(1)),
            ApiError::DatabaseOutage(_) => Some(RETRY_AFTER_OUTAGE_SECONDS.into()),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}

impl ApiError {
    /// An internal error whose cause is a database outage (a domain
    /// function's `anyhow` error around a `sqlx::Error`) is that outage.
    fn outage_behind_internal(self) -> ApiError {
        let ApiError::Internal(error) = self else {
            return self;
        };
        let found = error
            .chain()
            .filter_map(|cause| cause.downcast_ref::<sqlx::Error>())
            .find_map(|database| outage::outage(database).map(|outage| (outage, database)));
        match found {
            Some((outage, database)) => {
                outage::met(outage, database);
                ApiError::DatabaseOutage(outage)
            }
            None => ApiError::Internal(error),
        }
    }
}
