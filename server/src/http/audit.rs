//! The audit trail (`/api/v1/audit-events`), for admins and API keys:
//! newest first, narrowed by actor, action, target and time, paged by a
//! cursor; and the same as CSV (which is itself audited). What gets recorded
//! is [`crate::domain::audit`]'s.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use shared::audit::{AuditAction, AuditActorKind, AuditEvent, AuditEventPage};
use shared::routes;
use time::OffsetDateTime;

use crate::http::auth::{Actor, Principal};
use crate::http::credentials::listing::csv_response;
use crate::http::error::{ApiError, FieldErrors};
use crate::http::extract::{Json, Query};
use crate::http::state::AppState;
use crate::infra::clock::{from_ms, to_ms};
use crate::infra::store::sql::{Conditions, SqlValue};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::v1::AUDIT_EVENTS, get(list_events))
        .route(routes::v1::AUDIT_EVENTS_EXPORT, get(export_events))
}

/// Every API operation that records to the audit trail, and what it records.
/// The OpenAPI document shows it (`x-gridlink-audit`); a test checks that
/// every state-changing operation is here or in [`NOT_AUDITED`], and
/// `tests/audit.rs` that each action is really written.
pub const AUDITED: &[(&str, &str, &[AuditAction])] = {
    use AuditAction::*;
    &[
        ("/api/session", "post", &[SignInSucceeded, SignInFailed]),
        ("/api/session", "delete", &[SignedOut]),
        (
            "/api/session/second-factor",
            "post",
            &[SignInSucceeded, SignInFailed],
        ),
        ("/api/session/totp/confirm", "post", &[SecondFactorEnabled]),
        ("/api/session/totp/disable", "post", &[SecondFactorDisabled]),
        ("/api/session/passkeys", "post", &[PasskeyAdded]),
        (
            "/api/session/passkey",
            "post",
            &[SignInSucceeded, SignInFailed],
        ),
        ("/api/v1/sso", "put", &[SsoSettingsChanged]),
        ("/api/v1/sso", "delete", &[SsoSettingsRemoved]),
        (
            "/api/sso/callback",
            "get",
            &[SignInSucceeded, SignInFailed, OperatorInvited],
        ),
        ("/api/session/passkeys/{id}", "delete", &[PasskeyRemoved]),
        ("/api/session/sessions/{id}", "delete", &[SessionEnded]),
        ("/api/session/password", "post", &[PasswordChanged]),
        ("/api/password-reset", "post", &[PasswordResetRequested]),
        ("/api/password-reset/{token}", "post", &[PasswordReset]),
        ("/api/v1/operators", "post", &[OperatorInvited]),
        ("/api/v1/operators/{id}", "patch", &[OperatorRoleChanged]),
        ("/api/v1/operators/{id}", "delete", &[OperatorRemoved]),
        ("/api/v1/api-keys", "post", &[ApiKeyCreated]),
        ("/api/v1/api-keys/{id}", "delete", &[ApiKeyRevoked]),
        (
            "/api/v1/organisation",
            "put",
            &[OrganisationSettingsChanged],
        ),
        ("/api/v1/webhook-endpoint", "put", &[WebhookEndpointChanged]),
        (
            "/api/v1/webhook-endpoint",
            "delete",
            &[WebhookEndpointRemoved],
        ),
        (
            "/api/v1/webhook-endpoint/rotate-secret",
            "post",
            &[WebhookSecretRotated],
        ),
        ("/api/v1/webhook-endpoint/test", "post", &[WebhookTestSent]),
        (
            "/api/v1/webhook-deliveries/{id}/resend",
            "post",
            &[WebhookDeliveryResent],
        ),
        (
            "/api/v1/webhook-deliveries/replay",
            "post",
            &[WebhookDeliveriesReplayed],
        ),
        ("/api/v1/credentials", "post", &[CredentialCreated]),
        (
            "/api/v1/credentials/{id}",
            "patch",
            &[CredentialChanged, CredentialContactChanged],
        ),
        (
            "/api/v1/credentials/{id}",
            "delete",
            &[CredentialDeactivated],
        ),
        (
            "/api/v1/credentials/{id}/sync",
            "post",
            &[CredentialSyncRequested],
        ),
        (
            "/api/v1/credentials/export.csv",
            "get",
            &[CredentialsExported],
        ),
        ("/api/v1/connect-tokens", "post", &[ConnectTokenCreated]),
        (
            "/api/v1/credentials/{id}/connect-tokens",
            "post",
            &[MfaRetryStarted],
        ),
        (
            "/api/v1/credentials/{id}/update-links",
            "post",
            &[UpdateLinkCreated],
        ),
        (
            "/api/v1/credentials/{id}/update-links/{link_id}",
            "delete",
            &[UpdateLinkRevoked],
        ),
        (
            "/api/v1/update-links/bulk",
            "post",
            &[UpdateLinksBulkCreated],
        ),
        (
            "/api/v1/audit-events/export.csv",
            "get",
            &[AuditLogExported],
        ),
        ("/api/v1/adapters/refresh", "post", &[CatalogueRefreshed]),
        ("/api/connect/credentials", "post", &[CredentialCreated]),
        ("/api/connect/contact", "post", &[CredentialContactChanged]),
    ]
};

