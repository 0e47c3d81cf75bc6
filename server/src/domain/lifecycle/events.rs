//! Status changes and the timeline. Every change of status is one guarded
//! transition (`UPDATE … WHERE id = $ AND status_detail = $`) recorded as an
//! event, with its webhook queued, in the same transaction, so racing writers
//! produce it exactly once.

use serde_json::json;
use shared::webhooks::WebhookEventType;
use shared::{Status, StatusDetail};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};

use crate::domain::credentials::store::{CredentialRow, COLUMNS};
use crate::domain::lifecycle::notice_stops::{self, StopReason};
use crate::domain::webhooks::outbox::{self, CredentialRef, Message};
use crate::infra::store::{self, Database, WriteTransaction};

shared::wire_enum! {
    /// What an entry on a credential's timeline records (`kind` in the API, as stored).
    pub enum EventKind {
        Created = "CREATED",
        StatusChange = "STATUS_CHANGE",
        NewDataAvailable = "NEW_DATA_AVAILABLE",
        Synced = "SYNCED",
        PasswordChanged = "PASSWORD_CHANGED",
        Deactivated = "DEACTIVATED",
        ConnectStarted = "CONNECT_STARTED",
        MfaCodeSent = "MFA_CODE_SENT",
        MfaCodeRejected = "MFA_CODE_REJECTED",
        UtilityError = "UTILITY_ERROR",
        CredentialRepaired = "CREDENTIAL_REPAIRED",
        SessionTokenExpiring = "SESSION_TOKEN_EXPIRING",
        CredentialStale = "CREDENTIAL_STALE",
        CredentialRecovered = "CREDENTIAL_RECOVERED",
        UpdateLinkCreated = "UPDATE_LINK_CREATED",
        UpdateLinkRevoked = "UPDATE_LINK_REVOKED",
        EndUserNotified = "END_USER_NOTIFIED",
        MailNotDelivered = "MAIL_NOT_DELIVERED",
        ContactChanged = "CONTACT_CHANGED",
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
    bind_event(sqlx::query(&event_sql(1)), event, now_ms)
        .execute(connection)
        .await?;
    Ok(())
}

/// Records `event` and queues `message`, the webhook that tells of it, for
/// the organisation's endpoints, in one trip to the database.
pub async fn record_event_and_notify(
    connection: &mut AnyConnection,
    event: &NewEvent<'_>,
    message: &Message<'_>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let sql = announcing_sql(connection, None);
    bind_announcing(&sql, event, message, None, now_ms)
        .execute(connection)
        .await?;
    Ok(())
}

/// [`record_event_and_notify`] (and `then`) as the last writes of `tx`,
/// which commits: on SQLite its COMMIT goes in the same trip.
pub async fn record_event_notify_and_commit(
    tx: WriteTransaction,
    event: &NewEvent<'_>,
    message: &Message<'_>,
    then: Option<&FollowUp<'_>>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let sql = tx.commit_with(&announcing_sql(&tx, then));
    tx.commit_after(bind_announcing(&sql, event, message, then, now_ms))
        .await
}

/// An event, its webhook and `then`, to go together ([`store::sql::together`]).
fn announcing_sql(connection: &AnyConnection, then: Option<&FollowUp<'_>>) -> String {
    let mut parts = vec![event_sql(1), outbox::enqueue_sql(1 + EVENT_PARAMETERS)];
    parts.extend(
        then.map(|follow_up| (follow_up.sql)(1 + EVENT_PARAMETERS + outbox::ENQUEUE_PARAMETERS)),
    );
    store::sql::together(connection, &parts)
}

/// [`announcing_sql`] with its parameters bound.
fn bind_announcing<'q>(
    sql: &'q str,
    event: &NewEvent<'q>,
    message: &Message<'q>,
    then: Option<&FollowUp<'q>>,
    now_ms: i64,
) -> Query<'q, Any, AnyArguments<'q>> {
    let query = bind_event(sqlx::query(sql), event, now_ms);
    let mut query = outbox::bind_enqueued(query, &outbox::message_id(now_ms), message, now_ms);
    for value in then.map_or(&[][..], |follow_up| &follow_up.values) {
        query = value.bind_to(query);
    }
    query
}

