//! The API's error type. Every handler returns it; it always answers with the
//! shared [`ErrorBody`], and internal errors are logged, never shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shared::{ErrorBody, ErrorCode, FieldError};

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
    ServiceUnavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
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
            ApiError::Forbidden(message) => ErrorBody::new(ErrorCode::Forbidden, *message),
            ApiError::NotFound(what) => {
                ErrorBody::new(ErrorCode::NotFound, format!("{what} was not found."))
            }
            ApiError::MethodNotAllowed => ErrorBody::new(
                ErrorCode::MethodNotAllowed,
                "This endpoint does not accept that HTTP method.",
            ),
            ApiError::Conflict(message) => ErrorBody::new(ErrorCode::Conflict, message),
            ApiError::ServiceUnavailable(message) => {
                ErrorBody::new(ErrorCode::ServiceUnavailable, message)
            }
            ApiError::Internal(_) => ErrorBody::new(
                ErrorCode::Internal,
                "Something went wrong on our side. Try again in a moment.",
            ),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError::Internal(anyhow::Error::new(error).context("Database query failed"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(error) = &self {
            // The chain may name tables or hosts; it goes to the log, not the client.
            tracing::error!(error = format!("{error:#}"), "request failed");
        }
        let body = self.body();
        let status = StatusCode::from_u16(body.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(body)).into_response()
    }
}
