//! The delivery log (`/api/v1/webhook-deliveries`): every message sent or
//! waiting, searchable by event type, credential, state and time range;
//! one message's attempts; resending one; and replaying every failed message
//! of a time range or of one credential, queued oldest first, each with its
//! original id (delivered up to two at a time, like every message).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use shared::audit::AuditAction;
use shared::routes;
use shared::webhooks::{
    DeliveryState, WebhookAttempt, WebhookDelivery, WebhookDeliveryDetail, WebhookDeliveryPage,
    WebhookEventType,
};
use time::OffsetDateTime;

use crate::domain::audit::Target;
use crate::domain::credentials::store::{actor_joins, ACTOR_NAMES};
use crate::domain::webhooks::endpoint;
use crate::domain::webhooks::outbox::RETRY_WINDOW_MS;
use crate::http::auth::Actor;
use crate::http::error::{ApiError, FieldErrors};
use crate::http::extract::{Json, Path, Query};
use crate::http::state::AppState;
use crate::infra::clock::{from_ms, to_ms};
use crate::infra::store::sql::{Conditions, SqlValue};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::v1::WEBHOOK_DELIVERIES, get(list_deliveries))
        .route(routes::v1::WEBHOOK_DELIVERIES_REPLAY, post(replay_failed))
        .route(routes::v1::WEBHOOK_DELIVERY, get(get_delivery))
        .route(routes::v1::WEBHOOK_DELIVERY_RESEND, post(resend_delivery))
}

/// Which messages: all of the organisation's, narrowed by each filter given.
#[derive(Debug, Default)]
struct DeliveryFilter {
    credential_id: Option<String>,
    state: Option<DeliveryState>,
    event_type: Option<WebhookEventType>,
    /// Created at or after (milliseconds).
    from: Option<i64>,
    /// Created before (milliseconds).
    to: Option<i64>,
}

impl DeliveryFilter {
    /// Reads the filters shared by the log and the replay, recording problems in `errors`.
    fn parse(
        errors: &mut FieldErrors,
        credential_id: Option<String>,
        state: Option<&str>,
        event_type: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> DeliveryFilter {
        let mut time = |field: &str, value: Option<&str>| match value.filter(|v| !v.is_empty()) {
            None => None,
            Some(value) => {
                match OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339) {
                    Ok(moment) => Some(to_ms(moment)),
                    Err(_) => {
                        errors.add(field, "Give a time like 2026-11-28T13:00:00Z.");
                        None
                    }
                }
            }
        };
        let from = time("from", from);
        let to = time("to", to);
        let state = match state.filter(|v| !v.is_empty()) {
            None => None,
            Some(value) => {
                let parsed = DeliveryState::parse(value);
                if parsed.is_none() {
                    errors.add("state", "The state is PENDING, DELIVERED or FAILED.");
                }
                parsed
            }
        };
        let event_type = match event_type.filter(|v| !v.is_empty()) {
            None => None,
            Some(value) => {
                let parsed = WebhookEventType::parse(value);
                if parsed.is_none() {
                    errors.add("eventType", "Not an event type Gridlink sends.");
                }
                parsed
            }
        };
        DeliveryFilter {
            credential_id: credential_id.filter(|id| !id.is_empty()),
            state,
            event_type,
            from,
            to,
        }
    }

