//! What the syncs read, stored. Rows are keyed by the utility's own ids, so a
//! repeated sync inserts only what it has not seen.

use shared::credentials::{UtilityAccount, UtilityStatement};
use sqlx::AnyConnection;

use crate::clock::from_ms;
use crate::store::Database;
use crate::utility::{Account, Statement};

/// Accounts per INSERT (3 bound values each).
const ACCOUNTS_PER_INSERT: usize = crate::store::VALUES_PER_STATEMENT / 3;
/// Statements per INSERT (8 bound values each).
const STATEMENTS_PER_INSERT: usize = crate::store::VALUES_PER_STATEMENT / 8;

/// What one sync added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    pub new_accounts: u64,
    pub new_statement_ids: Vec<String>,
}

/// Stores the accounts and statements not stored yet.
pub async fn store(
    connection: &mut AnyConnection,
    credential_id: &str,
    accounts: &[Account],
    statements: &[Statement],
    now_ms: i64,
) -> Result<Stored, sqlx::Error> {
    let mut stored = Stored::default();
    // One statement per chunk of accounts too: a credential has several.
    for chunk in accounts.chunks(ACCOUNTS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO utility_accounts (credential_id, account_number, service_address, fuel, first_synced_at) \
             VALUES {} ON CONFLICT (credential_id, account_number) DO NOTHING RETURNING account_number",
            rows_sql(chunk.len(), 3)
        );
        let mut insert = sqlx::query_as::<_, (String,)>(&sql)
            .bind(credential_id)
            .bind(now_ms);
        for account in chunk {
            insert = insert
                .bind(&account.account_number)
                .bind(&account.service_address)
                .bind(&account.fuel);
        }
        stored.new_accounts += insert.fetch_all(&mut *connection).await?.len() as u64;
    }
    // One statement per chunk: the inserted rows come back, the known ones are skipped.
    for chunk in statements.chunks(STATEMENTS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO utility_statements (credential_id, statement_id, account_number, period_start, \
               period_end, usage, usage_unit, amount_cents, currency, first_synced_at) VALUES {} \
             ON CONFLICT (credential_id, statement_id) DO NOTHING RETURNING statement_id",
            rows_sql(chunk.len(), 8)
        );
        let mut insert = sqlx::query_as::<_, (String,)>(&sql)
            .bind(credential_id)
            .bind(now_ms);
        for statement in chunk {
            insert = insert
                .bind(&statement.id)
                .bind(&statement.account_number)
                .bind(iso_date(statement.period_start))
                .bind(iso_date(statement.period_end))
                .bind(statement.usage)
                .bind(&statement.usage_unit)
                .bind(statement.amount_cents)
                .bind(&statement.currency);
        }
        let inserted = insert.fetch_all(&mut *connection).await?;
        stored
            .new_statement_ids
            .extend(inserted.into_iter().map(|(id,)| id));
    }
    Ok(stored)
}

/// `count` rows of `($1, …, $2)`: the credential and the time, which every
/// row shares, around each row's own `width` values, numbered from `$3`.
fn rows_sql(count: usize, width: usize) -> String {
    let rows: Vec<String> = (0..count)
        .map(|index| {
            let first = 3 + width * index;
            let own: Vec<String> = (first..first + width).map(|n| format!("${n}")).collect();
            format!("($1, {}, $2)", own.join(", "))
        })
        .collect();
    rows.join(", ")
}

fn iso_date(date: time::Date) -> String {
    format!(
        "{}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The stored accounts, in account-number order.
pub async fn accounts(
    db: &Database,
    credential_id: &str,
) -> Result<Vec<UtilityAccount>, sqlx::Error> {
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT account_number, service_address, fuel, first_synced_at FROM utility_accounts \
         WHERE credential_id = $1 ORDER BY account_number",
    )
    .bind(credential_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(account_number, service_address, fuel, first_synced_at)| UtilityAccount {
                account_number,
                service_address,
                fuel,
                first_synced_at: from_ms(first_synced_at),
            },
        )
        .collect())
}

/// The stored statements, newest period first, at most `limit`.
pub async fn statements(
    db: &Database,
    credential_id: &str,
    limit: u32,
) -> Result<Vec<UtilityStatement>, sqlx::Error> {
    type Row = (
        String,
        String,
        String,
        String,
        f64,
        String,
        i64,
        String,
        i64,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT statement_id, account_number, period_start, period_end, usage, usage_unit, \
           amount_cents, currency, first_synced_at FROM utility_statements \
         WHERE credential_id = $1 ORDER BY period_start DESC, account_number LIMIT $2",
    )
    .bind(credential_id)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| UtilityStatement {
            id: row.0,
            account_number: row.1,
            period_start: row.2,
            period_end: row.3,
            usage: row.4,
            usage_unit: row.5,
            amount_cents: row.6,
            currency: row.7,
            first_synced_at: from_ms(row.8),
        })
        .collect())
}
