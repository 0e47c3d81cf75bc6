//! Unsubscribe links. Every notice carries one (in its words and as a
//! one-click `List-Unsubscribe` header); using it stops notices from that
//! organisation to that address, the running sequences included. The link
//! token is random and only its hash is stored.
//!
//! `GET /api/unsubscribe/{token}` says whom it is for (the address masked),
//! `POST` does it; mail clients' one-click POST lands on the same route. The
//! page an end-user sees is the web app's `/unsubscribe/{token}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use shared::connect::Unsubscription;
use sqlx::AnyConnection;

use crate::domain::mail::notices::{self, StopReason};
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path};
use crate::http::state::AppState;
use crate::infra::tokens;

pub fn router() -> Router<AppState> {
    Router::new().route("/unsubscribe/{token}", get(describe).post(unsubscribe))
}

/// A new unsubscribe link for `email` at `organisation_id`.
pub async fn issue(
    connection: &mut AnyConnection,
    state: &AppState,
    organisation_id: &str,
    email: &str,
    now_ms: i64,
) -> Result<String, sqlx::Error> {
    let token = tokens::generate("gus_");
    sqlx::query(
        "INSERT INTO unsubscribe_tokens (token_hash, organisation_id, email, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(tokens::hash(&token))
    .bind(organisation_id)
    .bind(email)
    .bind(now_ms)
    .execute(connection)
    .await?;
    Ok(state
        .settings
        .absolute_url(&format!("/unsubscribe/{token}")))
}

/// Whether `email` asked `organisation_id` for no more notices.
async fn is_unsubscribed(
    connection: &mut AnyConnection,
    organisation_id: &str,
    email: &str,
) -> Result<bool, sqlx::Error> {
    let found: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM mail_unsubscribes WHERE organisation_id = $1 AND email = $2")
            .bind(organisation_id)
            .bind(email)
            .fetch_optional(connection)
            .await?;
    Ok(found.is_some())
}

async fn find(state: &AppState, token: &str) -> Result<(String, String, String), ApiError> {
    let found: Option<(String, String, String)> = sqlx::query_as(
        "SELECT t.organisation_id, t.email, o.name FROM unsubscribe_tokens t \
         JOIN organisations o ON o.id = t.organisation_id WHERE t.token_hash = $1",
    )
    .bind(tokens::hash(token))
    .fetch_optional(state.db.pool())
    .await?;
    found.ok_or(ApiError::NotFound("This unsubscribe link"))
}

async fn describe(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<Unsubscription>, ApiError> {
    let (organisation_id, email, organisation_name) = find(&state, &token).await?;
    let mut connection = state.db.pool().acquire().await?;
    let unsubscribed = is_unsubscribed(&mut connection, &organisation_id, &email).await?;
    Ok(Json(Unsubscription {
        organisation_name,
        email: shared::validation::mask_email(&email),
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
    let (organisation_id, email, organisation_name) = find(&state, &token).await?;
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "INSERT INTO mail_unsubscribes (organisation_id, email, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (organisation_id, email) DO NOTHING",
    )
    .bind(&organisation_id)
    .bind(&email)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    notices::stop_for_contact(
        &mut tx,
        &organisation_id,
        &email,
        StopReason::Unsubscribed,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::OK,
        Json(Unsubscription {
            organisation_name,
            email: shared::validation::mask_email(&email),
            unsubscribed: true,
        }),
    ))
}
