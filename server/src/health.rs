//! `GET /api/health`: is the server up, and does the database answer?

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use shared::health::Health;

use crate::extract::Json;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(check_health))
}

/// 200 when every check passed; 503 (with the same body) when the database is
/// down or refuses writes, so load balancers take the replica out of rotation.
async fn check_health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let database = match state.db.ping().await {
        Err(error) => {
            tracing::warn!(
                error = format!("{error:#}"),
                "health check: database unreachable"
            );
            "unreachable"
        }
        Ok(()) => match state.db.probe_write(state.clock.now_ms()).await {
            Ok(()) => "ok",
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "health check: database not writable"
                );
                "not writable"
            }
        },
    };
    let healthy = database == "ok";
    let health = Health {
        status: if healthy { "ok" } else { "degraded" }.to_owned(),
        database: database.to_owned(),
        database_kind: state.db.kind().as_str().to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        demo: state.settings.demo,
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health))
}
