//! "Generate update links for all N credentials that need a refresh":
//! `POST /api/v1/update-links/bulk` with the credential list's filters (as
//! query parameters). One new 72-hour link per active credential, replacing
//! its older ones, answered as JSON or — with `Accept: text/csv` — as CSV
//! (`credentialId, correlationId, utility, username, link, expiresAt`) to
//! mail-merge or upload elsewhere. Links are made in transactions of
//! [`BATCH`], so a failure part-way leaves whole batches done and says so.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::Serialize;
use shared::audit::AuditAction;
use shared::routes;

use super::links::issue_update_link;
use crate::domain::credentials::store;
use crate::http::auth::Actor;
use crate::http::credentials::listing::{
    csv_response, parse_list_params, too_many, ListParams, MAX_ROWS_AT_ONCE,
};
use crate::http::error::ApiError;
use crate::http::extract::{Json, Query};
use crate::http::state::AppState;

/// Links made per transaction.
const BATCH: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new().route(routes::v1::UPDATE_LINKS_BULK, post(create_bulk_links))
}

/// One credential's new link.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BulkLink {
    credential_id: String,
    correlation_id: Option<String>,
    utility_id: String,
    username: String,
    link: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: time::OffsetDateTime,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BulkLinks {
    count: usize,
    links: Vec<BulkLink>,
}

async fn create_bulk_links(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    RawQuery(raw_query): RawQuery,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let mut query = parse_list_params(params)?;
    // A deactivated credential can get no link: never part of a bulk request.
    query.include_deactivated = false;
    let rows = store::every_match(&state.db, &actor.organisation_id, &query, MAX_ROWS_AT_ONCE)
        .await?
        .ok_or_else(too_many)?;
    let label = actor.label();
    let mut links = Vec::with_capacity(rows.len());
    for batch in rows.chunks(BATCH) {
        let now = state.clock.now_ms();
        let mut tx = state.db.begin_write().await?;
        for credential in batch {
            let token = issue_update_link(&mut tx, &state, credential, &label, now).await?;
            links.push(BulkLink {
                credential_id: credential.id.clone(),
                correlation_id: credential.correlation_id.clone(),
                utility_id: credential.utility_id.clone(),
                username: credential.username.clone(),
                link: token.url,
                expires_at: token.expires_at,
            });
        }
        // One record per transaction: each batch's links and its record land together.
        actor
            .audit(
                &mut tx,
                now,
                AuditAction::UpdateLinksBulkCreated,
                None,
                serde_json::json!({
                    "links": batch.len(),
                    "filters": raw_query.as_deref().unwrap_or(""),
                }),
            )
            .await?;
        tx.commit().await?;
    }
    tracing::info!(
        count = links.len(),
        actor = label,
        "bulk update links generated"
    );
    if wants_csv(&headers) {
        let mut csv = crate::infra::csv::line([
            "credentialId",
            "correlationId",
            "utility",
            "username",
            "link",
            "expiresAt",
        ]);
        for link in &links {
            csv.push_str(&crate::infra::csv::line([
                link.credential_id.as_str(),
                link.correlation_id.as_deref().unwrap_or_default(),
                link.utility_id.as_str(),
                link.username.as_str(),
                link.link.as_str(),
                &crate::domain::webhooks::outbox::rfc3339(crate::infra::clock::to_ms(
                    link.expires_at,
                )),
            ]));
        }
        let mut response = csv_response(csv, "update-links.csv");
        *response.status_mut() = StatusCode::CREATED;
        return Ok(response);
    }
    Ok((
        StatusCode::CREATED,
        Json(BulkLinks {
            count: links.len(),
            links,
        }),
    )
        .into_response())
}

/// Whether the caller asked for CSV rather than JSON.
fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/csv"))
}