/// The statement [`record_event`] runs, its parameters numbered from `first`
/// (to run with others, see [`store::sql::together`]).
pub fn event_sql(first: usize) -> String {
    let values: Vec<String> = (first..first + EVENT_PARAMETERS)
        .map(|n| format!("${n}"))
        .collect();
    format!(
        "INSERT INTO credential_events \
           (credential_id, organisation_id, kind, from_detail, to_detail, actor, message, created_at) \
         VALUES ({})",
        values.join(", ")
    )
}

/// The parameters [`event_sql`] has.
const EVENT_PARAMETERS: usize = 8;

/// Binds [`event_sql`]'s parameters, after those `query` has.
pub fn bind_event<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    event: &NewEvent<'q>,
    now_ms: i64,
) -> Query<'q, Any, AnyArguments<'q>> {
    query
        .bind(event.credential_id)
        .bind(event.organisation_id)
        .bind(event.kind.as_str())
        .bind(event.change.map(|(from, _)| from.as_str()))
        .bind(event.change.map(|(_, to)| to.as_str()))
        .bind(event.actor)
        .bind(event.message)
        .bind(now_ms)
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

/// Columns a transition writes besides its status, in its guarded `UPDATE`:
/// SQL assignments whose parameters are numbered from `$6` (`$2` is the
/// transition's time, usable too), and the values of those parameters in order.
/// They must not write `repair_needed_since`, nor `first_connected_at` on the
/// way to a failure: the transition reads those as they were.
#[derive(Debug, Clone, Default)]
pub struct AlsoWrite<'a> {
    assignments: String,
    values: Vec<Value<'a>>,
}

/// A value bound to one of [`AlsoWrite`]'s parameters.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Text(Option<&'a str>),
    Integer(Option<i64>),
}

impl<'a> Value<'a> {
    fn bind_to<'q>(
        self,
        query: Query<'q, Any, AnyArguments<'q>>,
    ) -> Query<'q, Any, AnyArguments<'q>>
    where
        'a: 'q,
    {
        match self {
            Value::Text(text) => query.bind(text),
            Value::Integer(integer) => query.bind(integer),
        }
    }
}

impl<'a> AlsoWrite<'a> {
    /// `assignments` with `values` for its parameters `$6`, `$7`, ….
    pub fn columns(assignments: &str, values: Vec<Value<'a>>) -> AlsoWrite<'a> {
        AlsoWrite {
            assignments: assignments.to_owned(),
            values,
        }
    }

    /// Also ends the login request made at `requested_at` (unless a newer one
    /// arrived meanwhile): the login worker records a login's outcome and
    /// ends its request in one statement.
    pub fn ending_login(mut self, requested_at: Option<i64>) -> AlsoWrite<'a> {
        let Some(requested_at) = requested_at else {
            return self;
        };
        let n = FIRST_EXTRA_PARAMETER + self.values.len();
        let same = format!("login_requested_at = ${n}");
        if !self.assignments.is_empty() {
            self.assignments.push_str(", ");
        }
        self.assignments.push_str(&format!(
            "login_requested_at = CASE WHEN {same} THEN NULL ELSE login_requested_at END, \
             login_lease_until = CASE WHEN {same} THEN NULL ELSE login_lease_until END"
        ));
        self.values.push(Value::Integer(Some(requested_at)));
        self
    }
}

/// The number of [`AlsoWrite`]'s first parameter: the transition binds five.
const FIRST_EXTRA_PARAMETER: usize = 6;

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
    let nothing_else = AlsoWrite::default();
    let sql = guarded_update_sql(&nothing_else);
    let Some(moved) = move_status(connection, &sql, change, &nothing_else, now_ms).await? else {
        return Ok(false);
    };
    let credential = moved.row.reference();
    keep_repair_in_step(connection, change, &moved, &credential, now_ms).await?;
    let (event, message) = announcement(change, &credential);
    record_event_and_notify(connection, &event, &message, now_ms).await?;
    log_change(change);
    Ok(true)
}

