//! Status changes and the timeline. Every change of status is one guarded
//! transition (`UPDATE … WHERE id = $ AND status_detail = $`) recorded as an
//! event in the same transaction, so racing writers produce it exactly once.

use shared::StatusDetail;
use sqlx::AnyConnection;

/// An entry for a credential's timeline. `message` must never hold a secret.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub credential_id: &'a str,
    pub organisation_id: &'a str,
    pub kind: &'a str,
    pub change: Option<(StatusDetail, StatusDetail)>,
    pub actor: &'a str,
    pub message: &'a str,
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
    .bind(event.kind)
    .bind(event.change.map(|(from, _)| from.as_str()))
    .bind(event.change.map(|(_, to)| to.as_str()))
    .bind(event.actor)
    .bind(event.message)
    .bind(now_ms)
    .execute(connection)
    .await?;
    Ok(())
}

/// One status change.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    pub credential_id: &'a str,
    pub from: StatusDetail,
    pub to: StatusDetail,
    pub actor: &'a str,
    pub message: String,
}

/// Moves the credential from `from` to `to` if it is still in `from`, and
/// records the STATUS_CHANGE event. Returns whether this call made the change.
/// Run it inside a transaction together with the writes that belong to it.
pub async fn transition(
    connection: &mut AnyConnection,
    change: &Transition<'_>,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let organisation: Option<(String,)> = sqlx::query_as(
        "UPDATE credentials SET status_detail = $1, updated_at = $2, failure_message = $3 \
         WHERE id = $4 AND status_detail = $5 RETURNING organisation_id",
    )
    .bind(change.to.as_str())
    .bind(now_ms)
    .bind(
        if change.to.status() == shared::Status::ConnectionFailure
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
    let Some((organisation_id,)) = organisation else {
        return Ok(false);
    };
    let event = NewEvent {
        credential_id: change.credential_id,
        organisation_id: &organisation_id,
        kind: "STATUS_CHANGE",
        change: Some((change.from, change.to)),
        actor: change.actor,
        message: &change.message,
    };
    record_event(connection, &event, now_ms).await?;
    tracing::info!(
        credential_id = change.credential_id,
        from = %change.from,
        to = %change.to,
        actor = change.actor,
        "credential status changed"
    );
    Ok(true)
}
