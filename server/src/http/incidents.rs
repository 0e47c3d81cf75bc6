//! `GET /api/v1/utility-incidents`: a utility's incidents as an organisation
//! sees them. The rules are in [`crate::domain::incidents`].

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use shared::credentials::UtilityIncident;
use shared::routes;

use crate::http::auth::Actor;
use crate::http::error::ApiError;
use crate::http::extract::{Json, Query};
use crate::http::state::AppState;
use crate::infra::clock::from_ms;
use crate::infra::store::Database;

pub fn router() -> Router<AppState> {
    Router::new().route(routes::v1::UTILITY_INCIDENTS, get(list_incidents))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListParams {
    state: Option<String>,
}

/// `GET /api/v1/utility-incidents?state=open|all`: the open incidents (the
/// default), or also those resolved in the last 30 days, newest first; each
/// with the organisation's own count of affected credentials.
async fn list_incidents(
    State(state): State<AppState>,
    actor: Actor,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<UtilityIncident>>, ApiError> {
    let include_resolved = match params.state.as_deref() {
        None | Some("" | "open") => false,
        Some("all") => true,
        Some(other) => {
            return Err(ApiError::invalid_field(
                "state",
                format!("{other:?} is not a state: use open or all."),
            ))
        }
    };
    let since = state.clock.now_ms() - 30 * 86_400_000;
    let rows: Vec<IncidentRow> = sqlx::query_as(
        "SELECT id, utility_id, failing_since, opened_at, resolved_at FROM utility_incidents \
         WHERE resolved_at IS NULL OR ($1 = 1 AND opened_at >= $2) ORDER BY opened_at DESC LIMIT 100",
    )
    .bind(i64::from(include_resolved))
    .bind(since)
    .fetch_all(state.db.pool())
    .await?;
    let mut incidents = Vec::with_capacity(rows.len());
    for (id, utility_id, failing_since, opened_at, resolved_at) in rows {
        let affected = affected_credentials(&state.db, &actor.organisation_id, &utility_id).await?;
        incidents.push(UtilityIncident {
            id,
            utility_name: state.utilities.name_of(&utility_id).await,
            utility_id,
            failing_since: from_ms(failing_since),
            opened_at: from_ms(opened_at),
            resolved_at: resolved_at.map(from_ms),
            affected_credentials: affected,
        });
    }
    Ok(Json(incidents))
}

/// id, utility_id, failing_since, opened_at, resolved_at
type IncidentRow = (String, String, i64, i64, Option<i64>);

async fn affected_credentials(
    db: &Database,
    organisation_id: &str,
    utility_id: &str,
) -> Result<u64, sqlx::Error> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM credentials WHERE organisation_id = $1 AND utility_id = $2 \
           AND deactivated_at IS NULL",
    )
    .bind(organisation_id)
    .bind(utility_id)
    .fetch_one(db.pool())
    .await?;
    Ok(count.max(0) as u64)
}
