//! Reading many credentials at once: the filtered, sorted, paginated list,
//! the counts per status, the expiry forecast, and the latest events.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use shared::audit::AuditAction;
use shared::credentials::{
    CredentialCounts, CredentialPage, ExpiryForecast, OrganisationEvent, StatusCount,
    StatusDetailCount, CREDENTIAL_SORTS,
};
use shared::routes;
use shared::{Status, StatusDetail};

use crate::domain::credentials::counts;
use crate::domain::credentials::store::{self, ListQuery};
use crate::http::auth::Actor;
use crate::http::error::{ApiError, FieldErrors};
use crate::http::extract::{Json, Query};
use crate::http::state::AppState;

/// The list routes; `create_credential` shares `/v1/credentials` through [`super::router`].
pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::v1::CREDENTIAL_COUNTS, get(count_credentials))
        .route(routes::v1::CREDENTIALS_EXPORT, get(export_credentials))
        .route(routes::v1::CREDENTIAL_EXPIRIES, get(forecast_expiries))
        .route(routes::v1::EVENTS, get(latest_events))
}

/// `GET /v1/credentials`, merged with `POST` in [`super::router`].
pub fn list_route() -> axum::routing::MethodRouter<AppState> {
    get(list_credentials)
}

/// The list's query parameters, as sent (also read by the CSV export and the
/// bulk update links, which take the same filters).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListParams {
    status: Option<String>,
    status_detail: Option<String>,
    utility_id: Option<String>,
    correlation_id: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    page: Option<String>,
    page_size: Option<String>,
    include_deactivated: Option<bool>,
    stale: Option<bool>,
}

const MAX_PAGE_SIZE: u32 = 100;

pub fn parse_list_params(params: ListParams) -> Result<ListQuery, ApiError> {
    let mut errors = FieldErrors::default();
    let mut details: Option<Vec<StatusDetail>> = None;
    if let Some(list) = params
        .status_detail
        .as_deref()
        .filter(|list| !list.is_empty())
    {
        let listed = details.insert(Vec::new());
        for name in list.split(',') {
            match StatusDetail::parse(name) {
                Some(detail) => listed.push(detail),
                None => errors.add("statusDetail", format!("{name:?} is not a status detail.")),
            }
        }
    }
    if let Some(name) = params.status.as_deref().filter(|name| !name.is_empty()) {
        let status = match name {
            "CONNECTION_IN_PROGRESS" => Some(Status::ConnectionInProgress),
            "CONNECTION_SUCCESS" => Some(Status::ConnectionSuccess),
            "CONNECTION_FAILURE" => Some(Status::ConnectionFailure),
            _ => None,
        };
        match status {
            Some(status) => {
                let of_status: Vec<StatusDetail> = StatusDetail::ALL
                    .into_iter()
                    .filter(|detail| detail.status() == status)
                    .collect();
                // Both filters hold: details of another status match nothing.
                match &mut details {
                    None => details = Some(of_status),
                    Some(listed) => listed.retain(|detail| of_status.contains(detail)),
                }
            }
            None => errors.add("status", format!("{name:?} is not a status.")),
        }
    }
    let sort = {
        let sort = params
            .sort
            .as_deref()
            .filter(|sort| !sort.is_empty())
            .unwrap_or("-createdAt");
        let (descending, name) = sort
            .strip_prefix('-')
            .map_or((false, sort), |name| (true, name));
        let column = match name {
            "createdAt" => Some("created_at"),
            "username" => Some("username"),
            "utilityId" => Some("utility_id"),
            "statusDetail" => Some("status_detail"),
            "tokenExpiresAt" => Some("token_expires_at"),
            _ => None,
        };
        match column {
            Some(column) => (column, descending),
            None => {
                errors.add(
                    "sort",
                    format!(
                        "Sort by one of {} (prefix - to reverse).",
                        CREDENTIAL_SORTS.join(", ")
                    ),
                );
                ("created_at", true)
            }
        }
    };
    let page = match params.page.as_deref().map(str::parse::<u32>) {
        None => 1,
        Some(Ok(page)) if page >= 1 => page,
        Some(_) => {
            errors.add("page", "The page is a whole number from 1.");
            1
        }
    };
    let page_size = match params.page_size.as_deref().map(str::parse::<u32>) {
        None => 25,
        Some(Ok(size)) if (1..=MAX_PAGE_SIZE).contains(&size) => size,
        Some(_) => {
            errors.add("pageSize", "The page size is a whole number from 1 to 100.");
            25
        }
    };
    let q = params
        .q
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty());
    if q.as_ref().is_some_and(|q| q.chars().count() > 128) {
        errors.add("q", "Search for at most 128 characters.");
    }
    // A NUL ends SQLite's full-text phrase early (case 51); no username holds
    // a control character, so such a search is a mistake worth saying so.
    if q.as_ref().is_some_and(|q| q.chars().any(char::is_control)) {
        errors.add("q", "Search text cannot hold control characters.");
    }
    errors.finish()?;
    Ok(ListQuery {
        status_details: details,
        utility_id: params.utility_id.filter(|id| !id.is_empty()),
        correlation_id: params.correlation_id.filter(|id| !id.is_empty()),
        username_contains: q,
        include_deactivated: params.include_deactivated.unwrap_or(false),
        stale: params.stale,
        sort,
        page,
        page_size,
    })
}

