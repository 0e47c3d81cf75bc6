//! Webhooks (`/api/v1/webhook-endpoint`; the delivery log in [`deliveries`]): one
//! endpoint per organisation, signed messages queued in the same transaction
//! as the change they tell about (see [`outbox`]), delivered and retried by
//! the delivery job, every delivery and attempt visible, resendable.

pub mod deliveries;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use shared::audit::AuditAction;
use shared::routes;
use shared::validation::WebhookUrl;
use shared::webhooks::{
    WebhookDelivery, WebhookEndpoint, WebhookEndpointChange, WebhookEventType, WebhookSecret,
};

use crate::domain::audit::Target;
use crate::domain::webhooks::endpoint;
use crate::domain::webhooks::outbox::{self, Message};
use crate::http::auth::{Actor, Principal};
use crate::http::error::{ApiError, FieldErrors};
use crate::http::extract::Json;
use crate::http::state::AppState;
use crate::infra::outbound::address_policy;
use crate::infra::webhook_signing::SigningSecret;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            routes::v1::WEBHOOK_ENDPOINT,
            get(get_endpoint).put(set_endpoint).delete(remove_endpoint),
        )
        .route(
            routes::v1::WEBHOOK_ENDPOINT_ROTATE_SECRET,
            post(rotate_secret),
        )
        .route(routes::v1::WEBHOOK_ENDPOINT_TEST, post(send_test_event))
        .merge(deliveries::router())
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
    // The host only: a URL's path or query may hold the receiver's own secret.
    let audited = json!({
        "fields": ["url"],
        "host": reqwest::Url::parse(url.as_str()).ok().and_then(|url| url.host_str().map(str::to_owned)),
    });
    let mut tx = state.db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE webhook_endpoints SET url = $1, updated_at = $2, disabled_at = NULL, disabled_reason = NULL \
         WHERE organisation_id = $3",
    )
    .bind(url.as_str())
    .bind(now)
    .bind(&actor.organisation_id)
    .execute(&mut *tx)
    .await?;
    // The first time, the endpoint and its signing secret are created.
    let created_secret = if updated.rows_affected() == 1 {
        None
    } else {
        let secret = SigningSecret::generate();
        let created = sqlx::query(
            "INSERT INTO webhook_endpoints (organisation_id, url, sealed_secret, secret_created_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4, $4) ON CONFLICT (organisation_id) DO NOTHING",
        )
        .bind(&actor.organisation_id)
        .bind(url.as_str())
        .bind(secret.seal(&state.keyring, &actor.organisation_id))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if created.rows_affected() == 0 {
            return Err(ApiError::Conflict(
                "The webhook endpoint was created meanwhile; load it again.".into(),
            ));
        }
        Some(secret)
    };
    actor
        .audit(
            &mut tx,
            now,
            AuditAction::WebhookEndpointChanged,
            None,
            audited,
        )
        .await?;
    tx.commit().await?;
    let endpoint = endpoint::find(&state, &actor.organisation_id)
        .await?
        .ok_or_else(no_endpoint)?;
    Ok(match created_secret {
        None => (StatusCode::OK, Json(json!(endpoint))),
        Some(secret) => (
            StatusCode::CREATED,
            Json(json!(WebhookSecret {
                endpoint,
                secret: secret.to_whsec(),
            })),
        ),
    })
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
    actor
        .audit(
            &mut tx,
            state.clock.now_ms(),
            AuditAction::WebhookEndpointRemoved,
            None,
            json!({}),
        )
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
    let mut tx = state.db.begin_write().await?;
    let rotated = sqlx::query(
        "UPDATE webhook_endpoints SET sealed_previous_secret = sealed_secret, \
           previous_secret_expires_at = $1, sealed_secret = $2, secret_created_at = $3, updated_at = $3 \
         WHERE organisation_id = $4",
    )
    .bind(now + endpoint::ROTATION_OVERLAP_MS)
    .bind(secret.seal(&state.keyring, &actor.organisation_id))
    .bind(now)
    .bind(&actor.organisation_id)
    .execute(&mut *tx)
    .await?;
    if rotated.rows_affected() == 0 {
        return Err(no_endpoint());
    }
    actor
        .audit(
            &mut tx,
            now,
            AuditAction::WebhookSecretRotated,
            None,
            json!({}),
        )
        .await?;
    tx.commit().await?;
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
        return Err(ApiError::rate_limited(
            format!("At most {TEST_EVENTS_PER_WINDOW} test events a minute; try again shortly."),
            free_at - now,
        ));
    }
    let requested_by = actor.label();
    let message = Message {
        organisation_id: &actor.organisation_id,
        credential_id: None,
        event_type: WebhookEventType::WebhookTest,
        data: json!({"message": "A test event from Gridlink.", "requestedBy": requested_by}),
        actor: &requested_by,
    };
    let mut tx = state.db.begin_write().await?;
    let id = outbox::enqueue(&mut tx, &message, now)
        .await?
        .ok_or_else(no_endpoint)?;
    actor
        .audit(
            &mut tx,
            now,
            AuditAction::WebhookTestSent,
            Some(Target::webhook_delivery(&id)),
            json!({}),
        )
        .await?;
    tx.commit().await?;
    state.wakeups.webhooks.notify_one();
    let delivery = deliveries::find_delivery(&state, &actor.organisation_id, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery.delivery)))
}
