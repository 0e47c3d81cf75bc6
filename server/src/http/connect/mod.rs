//! Connect: the end-user's flow (`/api/connect`, authenticated by a Connect
//! token) and the `/api/v1` endpoints that issue Connect tokens and update links.

mod bulk_links;
mod flow;
pub mod links;
mod recovery_alerts;
pub mod session;

use axum::routing::{get, post};
use axum::Router;
use shared::routes;

use crate::http::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::connect::SESSION, get(flow::read_session))
        .route(routes::connect::UTILITIES, get(flow::list_utilities))
        .route(routes::connect::CREDENTIALS, post(flow::submit_credentials))
        .route(routes::connect::RECONNECT, post(flow::reconnect))
        .route(routes::connect::PASSWORD, post(flow::submit_password))
        .route(routes::connect::MFA_METHOD, post(flow::choose_method))
        .route(routes::connect::MFA_RESEND, post(flow::resend_code))
        .route(routes::connect::MFA_CODE, post(flow::submit_code))
        .route(routes::connect::CONTACT, post(flow::choose_contact))
        .route(
            routes::connect::RECOVERY_ALERT,
            post(recovery_alerts::request_alert),
        )
        .merge(links::router())
        .merge(bulk_links::router())
}
