//! Issuing Connect tokens (`/api/v1`): for a new credential, for "Retry MFA
//! Verification", and update links for end-users (72 hours; a new one revokes
//! the old; revocable; used up by a successful re-authentication).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::Router;
use shared::connect::{ConnectPurpose, ConnectToken, NewConnectToken, UpdateLink};
use shared::credentials::Owner;
use time::Duration;

use crate::auth::Actor;
use crate::clock::from_ms;
use crate::credentials::status::{record_event, NewEvent};
use crate::credentials::{check_utility, store, validate_correlation_id};
use crate::error::{ApiError, FieldErrors};
use crate::extract::{Json, Path};
use crate::state::AppState;
use crate::store::LockedTable;
use crate::tokens;

/// A token for a new credential or "Retry MFA Verification" lasts an hour.
pub const SHORT_LIVED: Duration = Duration::hours(1);
/// An update link sent to an end-user lasts 72 hours.
pub const UPDATE_LINK_LIFETIME: Duration = Duration::hours(72);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/connect-tokens", post(create_connect_token))
        .route(
            "/v1/credentials/{id}/connect-tokens",
            post(create_retry_token),
        )
        .route(
            "/v1/credentials/{id}/update-links",
            post(create_update_link).get(list_update_links),
        )
        .route(
            "/v1/credentials/{id}/update-links/{link_id}",
            delete(revoke_update_link),
        )
}

struct NewSession<'a> {
    organisation_id: &'a str,
    purpose: ConnectPurpose,
    credential_id: Option<&'a str>,
    utility_id: Option<&'a str>,
    correlation_id: Option<&'a str>,
    owner: Owner,
    created_by: &'a str,
    lifetime: Duration,
}

async fn insert_session(
    connection: &mut sqlx::AnyConnection,
    state: &AppState,
    new: NewSession<'_>,
) -> Result<ConnectToken, ApiError> {
    let token = tokens::generate("gct_");
    let id = tokens::new_id("cs");
    let now = state.clock.now_ms();
    let expires_at = now + new.lifetime.whole_milliseconds() as i64;
    sqlx::query(
        "INSERT INTO connect_sessions (id, token_hash, organisation_id, purpose, credential_id, utility_id, \
           correlation_id, owner, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&id)
    .bind(tokens::hash(&token))
    .bind(new.organisation_id)
    .bind(new.purpose.as_str())
    .bind(new.credential_id)
    .bind(new.utility_id)
    .bind(new.correlation_id)
    .bind(new.owner.as_str())
    .bind(new.created_by)
    .bind(now)
    .bind(expires_at)
    .execute(connection)
    .await?;
    Ok(ConnectToken {
        id,
        purpose: new.purpose,
        url: state.settings.absolute_url(&format!("/connect/{token}")),
        token,
        credential_id: new.credential_id.map(str::to_owned),
        created_at: from_ms(now),
        expires_at: from_ms(expires_at),
    })
}

/// Opens Connect for a new credential (an hour).
async fn create_connect_token(
    State(state): State<AppState>,
    actor: Actor,
    Json(body): Json<NewConnectToken>,
) -> Result<(StatusCode, Json<ConnectToken>), ApiError> {
    let mut errors = FieldErrors::default();
    let correlation_id = errors.check(
        "correlationId",
        validate_correlation_id(body.correlation_id.as_deref()),
    );
    if let Some(utility_id) = &body.utility_id {
        check_utility(&state, &mut errors, "utilityId", utility_id).await?;
    }
    errors.finish()?;
    let label = actor.label();
    let mut connection = state.db.pool().acquire().await?;
    let token = insert_session(
        &mut connection,
        &state,
        NewSession {
            organisation_id: &actor.organisation_id,
            purpose: ConnectPurpose::NewCredential,
            credential_id: None,
            utility_id: body.utility_id.as_deref(),
            correlation_id: correlation_id.flatten().as_deref(),
            owner: body.owner,
            created_by: &label,
            lifetime: SHORT_LIVED,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(token)))
}

/// "Retry MFA Verification": Connect in update mode for one credential (an hour).
async fn create_retry_token(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ConnectToken>), ApiError> {
    let credential = store::find(&state.db, &actor.organisation_id, &id).await?;
    if credential.deactivated_at.is_some() {
        return Err(ApiError::Conflict("This credential is deactivated.".into()));
    }
    let label = actor.label();
    let mut tx = state.db.begin_write().await?;
    let token = insert_session(
        &mut tx,
        &state,
        NewSession {
            organisation_id: &actor.organisation_id,
            purpose: ConnectPurpose::RetryMfa,
            credential_id: Some(&id),
            utility_id: Some(&credential.utility_id),
            correlation_id: credential.correlation_id.as_deref(),
            owner: credential.owner,
            created_by: &label,
            lifetime: SHORT_LIVED,
        },
    )
    .await?;
    let event = NewEvent {
        credential_id: &id,
        organisation_id: &actor.organisation_id,
        kind: "CONNECT_STARTED",
        change: None,
        actor: &label,
        message: "MFA verification retried from the dashboard.",
    };
    record_event(&mut tx, &event, state.clock.now_ms()).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(token)))
}

