//! Webhooks (`/api/v1/webhook-endpoint`, `/api/v1/webhook-deliveries`): one
//! endpoint per organisation, signed messages queued in the same transaction
//! as the change they tell about (see [`outbox`]), delivered and retried by
//! the delivery job, every delivery and attempt visible, resendable.

pub mod endpoint;
pub mod outbox;
pub mod signing;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use shared::validation::WebhookUrl;
use shared::webhooks::{
    DeliveryState, WebhookAttempt, WebhookDelivery, WebhookDeliveryDetail, WebhookDeliveryPage,
    WebhookEndpoint, WebhookEndpointChange, WebhookEventType, WebhookSecret,
};

use crate::auth::{Actor, Principal};
use crate::clock::from_ms;
use crate::error::{ApiError, FieldErrors};
use crate::extract::{Json, Path, Query};
use crate::outbound::address_policy;
use crate::state::AppState;
use outbox::{Message, RETRY_WINDOW_MS};
use signing::SigningSecret;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/webhook-endpoint",
            get(get_endpoint).put(set_endpoint).delete(remove_endpoint),
        )
        .route("/v1/webhook-endpoint/rotate-secret", post(rotate_secret))
        .route("/v1/webhook-endpoint/test", post(send_test_event))
        .route("/v1/webhook-deliveries", get(list_deliveries))
        .route("/v1/webhook-deliveries/{id}", get(get_delivery))
        .route("/v1/webhook-deliveries/{id}/resend", post(resend_delivery))
}

/// Changing where webhooks go and how they are signed is for admins (and API keys).
fn may_configure(actor: &Actor) -> Result<(), ApiError> {
    if actor.is_admin() || matches!(actor.principal, Principal::ApiKey { .. }) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "Only an admin can change the webhook endpoint.",
        ))
    }
}

fn no_endpoint() -> ApiError {
    ApiError::NotFound("The webhook endpoint")
}

async fn get_endpoint(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    endpoint::find(&state, &actor.organisation_id)
        .await?
        .map(Json)
        .ok_or_else(no_endpoint)
}

/// Sets the URL. The first time, a signing secret is created and shown once.
async fn set_endpoint(
    State(state): State<AppState>,
    actor: Actor,
    Json(body): Json<WebhookEndpointChange>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    may_configure(&actor)?;
    let url = WebhookUrl::parse(&body.url)
        .map_err(|error| ApiError::invalid_field("url", error.to_string()))?;
    refuse_changed_read_only_fields(&state, &actor.organisation_id, &body).await?;
    if !state.settings.webhook_allow_private {
        let parsed = reqwest::Url::parse(url.as_str())
            .map_err(|_| ApiError::invalid_field("url", "Enter a valid URL."))?;
        address_policy::check_url_when_saved(&parsed)
            .await
            .map_err(|forbidden| {
                ApiError::invalid_field("url", format!("Not allowed: {forbidden}."))
            })?;
    }
    let now = state.clock.now_ms();
    let updated = sqlx::query(
        "UPDATE webhook_endpoints SET url = $1, updated_at = $2, disabled_at = NULL, disabled_reason = NULL \
         WHERE organisation_id = $3",
    )
    .bind(url.as_str())
    .bind(now)
    .bind(&actor.organisation_id)
    .execute(state.db.pool())
    .await?;
    if updated.rows_affected() == 1 {
        let endpoint = endpoint::find(&state, &actor.organisation_id)
            .await?
            .ok_or_else(no_endpoint)?;
        return Ok((StatusCode::OK, Json(json!(endpoint))));
    }
    let secret = SigningSecret::generate();
    let created = sqlx::query(
        "INSERT INTO webhook_endpoints (organisation_id, url, sealed_secret, secret_created_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4, $4) ON CONFLICT (organisation_id) DO NOTHING",
    )
    .bind(&actor.organisation_id)
    .bind(url.as_str())
    .bind(secret.seal(&state.keyring, &actor.organisation_id))
    .bind(now)
    .execute(state.db.pool())
    .await?;
    if created.rows_affected() == 0 {
        return Err(ApiError::Conflict(
            "The webhook endpoint was created meanwhile; load it again.".into(),
        ));
    }
    let endpoint = endpoint::find(&state, &actor.organisation_id)
        .await?
        .ok_or_else(no_endpoint)?;
    Ok((
        StatusCode::CREATED,
        Json(json!(WebhookSecret {
            endpoint,
            secret: secret.to_whsec(),
        })),
    ))
}