/// The state-changing operations that record nothing here, and why.
pub const NOT_AUDITED: &[(&str, &str, &str)] = &[
    (
        "/api/session/passkeys/registration",
        "post",
        "a challenge only; PASSKEY_ADDED records the passkey it registers",
    ),
    (
        "/api/session/passkey/challenge",
        "post",
        "a challenge only; signing in with its answer records the sign-in",
    ),
    (
        "/api/session/second-factor/passkey",
        "post",
        "a challenge only; the second step records the sign-in it ends",
    ),
    (
        "/api/session/totp",
        "post",
        "an unconfirmed secret only; SECOND_FACTOR_ENABLED records its confirmation",
    ),
    (
        "/api/connect/reconnect",
        "post",
        "an end-user's verification step; the credential's timeline records it",
    ),
    (
        "/api/connect/password",
        "post",
        "an end-user's verification step; the credential's timeline records it",
    ),
    (
        "/api/connect/mfa/method",
        "post",
        "an end-user's verification step; the credential's timeline records it",
    ),
    (
        "/api/connect/mfa/resend",
        "post",
        "an end-user's verification step; the credential's timeline records it",
    ),
    (
        "/api/connect/mfa/code",
        "post",
        "an end-user's verification step; the credential's timeline records it",
    ),
    (
        "/api/unsubscribe/{token}",
        "post",
        "an end-user's own mail preference, kept with the address",
    ),
    (
        "/api/connect/recovery-alert",
        "post",
        "an end-user's own request for one mail, kept with the address until it is sent",
    ),
];

/// The actions written outside the HTTP API (the command line).
pub const RECORDED_BY_THE_CLI: &[AuditAction] = &[
    AuditAction::OrganisationCreated,
    AuditAction::MasterKeyRotated,
];

/// The most records one CSV export holds; more asks for a narrower range.
const MAX_EXPORT_ROWS: usize = 100_000;

/// What [`parse_cursor`] accepts, for the OpenAPI document.
pub const CURSOR_PATTERN: &str = "^[0-9]{1,15}\\.aud_[0-9a-f]{32}$";

/// Admins and API keys read the trail; members do not.
fn may_read(actor: &Actor) -> Result<(), ApiError> {
    if actor.is_admin() || matches!(actor.principal, Principal::ApiKey { .. }) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "Only an admin (or an API key) can read the audit log.",
        ))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AuditQuery {
    /// An operator's email or id, or an API key's name or id.
    actor: Option<String>,
    actor_kind: Option<String>,
    action: Option<String>,
    /// The id of what was acted on (a credential, operator, API key…).
    target: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
    limit: Option<u32>,
}

