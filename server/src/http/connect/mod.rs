//! Connect: the end-user's flow (`/api/connect`, authenticated by a Connect
//! token) and the `/api/v1` endpoints that issue Connect tokens and update links.

mod bulk_links;
mod flow;
pub mod links;
pub mod session;

use axum::routing::{get, post};
use axum::Router;

use crate::http::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/connect/session", get(flow::read_session))
        .route("/connect/utilities", get(flow::list_utilities))
        .route("/connect/credentials", post(flow::submit_credentials))
        .route("/connect/reconnect", post(flow::reconnect))
        .route("/connect/password", post(flow::submit_password))
        .route("/connect/mfa/method", post(flow::choose_method))
        .route("/connect/mfa/resend", post(flow::resend_code))
        .route("/connect/mfa/code", post(flow::submit_code))
        .route("/connect/contact", post(flow::choose_contact))
        .merge(links::router())
        .merge(bulk_links::router())
}
