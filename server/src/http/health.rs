//! `GET /api/health` (liveness: the process answers; it touches nothing) and
//! `GET /api/ready` (readiness: the database answers and accepts a write).
//! The write probe runs at most once a second per process whatever the
//! traffic ([`crate::http::readiness`]), so neither can be used to load the
//! database (case 48).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use shared::health::Health;
use shared::routes;

use crate::http::extract::Json;
use crate::http::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::system::HEALTH, get(check_liveness))
        .route(routes::system::READY, get(check_readiness))
}

fn health(state: &AppState, database: &str) -> Health {
    Health {
        status: if matches!(database, "ok" | "not checked") {
            "ok"
        } else {
            "degraded"
        }
        .to_owned(),
        database: database.to_owned(),
        database_kind: state.db.kind().as_str().to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        demo: state.settings.demo,
    }
}

/// Liveness: 200 while the process serves requests. The database is not
/// touched (`"not checked"`): a database outage must not get every replica
/// restarted by its supervisor.
async fn check_liveness(State(state): State<AppState>) -> Json<Health> {
    Json(health(&state, "not checked"))
}

/// Readiness: 200 when the database answers and accepts a write; 503 (with
/// the same body) otherwise, so load balancers take the replica out of rotation.
async fn check_readiness(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let database = state
        .readiness
        .database(&state.db, state.clock.now_ms())
        .await;
    let status = if database == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health(&state, database)))
}
