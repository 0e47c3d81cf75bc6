//! Status changes and the timeline. Every change of status is one guarded
//! transition (`UPDATE … WHERE id = $ AND status_detail = $`) recorded as an
//! event, with its webhook queued, in the same transaction, so racing writers
//! produce it exactly once.

use serde_json::json;
use shared::webhooks::WebhookEventType;
use shared::{Status, StatusDetail};
use sqlx::AnyConnection;

use crate::mail::notices::{self, StopReason};
use crate::webhooks::outbox::{self, CredentialRef};

/// What an entry on a credential's timeline records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Created,
    StatusChange,
    NewDataAvailable,
    Synced,
    PasswordChanged,
    Deactivated,
    ConnectStarted,
    MfaCodeSent,
    MfaCodeRejected,
    UtilityError,
    CredentialRepaired,
    SessionTokenExpiring,
    CredentialStale,
    CredentialRecovered,
    UpdateLinkCreated,
    UpdateLinkRevoked,
    EndUserNotified,
    MailNotDelivered,
    ContactChanged,
}

impl EventKind {
    /// The name stored and shown (`kind` in the API).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "CREATED",
            EventKind::StatusChange => "STATUS_CHANGE",
            EventKind::NewDataAvailable => "NEW_DATA_AVAILABLE",
            EventKind::Synced => "SYNCED",
            EventKind::PasswordChanged => "PASSWORD_CHANGED",
            EventKind::Deactivated => "DEACTIVATED",
            EventKind::ConnectStarted => "CONNECT_STARTED",
            EventKind::MfaCodeSent => "MFA_CODE_SENT",
            EventKind::MfaCodeRejected => "MFA_CODE_REJECTED",
            EventKind::UtilityError => "UTILITY_ERROR",
            EventKind::CredentialRepaired => "CREDENTIAL_REPAIRED",
            EventKind::SessionTokenExpiring => "SESSION_TOKEN_EXPIRING",
            EventKind::CredentialStale => "CREDENTIAL_STALE",
            EventKind::CredentialRecovered => "CREDENTIAL_RECOVERED",
            EventKind::UpdateLinkCreated => "UPDATE_LINK_CREATED",
            EventKind::UpdateLinkRevoked => "UPDATE_LINK_REVOKED",
            EventKind::EndUserNotified => "END_USER_NOTIFIED",
            EventKind::MailNotDelivered => "MAIL_NOT_DELIVERED",
            EventKind::ContactChanged => "CONTACT_CHANGED",
        }
    }
}

/// An entry for a credential's timeline. `message` must never hold a secret.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub credential_id: &'a str,
    pub organisation_id: &'a str,
    pub kind: EventKind,
    pub change: Option<(StatusDetail, StatusDetail)>,
    pub actor: &'a str,
    pub message: &'a str,
}

impl<'a> NewEvent<'a> {
    /// An event about `credential` that changes no status.
    pub fn notice(
        credential: &CredentialRef<'a>,
        kind: EventKind,
        actor: &'a str,
        message: &'a str,
    ) -> NewEvent<'a> {
        NewEvent {
            credential_id: credential.id,
            organisation_id: credential.organisation_id,
            kind,
            change: None,
            actor,
            message,
        }
    }
}

/// Records an event on a credential's timeline.
pub async fn record_event(
    connection: &mut AnyConnection,
    event: &NewEvent<'_>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO credential_events \
           (credential_id, organisation_id, kind, from_detail, to_detail, actor, message, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(event.credential_id)
    .bind(event.organisation_id)
    .bind(event.kind.as_str())
    .bind(event.change.map(|(from, _)| from.as_str()))
    .bind(event.change.map(|(_, to)| to.as_str()))
    .bind(event.actor)
    .bind(event.message)
    .bind(now_ms)
    .execute(connection)
    .await?;
    Ok(())
}

/// What a transition reads back: organisation_id, utility_id, correlation_id,
/// first_connected_at, repair_needed_since.
type TransitionedRow = (String, String, Option<String>, Option<i64>, Option<i64>);