/// [`transition`] as a transaction of its own, writing `also` in its guarded
/// UPDATE and `then` (a statement that belongs to the change) with its event,
/// both only when the status changes. On SQLite it takes the one writer for
/// two trips: the guarded UPDATE with the transaction's BEGIN, then the
/// event, its webhook, `then` and the COMMIT. Returns the credential as this
/// call left it, when it made the change: what Connect answers, without
/// reading it again.
pub async fn transition_alone(
    db: &Database,
    change: &Transition<'_>,
    also: &AlsoWrite<'_>,
    then: Option<&FollowUp<'_>>,
    now_ms: i64,
) -> Result<Option<CredentialRow>, sqlx::Error> {
    let mut tx = db.begin_write_in_line().await?;
    let sql = tx.begin_with(&guarded_update_sql(also));
    let Some(moved) = move_status(&mut tx, &sql, change, also, now_ms).await? else {
        tx.commit().await?;
        return Ok(None);
    };
    let credential = moved.row.reference();
    keep_repair_in_step(&mut tx, change, &moved, &credential, now_ms).await?;
    let (event, message) = announcement(change, &credential);
    record_event_notify_and_commit(tx, &event, &message, then, now_ms).await?;
    log_change(change);
    Ok(Some(moved.row))
}

/// A statement that belongs to a transition ([`transition_alone`]): its SQL
/// with parameters numbered from the number given, and their values in order.
pub struct FollowUp<'a> {
    pub sql: fn(usize) -> String,
    pub values: Vec<Value<'a>>,
}

/// What a transition's guarded UPDATE reads back.
struct Moved {
    /// The credential as the transition leaves it.
    row: CredentialRow,
    /// As they were: the transition writes neither on its way to a failure
    /// (see [`AlsoWrite`]), and the repair flag only after this.
    first_connected_at: Option<i64>,
    repair_needed_since: Option<i64>,
}

/// The guarded UPDATE, writing `also` too.
fn guarded_update_sql(also: &AlsoWrite<'_>) -> String {
    debug_assert!(!also.assignments.contains("repair_needed_since"));
    let also_sql = if also.assignments.is_empty() {
        String::new()
    } else {
        format!(", {}", also.assignments)
    };
    format!(
        "UPDATE credentials SET status_detail = $1, updated_at = $2, failure_message = $3{also_sql} \
         WHERE id = $4 AND status_detail = $5 AND deactivated_at IS NULL \
         RETURNING {COLUMNS}, first_connected_at, repair_needed_since"
    )
}

/// Runs `sql` (from [`guarded_update_sql`]): what it read back, if the status moved.
async fn move_status(
    connection: &mut AnyConnection,
    sql: &str,
    change: &Transition<'_>,
    also: &AlsoWrite<'_>,
    now_ms: i64,
) -> Result<Option<Moved>, sqlx::Error> {
    let mut query = sqlx::query(sql)
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
        .bind(change.from.as_str());
    for value in &also.values {
        query = match *value {
            Value::Text(text) => query.bind(text),
            Value::Integer(integer) => query.bind(integer),
        };
    }
    // All rows, not the first: sqlx's `fetch_optional` on SQLite gives up at
    // the first statement's result, the BEGIN's when one goes before.
    let Some(moved) = query.fetch_all(connection).await?.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some(Moved {
        row: CredentialRow::from_row(&moved)?,
        first_connected_at: moved.try_get("first_connected_at")?,
        repair_needed_since: moved.try_get("repair_needed_since")?,
    }))
}