/// "Generate update link": a 72-hour Connect link for the end-user. Any older
/// link of the credential stops working.
async fn create_update_link(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ConnectToken>), ApiError> {
    let credential = store::find(&state.db, &actor.organisation_id, &id).await?;
    if credential.deactivated_at.is_some() {
        return Err(ApiError::Conflict("This credential is deactivated.".into()));
    }
    let label = actor.label();
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    // Two "Generate update link" at once take turns: one active link at a time.
    state
        .db
        .lock_row(&mut tx, LockedTable::Credentials, &id)
        .await?;
    sqlx::query(
        "UPDATE connect_sessions SET revoked_at = $1, revoked_reason = 'REPLACED' WHERE credential_id = $2 AND purpose = 'UPDATE_LINK' \
           AND revoked_at IS NULL AND completed_at IS NULL",
    )
    .bind(now)
    .bind(&id)
    .execute(&mut *tx)
    .await?;
    let token = insert_session(
        &mut tx,
        &state,
        NewSession {
            organisation_id: &actor.organisation_id,
            purpose: ConnectPurpose::UpdateLink,
            credential_id: Some(&id),
            utility_id: Some(&credential.utility_id),
            correlation_id: credential.correlation_id.as_deref(),
            owner: credential.owner,
            created_by: &label,
            lifetime: UPDATE_LINK_LIFETIME,
        },
    )
    .await?;
    let message = format!("Update link generated; valid until {}.", token.expires_at);
    let event = NewEvent {
        credential_id: &id,
        organisation_id: &actor.organisation_id,
        kind: "UPDATE_LINK_CREATED",
        change: None,
        actor: &label,
        message: &message,
    };
    record_event(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(token)))
}

/// The credential's active update link (at most one).
async fn list_update_links(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Vec<UpdateLink>>, ApiError> {
    store::find(&state.db, &actor.organisation_id, &id).await?;
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT id, created_at, expires_at FROM connect_sessions WHERE credential_id = $1 AND organisation_id = $2 \
           AND purpose = 'UPDATE_LINK' AND revoked_at IS NULL AND completed_at IS NULL AND expires_at > $3 \
         ORDER BY created_at DESC",
    )
    .bind(&id)
    .bind(&actor.organisation_id)
    .bind(state.clock.now_ms())
    .fetch_all(state.db.pool())
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(link_id, created_at, expires_at)| UpdateLink {
                id: link_id,
                credential_id: id.clone(),
                created_at: from_ms(created_at),
                expires_at: from_ms(expires_at),
            })
            .collect(),
    ))
}

async fn revoke_update_link(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, link_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    store::find(&state.db, &actor.organisation_id, &id).await?;
    let now = state.clock.now_ms();
    let label = actor.label();
    let mut tx = state.db.begin_write().await?;
    let revoked = sqlx::query(
        "UPDATE connect_sessions SET revoked_at = $1, revoked_reason = 'REVOKED' WHERE id = $2 AND credential_id = $3 AND organisation_id = $4 \
           AND purpose = 'UPDATE_LINK' AND revoked_at IS NULL AND completed_at IS NULL",
    )
    .bind(now)
    .bind(&link_id)
    .bind(&id)
    .bind(&actor.organisation_id)
    .execute(&mut *tx)
    .await?;
    if revoked.rows_affected() == 0 {
        return Err(ApiError::NotFound("The active update link"));
    }
    let event = NewEvent {
        credential_id: &id,
        organisation_id: &actor.organisation_id,
        kind: "UPDATE_LINK_REVOKED",
        change: None,
        actor: &label,
        message: "Update link revoked.",
    };
    record_event(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
