//! How well refresh notices work (the overview's funnel): over the last 30
//! days, the credentials whose end-user was mailed, how many of those opened
//! the link, how many went on past its first screen (a mail scanner opens
//! links too, and stops there), how many were repaired within 72 hours; and, for every repair,
//! the median time from needing a refresh to working again.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use shared::credentials::RefreshFunnel;
use shared::routes;

use crate::http::auth::Actor;
use crate::http::error::ApiError;
use crate::http::extract::Json;
use crate::http::state::AppState;
use crate::infra::clock::from_ms;

const PERIOD_MS: i64 = 30 * 24 * 60 * 60 * 1000;
const REPAIR_WINDOW_MS: i64 = 72 * 60 * 60 * 1000;

pub fn router() -> Router<AppState> {
    Router::new().route(routes::v1::NOTICE_FUNNEL, get(funnel))
}

async fn funnel(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<RefreshFunnel>, ApiError> {
    let since = state.clock.now_ms() - PERIOD_MS;
    let (sent, opened, continued, repaired): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), \
                COALESCE(SUM(CASE WHEN s.first_opened_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
                COALESCE(SUM(CASE WHEN s.first_continued_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
                COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM credential_events e \
                      WHERE e.credential_id = n.credential_id AND e.kind = 'CREDENTIAL_REPAIRED' \
                        AND e.created_at >= n.started_at AND e.created_at <= n.started_at + $3) \
                    THEN 1 ELSE 0 END), 0) \
           FROM end_user_notices n JOIN connect_sessions s ON s.id = n.link_session_id \
          WHERE n.organisation_id = $1 AND n.started_at >= $2",
    )
    .bind(&actor.organisation_id)
    .bind(since)
    .bind(REPAIR_WINDOW_MS)
    .fetch_one(state.db.pool())
    .await?;
    let waits: Vec<(Option<i64>,)> = sqlx::query_as(
        "SELECT r.created_at - (SELECT MAX(e.created_at) FROM credential_events e \
                  WHERE e.credential_id = r.credential_id \
                    AND e.to_detail = 'MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED' \
                    AND e.created_at <= r.created_at) \
           FROM credential_events r \
          WHERE r.organisation_id = $1 AND r.kind = 'CREDENTIAL_REPAIRED' AND r.created_at >= $2",
    )
    .bind(&actor.organisation_id)
    .bind(since)
    .fetch_all(state.db.pool())
    .await?;
    let mut waits: Vec<i64> = waits.into_iter().filter_map(|(wait,)| wait).collect();
    waits.sort_unstable();
    let median_hours_to_repair = match waits.len() {
        0 => None,
        n if n % 2 == 1 => Some(waits[n / 2] as f64),
        n => Some((waits[n / 2 - 1] + waits[n / 2]) as f64 / 2.0),
    }
    .map(|ms| ms / 3_600_000.0);
    Ok(Json(RefreshFunnel {
        since: from_ms(since),
        notices_sent: sent.max(0) as u64,
        links_opened: opened.max(0) as u64,
        links_continued: continued.max(0) as u64,
        repaired_within_72h: repaired.max(0) as u64,
        median_hours_to_repair,
        repairs: waits.len() as u64,
    }))
}