/// A credential that had connected and now fails needs repair; one that
/// needed it and connects again is repaired.
async fn keep_repair_in_step(
    connection: &mut AnyConnection,
    change: &Transition<'_>,
    moved: &Moved,
    credential: &CredentialRef<'_>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    if change.to == StatusDetail::LoginAndDataDiscoverySuccessful
        && moved.repair_needed_since.is_some()
    {
        repaired(connection, credential, change.actor, now_ms).await?;
    } else if change.to.status() == Status::ConnectionFailure
        && moved.first_connected_at.is_some()
        && moved.repair_needed_since.is_none()
    {
        sqlx::query("UPDATE credentials SET repair_needed_since = $1 WHERE id = $2")
            .bind(now_ms)
            .bind(change.credential_id)
            .execute(connection)
            .await?;
    }
    Ok(())
}

/// The STATUS_CHANGE event and webhook of `change`.
fn announcement<'a>(
    change: &'a Transition<'a>,
    credential: &CredentialRef<'a>,
) -> (NewEvent<'a>, Message<'a>) {
    let event = NewEvent {
        credential_id: change.credential_id,
        organisation_id: credential.organisation_id,
        kind: EventKind::StatusChange,
        change: Some((change.from, change.to)),
        actor: change.actor,
        message: &change.message,
    };
    let data = credential.data(
        change.to,
        json!({"previousStatusDetail": change.from.as_str(), "message": change.message}),
    );
    (
        event,
        credential.message(WebhookEventType::StatusChange, data, change.actor),
    )
}

fn log_change(change: &Transition<'_>) {
    count_in_connect_funnel(change.from, change.to);
    tracing::info!(
        credential_id = change.credential_id,
        from = %change.from,
        to = %change.to,
        actor = change.actor,
        "credential status changed"
    );
}

/// Counts a change in the Connect funnel's metrics: a flow starts when a
/// credential is created or reconnects ([`count_connect_flow_started`]),
/// reaches the method and code steps, and ends when a credential in
/// progress connects or fails.
fn count_in_connect_funnel(from: StatusDetail, to: StatusDetail) {
    use crate::infra::metrics::{CONNECT_FLOWS_FINISHED, CONNECT_STEPS_REACHED};
    use StatusDetail::*;
    if from == to {
        return;
    }
    match to {
        Connecting => count_connect_flow_started(),
        MultiFactorAuthenticationMethodRequired => {
            metrics::counter!(CONNECT_STEPS_REACHED, "step" => "choose_method").increment(1);
        }
        MultiFactorAuthenticationCodeRequired => {
            metrics::counter!(CONNECT_STEPS_REACHED, "step" => "enter_code").increment(1);
        }
        _ => {}
    }
    let in_progress = from.status() == Status::ConnectionInProgress;
    let outcome = match to.status() {
        Status::ConnectionSuccess if in_progress => "succeeded",
        Status::ConnectionFailure if in_progress => "failed",
        _ => return,
    };
    metrics::counter!(CONNECT_FLOWS_FINISHED, "outcome" => outcome).increment(1);
}

/// A Connect flow started: a credential was created or asked to log in again.
pub fn count_connect_flow_started() {
    use crate::infra::metrics::{CONNECT_FLOWS_STARTED, CONNECT_STEPS_REACHED};
    metrics::counter!(CONNECT_FLOWS_STARTED).increment(1);
    metrics::counter!(CONNECT_STEPS_REACHED, "step" => "connecting").increment(1);
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
    notice_stops::stop(connection, credential.id, StopReason::Repaired, now_ms).await?;
    let event = NewEvent {
        credential_id: credential.id,
        organisation_id: credential.organisation_id,
        kind: EventKind::CredentialRepaired,
        change: None,
        actor,
        message: "Repaired: the credential works again.",
    };
    let data = credential.data(StatusDetail::LoginAndDataDiscoverySuccessful, json!({}));
    let message = credential.message(WebhookEventType::CredentialRepaired, data, actor);
    record_event_and_notify(connection, &event, &message, now_ms).await?;
    Ok(())
}
