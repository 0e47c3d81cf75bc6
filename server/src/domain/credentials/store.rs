//! Reading credentials: the row, its conversion to the API shape, the
//! filtered and paginated list, and the counts.

use shared::credentials::{Credential, CredentialEvent, OrganisationEvent, Owner};
use shared::i18n::Language;
use shared::validation::mask_email;
use shared::{CredentialStatus, StatusDetail};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::counts::{self, detail_clause};
use crate::domain::error::DomainError;
use crate::infra::clock::from_ms;
use crate::infra::store::sql::{Conditions, SqlValue};
use crate::infra::store::{Database, DatabaseKind};

/// The columns [`CredentialRow::from_row`] reads.
pub const COLUMNS: &str =
    "id, organisation_id, utility_id, username, correlation_id, owner, status_detail, \
     failure_message, token_expires_at, last_synced_at, next_sync_at, created_at, updated_at, deactivated_at, \
     mfa_challenge_id, mfa_options, mfa_method, mfa_destination, mfa_code_expires_at, mfa_sends, \
     mfa_wrong_codes, mfa_last_activity_at, stale_since, contact_email, contact_language, \
     token_expiry_predicted, token_idle_timeout_ms";

/// [`COLUMNS`] of `credentials` aliased `alias`, for a join.
pub fn columns_of(alias: &str) -> String {
    COLUMNS
        .split(',')
        .map(|column| format!("{alias}.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A credential row without its secrets (those are read only where used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRow {
    pub id: String,
    pub organisation_id: String,
    pub utility_id: String,
    pub username: String,
    pub correlation_id: Option<String>,
    pub owner: Owner,
    pub status_detail: StatusDetail,
    pub failure_message: Option<String>,
    pub token_expires_at: Option<i64>,
    pub last_synced_at: Option<i64>,
    pub next_sync_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deactivated_at: Option<i64>,
    pub mfa_challenge_id: Option<String>,
    pub mfa_options: Option<String>,
    pub mfa_method: Option<String>,
    pub mfa_destination: Option<String>,
    pub mfa_code_expires_at: Option<i64>,
    pub mfa_sends: i64,
    pub mfa_wrong_codes: i64,
    pub mfa_last_activity_at: Option<i64>,
    pub stale_since: Option<i64>,
    pub contact_email: Option<String>,
    pub contact_language: Option<Language>,
    pub token_expiry_predicted: bool,
    /// How long the token survives unused, when the utility stated it.
    pub token_idle_timeout_ms: Option<i64>,
}

impl CredentialRow {
    pub fn from_row(row: &AnyRow) -> Result<CredentialRow, sqlx::Error> {
        let detail: String = row.try_get("status_detail")?;
        let owner: String = row.try_get("owner")?;
        Ok(CredentialRow {
            id: row.try_get("id")?,
            organisation_id: row.try_get("organisation_id")?,
            utility_id: row.try_get("utility_id")?,
            username: row.try_get("username")?,
            correlation_id: row.try_get("correlation_id")?,
            owner: Owner::parse(&owner).unwrap_or_default(),
            status_detail: StatusDetail::parse(&detail).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown status detail {detail:?}").into())
            })?,
            failure_message: row.try_get("failure_message")?,
            token_expires_at: row.try_get("token_expires_at")?,
            last_synced_at: row.try_get("last_synced_at")?,
            next_sync_at: row.try_get("next_sync_at")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            deactivated_at: row.try_get("deactivated_at")?,
            mfa_challenge_id: row.try_get("mfa_challenge_id")?,
            mfa_options: row.try_get("mfa_options")?,
            mfa_method: row.try_get("mfa_method")?,
            mfa_destination: row.try_get("mfa_destination")?,
            mfa_code_expires_at: row.try_get("mfa_code_expires_at")?,
            mfa_sends: row.try_get("mfa_sends")?,
            mfa_wrong_codes: row.try_get("mfa_wrong_codes")?,
            mfa_last_activity_at: row.try_get("mfa_last_activity_at")?,
            stale_since: row.try_get("stale_since")?,
            contact_email: row.try_get("contact_email")?,
            contact_language: row
                .try_get::<Option<String>, _>("contact_language")?
                .as_deref()
                .and_then(Language::from_tag),
            token_expiry_predicted: row.try_get::<i64, _>("token_expiry_predicted")? != 0,
            token_idle_timeout_ms: row.try_get("token_idle_timeout_ms")?,
        })
    }

    /// Who the credential is, for its events and webhooks.
    pub fn reference(&self) -> crate::domain::webhooks::outbox::CredentialRef<'_> {
        crate::domain::webhooks::outbox::CredentialRef {
            id: &self.id,
            organisation_id: &self.organisation_id,
            utility_id: &self.utility_id,
            correlation_id: self.correlation_id.as_deref(),
        }
    }

    pub fn to_api(&self) -> Credential {
        Credential {
            id: self.id.clone(),
            utility_id: self.utility_id.clone(),
            username: self.username.clone(),
            correlation_id: self.correlation_id.clone(),
            owner: self.owner,
            status: CredentialStatus::from(self.status_detail),
            status_message: self.failure_message.clone(),
            token_expires_at: self.token_expires_at.map(from_ms),
            last_synced_at: self.last_synced_at.map(from_ms),
            next_sync_at: self.next_sync_at.map(from_ms),
            stale_since: self.stale_since.map(from_ms),
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
            deactivated_at: self.deactivated_at.map(from_ms),
            contact_email: self.contact_email.clone(),
            contact_language: self.contact_language,
            token_expiry_predicted: self.token_expiry_predicted,
        }
    }
}

