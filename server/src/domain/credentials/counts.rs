//! How many active credentials an organisation has per status detail, read
//! from `credential_counts` instead of counting rows. The database keeps those
//! counts itself, in the statement that changes a credential (triggers of
//! migration 0019), so they are exact whoever writes: see that migration for
//! why SQLite keeps one row per detail and PostgreSQL appends changes that
//! [`fold`] gathers up.

use shared::StatusDetail;

use crate::infra::store::sql::{Conditions, SqlValue};
use crate::infra::store::{Database, DatabaseKind};

/// Active credentials of the organisation per status detail (details with
/// none may be missing).
pub async fn by_detail(
    db: &Database,
    organisation_id: &str,
) -> Result<Vec<(StatusDetail, u64)>, sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status_detail, CAST(SUM(active) AS BIGINT) FROM credential_counts \
         WHERE organisation_id = $1 GROUP BY status_detail",
    )
    .bind(organisation_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(detail, count)| Some((StatusDetail::parse(&detail)?, count.max(0) as u64)))
        .collect())
}

/// Active credentials of the organisation with one of `details` (`None`: any).
pub async fn total(
    db: &Database,
    organisation_id: &str,
    details: Option<&[StatusDetail]>,
) -> Result<u64, sqlx::Error> {
    let mut conditions = Conditions::default();
    conditions.equals(
        "organisation_id",
        SqlValue::Text(organisation_id.to_owned()),
    );
    if let Some(details) = details {
        let clause = detail_clause(&mut conditions, details);
        conditions.push(clause);
    }
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(active), 0) AS BIGINT) FROM credential_counts WHERE {}",
        conditions.sql()
    );
    let query = conditions.bind_as::<(i64,)>(sqlx::query_as(&sql));
    let (count,) = query.fetch_one(db.pool()).await?;
    Ok(count.max(0) as u64)
}

/// PostgreSQL: folds each organisation's appended changes into one row per
/// detail; returns how many rows it folded away. Each fold deletes the rows
/// it sums and inserts the sum in one statement, so a count read at any
/// moment, or a fold on another replica, sees either the rows or their sum.
/// SQLite keeps one row per detail already: nothing to do.
pub async fn fold(db: &Database) -> anyhow::Result<u64> {
    if db.kind() != DatabaseKind::Postgres {
        return Ok(0);
    }
    let scattered: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT organisation_id FROM credential_counts GROUP BY organisation_id, status_detail \
         HAVING COUNT(*) > 1",
    )
    .fetch_all(db.pool())
    .await?;
    let mut folded = 0;
    for (organisation_id,) in scattered {
        let (before, after): (i64, i64) = sqlx::query_as(
            "WITH gone AS (DELETE FROM credential_counts WHERE organisation_id = $1 \
                            RETURNING status_detail, active), \
                  kept AS (INSERT INTO credential_counts (organisation_id, status_detail, active) \
                           SELECT $1, status_detail, SUM(active) FROM gone GROUP BY status_detail \
                           HAVING SUM(active) <> 0 RETURNING 1) \
             SELECT (SELECT COUNT(*) FROM gone), (SELECT COUNT(*) FROM kept)",
        )
        .bind(&organisation_id)
        .fetch_one(&mut *db.writer().await?)
        .await?;
        folded += (before - after).max(0) as u64;
    }
    Ok(folded)
}

/// `status_detail IN (…)` for `details`, with its parameters in `conditions`.
pub(super) fn detail_clause(conditions: &mut Conditions, details: &[StatusDetail]) -> String {
    if details.is_empty() {
        return "1 = 0".to_owned();
    }
    let params: Vec<String> = details
        .iter()
        .map(|detail| conditions.param(SqlValue::Text(detail.as_str().to_owned())))
        .collect();
    format!("status_detail IN ({})", params.join(", "))
}