    /// The organisation's messages that pass the filters.
    fn conditions(&self, organisation_id: &str) -> Conditions {
        let mut conditions = Conditions::default();
        conditions.equals(
            "organisation_id",
            SqlValue::Text(organisation_id.to_owned()),
        );
        if let Some(credential_id) = &self.credential_id {
            conditions.equals("credential_id", SqlValue::Text(credential_id.clone()));
        }
        if let Some(state) = self.state {
            conditions.equals("state", SqlValue::Text(state.as_str().to_owned()));
        }
        if let Some(event_type) = self.event_type {
            conditions.equals("event_type", SqlValue::Text(event_type.as_str().to_owned()));
        }
        if let Some(from) = self.from {
            let param = conditions.param(SqlValue::Int(from));
            conditions.push(format!("created_at >= {param}"));
        }
        if let Some(to) = self.to {
            let param = conditions.param(SqlValue::Int(to));
            conditions.push(format!("created_at < {param}"));
        }
        conditions
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeliveryQuery {
    /// The `nextCursor` of the previous page.
    before: Option<String>,
    limit: Option<u32>,
    state: Option<String>,
    /// Only the messages about this credential.
    credential_id: Option<String>,
    event_type: Option<String>,
    /// Created at or after this time (RFC 3339).
    from: Option<String>,
    /// Created before this time (RFC 3339).
    to: Option<String>,
}

const DELIVERY_COLUMNS: &str = "id, event_type, credential_id, state, attempts, next_attempt_at, \
    created_at, delivered_at, last_response_status, last_error, actor";

/// The deliveries `inner` selects ([`DELIVERY_COLUMNS`]), newest first, with
/// the names of the operators and API keys their actors refer to.
fn with_actor_names(inner: &str) -> String {
    format!(
        "SELECT d.*, {ACTOR_NAMES} FROM ({inner}) d {} ORDER BY d.created_at DESC, d.id DESC",
        actor_joins("d.actor")
    )
}

/// A `webhook_deliveries` row ([`DELIVERY_COLUMNS`]) and its actor's name
/// ([`with_actor_names`]).
#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    event_type: String,
    credential_id: Option<String>,
    state: String,
    attempts: i64,
    next_attempt_at: Option<i64>,
    created_at: i64,
    delivered_at: Option<i64>,
    last_response_status: Option<i64>,
    last_error: Option<String>,
    actor: Option<String>,
    operator_email: Option<String>,
    key_name: Option<String>,
}

/// attempted_at, url, response_status, error, duration_ms.
type AttemptRow = (
    i64,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    i64,
);

fn delivery_from_row(row: DeliveryRow) -> WebhookDelivery {
    WebhookDelivery {
        id: row.id,
        event_type: WebhookEventType::parse(&row.event_type)
            .unwrap_or(WebhookEventType::WebhookTest),
        credential_id: row.credential_id,
        state: DeliveryState::parse(&row.state).unwrap_or(DeliveryState::Failed),
        attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
        next_attempt_at: row.next_attempt_at.map(from_ms),
        created_at: from_ms(row.created_at),
        delivered_at: row.delivered_at.map(from_ms),
        last_response_status: row
            .last_response_status
            .and_then(|status| u16::try_from(status).ok()),
        last_error: row.last_error,
        actor_name: row.actor.as_deref().map(|actor| {
            shared::credentials::actor_name(
                actor,
                row.operator_email.as_deref(),
                row.key_name.as_deref(),
            )
        }),
        actor: row.actor,
    }
}

/// Newest first, 50 a page by default (at most 200), narrowed by credential,
/// state, event type and creation time.
async fn list_deliveries(
    State(state): State<AppState>,
    actor: Actor,
    Query(query): Query<DeliveryQuery>,
) -> Result<Json<WebhookDeliveryPage>, ApiError> {
    let mut errors = FieldErrors::default();
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        errors.add("limit", "A page holds from 1 to 200 deliveries.");
    }
    let filter = DeliveryFilter::parse(
        &mut errors,
        query.credential_id,
        query.state.as_deref(),
        query.event_type.as_deref(),
        query.from.as_deref(),
        query.to.as_deref(),
    );
    let before = match query.before.as_deref() {
        None | Some("") => None,
        Some(cursor) => match parse_cursor(cursor) {
            Some(position) => Some(position),
            None => {
                errors.add("before", "Use the nextCursor of the previous page.");
                None
            }
        },
    };
    errors.finish()?;
    let mut conditions = filter.conditions(&actor.organisation_id);
    if let Some((created_at, id)) = before {
        let at = conditions.param(SqlValue::Int(created_at));
        let id = conditions.param(SqlValue::Text(id));
        conditions.push(format!(
            "(created_at < {at} OR (created_at = {at} AND id < {id}))"
        ));
    }
    let sql = with_actor_names(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE {} \
         ORDER BY created_at DESC, id DESC LIMIT {}",
        conditions.sql(),
        limit + 1
    ));
    let select = conditions.bind_as(sqlx::query_as::<_, DeliveryRow>(&sql));
    let mut rows = select.fetch_all(state.db.pool()).await?;
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last()
            .map(|row| format!("{}.{}", row.created_at, row.id))
    } else {
        None
    };
    Ok(Json(WebhookDeliveryPage {
        deliveries: rows.into_iter().map(delivery_from_row).collect(),
        next_cursor,
    }))
}