/// The filters, checked: the conditions on `audit_events` they make.
fn conditions(query: &AuditQuery, organisation_id: &str) -> Result<Conditions, ApiError> {
    let mut errors = FieldErrors::default();
    let mut conditions = Conditions::default();
    // What concerns the whole deployment (rotate-key) is every organisation's.
    let organisation = conditions.param(SqlValue::Text(organisation_id.to_owned()));
    conditions.push(format!(
        "(organisation_id = {organisation} OR organisation_id IS NULL)"
    ));
    let given = |value: &Option<String>| value.clone().filter(|value| !value.is_empty());
    if let Some(actor) = given(&query.actor) {
        let actor = conditions.param(SqlValue::Text(actor));
        conditions.push(format!("(actor_id = {actor} OR actor_name = {actor})"));
    }
    if let Some(kind) = given(&query.actor_kind) {
        match AuditActorKind::parse(&kind) {
            Some(kind) => conditions.equals("actor_kind", SqlValue::Text(kind.as_str().into())),
            None => errors.add(
                "actorKind",
                "OPERATOR, API_KEY, END_USER, ANONYMOUS, CLI or SYSTEM.",
            ),
        }
    }
    if let Some(action) = given(&query.action) {
        match AuditAction::parse(&action) {
            Some(action) => conditions.equals("action", SqlValue::Text(action.as_str().into())),
            None => errors.add("action", "Not an action the audit log records."),
        }
    }
    if let Some(target) = given(&query.target) {
        conditions.equals("target_id", SqlValue::Text(target));
    }
    for (field, value, operator) in [("from", &query.from, ">="), ("to", &query.to, "<")] {
        let Some(value) = given(value) else { continue };
        match OffsetDateTime::parse(&value, &time::format_description::well_known::Rfc3339) {
            Ok(moment) => {
                let at = conditions.param(SqlValue::Int(to_ms(moment)));
                conditions.push(format!("occurred_at {operator} {at}"));
            }
            Err(_) => errors.add(field, "Give a time like 2026-11-28T13:00:00Z."),
        }
    }
    if let Some(cursor) = given(&query.before) {
        match parse_cursor(&cursor) {
            Some((occurred_at, id)) => {
                let at = conditions.param(SqlValue::Int(occurred_at));
                let id = conditions.param(SqlValue::Text(id));
                conditions.push(format!(
                    "(occurred_at < {at} OR (occurred_at = {at} AND id < {id}))"
                ));
            }
            None => errors.add("before", "Use the nextCursor of the previous page."),
        }
    }
    errors.finish()?;
    Ok(conditions)
}

/// `nextCursor`: `OCCURRED_AT_MS.aud_HEX` (see [`CURSOR_PATTERN`]).
fn parse_cursor(cursor: &str) -> Option<(i64, String)> {
    let (occurred_at, id) = cursor.split_once('.')?;
    let hex = id.strip_prefix("aud_")?;
    let valid = (1..=15).contains(&occurred_at.len())
        && occurred_at.bytes().all(|byte| byte.is_ascii_digit())
        && hex.len() == 32
        && hex
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'));
    valid.then(|| Some((occurred_at.parse().ok()?, id.to_owned())))?
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: String,
    occurred_at: i64,
    action: String,
    actor_kind: String,
    actor_id: Option<String>,
    actor_name: String,
    client: String,
    user_agent: String,
    target_kind: Option<String>,
    target_id: Option<String>,
    details: String,
}

const COLUMNS: &str = "id, occurred_at, action, actor_kind, actor_id, actor_name, client, \
    user_agent, target_kind, target_id, details";

fn event_from_row(row: AuditRow) -> Option<AuditEvent> {
    Some(AuditEvent {
        id: row.id,
        occurred_at: from_ms(row.occurred_at),
        // A record written by a newer Gridlink with an action this one does
        // not know is left out rather than misnamed.
        action: AuditAction::parse(&row.action)?,
        actor_kind: AuditActorKind::parse(&row.actor_kind)?,
        actor_id: row.actor_id,
        actor_name: row.actor_name,
        client: row.client,
        user_agent: row.user_agent,
        target_kind: row.target_kind,
        target_id: row.target_id,
        details: serde_json::from_str(&row.details).unwrap_or_default(),
    })
}

