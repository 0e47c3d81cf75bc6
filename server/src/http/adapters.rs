//! `GET /api/v1/adapters`: each utility adapter, its utilities, and how it is
//! doing (its last catalogue refresh, and the last hour's calls and
//! failures), for the Settings → Utilities page. Adapters are configured by
//! file (`GRIDLINK_ADAPTERS`), so this is read-only; and they serve every
//! organisation of the deployment, so their addresses and error texts stay
//! in the server's log (case 46).

use shared::routes;
use std::collections::HashMap;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use shared::connect::Utility;
use shared::credentials::AdapterHealth;

use crate::http::auth::{Actor, AdminOperator};
use crate::http::error::ApiError;
use crate::http::extract::Json;
use crate::http::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::v1::ADAPTERS, get(list_adapters))
        .route(routes::v1::ADAPTERS_REFRESH, post(refresh_adapters))
}

/// `POST /api/v1/adapters/refresh` (admins): reads every adapter's catalogue
/// now, rather than within the next minutes; answers the adapters as GET does.
async fn refresh_adapters(
    State(state): State<AppState>,
    AdminOperator(actor): AdminOperator,
) -> Result<Json<Vec<AdapterHealth>>, ApiError> {
    // Every organisation's admin can ask, and each refresh calls every
    // adapter that serves all of them: a few, then one every ten seconds.
    if let Err(retry_after) = state.rate_limits.catalogue_refresh(&actor.organisation_id) {
        return Err(ApiError::rate_limited(
            "The catalogues were read a moment ago. Try again in a few seconds.",
            retry_after,
        ));
    }
    let refreshed = state.utilities.refresh().await;
    if let Err(error) = &refreshed {
        // Each adapter's own error is in the answer; none answering is not a failure of this call.
        tracing::warn!(%error, "no adapter answered a catalogue refresh");
    }
    let mut tx = state.db.begin_write().await?;
    actor
        .audit(
            &mut tx,
            state.clock.now_ms(),
            shared::audit::AuditAction::CatalogueRefreshed,
            None,
            serde_json::json!({ "answered": refreshed.is_ok() }),
        )
        .await?;
    tx.commit().await?;
    list_adapters(State(state), actor).await
}

const HOUR_MS: i64 = 60 * 60_000;

async fn list_adapters(
    State(state): State<AppState>,
    _actor: Actor,
) -> Result<Json<Vec<AdapterHealth>>, ApiError> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT utility_id, CAST(SUM(calls) AS BIGINT), CAST(SUM(failures) AS BIGINT) \
         FROM utility_call_tallies WHERE minute >= $1 GROUP BY utility_id",
    )
    .bind(state.clock.now_ms() - HOUR_MS)
    .fetch_all(state.db.pool())
    .await?;
    let by_utility: HashMap<String, (i64, i64)> = rows
        .into_iter()
        .map(|(utility, calls, failures)| (utility, (calls, failures)))
        .collect();
    let adapters = state
        .adapters
        .views()
        .into_iter()
        .map(|adapter| {
            let (calls, failures) = adapter
                .utilities
                .iter()
                .filter_map(|utility| by_utility.get(&utility.id))
                .fold((0, 0), |(calls, failures), (c, f)| {
                    (calls + c, failures + f)
                });
            AdapterHealth {
                name: adapter.name,
                signed: adapter.signed,
                utilities: adapter
                    .utilities
                    .into_iter()
                    .map(|utility| Utility {
                        id: utility.id,
                        name: utility.name,
                        trouble_since: None,
                    })
                    .collect(),
                last_refresh_at: adapter.refresh.last_success,
                last_refresh_failed: adapter.refresh.last_error.is_some(),
                calls_last_hour: calls.max(0) as u64,
                failures_last_hour: failures.max(0) as u64,
            }
        })
        .collect();
    Ok(Json(adapters))
}
