//! The one error body every Gridlink endpoint answers with, and its codes.
//!
//! ```json
//! {"code": "VALIDATION_FAILED", "message": "The request has invalid fields.",
//!  "fields": [{"field": "username", "message": "Enter a username."}]}
//! ```

use serde::{Deserialize, Serialize};

/// What went wrong, in a form programs can branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The body is not valid JSON, has the wrong types, or unknown fields.
    MalformedRequest,
    /// The body parsed, but some fields have values that are not allowed.
    ValidationFailed,
    Unauthenticated,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    TooManyRequests,
    /// The Connect link's 72 hours (or a Connect token's hour) have passed.
    ConnectLinkExpired,
    /// The Connect link was already used successfully.
    ConnectLinkUsed,
    /// The Connect link was revoked (or its credential deactivated).
    ConnectLinkRevoked,
    /// A newer link for the same credential replaced this one.
    ConnectLinkReplaced,
    ServiceUnavailable,
    /// The database cannot be reached right now (`Retry-After` says when to
    /// try again); nothing of the request was kept.
    DatabaseUnavailable,
    /// The database's storage is full; nothing of the request was kept.
    StorageFull,
    Internal,
}

impl ErrorCode {
    /// The HTTP status code that carries this error.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::MalformedRequest => 400,
            ErrorCode::ValidationFailed => 422,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::TooManyRequests => 429,
            ErrorCode::ConnectLinkExpired
            | ErrorCode::ConnectLinkUsed
            | ErrorCode::ConnectLinkRevoked
            | ErrorCode::ConnectLinkReplaced => 410,
            ErrorCode::ServiceUnavailable
            | ErrorCode::DatabaseUnavailable
            | ErrorCode::StorageFull => 503,
            ErrorCode::Internal => 500,
        }
    }
}

/// A problem with one field of a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FieldError {
    /// The field's name as it appears in the request body (camelCase).
    pub field: String,
    /// A sentence for a person, the same one the form shows.
    pub message: String,
}

/// The error body of every Gridlink endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorBody {
    pub code: ErrorCode,
    /// A sentence for a person; never contains internal details or secrets.
    pub message: String,
    /// Per-field problems, present only for [`ErrorCode::ValidationFailed`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// A validation error listing each bad field.
    pub fn invalid_fields(fields: Vec<FieldError>) -> Self {
        ErrorBody {
            code: ErrorCode::ValidationFailed,
            message: "Some fields are not valid.".to_owned(),
            fields,
        }
    }
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        for field in &self.fields {
            write!(f, " {}: {}", field.field, field.message)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_without_fields_omits_the_fields_key() {
        let json =
            serde_json::to_value(ErrorBody::new(ErrorCode::NotFound, "No such page.")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "NOT_FOUND", "message": "No such page."})
        );
    }

    #[test]
    fn a_validation_error_lists_its_fields() {
        let body = ErrorBody::invalid_fields(vec![FieldError {
            field: "username".into(),
            message: "Enter a username.".into(),
        }]);
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["code"], "VALIDATION_FAILED");
        assert_eq!(json["fields"][0]["field"], "username");
        assert_eq!(body.code.http_status(), 422);
    }

    #[test]
    fn a_body_without_fields_still_parses() {
        let body: ErrorBody =
            serde_json::from_str(r#"{"code":"INTERNAL","message":"Something went wrong."}"#)
                .unwrap();
        assert!(body.fields.is_empty());
    }
}
