//! Credentials (`/api/v1/credentials`): create, list with filters, counts,
//! read, change the password, deactivate, the timeline, and "Sync now".

pub mod listing;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use shared::audit::AuditAction;
use shared::credentials::{
    Credential, CredentialChange, CredentialEvent, NewCredential, UtilityAccount, UtilityStatement,
};
use shared::i18n::Language;
use shared::routes;
use shared::validation::{CorrelationId, EmailAddress, Password, Username};
use shared::StatusDetail;

use crate::domain::audit::Target;
use crate::domain::credentials::{store, ValidatedCredential};
use crate::domain::credentials::{Contact, ContactSource};
use crate::domain::lifecycle::events::{transition, Transition};
use crate::domain::lifecycle::records::{self, insert_credential};
use crate::domain::lifecycle::syncs::SyncOutcome;
use crate::http::auth::Actor;
use crate::http::error::{ApiError, FieldErrors};
use crate::http::extract::{Json, Path};
use crate::http::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            routes::v1::CREDENTIALS,
            listing::list_route().post(create_credential),
        )
        .route(
            routes::v1::CREDENTIAL,
            get(get_credential)
                .patch(change_credential)
                .delete(deactivate_credential),
        )
        .route(routes::v1::CREDENTIAL_EVENTS, get(list_events))
        .route(routes::v1::UTILITIES, get(list_utilities))
        .route(routes::v1::CREDENTIAL_SYNC, post(sync_credential))
        .route(routes::v1::CREDENTIAL_ACCOUNTS, get(list_accounts))
        .route(routes::v1::CREDENTIAL_STATEMENTS, get(list_statements))
        .merge(listing::router())
}

/// The optional `correlationId` of a request body: `None` when it is not
/// valid (the problem is then in `errors`), `Some(None)` when absent or blank.
pub fn check_correlation_id(
    errors: &mut FieldErrors,
    value: Option<&str>,
) -> Option<Option<String>> {
    errors.check(
        "correlationId",
        CorrelationId::parse_optional(value).map(|id| id.map(String::from)),
    )
}

/// The utilities Gridlink can connect to, with the names people know them by
/// and, for those with an open incident, since when they are having trouble.
pub async fn utilities_by_name(
    state: &AppState,
) -> Result<Vec<shared::connect::Utility>, ApiError> {
    let utilities = state.utilities.all().await.map_err(|_| {
        ApiError::ServiceUnavailable(
            "The list of utilities is unavailable. Try again in a moment.".into(),
        )
    })?;
    let incidents = crate::domain::incidents::open_incidents(&state.db).await?;
    Ok(utilities
        .iter()
        .map(|utility| shared::connect::Utility {
            id: utility.id.clone(),
            name: utility.name.clone(),
            trouble_since: incidents
                .get(&utility.id)
                .copied()
                .map(crate::infra::clock::from_ms),
        })
        .collect())
}

/// `GET /api/v1/utilities`: what a dashboard or an integration shows next to
/// a credential's `utilityId`.
async fn list_utilities(
    State(state): State<AppState>,
    _actor: Actor,
) -> Result<Json<Vec<shared::connect::Utility>>, ApiError> {
    Ok(Json(utilities_by_name(&state).await?))
}

/// Checks that `utility_id` is a utility Gridlink can connect to.
pub async fn check_utility(
    state: &AppState,
    errors: &mut FieldErrors,
    field: &str,
    utility_id: &str,
) -> Result<(), ApiError> {
    match state.utilities.find(utility_id).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => {
            errors.add(field, "Choose one of the utilities Gridlink supports.");
            Ok(())
        }
        Err(error) => {
            tracing::warn!(%error, "cannot list utilities");
            Err(ApiError::ServiceUnavailable(
                "The list of utilities is unavailable. Try again in a moment.".into(),
            ))
        }
    }
}

/// Validates an end-user contact email given by `source`; blank means none.
pub fn check_contact(
    errors: &mut FieldErrors,
    field: &str,
    email: Option<&str>,
    language: Option<Language>,
    source: ContactSource,
) -> Option<Contact> {
    let email = email.map(str::trim).filter(|email| !email.is_empty())?;
    errors
        .check(field, EmailAddress::parse(email))
        .map(|email| Contact {
            email,
            source,
            language,
        })
}