async fn select(
    state: &AppState,
    conditions: &Conditions,
    limit: usize,
) -> Result<Vec<AuditRow>, ApiError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_events WHERE {} ORDER BY occurred_at DESC, id DESC LIMIT {limit}",
        conditions.sql()
    );
    Ok(conditions
        .bind_as(sqlx::query_as::<_, AuditRow>(&sql))
        .fetch_all(state.db.pool())
        .await?)
}

/// Newest first, 50 a page by default (at most 200).
async fn list_events(
    State(state): State<AppState>,
    actor: Actor,
    Query(query): Query<AuditQuery>,
) -> Result<Json<AuditEventPage>, ApiError> {
    may_read(&actor)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            "A page holds from 1 to 200 events.",
        ));
    }
    let conditions = conditions(&query, &actor.organisation_id)?;
    let mut rows = select(&state, &conditions, limit as usize + 1).await?;
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last()
            .map(|row| format!("{}.{}", row.occurred_at, row.id))
    } else {
        None
    };
    Ok(Json(AuditEventPage {
        events: rows.into_iter().filter_map(event_from_row).collect(),
        next_cursor,
    }))
}

/// The records matching the filters as CSV, newest first; the export is
/// itself recorded.
async fn export_events(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(raw_query): RawQuery,
    Query(query): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    may_read(&actor)?;
    if query.before.is_some() || query.limit.is_some() {
        return Err(ApiError::invalid_field(
            "before",
            "An export holds every matching record: narrow it with from and to instead of before or limit.",
        ));
    }
    let conditions = conditions(&query, &actor.organisation_id)?;
    let rows = select(&state, &conditions, MAX_EXPORT_ROWS + 1).await?;
    if rows.len() > MAX_EXPORT_ROWS {
        return Err(ApiError::invalid_field(
            "from",
            format!("More than {MAX_EXPORT_ROWS} records match: narrow the time range."),
        ));
    }
    let mut tx = state.db.begin_write().await?;
    actor
        .audit(
            &mut tx,
            state.clock.now_ms(),
            AuditAction::AuditLogExported,
            None,
            serde_json::json!({ "rows": rows.len(), "filters": raw_query.as_deref().unwrap_or("") }),
        )
        .await?;
    tx.commit().await?;
    let mut csv = crate::infra::csv::line([
        "occurredAt",
        "action",
        "actorKind",
        "actorId",
        "actorName",
        "client",
        "userAgent",
        "targetKind",
        "targetId",
        "details",
    ]);
    for row in rows {
        csv.push_str(&crate::infra::csv::line([
            crate::domain::webhooks::outbox::rfc3339(row.occurred_at).as_str(),
            row.action.as_str(),
            row.actor_kind.as_str(),
            row.actor_id.as_deref().unwrap_or_default(),
            row.actor_name.as_str(),
            row.client.as_str(),
            row.user_agent.as_str(),
            row.target_kind.as_deref().unwrap_or_default(),
            row.target_id.as_deref().unwrap_or_default(),
            row.details.as_str(),
        ]));
    }
    Ok(csv_response(csv, "audit-log.csv"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_is_a_time_and_an_audit_id() {
        let id = format!("aud_{}", "0a".repeat(16));
        assert_eq!(
            parse_cursor(&format!("1700000000000.{id}")),
            Some((1_700_000_000_000, id.clone()))
        );
        for bad in [
            "",
            "1700000000000",
            "x.aud_00",
            "1700000000000.msg_00",
            &format!("1700000000000.{id}'--"),
            &format!("12345678901234567.{id}"),
        ] {
            assert_eq!(parse_cursor(bad), None, "{bad}");
        }
    }
}
