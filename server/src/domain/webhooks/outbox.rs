//! The webhook outbox. A message is written in the same transaction as the
//! change it tells about, so no change goes untold and nothing is told that
//! did not happen; the delivery job sends it afterwards. Its body is fixed
//! here, so every attempt sends the same bytes under the same id.

use rand::Rng;
use serde_json::{json, Value};
use shared::webhooks::WebhookEventType;
use shared::StatusDetail;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection};
use time::format_description::well_known::Rfc3339;

use crate::infra::clock::from_ms;

/// Attempts stop this long after a message was created.
pub const RETRY_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// A message for an organisation's endpoint.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub organisation_id: &'a str,
    pub credential_id: Option<&'a str>,
    pub event_type: WebhookEventType,
    pub data: Value,
    /// Who caused it, as credential events name actors (`operator:…`,
    /// `job:…`); the delivery log shows it.
    pub actor: &'a str,
}

/// The credential fields every credential event carries.
#[derive(Debug, Clone)]
pub struct CredentialRef<'a> {
    pub id: &'a str,
    pub organisation_id: &'a str,
    pub utility_id: &'a str,
    pub correlation_id: Option<&'a str>,
}

impl<'a> CredentialRef<'a> {
    /// `data` for a credential's event: who it is, its state now, and `extra`.
    pub fn data(&self, detail: StatusDetail, extra: Value) -> Value {
        let mut data = json!({
            "credentialId": self.id,
            "utilityId": self.utility_id,
            "correlationId": self.correlation_id,
            "status": detail.status().as_str(),
            "statusDetail": detail.as_str(),
            "isCustomerActionRequired": detail.is_customer_action_required(),
            "isAccessible": detail.is_accessible(),
        });
        if let (Value::Object(data), Value::Object(extra)) = (&mut data, extra) {
            data.extend(extra);
        }
        data
    }

    pub fn message(
        &self,
        event_type: WebhookEventType,
        data: Value,
        actor: &'a str,
    ) -> Message<'a> {
        Message {
            organisation_id: self.organisation_id,
            credential_id: Some(self.id),
            event_type,
            data,
            actor,
        }
    }
}

/// The body sent: `{"type", "timestamp", "data"}`, as Standard Webhooks suggest.
fn body(event_type: WebhookEventType, timestamp: &str, data: &Value) -> String {
    json!({"type": event_type.as_str(), "timestamp": timestamp, "data": data}).to_string()
}

/// A stored time as the webhook bodies write it.
pub fn rfc3339(ms: i64) -> String {
    from_ms(ms).format(&Rfc3339).unwrap_or_default()
}

/// A message id, `msg_` + the creation time (48 bits) + 64 random bits: ids
/// made together sort together, so a burst of messages (the sweep queues
/// thousands) appends to the table's index instead of splitting its pages.
pub fn message_id(now_ms: i64) -> String {
    format!(
        "msg_{:012x}{:016x}",
        now_ms.max(0),
        rand::thread_rng().gen::<u64>()
    )
}

const INSERT_COLUMNS: &str = "INSERT INTO webhook_deliveries \
    (id, organisation_id, credential_id, event_type, payload, actor, state, attempts, next_attempt_at, give_up_at, created_at)";

/// Queues `message` for its organisation's endpoint. Returns the message id,
/// or `None` when the organisation has no endpoint.
pub async fn enqueue(
    connection: &mut AnyConnection,
    message: &Message<'_>,
    now_ms: i64,
) -> Result<Option<String>, sqlx::Error> {
    let id = message_id(now_ms);
    let inserted = bind_enqueued(sqlx::query(&enqueue_sql(1)), &id, message, now_ms)
        .execute(connection)
        .await?;
    Ok((inserted.rows_affected() == 1).then_some(id))
}

/// The parameters [`enqueue_sql`] has.
pub const ENQUEUE_PARAMETERS: usize = 8;

/// The statement [`enqueue`] runs, its parameters numbered from `first`
/// (to run with others, see [`crate::infra::store::sql::together`]).
pub fn enqueue_sql(first: usize) -> String {
    let [id, credential, event_type, payload, actor, now, give_up, organisation]: [String;
        ENQUEUE_PARAMETERS] = std::array::from_fn(|n| format!("${}", first + n));
    format!(
        "{INSERT_COLUMNS} SELECT {id}, organisation_id, {credential}, {event_type}, {payload}, {actor}, 'PENDING', 0, \
           {now}, {give_up}, {now} FROM webhook_endpoints WHERE organisation_id = {organisation}"
    )
}

/// Binds [`enqueue_sql`]'s parameters, after those `query` has.
pub fn bind_enqueued<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    id: &str,
    message: &Message<'q>,
    now_ms: i64,
) -> Query<'q, Any, AnyArguments<'q>> {
    query
        .bind(id.to_owned())
        .bind(message.credential_id)
        .bind(message.event_type.as_str())
        .bind(body(message.event_type, &rfc3339(now_ms), &message.data))
        .bind(message.actor)
        .bind(now_ms)
        .bind(now_ms + RETRY_WINDOW_MS)
        .bind(message.organisation_id)
}

/// [`enqueue`] for many messages at once (the expiry sweep's batches).
pub async fn enqueue_many(
    connection: &mut AnyConnection,
    messages: &[Message<'_>],
    now_ms: i64,
) -> Result<u64, sqlx::Error> {
    let mut organisations: Vec<&str> = messages.iter().map(|m| m.organisation_id).collect();
    organisations.sort_unstable();
    organisations.dedup();
    let mut with_endpoint = std::collections::HashSet::new();
    for chunk in organisations.chunks(crate::infra::store::sql::VALUES_PER_STATEMENT) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT organisation_id FROM webhook_endpoints WHERE organisation_id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_as::<_, (String,)>(&sql);
        for organisation in chunk {
            query = query.bind(*organisation);
        }
        with_endpoint.extend(
            query
                .fetch_all(&mut *connection)
                .await?
                .into_iter()
                .map(|(id,)| id),
        );
    }
    let wanted: Vec<&Message<'_>> = messages
        .iter()
        .filter(|message| with_endpoint.contains(message.organisation_id))
        .collect();
    if wanted.is_empty() {
        return Ok(0);
    }
    let timestamp = rfc3339(now_ms);
    // `[id, organisation_id, credential_id, event_type, payload, actor]` per message.
    let rows: Vec<serde_json::Value> = wanted
        .iter()
        .map(|message| {
            serde_json::json!([
                message_id(now_ms),
                message.organisation_id,
                message.credential_id,
                message.event_type.as_str(),
                body(message.event_type, &timestamp, &message.data),
                message.actor,
            ])
        })
        .collect();
    let sql = format!(
        "{INSERT_COLUMNS} SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, \
           value ->> 5, 'PENDING', 0, $1, $2, $1 FROM {}",
        crate::infra::store::sql::json_rows(connection, "$3")
    );
    let queued = sqlx::query(&sql)
        .bind(now_ms)
        .bind(now_ms + RETRY_WINDOW_MS)
        .bind(serde_json::Value::Array(rows).to_string())
        .execute(&mut *connection)
        .await?
        .rows_affected();
    Ok(queued)
}