/// The credential `id` of `organisation_id`; another organisation's id is "not found".
pub async fn find(
    db: &Database,
    organisation_id: &str,
    id: &str,
) -> Result<CredentialRow, DomainError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM credentials WHERE id = $1 AND organisation_id = $2"
    ))
    .bind(id)
    .bind(organisation_id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(DomainError::NotFound("The credential"))?;
    Ok(CredentialRow::from_row(&row)?)
}

/// The credential `id`, whoever owns it: for jobs and Connect sessions, which
/// already know the organisation.
pub async fn find_by_id(db: &Database, id: &str) -> Result<Option<CredentialRow>, sqlx::Error> {
    Ok(find_by_id_with(db, id, &[], |_| Ok(()))
        .await?
        .map(|(row, ())| row))
}

/// [`find_by_id`] with `more` columns of the row (a sealed secret, a counter:
/// names written in the code, never a caller's input), read by `read` from
/// the same statement: a job that needs the row and a secret reads them in
/// one trip to the database (docs/benchmarks.md, MFA flows), and the row type
/// still carries no secret.
pub async fn find_by_id_with<T>(
    db: &Database,
    id: &str,
    more: &[&'static str],
    read: impl FnOnce(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Option<(CredentialRow, T)>, sqlx::Error> {
    let more: String = more.iter().map(|column| format!(", {column}")).collect();
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}{more} FROM credentials WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref()
        .map(|row| Ok((CredentialRow::from_row(row)?, read(row)?)))
        .transpose()
}

/// The filters, sort and page of a credential listing, already validated.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// `None`: any detail. `Some`: one of these (none, when a `status` and
    /// `statusDetail` filter have nothing in common).
    pub status_details: Option<Vec<StatusDetail>>,
    pub utility_id: Option<String>,
    pub correlation_id: Option<String>,
    pub username_contains: Option<String>,
    pub include_deactivated: bool,
    /// `Some(true)`: only stale credentials; `Some(false)`: only fresh ones.
    pub stale: Option<bool>,
    /// `(column, descending)`
    pub sort: (&'static str, bool),
    pub page: u32,
    pub page_size: u32,
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The `WHERE` clause of a listing, without its status-detail filter (see
/// [`counts::detail_clause`]).
fn where_clause(kind: DatabaseKind, organisation_id: &str, query: &ListQuery) -> Conditions {
    let mut conditions = Conditions::default();
    conditions.equals(
        "organisation_id",
        SqlValue::Text(organisation_id.to_owned()),
    );
    if !query.include_deactivated {
        conditions.push("deactivated_at IS NULL");
    }
    match query.stale {
        Some(true) => conditions.push("stale_since IS NOT NULL"),
        Some(false) => conditions.push("stale_since IS NULL"),
        None => {}
    }
    if let Some(utility_id) = &query.utility_id {
        conditions.equals("utility_id", SqlValue::Text(utility_id.clone()));
    }
    if let Some(correlation_id) = &query.correlation_id {
        conditions.equals("correlation_id", SqlValue::Text(correlation_id.clone()));
    }
    if let Some(text) = &query.username_contains {
        let text = text.to_lowercase();
        // SQLite: the trigram index narrows the rows to those holding every
        // three letters of the search (PostgreSQL's trigram index serves
        // the LIKE itself); the LIKE below stays the exact test.
        if kind == DatabaseKind::Sqlite && text.chars().count() >= 3 {
            let phrase =
                conditions.param(SqlValue::Text(format!("\"{}\"", text.replace('"', "\"\""))));
            conditions.push(format!(
                "id IN (SELECT credential_id FROM credential_usernames WHERE credential_usernames MATCH {phrase})"
            ));
        }
        let param = conditions.param(SqlValue::Text(format!("%{}%", escape_like(&text))));
        conditions.push(format!("LOWER(username) LIKE {param} ESCAPE '\\'"));
    }
    conditions
}

/// Whether the listing's total is exactly what `credential_counts` holds:
/// active credentials filtered by status detail alone.
fn counted_by_detail(query: &ListQuery) -> bool {
    !query.include_deactivated
        && query.stale.is_none()
        && query.utility_id.is_none()
        && query.correlation_id.is_none()
        && query.username_contains.is_none()
}

/// Every credential matching the listing's filters (sort and page ignored),
/// newest first, at most `limit`; `None` when more than `limit` match.
pub async fn every_match(
    db: &Database,
    organisation_id: &str,
    query: &ListQuery,
    limit: usize,
) -> Result<Option<Vec<CredentialRow>>, sqlx::Error> {
    let mut conditions = where_clause(db.kind(), organisation_id, query);
    if let Some(details) = &query.status_details {
        let clause = detail_clause(&mut conditions, details);
        conditions.push(clause);
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM credentials WHERE {} ORDER BY created_at DESC, id DESC LIMIT {}",
        conditions.sql(),
        limit + 1
    );
    let rows = conditions
        .bind(sqlx::query(&sql))
        .fetch_all(db.pool())
        .await?;
    if rows.len() > limit {
        return Ok(None);
    }
    Ok(Some(
        rows.iter()
            .map(CredentialRow::from_row)
            .collect::<Result<Vec<_>, _>>()?,
    ))
}

/// One page of credentials and the total that match.
pub async fn list(
    db: &Database,
    organisation_id: &str,
    query: &ListQuery,
) -> Result<(Vec<Credential>, u64), sqlx::Error> {
    let filters = where_clause(db.kind(), organisation_id, query);
    let total = if counted_by_detail(query) {
        counts::total(db, organisation_id, query.status_details.as_deref()).await?
    } else {
        let mut conditions = filters.clone();
        if let Some(details) = &query.status_details {
            let clause = detail_clause(&mut conditions, details);
            conditions.push(clause);
        }
        let count_sql = format!(
            "SELECT COUNT(*) FROM credentials WHERE {}",
            conditions.sql()
        );
        let count: i64 = conditions
            .bind(sqlx::query(&count_sql))
            .fetch_one(db.pool())
            .await?
            .try_get(0)?;
        count.max(0) as u64
    };
    let mut conditions = filters;
    let page_sql = page_sql(&mut conditions, query);
    let rows = conditions
        .bind(sqlx::query(&page_sql))
        .fetch_all(db.pool())
        .await?;
    let items = rows
        .iter()
        .map(|row| {
            CredentialRow::from_row(row).map(|row| Credential {
                contact_email: row.contact_email.as_deref().map(mask_email),
                ..row.to_api()
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((items, total))
}

/// The `SELECT` of one page. With several status details and the newest (or
/// oldest) first, each detail's first rows come from its own index range and
/// only those are merged, instead of sorting every match.
fn page_sql(conditions: &mut Conditions, query: &ListQuery) -> String {
    let (column, descending) = query.sort;
    let direction = if descending { "DESC" } else { "ASC" };
    // `id` breaks ties so pages never overlap or skip rows.
    let order = format!("{column} {direction}, id {direction}");
    let offset = i64::from(query.page.saturating_sub(1)) * i64::from(query.page_size);
    let page_size = i64::from(query.page_size);
    let filter = conditions.sql();
    match query.status_details.as_deref() {
        Some(details) if details.len() > 1 && column == "created_at" => {
            let first_rows = conditions.param(SqlValue::Int(offset + page_size));
            let branches: Vec<String> = details
                .iter()
                .enumerate()
                .map(|(index, detail)| {
                    let detail = conditions.param(SqlValue::Text(detail.as_str().to_owned()));
                    format!(
                        "SELECT * FROM (SELECT {COLUMNS} FROM credentials WHERE {filter} AND status_detail = {detail} \
                           ORDER BY {order} LIMIT {first_rows}) AS detail_{index}"
                    )
                })
                .collect();
            let limit = conditions.param(SqlValue::Int(page_size));
            let offset = conditions.param(SqlValue::Int(offset));
            format!(
                "SELECT * FROM ({}) AS merged ORDER BY {order} LIMIT {limit} OFFSET {offset}",
                branches.join(" UNION ALL ")
            )
        }
        details => {
            let detail_filter = match details {
                Some(details) => format!(" AND {}", detail_clause(conditions, details)),
                None => String::new(),
            };
            let limit = conditions.param(SqlValue::Int(page_size));
            let offset = conditions.param(SqlValue::Int(offset));
            format!(
                "SELECT {COLUMNS} FROM credentials WHERE {filter}{detail_filter} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
            )
        }
    }
}

/// Active credentials of the organisation flagged stale.
pub async fn count_stale(db: &Database, organisation_id: &str) -> Result<u64, sqlx::Error> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM credentials WHERE organisation_id = $1 AND stale_since IS NOT NULL \
           AND deactivated_at IS NULL",
    )
    .bind(organisation_id)
    .fetch_one(db.pool())
    .await?;
    Ok(count.max(0) as u64)
}

/// `(id, kind, from, to, actor, message, created_at, operator's email, API
/// key's name)` as the event queries select them.
type EventColumns = (
    i64,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
);

/// What a query naming actors selects besides its own columns: the email of
/// the operator or the name of the API key an actor refers to, if it still
/// exists (read with [`shared::credentials::actor_name`]).
pub const ACTOR_NAMES: &str = "o.email AS operator_email, k.name AS key_name";

/// The joins [`ACTOR_NAMES`] reads, for actors (`operator:…`, `api_key:…`)
/// in `column`; by primary key (`operator:` is 9 characters, `api_key:` 8).
pub fn actor_joins(column: &str) -> String {
    format!(
        "LEFT JOIN operators o ON {column} LIKE 'operator:%' AND o.id = substr({column}, 10) \
         LEFT JOIN api_keys k ON {column} LIKE 'api_key:%' AND k.id = substr({column}, 9)"
    )
}

fn event_from_columns(
    (id, kind, from, to, actor, message, created_at, operator_email, key_name): EventColumns,
) -> CredentialEvent {
    CredentialEvent {
        id,
        kind,
        from_status_detail: from.as_deref().and_then(StatusDetail::parse),
        to_status_detail: to.as_deref().and_then(StatusDetail::parse),
        actor_name: shared::credentials::actor_name(
            &actor,
            operator_email.as_deref(),
            key_name.as_deref(),
        ),
        actor,
        message,
        created_at: from_ms(created_at),
    }
}

/// The organisation's latest events across its credentials, newest first.
pub async fn latest_events(
    db: &Database,
    organisation_id: &str,
    limit: u32,
) -> Result<Vec<OrganisationEvent>, sqlx::Error> {
    let rows: Vec<AnyRow> = sqlx::query(&format!(
        "SELECT e.id, e.kind, e.from_detail, e.to_detail, e.actor, e.message, e.created_at, \
           {ACTOR_NAMES}, c.id AS credential_id, c.username, c.utility_id \
         FROM credential_events e JOIN credentials c ON c.id = e.credential_id {} \
         WHERE e.organisation_id = $1 ORDER BY e.id DESC LIMIT $2",
        actor_joins("e.actor")
    ))
    .bind(organisation_id)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    let events = rows
        .iter()
        .map(|row| {
            Ok(OrganisationEvent {
                credential_id: row.try_get("credential_id")?,
                username: row.try_get("username")?,
                utility_id: row.try_get("utility_id")?,
                event: event_from_columns((
                    row.try_get(0)?,
                    row.try_get(1)?,
                    row.try_get(2)?,
                    row.try_get(3)?,
                    row.try_get(4)?,
                    row.try_get(5)?,
                    row.try_get(6)?,
                    row.try_get(7)?,
                    row.try_get(8)?,
                )),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(events)
}

/// The credential's timeline, newest first.
pub async fn events(
    db: &Database,
    organisation_id: &str,
    credential_id: &str,
) -> Result<Vec<CredentialEvent>, sqlx::Error> {
    let rows: Vec<EventColumns> = sqlx::query_as(&format!(
        "SELECT e.id, e.kind, e.from_detail, e.to_detail, e.actor, e.message, e.created_at, \
           {ACTOR_NAMES} FROM credential_events e {} \
         WHERE e.credential_id = $1 AND e.organisation_id = $2 ORDER BY e.id DESC LIMIT 500",
        actor_joins("e.actor")
    ))
    .bind(credential_id)
    .bind(organisation_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(event_from_columns).collect())
}