async fn create_credential(
    State(state): State<AppState>,
    actor: Actor,
    Json(body): Json<NewCredential>,
) -> Result<(StatusCode, Json<Credential>), ApiError> {
    let mut errors = FieldErrors::default();
    let username = errors.check("username", Username::parse(&body.username));
    let password = errors.check("password", Password::parse(&body.password));
    let correlation_id = check_correlation_id(&mut errors, body.correlation_id.as_deref());
    check_utility(&state, &mut errors, "utilityId", &body.utility_id).await?;
    let contact = check_contact(
        &mut errors,
        "contactEmail",
        body.contact_email.as_deref(),
        body.contact_language,
        actor.contact_source(),
    );
    errors.finish()?;
    let (Some(username), Some(password), Some(correlation_id)) =
        (username, password, correlation_id)
    else {
        unreachable!("FieldErrors::finish returned Ok, so every field parsed")
    };
    let validated = ValidatedCredential {
        utility_id: body.utility_id,
        username,
        password,
        correlation_id,
        owner: body.owner,
        contact,
    };
    let id = insert_credential(
        &state,
        &actor.organisation_id,
        &validated,
        &actor.label(),
        &actor.audit_actor(),
    )
    .await?;
    let row = store::find(&state.db, &actor.organisation_id, &id).await?;
    state.wakeups.logins.notify_one();
    Ok((StatusCode::CREATED, Json(row.to_api())))
}