/// The read-only fields a PUT may carry back from a GET must be unchanged.
async fn refuse_changed_read_only_fields(
    state: &AppState,
    organisation_id: &str,
    body: &WebhookEndpointChange,
) -> Result<(), ApiError> {
    let sent = [
        ("secretCreatedAt", body.secret_created_at),
        ("previousSecretExpiresAt", body.previous_secret_expires_at),
        ("createdAt", body.created_at),
        ("updatedAt", body.updated_at),
    ];
    if sent.iter().all(|(_, value)| value.is_none()) {
        return Ok(());
    }
    let current = endpoint::find(state, organisation_id).await?;
    let mut errors = FieldErrors::default();
    for (field, value) in sent {
        let Some(value) = value else { continue };
        let unchanged = current.as_ref().is_some_and(|endpoint| {
            let now = match field {
                "secretCreatedAt" => Some(endpoint.secret_created_at),
                "previousSecretExpiresAt" => endpoint.previous_secret_expires_at,
                "createdAt" => Some(endpoint.created_at),
                _ => Some(endpoint.updated_at),
            };
            now == Some(value)
        });
        if !unchanged {
            errors.add(
                field,
                "This field is read-only; send it unchanged or leave it out.",
            );
        }
    }
    errors.finish()
}

/// Removes the endpoint; messages not yet delivered are given up.
async fn remove_endpoint(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<StatusCode, ApiError> {
    may_configure(&actor)?;
    let mut tx = state.db.begin_write().await?;
    let removed = sqlx::query("DELETE FROM webhook_endpoints WHERE organisation_id = $1")
        .bind(&actor.organisation_id)
        .execute(&mut *tx)
        .await?;
    if removed.rows_affected() == 0 {
        return Err(no_endpoint());
    }
    sqlx::query(
        "UPDATE webhook_deliveries SET state = 'FAILED', next_attempt_at = NULL, \
           last_error = 'The webhook endpoint was removed.' \
         WHERE organisation_id = $1 AND state = 'PENDING'",
    )
    .bind(&actor.organisation_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret, shown once; the previous one keeps signing for 24 hours.
async fn rotate_secret(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<WebhookSecret>, ApiError> {
    may_configure(&actor)?;
    let now = state.clock.now_ms();
    let secret = SigningSecret::generate();
    let rotated = sqlx::query(
        "UPDATE webhook_endpoints SET sealed_previous_secret = sealed_secret, \
           previous_secret_expires_at = $1, sealed_secret = $2, secret_created_at = $3, updated_at = $3 \
         WHERE organisation_id = $4",
    )
    .bind(now + endpoint::ROTATION_OVERLAP_MS)
    .bind(secret.seal(&state.keyring, &actor.organisation_id))
    .bind(now)
    .bind(&actor.organisation_id)
    .execute(state.db.pool())
    .await?;
    if rotated.rows_affected() == 0 {
        return Err(no_endpoint());
    }
    let endpoint = endpoint::find(&state, &actor.organisation_id)
        .await?
        .ok_or_else(no_endpoint)?;
    Ok(Json(WebhookSecret {
        endpoint,
        secret: secret.to_whsec(),
    }))
}

/// Test events an organisation may queue per [`TEST_EVENT_WINDOW_MS`].
const TEST_EVENTS_PER_WINDOW: i64 = 5;
const TEST_EVENT_WINDOW_MS: i64 = 60_000;

/// Queues a WEBHOOK_TEST message to try the endpoint. Limited per
/// organisation (counted in the database, so it holds across replicas): a
/// test event is a request Gridlink makes on the caller's behalf.
async fn send_test_event(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<(StatusCode, Json<WebhookDelivery>), ApiError> {
    let now = state.clock.now_ms();
    let window_start = now - TEST_EVENT_WINDOW_MS;
    let (recent, oldest): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(created_at) FROM webhook_deliveries \
         WHERE organisation_id = $1 AND created_at > $2 AND event_type = $3",
    )
    .bind(&actor.organisation_id)
    .bind(window_start)
    .bind(WebhookEventType::WebhookTest.as_str())
    .fetch_one(state.db.pool())
    .await?;
    if recent >= TEST_EVENTS_PER_WINDOW {
        let free_at = oldest.unwrap_or(now) + TEST_EVENT_WINDOW_MS;
        return Err(ApiError::RateLimited {
            message: format!(
                "At most {TEST_EVENTS_PER_WINDOW} test events a minute; try again shortly."
            ),
            retry_after_seconds: u64::try_from(free_at - now).unwrap_or(0).div_ceil(1000),
        });
    }
    let message = Message {
        organisation_id: &actor.organisation_id,
        credential_id: None,
        event_type: WebhookEventType::WebhookTest,
        data: json!({"message": "A test event from Gridlink.", "requestedBy": actor.label()}),
    };
    let mut connection = state.db.pool().acquire().await?;
    let id = outbox::enqueue(&mut connection, &message, now)
        .await?
        .ok_or_else(no_endpoint)?;
    drop(connection);
    state.wakeups.webhooks.notify_one();
    let delivery = find_delivery(&state, &actor.organisation_id, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery.delivery)))
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
}

const DELIVERY_COLUMNS: &str = "id, event_type, credential_id, state, attempts, next_attempt_at, \
    created_at, delivered_at, last_response_status, last_error";

type DeliveryRow = (
    String,
    String,
    Option<String>,
    String,
    i64,
    Option<i64>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

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
        id: row.0,
        event_type: WebhookEventType::parse(&row.1).unwrap_or(WebhookEventType::WebhookTest),
        credential_id: row.2,
        state: DeliveryState::parse(&row.3).unwrap_or(DeliveryState::Failed),
        attempts: u32::try_from(row.4).unwrap_or(u32::MAX),
        next_attempt_at: row.5.map(from_ms),
        created_at: from_ms(row.6),
        delivered_at: row.7.map(from_ms),
        last_response_status: row.8.and_then(|status| u16::try_from(status).ok()),
        last_error: row.9,
    }
}

/// Newest first, 50 a page by default (at most 200), optionally one state or
/// one credential's.
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
    let wanted_state = match query.state.as_deref() {
        None | Some("") => None,
        Some(value) => match DeliveryState::parse(value) {
            Some(found) => Some(found),
            None => {
                errors.add("state", "The state is PENDING, DELIVERED or FAILED.");
                None
            }
        },
    };
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
    let mut sql =
        format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE organisation_id = $1");
    let mut next_param = 2;
    let credential_id = query.credential_id.filter(|id| !id.is_empty());
    if credential_id.is_some() {
        sql.push_str(&format!(" AND credential_id = ${next_param}"));
        next_param += 1;
    }
    if wanted_state.is_some() {
        sql.push_str(&format!(" AND state = ${next_param}"));
        next_param += 1;
    }
    if before.is_some() {
        sql.push_str(&format!(
            " AND (created_at < ${a} OR (created_at = ${a} AND id < ${b}))",
            a = next_param,
            b = next_param + 1
        ));
    }
    sql.push_str(&format!(
        " ORDER BY created_at DESC, id DESC LIMIT {}",
        limit + 1
    ));
    let mut select = sqlx::query_as::<_, DeliveryRow>(&sql).bind(&actor.organisation_id);
    if let Some(credential_id) = &credential_id {
        select = select.bind(credential_id.as_str());
    }
    if let Some(wanted) = wanted_state {
        select = select.bind(wanted.as_str());
    }
    if let Some((created_at, id)) = &before {
        select = select.bind(*created_at).bind(id.as_str());
    }
    let mut rows = select.fetch_all(state.db.pool()).await?;
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|row| format!("{}.{}", row.6, row.0))
    } else {
        None
    };
    Ok(Json(WebhookDeliveryPage {
        deliveries: rows.into_iter().map(delivery_from_row).collect(),
        next_cursor,
    }))
}