/// One status change.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    pub credential_id: &'a str,
    pub from: StatusDetail,
    pub to: StatusDetail,
    pub actor: &'a str,
    pub message: String,
}

/// Moves the credential from `from` to `to` if it is still in `from` (and
/// not deactivated: nothing in flight can revive a deactivated credential), and
/// records the STATUS_CHANGE event and webhook. A credential that had connected
/// and now fails is remembered as needing repair; when it connects again, a
/// CREDENTIAL_REPAIRED event and webhook follow. Returns whether this call made
/// the change. Run it inside a transaction with the writes that belong to it.
pub async fn transition(
    connection: &mut AnyConnection,
    change: &Transition<'_>,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    // The columns returned are not written here, so they show the row as it was.
    let updated: Option<TransitionedRow> = sqlx::query_as(
        "UPDATE credentials SET status_detail = $1, updated_at = $2, failure_message = $3 \
         WHERE id = $4 AND status_detail = $5 AND deactivated_at IS NULL \
         RETURNING organisation_id, utility_id, correlation_id, first_connected_at, repair_needed_since",
    )
    .bind(change.to.as_str())
    .bind(now_ms)
    .bind(
        if change.to.status() == Status::ConnectionFailure
            || change.to == StatusDetail::ProviderWebsiteInaccessible
        {
            Some(change.message.as_str())
        } else {
            None
        },
    )
    .bind(change.credential_id)
    .bind(change.from.as_str())
    .fetch_optional(&mut *connection)
    .await?;
    let Some((
        organisation_id,
        utility_id,
        correlation_id,
        first_connected_at,
        repair_needed_since,
    )) = updated
    else {
        return Ok(false);
    };
    let event = NewEvent {
        credential_id: change.credential_id,
        organisation_id: &organisation_id,
        kind: EventKind::StatusChange,
        change: Some((change.from, change.to)),
        actor: change.actor,
        message: &change.message,
    };
    record_event(connection, &event, now_ms).await?;
    let credential = CredentialRef {
        id: change.credential_id,
        organisation_id: &organisation_id,
        utility_id: &utility_id,
        correlation_id: correlation_id.as_deref(),
    };
    let data = credential.data(
        change.to,
        json!({"previousStatusDetail": change.from.as_str(), "message": change.message}),
    );
    outbox::enqueue(
        connection,
        &credential.message(WebhookEventType::StatusChange, data),
        now_ms,
    )
    .await?;
    if change.to == StatusDetail::LoginAndDataDiscoverySuccessful && repair_needed_since.is_some() {
        repaired(connection, &credential, change.actor, now_ms).await?;
    } else if change.to.status() == Status::ConnectionFailure
        && first_connected_at.is_some()
        && repair_needed_since.is_none()
    {
        sqlx::query("UPDATE credentials SET repair_needed_since = $1 WHERE id = $2")
            .bind(now_ms)
            .bind(change.credential_id)
            .execute(&mut *connection)
            .await?;
    }
    tracing::info!(
        credential_id = change.credential_id,
        from = %change.from,
        to = %change.to,
        actor = change.actor,
        "credential status changed"
    );
    Ok(true)
}

/// A credential that needed action works again.
async fn repaired(
    connection: &mut AnyConnection,
    credential: &CredentialRef<'_>,
    actor: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE credentials SET repair_needed_since = NULL WHERE id = $1")
        .bind(credential.id)
        .execute(&mut *connection)
        .await?;
    notices::stop(connection, credential.id, StopReason::Repaired, now_ms).await?;
    let event = NewEvent {
        credential_id: credential.id,
        organisation_id: credential.organisation_id,
        kind: EventKind::CredentialRepaired,
        change: None,
        actor,
        message: "Repaired: the credential works again.",
    };
    record_event(connection, &event, now_ms).await?;
    let data = credential.data(StatusDetail::LoginAndDataDiscoverySuccessful, json!({}));
    outbox::enqueue(
        connection,
        &credential.message(WebhookEventType::CredentialRepaired, data),
        now_ms,
    )
    .await?;
    Ok(())
}
