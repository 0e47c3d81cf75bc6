//! `GET /api/v1/utilities/lifetimes`: per utility, the session token lives
//! observed in the last 180 days ([`crate::domain::lifetimes`]).

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use shared::credentials::UtilityLifetime;
use shared::routes;

use crate::domain::lifetimes;
use crate::http::auth::Actor;
use crate::http::error::ApiError;
use crate::http::extract::Json;
use crate::http::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(routes::v1::UTILITY_LIFETIMES, get(list_lifetimes))
}

async fn list_lifetimes(
    State(state): State<AppState>,
    _actor: Actor,
) -> Result<Json<Vec<UtilityLifetime>>, ApiError> {
    Ok(Json(lifetimes::statistics(&state).await?))
}