async fn list_credentials(
    State(state): State<AppState>,
    actor: Actor,
    Query(params): Query<ListParams>,
) -> Result<Json<CredentialPage>, ApiError> {
    let query = parse_list_params(params)?;
    let (items, total) = store::list(&state.db, &actor.organisation_id, &query).await?;
    Ok(Json(CredentialPage {
        items,
        page: query.page,
        page_size: query.page_size,
        total,
    }))
}

/// The most rows one export or one bulk request handles; more asks for narrower filters.
pub const MAX_ROWS_AT_ONCE: usize = 50_000;

/// The credentials matching the list's filters as CSV, for a spreadsheet
/// (contact emails masked, as in the list).
async fn export_credentials(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(raw_query): RawQuery,
    Query(params): Query<ListParams>,
) -> Result<axum::response::Response, ApiError> {
    let query = parse_list_params(params)?;
    let rows = store::every_match(&state.db, &actor.organisation_id, &query, MAX_ROWS_AT_ONCE)
        .await?
        .ok_or_else(too_many)?;
    let mut tx = state.db.begin_write().await?;
    actor
        .audit(
            &mut tx,
            state.clock.now_ms(),
            AuditAction::CredentialsExported,
            None,
            serde_json::json!({ "rows": rows.len(), "filters": raw_query.as_deref().unwrap_or("") }),
        )
        .await?;
    tx.commit().await?;
    let time = |ms: Option<i64>| {
        ms.map(crate::domain::webhooks::outbox::rfc3339)
            .unwrap_or_default()
    };
    let mut csv = crate::infra::csv::line([
        "credentialId",
        "correlationId",
        "utilityId",
        "username",
        "status",
        "statusDetail",
        "tokenExpiresAt",
        "lastSyncedAt",
        "contactEmail",
        "createdAt",
        "deactivatedAt",
    ]);
    for row in &rows {
        let contact = row
            .contact_email
            .as_deref()
            .map(shared::validation::mask_email);
        csv.push_str(&crate::infra::csv::line([
            row.id.as_str(),
            row.correlation_id.as_deref().unwrap_or_default(),
            row.utility_id.as_str(),
            row.username.as_str(),
            row.status_detail.status().as_str(),
            row.status_detail.as_str(),
            &time(row.token_expires_at),
            &time(row.last_synced_at),
            contact.as_deref().unwrap_or_default(),
            &time(Some(row.created_at)),
            &time(row.deactivated_at),
        ]));
    }
    Ok(csv_response(csv, "credentials.csv"))
}

