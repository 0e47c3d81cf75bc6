//! Extractors whose rejections are [`ApiError`]s, so a malformed request gets
//! the shared error body like every other error.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};

use crate::http::error::ApiError;

/// `axum::Json`, answering bad bodies with the shared error body. Every
/// request body is a JSON object: an array or a bare value is refused even
/// where serde could read it as a struct.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value) =
            axum::Json::<serde_json::Value>::from_request(request, state).await?;
        if !value.is_object() {
            return Err(ApiError::Malformed(
                "The body must be a JSON object ({ … }).".into(),
            ));
        }
        serde_path_to_error::deserialize(value)
            .map(Json)
            .map_err(|error| {
                ApiError::Malformed(format!(
                    "The body does not have the expected fields: {error}"
                ))
            })
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
                "Send the body as JSON with `Content-Type: application/json`.".into(),
            ),
            JsonRejection::JsonSyntaxError(_) => ApiError::Malformed(format!(
                "The body is not valid JSON: {}",
                rejection.body_text()
            )),
            JsonRejection::JsonDataError(_) => ApiError::Malformed(format!(
                "The body does not have the expected fields: {}",
                rejection.body_text()
            )),
            JsonRejection::BytesRejection(_) if rejection.status().as_u16() == 413 => {
                ApiError::PayloadTooLarge("The body is too large.".into())
            }
            _ => ApiError::Malformed(format!(
                "The body could not be read: {}",
                rejection.body_text()
            )),
        }
    }
}

/// `axum::extract::Path`, answering bad path segments with the shared error body.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::Malformed(format!(
            "The URL path is not valid: {}",
            rejection.body_text()
        ))
    }
}

/// `axum::extract::Query`, answering bad query strings with the shared error body.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::Malformed(format!(
            "The query string is not valid: {}",
            rejection.body_text()
        ))
    }
}

/// The request's path as the client sent it: inside a nested router (the API
/// under `/api`) the URI has lost its prefix, the original URI has not.
pub fn full_path(parts: &axum::http::request::Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or_else(
            || parts.uri.path().to_owned(),
            |original| original.0.path().to_owned(),
        )
}

/// The language a Connect request asks for (`Accept-Language`), English by default.
pub fn requested_language(headers: &axum::http::HeaderMap) -> shared::i18n::Language {
    headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .and_then(shared::i18n::Language::from_accept_language)
        .unwrap_or_default()
}