fn parse_cursor(cursor: &str) -> Option<(i64, String)> {
    let (created_at, id) = cursor.split_once('.')?;
    Some((created_at.parse().ok()?, id.to_owned()))
        .filter(|(_, id)| id.starts_with("msg_") && id.len() <= 40)
}

async fn find_delivery(
    state: &AppState,
    organisation_id: &str,
    id: &str,
) -> Result<WebhookDeliveryDetail, ApiError> {
    let row: Option<DeliveryRow> = sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1 AND organisation_id = $2"
    ))
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
    let requeued = sqlx::query(
        "UPDATE webhook_deliveries SET state = 'PENDING', next_attempt_at = $1, give_up_at = $2, lease_until = NULL \
         WHERE id = $3 AND organisation_id = $4 AND state <> 'PENDING'",
    )
    .bind(now)
    .bind(now + RETRY_WINDOW_MS)
    .bind(&id)
    .bind(&actor.organisation_id)
    .execute(state.db.pool())
    .await?;
    let delivery = find_delivery(&state, &actor.organisation_id, &id).await?;
    if requeued.rows_affected() == 0 {
        return Err(ApiError::Conflict(
            "This message is already waiting to be sent; it goes out at its next attempt.".into(),
        ));
    }
    state.wakeups.webhooks.notify_one();
    Ok((StatusCode::ACCEPTED, Json(delivery.delivery)))
}