/// A CSV answer the browser saves as `file_name`.
pub fn csv_response(csv: String, file_name: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        csv,
    )
        .into_response()
}

/// More credentials match than one request handles.
pub fn too_many() -> ApiError {
    ApiError::invalid_field(
        "filters",
        format!("More than {MAX_ROWS_AT_ONCE} credentials match: narrow the filters (by utility, status or search)."),
    )
}

async fn count_credentials(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<CredentialCounts>, ApiError> {
    let counts = counts::by_detail(&state.db, &actor.organisation_id).await?;
    let stale = store::count_stale(&state.db, &actor.organisation_id).await?;
    let count_of = |detail: StatusDetail| {
        counts
            .iter()
            .find(|(d, _)| *d == detail)
            .map_or(0, |(_, n)| *n)
    };
    let by_status_detail: Vec<StatusDetailCount> = StatusDetail::ALL
        .into_iter()
        .map(|status_detail| StatusDetailCount {
            status_detail,
            count: count_of(status_detail),
        })
        .collect();
    let by_status = [
        Status::ConnectionInProgress,
        Status::ConnectionSuccess,
        Status::ConnectionFailure,
    ]
    .into_iter()
    .map(|status| StatusCount {
        status,
        count: by_status_detail
            .iter()
            .filter(|c| c.status_detail.status() == status)
            .map(|c| c.count)
            .sum(),
    })
    .collect();
    Ok(Json(CredentialCounts {
        total: by_status_detail.iter().map(|c| c.count).sum(),
        stale,
        by_status,
        by_status_detail,
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ForecastParams {
    days: Option<String>,
}

/// Connected credentials whose tokens expire in each of the next `days` days.
async fn forecast_expiries(
    State(state): State<AppState>,
    actor: Actor,
    Query(params): Query<ForecastParams>,
) -> Result<Json<ExpiryForecast>, ApiError> {
    let days = match params.days.as_deref().map(str::parse::<u32>) {
        None => 90,
        Some(Ok(days)) if (1..=366).contains(&days) => days,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "days",
                "The number of days is from 1 to 366.",
            ))
        }
    };
    let now = state.clock.now_ms();
    let day_ms: i64 = 86_400_000;
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT (token_expires_at - $1) / $2 AS day, COUNT(*) FROM credentials \
         WHERE organisation_id = $3 AND status_detail = 'LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL' \
           AND deactivated_at IS NULL AND token_expires_at >= $1 AND token_expires_at < $4 \
         GROUP BY day",
    )
    .bind(now)
    .bind(day_ms)
    .bind(&actor.organisation_id)
    .bind(now + i64::from(days) * day_ms)
    .fetch_all(state.db.pool())
    .await?;
    let mut per_day = vec![0u64; days as usize];
    for (day, count) in rows {
        if let Some(slot) = usize::try_from(day)
            .ok()
            .and_then(|day| per_day.get_mut(day))
        {
            *slot = count.max(0) as u64;
        }
    }
    Ok(Json(ExpiryForecast {
        from: crate::infra::clock::from_ms(now),
        per_day,
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EventParams {
    limit: Option<String>,
}

/// The organisation's latest events, newest first.
async fn latest_events(
    State(state): State<AppState>,
    actor: Actor,
    Query(params): Query<EventParams>,
) -> Result<Json<Vec<OrganisationEvent>>, ApiError> {
    let limit = match params.limit.as_deref().map(str::parse::<u32>) {
        None => 20,
        Some(Ok(limit)) if (1..=100).contains(&limit) => limit,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "limit",
                "The limit is from 1 to 100.",
            ))
        }
    };
    Ok(Json(
        store::latest_events(&state.db, &actor.organisation_id, limit).await?,
    ))
}
