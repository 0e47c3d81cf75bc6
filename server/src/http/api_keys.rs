//! API keys for integrators (`/api/v1/api-keys`): created by an admin and
//! shown once, stored as a SHA-256 hash, revocable. A key is `READ` (lists,
//! reads, exports) or `WRITE`; [`crate::http::auth`] refuses a read key's
//! state changes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::Router;
use serde_json::json;
use shared::audit::AuditAction;
use shared::operators::{ApiKey, ApiKeyScope, CreatedApiKey, NewApiKey};
use shared::routes;
use shared::validation::DisplayName;

use crate::domain::audit::Target;
use crate::http::auth::AdminOperator;
use crate::http::error::{ApiError, FieldErrors};
use crate::http::extract::{Json, Path};
use crate::http::state::AppState;
use crate::infra::clock::from_ms;
use crate::infra::tokens;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            routes::v1::API_KEYS,
            get(list_api_keys).post(create_api_key),
        )
        .route(routes::v1::API_KEY, delete(revoke_api_key))
}

type ApiKeyRow = (
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
);

fn api_key_from_row(
    (id, name, prefix, scope, created_at, last_used_at, revoked_at): ApiKeyRow,
) -> ApiKey {
    ApiKey {
        id,
        name,
        prefix,
        scope: ApiKeyScope::parse(&scope).unwrap_or(ApiKeyScope::Read),
        created_at: from_ms(created_at),
        last_used_at: last_used_at.map(from_ms),
        revoked_at: revoked_at.map(from_ms),
    }
}

async fn list_api_keys(
    State(state): State<AppState>,
    AdminOperator(actor): AdminOperator,
) -> Result<Json<Vec<ApiKey>>, ApiError> {
    let rows: Vec<ApiKeyRow> = sqlx::query_as(
        "SELECT id, name, token_prefix, scope, created_at, last_used_at, revoked_at FROM api_keys \
         WHERE organisation_id = $1 ORDER BY created_at DESC",
    )
    .bind(&actor.organisation_id)
    .fetch_all(state.db.pool())
    .await?;
    Ok(Json(rows.into_iter().map(api_key_from_row).collect()))
}

async fn create_api_key(
    State(state): State<AppState>,
    AdminOperator(actor): AdminOperator,
    Json(body): Json<NewApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    let name = body.name.trim().to_owned();
    let mut errors = FieldErrors::default();
    if name.is_empty() {
        errors.add(
            "name",
            "Name the key after what uses it, e.g. \"Billing sync\".",
        );
    } else if let Err(error) = DisplayName::parse(&name) {
        errors.add("name", error.to_string());
    }
    errors.finish()?;
    let secret = tokens::generate("glk_");
    let prefix: String = secret.chars().take(10).collect();
    let id = tokens::new_id("key");
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "INSERT INTO api_keys (id, organisation_id, name, token_hash, token_prefix, scope, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(&actor.organisation_id)
    .bind(&name)
    .bind(tokens::hash(&secret))
    .bind(&prefix)
    .bind(body.scope.as_str())
    .bind(actor.label())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    actor
        .audit(
            &mut tx,
            now,
            AuditAction::ApiKeyCreated,
            Some(Target::api_key(&id)),
            json!({"name": name, "scope": body.scope}),
        )
        .await?;
    tx.commit().await?;
    let api_key = ApiKey {
        id,
        name,
        prefix,
        scope: body.scope,
        created_at: from_ms(now),
        last_used_at: None,
        revoked_at: None,
    };
    Ok((StatusCode::CREATED, Json(CreatedApiKey { api_key, secret })))
}

async fn revoke_api_key(
    State(state): State<AppState>,
    AdminOperator(actor): AdminOperator,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    let revoked = sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND organisation_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(&id)
    .bind(&actor.organisation_id)
    .execute(&mut *tx)
    .await?;
    if revoked.rows_affected() == 0 {
        return Err(ApiError::NotFound("The API key"));
    }
    actor
        .audit(
            &mut tx,
            now,
            AuditAction::ApiKeyRevoked,
            Some(Target::api_key(&id)),
            json!({}),
        )
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
