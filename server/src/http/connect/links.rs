//! Issuing Connect tokens (`/api/v1`): for a new credential, for "Retry MFA
//! Verification", and update links for end-users (72 hours; a new one revokes
//! the old; revocable; used up by a successful re-authentication).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::Router;
use serde_json::json;
use shared::audit::AuditAction;
use shared::connect::{ConnectPurpose, ConnectToken, NewConnectToken, UpdateLink};
use shared::routes;
use time::Duration;

use crate::domain::audit::Target;
use crate::domain::credentials::store;
use crate::domain::lifecycle::events::{record_event, EventKind, NewEvent};
use crate::domain::lifecycle::notice_stops::{self, StopReason};
use crate::domain::lifecycle::sessions::UPDATE_LINK_LIFETIME;
use crate::domain::lifecycle::sessions::{self, NewSession};
use crate::domain::webhooks::outbox::rfc3339;
use crate::http::auth::Actor;
use crate::http::credentials::{check_contact, check_correlation_id, check_utility};
use crate::http::error::{ApiError, FieldErrors};
use crate::http::extract::{Json, Path};
use crate::http::state::AppState;
use crate::infra::clock::{from_ms, to_ms};
use crate::infra::store::LockedTable;

/// A token for a new credential or "Retry MFA Verification" lasts an hour.
pub const SHORT_LIVED: Duration = Duration::hours(1);

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::v1::CONNECT_TOKENS, post(create_connect_token))
        .route(
            routes::v1::CREDENTIAL_CONNECT_TOKENS,
            post(create_retry_token),
        )
        .route(
            routes::v1::CREDENTIAL_UPDATE_LINKS,
            post(create_update_link).get(list_update_links),
        )
        .route(
            routes::v1::CREDENTIAL_UPDATE_LINK,
            delete(revoke_update_link),
        )
}

/// Opens Connect for a new credential (an hour).
async fn create_connect_token(
    State(state): State<AppState>,
    actor: Actor,
    Json(body): Json<NewConnectToken>,
) -> Result<(StatusCode, Json<ConnectToken>), ApiError> {
    let mut errors = FieldErrors::default();
    let correlation_id = check_correlation_id(&mut errors, body.correlation_id.as_deref());
    if let Some(utility_id) = &body.utility_id {
        check_utility(&state, &mut errors, "utilityId", utility_id).await?;
    }
    let contact = check_contact(
        &mut errors,
        "contactEmail",
        body.contact_email.as_deref(),
        body.contact_language,
        actor.contact_source(),
    );
    errors.finish()?;
    let label = actor.label();
    let mut tx = state.db.begin_write().await?;
    let token = sessions::open(
        &mut tx,
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
            contact: contact.as_ref(),
        },
    )
    .await?;
    actor
        .audit(
            &mut tx,
            state.clock.now_ms(),
            AuditAction::ConnectTokenCreated,
            None,
            json!({ "utilityId": body.utility_id }),
        )
        .await?;
    tx.commit().await?;
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
    let token = sessions::open(
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
            contact: None,
        },
    )
    .await?;
    let event = NewEvent {
        credential_id: &id,
        organisation_id: &actor.organisation_id,
        kind: EventKind::ConnectStarted,
        change: None,
        actor: &label,
        message: "MFA verification retried from the dashboard.",
    };
    record_event(&mut tx, &event, state.clock.now_ms()).await?;
    notice_stops::stop(
        &mut tx,
        &id,
        StopReason::HandledManually,
        state.clock.now_ms(),
    )
    .await?;
    actor
        .audit(
            &mut tx,
            state.clock.now_ms(),
            AuditAction::MfaRetryStarted,
            Some(Target::credential(&id)),
            json!({}),
        )
        .await?;
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
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    let token = issue_update_link(&mut tx, &state, &credential, &actor.label(), now).await?;
    actor
        .audit(
            &mut tx,
            now,
            AuditAction::UpdateLinkCreated,
            Some(Target::credential(&id)),
            json!({ "expiresAt": rfc3339(to_ms(token.expires_at)) }),
        )
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(token)))
}

/// A new 72-hour update link for `credential`, replacing its older ones,
/// with UPDATE_LINK_CREATED on the timeline; a running notice sequence ends
/// (an operator or integrator is handling it). In the caller's transaction.
pub async fn issue_update_link(
    tx: &mut sqlx::AnyConnection,
    state: &AppState,
    credential: &store::CredentialRow,
    actor: &str,
    now: i64,
) -> Result<ConnectToken, ApiError> {
    let id = &credential.id;
    // Two "Generate update link" at once take turns: one active link at a time.
    state.db.lock_row(tx, LockedTable::Credentials, id).await?;
    sessions::replace_update_links(tx, id, now).await?;
    notice_stops::stop(tx, id, StopReason::HandledManually, now).await?;
    let token = sessions::open(
        tx,
        state,
        NewSession {
            organisation_id: &credential.organisation_id,
            purpose: ConnectPurpose::UpdateLink,
            credential_id: Some(id),
            utility_id: Some(&credential.utility_id),
            correlation_id: credential.correlation_id.as_deref(),
            owner: credential.owner,
            created_by: actor,
            lifetime: UPDATE_LINK_LIFETIME,
            contact: None,
        },
    )
    .await?;
    let message = format!("Update link generated; valid until {}.", token.expires_at);
    let event = NewEvent {
        credential_id: id,
        organisation_id: &credential.organisation_id,
        kind: EventKind::UpdateLinkCreated,
        change: None,
        actor,
        message: &message,
    };
    record_event(tx, &event, now).await?;
    Ok(token)
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
    let revoked =
        sessions::revoke_update_link(&mut tx, &link_id, &id, &actor.organisation_id, now).await?;
    if !revoked {
        return Err(ApiError::NotFound("The active update link"));
    }
    notice_stops::stop(&mut tx, &id, StopReason::HandledManually, now).await?;
    let event = NewEvent {
        credential_id: &id,
        organisation_id: &actor.organisation_id,
        kind: EventKind::UpdateLinkRevoked,
        change: None,
        actor: &label,
        message: "Update link revoked.",
    };
    record_event(&mut tx, &event, now).await?;
    actor
        .audit(
            &mut tx,
            now,
            AuditAction::UpdateLinkRevoked,
            Some(Target::credential(&id)),
            json!({ "linkId": link_id }),
        )
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