async fn get_credential(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Credential>, ApiError> {
    Ok(Json(
        store::find(&state.db, &actor.organisation_id, &id)
            .await?
            .to_api(),
    ))
}

async fn list_events(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Vec<CredentialEvent>>, ApiError> {
    store::find(&state.db, &actor.organisation_id, &id).await?;
    Ok(Json(
        store::events(&state.db, &actor.organisation_id, &id).await?,
    ))
}

/// Changes the correlation id and/or the password; a new password starts a new
/// connection attempt at once.
async fn change_credential(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    Json(body): Json<CredentialChange>,
) -> Result<Json<Credential>, ApiError> {
    let row = store::find(&state.db, &actor.organisation_id, &id).await?;
    if row.deactivated_at.is_some() {
        return Err(ApiError::Conflict("This credential is deactivated.".into()));
    }
    let mut errors = FieldErrors::default();
    let password = match &body.password {
        Some(password) => errors.check("password", Password::parse(password)),
        None => None,
    };
    let correlation_id = check_correlation_id(&mut errors, body.correlation_id.as_deref());
    let contact = check_contact(
        &mut errors,
        "contactEmail",
        body.contact_email.as_deref(),
        body.contact_language,
        actor.contact_source(),
    );
    errors.finish()?;
    let now = state.clock.now_ms();
    let label = actor.label();
    let mut tx = state.db.begin_write().await?;
    if body.correlation_id.is_some() {
        records::change_correlation_id(&mut tx, &id, correlation_id.flatten().as_deref(), now)
            .await?;
    }
    if body.contact_email.is_some() {
        records::set_contact(&mut tx, &row.reference(), contact.as_ref(), &label, now).await?;
    } else if let Some(language) = body.contact_language {
        // Only the language changes: the address (if any) and who gave it stay.
        records::set_contact_language(&mut tx, &id, language, now).await?;
    }
    if let Some(password) = password {
        records::change_password(&mut tx, &state, &row, &password, &label, now).await?;
        if row.status_detail != StatusDetail::Connecting {
            let change = Transition {
                credential_id: &id,
                from: row.status_detail,
                to: StatusDetail::Connecting,
                actor: &label,
                message: "Reconnecting with the new password.".into(),
            };
            if !transition(&mut tx, &change, now).await? {
                return Err(ApiError::Conflict(
                    "The credential changed meanwhile; reload and try again.".into(),
                ));
            }
        }
        records::request_login(&mut tx, &id, now).await?;
    }
    let fields = sent_fields([
        ("correlationId", body.correlation_id.is_some()),
        ("password", body.password.is_some()),
    ]);
    if !fields.is_empty() {
        actor
            .audit(
                &mut tx,
                now,
                AuditAction::CredentialChanged,
                Some(Target::credential(&id)),
                json!({ "fields": fields }),
            )
            .await?;
    }
    let contact_fields = sent_fields([
        ("contactEmail", body.contact_email.is_some()),
        ("contactLanguage", body.contact_language.is_some()),
    ]);
    if !contact_fields.is_empty() {
        actor
            .audit(
                &mut tx,
                now,
                AuditAction::CredentialContactChanged,
                Some(Target::credential(&id)),
                json!({ "fields": contact_fields }),
            )
            .await?;
    }
    tx.commit().await?;
    if !contact_fields.is_empty() {
        state.wakeups.notices.notify_one();
    }
    let changed = store::find(&state.db, &actor.organisation_id, &id).await?;
    state.wakeups.logins.notify_one();
    Ok(Json(changed.to_api()))
}

/// The names of the fields a change sent, for its audit record.
fn sent_fields<const N: usize>(fields: [(&'static str, bool); N]) -> Vec<&'static str> {
    fields
        .into_iter()
        .filter_map(|(field, sent)| sent.then_some(field))
        .collect()
}

/// Deactivates: no more syncing, the session token is destroyed, open Connect
/// sessions and links stop working. Deactivating twice changes nothing.
async fn deactivate_credential(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let row = store::find(&state.db, &actor.organisation_id, &id).await?;
    if row.deactivated_at.is_some() {
        return Ok(StatusCode::NO_CONTENT);
    }
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    records::deactivate(&mut tx, &row, &actor.label(), now).await?;
    actor
        .audit(
            &mut tx,
            now,
            AuditAction::CredentialDeactivated,
            Some(Target::credential(&id)),
            json!({}),
        )
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// "Sync now": syncs at once with the stored token. A token the utility
/// rejects moves the credential to MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED,
/// and the answer shows it.
async fn sync_credential(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Credential>, ApiError> {
    let row = store::find(&state.db, &actor.organisation_id, &id).await?;
    if !crate::domain::sync::is_syncable(&row) {
        return Err(not_syncable(&row));
    }
    let mut tx = state.db.begin_write().await?;
    actor
        .audit(
            &mut tx,
            state.clock.now_ms(),
            AuditAction::CredentialSyncRequested,
            Some(Target::credential(&id)),
            json!({}),
        )
        .await?;
    tx.commit().await?;
    match crate::domain::sync::sync(&state, state.utility.as_ref(), &id, &actor.label()).await? {
        SyncOutcome::Synced { .. } | SyncOutcome::TokenRejected => {}
        SyncOutcome::UtilityUnavailable { .. } => {
            return Err(ApiError::ServiceUnavailable(
                "The utility is not answering. Gridlink keeps trying on its own; try again in a few minutes."
                    .into(),
            ))
        }
        SyncOutcome::NotConnected => {
            let row = store::find(&state.db, &actor.organisation_id, &id).await?;
            return Err(not_syncable(&row));
        }
    }
    Ok(Json(
        store::find(&state.db, &actor.organisation_id, &id)
            .await?
            .to_api(),
    ))
}

fn not_syncable(row: &store::CredentialRow) -> ApiError {
    if row.deactivated_at.is_some() {
        return ApiError::Conflict("This credential is deactivated; it no longer syncs.".into());
    }
    ApiError::Conflict(format!(
        "Only a connected credential can sync; this one is {}: {}",
        row.status_detail,
        row.status_detail.explanation()
    ))
}

/// The credential's utility accounts, as the syncs stored them.
async fn list_accounts(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Vec<UtilityAccount>>, ApiError> {
    let row = store::find(&state.db, &actor.organisation_id, &id).await?;
    Ok(Json(
        crate::domain::sync::storage::accounts(&state.db, &row.id).await?,
    ))
}

/// The most statements one answer lists (about 80 years of one account's bills).
const STATEMENTS_LIMIT: u32 = 1000;

/// The credential's monthly statements as the syncs stored them, newest first.
async fn list_statements(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Vec<UtilityStatement>>, ApiError> {
    let row = store::find(&state.db, &actor.organisation_id, &id).await?;
    Ok(Json(
        crate::domain::sync::storage::statements(&state.db, &row.id, STATEMENTS_LIMIT).await?,
    ))
}