/// `nextCursor`: `CREATED_AT_MS.msg_HEX` (see [`CURSOR_PATTERN`]).
fn parse_cursor(cursor: &str) -> Option<(i64, String)> {
    let (created_at, id) = cursor.split_once('.')?;
    let hex = id.strip_prefix("msg_")?;
    let digits = |text: &str, max: usize, valid: fn(&u8) -> bool| {
        (1..=max).contains(&text.len()) && text.as_bytes().iter().all(valid)
    };
    if !digits(created_at, 15, u8::is_ascii_digit)
        || !digits(hex, 36, |byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    Some((created_at.parse().ok()?, id.to_owned()))
}

/// What [`parse_cursor`] accepts, for the OpenAPI document.
pub const CURSOR_PATTERN: &str = "^[0-9]{1,15}\\.msg_[0-9a-f]{1,36}$";

pub(super) async fn find_delivery(
    state: &AppState,
    organisation_id: &str,
    id: &str,
) -> Result<WebhookDeliveryDetail, ApiError> {
    let row: Option<DeliveryRow> = sqlx::query_as(&with_actor_names(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1 AND organisation_id = $2"
    )))
    .bind(id)
    .bind(organisation_id)
    .fetch_optional(state.db.pool())
    .await?;
    let delivery = delivery_from_row(row.ok_or(ApiError::NotFound("The webhook delivery"))?);
    let (payload,): (String,) =
        sqlx::query_as("SELECT payload FROM webhook_deliveries WHERE id = $1")
            .bind(id)
            .fetch_one(state.db.pool())
            .await?;
    let attempts: Vec<AttemptRow> = sqlx::query_as(
        "SELECT attempted_at, url, response_status, response_body, error, duration_ms FROM webhook_attempts \
         WHERE delivery_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(state.db.pool())
    .await?;
    Ok(WebhookDeliveryDetail {
        delivery,
        payload,
        attempt_log: attempts
            .into_iter()
            .map(
                |(attempted_at, url, response_status, response_body, error, duration_ms)| {
                    WebhookAttempt {
                        attempted_at: from_ms(attempted_at),
                        url,
                        response_status: response_status
                            .and_then(|status| u16::try_from(status).ok()),
                        response_body,
                        error,
                        duration_ms: u64::try_from(duration_ms).unwrap_or_default(),
                    }
                },
            )
            .collect(),
    })
}

async fn get_delivery(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<WebhookDeliveryDetail>, ApiError> {
    Ok(Json(
        find_delivery(&state, &actor.organisation_id, &id).await?,
    ))
}

/// Sends a message again now (same id and body), with a fresh 24-hour window.
async fn resend_delivery(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<WebhookDelivery>), ApiError> {
    let now = state.clock.now_ms();
    find_delivery(&state, &actor.organisation_id, &id).await?;
    let has_endpoint = endpoint::find(&state, &actor.organisation_id)
        .await?
        .is_some();
    if !has_endpoint {
        return Err(ApiError::Conflict(
            "Set a webhook endpoint before resending.".into(),
        ));
    }
    let mut tx = state.db.begin_write().await?;
    let requeued = sqlx::query(
        "UPDATE webhook_deliveries SET state = 'PENDING', next_attempt_at = $1, give_up_at = $2, lease_until = NULL \
         WHERE id = $3 AND organisation_id = $4 AND state <> 'PENDING'",
    )
    .bind(now)
    .bind(now + RETRY_WINDOW_MS)
    .bind(&id)
    .bind(&actor.organisation_id)
    .execute(&mut *tx)
    .await?;
    if requeued.rows_affected() == 0 {
        return Err(ApiError::Conflict(
            "This message is already waiting to be sent; it goes out at its next attempt.".into(),
        ));
    }
    actor
        .audit(
            &mut tx,
            now,
            AuditAction::WebhookDeliveryResent,
            Some(Target::webhook_delivery(&id)),
            json!({}),
        )
        .await?;
    tx.commit().await?;
    let delivery = find_delivery(&state, &actor.organisation_id, &id).await?;
    state.wakeups.webhooks.notify_one();
    Ok((StatusCode::ACCEPTED, Json(delivery.delivery)))
}

/// Which failed messages to send again: a time range, a credential, or both.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("anyOf" = [
    {"required": ["from"], "properties": {"from": {"type": "string"}}},
    {"required": ["to"], "properties": {"to": {"type": "string"}}},
    {"required": ["credentialId"], "properties": {"credentialId": {"type": "string"}}},
]))]
pub(crate) struct ReplayRequest {
    /// Failed messages created at or after this time (RFC 3339)…
    #[schemars(with = "Option<shared::schema::DateTime>")]
    from: Option<String>,
    /// …and before this one.
    #[schemars(with = "Option<shared::schema::DateTime>")]
    to: Option<String>,
    /// Or only those about this credential (both may be given).
    #[schemars(length(min = 1))]
    credential_id: Option<String>,
}

