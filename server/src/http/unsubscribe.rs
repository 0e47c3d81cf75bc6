//! `GET /api/unsubscribe/{token}` says whom an unsubscribe link is for (the
//! address masked), `POST` does it; mail clients' one-click POST lands on the
//! same route. The page an end-user sees is the web app's
//! `/unsubscribe/{token}`. The rules are in [`crate::domain::mail::unsubscribe`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use shared::connect::Unsubscription;
use shared::routes;

use crate::domain::mail::unsubscribe::{self, Recipient};
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path};
use crate::http::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(
        routes::connect::UNSUBSCRIBE,
        get(describe).post(unsubscribe),
    )
}

async fn recipient(state: &AppState, token: &str) -> Result<Recipient, ApiError> {
    unsubscribe::recipient(state, token)
        .await?
        .ok_or(ApiError::NotFound("This unsubscribe link"))
}

async fn describe(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<Unsubscription>, ApiError> {
    let recipient = recipient(&state, &token).await?;
    let unsubscribed = unsubscribe::is_unsubscribed(&state, &recipient).await?;
    Ok(Json(Unsubscription {
        organisation_name: recipient.organisation_name,
        email: shared::validation::mask_email(&recipient.email),
        unsubscribed,
    }))
}

/// Stops notices to the link's address; doing it twice is no error. Also
/// served at the page's own URL, which the `List-Unsubscribe` header carries,
/// for a mail client's one-click `POST` (RFC 8058: a form body
/// `List-Unsubscribe=One-Click`, no cookie), which reads no body.
pub async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<(StatusCode, Json<Unsubscription>), ApiError> {
    let recipient = recipient(&state, &token).await?;
    unsubscribe::unsubscribe(&state, &recipient).await?;
    Ok((
        StatusCode::OK,
        Json(Unsubscription {
            organisation_name: recipient.organisation_name,
            email: shared::validation::mask_email(&recipient.email),
            unsubscribed: true,
        }),
    ))
}
