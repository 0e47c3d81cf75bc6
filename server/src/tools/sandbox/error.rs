//! The sandbox's error answers: the utility protocol's error body, and the
//! rejections of its extractors turned into it (never a 500 for bad input).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use crate::infra::utility::protocol::{UtilityErrorBody, UtilityErrorKind};

#[derive(Debug)]
pub struct SandboxError {
    status: StatusCode,
    body: UtilityErrorBody,
}

impl SandboxError {
    pub fn new(status: StatusCode, kind: UtilityErrorKind, message: impl Into<String>) -> Self {
        SandboxError {
            status,
            body: UtilityErrorBody {
                error: kind,
                message: message.into(),
                attempts_left: None,
                retry_after_seconds: None,
                locked_until: None,
            },
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        SandboxError::new(
            StatusCode::BAD_REQUEST,
            UtilityErrorKind::BadRequest,
            message,
        )
    }

    pub fn unknown_utility(id: &str) -> Self {
        SandboxError::new(
            StatusCode::NOT_FOUND,
            UtilityErrorKind::UnknownUtility,
            format!("There is no utility {id:?}. GET /api/utilities lists them."),
        )
    }

    pub fn unavailable() -> Self {
        SandboxError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            UtilityErrorKind::Unavailable,
            "The utility's website is unavailable. Try again later.",
        )
    }

    pub fn locked(until: OffsetDateTime) -> Self {
        let mut error = SandboxError::new(
            StatusCode::LOCKED,
            UtilityErrorKind::AccountLocked,
            "The account is locked.",
        );
        error.body.locked_until = Some(until);
        error
    }

    pub fn with_attempts_left(mut self, attempts_left: u32) -> Self {
        self.body.attempts_left = Some(attempts_left);
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.body.retry_after_seconds = Some(seconds);
        self
    }

    pub fn with_locked_until(mut self, until: OffsetDateTime) -> Self {
        self.body.locked_until = Some(until);
        self
    }
}

impl IntoResponse for SandboxError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

/// JSON body extractor answering bad bodies with the protocol's error body.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(SandboxError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl From<JsonRejection> for SandboxError {
    fn from(rejection: JsonRejection) -> Self {
        let status = match rejection {
            JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            JsonRejection::JsonDataError(_) => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::BAD_REQUEST,
        };
        SandboxError::new(status, UtilityErrorKind::BadRequest, rejection.body_text())
    }
}

#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(SandboxError))]
pub struct Path<T>(pub T);

impl From<PathRejection> for SandboxError {
    fn from(rejection: PathRejection) -> Self {
        SandboxError::bad_request(rejection.body_text())
    }
}

#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(SandboxError))]
pub struct Query<T>(pub T);

impl From<QueryRejection> for SandboxError {
    fn from(rejection: QueryRejection) -> Self {
        SandboxError::bad_request(rejection.body_text())
    }
}