/// Sends every failed message of a time range or of one credential again,
/// oldest first, each with its original id and body and a fresh 24-hour
/// window. Answers how many were queued.
async fn replay_failed(
    State(state): State<AppState>,
    actor: Actor,
    Json(body): Json<ReplayRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let mut errors = FieldErrors::default();
    // In a body, unlike a query string, an empty value is a mistake.
    for (field, value) in [
        ("from", &body.from),
        ("to", &body.to),
        ("credentialId", &body.credential_id),
    ] {
        if value.as_deref() == Some("") {
            errors.add(field, "Leave it out or give a value.");
        }
    }
    let mut filter = DeliveryFilter::parse(
        &mut errors,
        body.credential_id,
        None,
        None,
        body.from.as_deref(),
        body.to.as_deref(),
    );
    if filter.credential_id.is_none() && filter.from.is_none() && filter.to.is_none() {
        errors.add(
            "from",
            "Say which messages: a time range, a credential, or both.",
        );
    }
    errors.finish()?;
    if endpoint::find(&state, &actor.organisation_id)
        .await?
        .is_none()
    {
        return Err(ApiError::Conflict(
            "Set a webhook endpoint before replaying.".into(),
        ));
    }
    filter.state = Some(DeliveryState::Failed);
    let conditions = filter.conditions(&actor.organisation_id);
    let sql = format!(
        "SELECT id FROM webhook_deliveries WHERE {} ORDER BY created_at, id",
        conditions.sql()
    );
    let failed: Vec<(String,)> = conditions
        .bind_as(sqlx::query_as(&sql))
        .fetch_all(state.db.pool())
        .await?;
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    let mut requeued = 0;
    for (position, (id,)) in failed.iter().enumerate() {
        // One millisecond apart: claims take each organisation's messages in
        // the order of their next attempt, so they go out in their original order.
        let changed = sqlx::query(
            "UPDATE webhook_deliveries SET state = 'PENDING', next_attempt_at = $1, give_up_at = $2, lease_until = NULL \
             WHERE id = $3 AND organisation_id = $4 AND state = 'FAILED'",
        )
        .bind(now + position as i64)
        .bind(now + RETRY_WINDOW_MS)
        .bind(id)
        .bind(&actor.organisation_id)
        .execute(&mut *tx)
        .await?;
        requeued += changed.rows_affected();
    }
    actor
        .audit(
            &mut tx,
            now,
            AuditAction::WebhookDeliveriesReplayed,
            filter.credential_id.as_deref().map(Target::credential),
            json!({
                "requeued": requeued,
                "from": filter.from.map(crate::domain::webhooks::outbox::rfc3339),
                "to": filter.to.map(crate::domain::webhooks::outbox::rfc3339),
            }),
        )
        .await?;
    tx.commit().await?;
    state.wakeups.webhooks.notify_one();
    Ok((StatusCode::ACCEPTED, Json(json!({"requeued": requeued}))))
}
