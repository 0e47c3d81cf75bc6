//! What the syncs read, stored. Rows are keyed by the utility's own ids, so a
//! repeated sync inserts only what it has not seen.

use shared::credentials::{UtilityAccount, UtilityStatement};
use sqlx::any::AnyArguments;
use sqlx::query::QueryAs;
use sqlx::{Any, AnyConnection};

use crate::infra::clock::from_ms;
use crate::infra::store::Database;
use crate::infra::utility::{Account, Statement};

/// Accounts per INSERT (3 bound values each).
const ACCOUNTS_PER_INSERT: usize = crate::infra::store::sql::VALUES_PER_STATEMENT / 3;
/// Statements per INSERT (8 bound values each).
const STATEMENTS_PER_INSERT: usize = crate::infra::store::sql::VALUES_PER_STATEMENT / 8;
/// The values one trip to the database carries at most: the INSERTs that go
/// with the sync's first statement ([`Writes::leading`]) stay within it.
const VALUES_PER_TRIP: usize = 2 * crate::infra::store::sql::VALUES_PER_STATEMENT;

/// What one sync added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    pub new_accounts: u64,
    pub new_statement_ids: Vec<String>,
}

impl Stored {
    /// Counts a row an INSERT of [`Writes`] returned.
    pub fn add(&mut self, kind: &str, value: Option<String>) {
        match (kind, value) {
            (ACCOUNT, Some(_)) => self.new_accounts += 1,
            (STATEMENT, Some(id)) => self.new_statement_ids.push(id),
            (kind, _) => debug_assert!(false, "not a stored row: {kind}"),
        }
    }
}

/// What the INSERTs return for each row they stored: `(kind, value)`.
const ACCOUNT: &str = "account";
const STATEMENT: &str = "statement";

/// A sync's accounts and statements to store, as INSERTs of a few hundred
/// values each that skip the rows stored already and return the others as
/// `(kind, value)` rows (see [`Stored::add`]). Rows are keyed by the utility's
/// own ids, so a repeated sync inserts only what it has not seen.
pub struct Writes<'a> {
    credential_id: &'a str,
    now_ms: i64,
    chunks: Vec<Chunk<'a>>,
}

/// One INSERT's rows.
enum Chunk<'a> {
    Accounts(&'a [Account]),
    Statements(&'a [Statement]),
}

impl<'a> Writes<'a> {
    pub fn new(
        credential_id: &'a str,
        accounts: &'a [Account],
        statements: &'a [Statement],
        now_ms: i64,
    ) -> Writes<'a> {
        // One statement per chunk of accounts too: a credential has several.
        let chunks = accounts
            .chunks(ACCOUNTS_PER_INSERT)
            .map(Chunk::Accounts)
            .chain(
                statements
                    .chunks(STATEMENTS_PER_INSERT)
                    .map(Chunk::Statements),
            )
            .collect();
        Writes {
            credential_id,
            now_ms,
            chunks,
        }
    }

    /// The leading INSERTs that fit in one trip with a statement of `first - 1`
    /// parameters: their SQL, numbered on from `$first`, to go with it
    /// ([`crate::infra::store::sql::together_returning`]); bound by [`Writes::bind_leading`],
    /// and the rest stored by [`Writes::store_rest`] with the same count.
    pub fn leading(&self, first: usize) -> Vec<String> {
        let mut next = first;
        let mut parts = Vec::new();
        for chunk in &self.chunks {
            if next - 1 + chunk.values() > VALUES_PER_TRIP {
                break;
            }
            parts.push(chunk.sql(next));
            next += chunk.values();
        }
        parts
    }

    /// `query` with the values of the first `count` INSERTs bound after its own.
    pub fn bind_leading<'q>(
        &'q self,
        count: usize,
        query: QueryAs<'q, Any, (String, Option<String>), AnyArguments<'q>>,
    ) -> QueryAs<'q, Any, (String, Option<String>), AnyArguments<'q>> {
        self.chunks[..count].iter().fold(query, |query, chunk| {
            chunk.bind(query, self.credential_id, self.now_ms)
        })
    }

    /// Runs the INSERTs after the first `count`, one trip each, adding what
    /// they stored to `stored`.
    pub async fn store_rest(
        &self,
        count: usize,
        connection: &mut AnyConnection,
        stored: &mut Stored,
    ) -> Result<(), sqlx::Error> {
        for chunk in &self.chunks[count..] {
            let sql = chunk.sql(1);
            let rows = chunk
                .bind(sqlx::query_as(&sql), self.credential_id, self.now_ms)
                .fetch_all(&mut *connection)
                .await?;
            for (kind, value) in rows {
                stored.add(&kind, value);
            }
        }
        Ok(())
    }
}

impl Chunk<'_> {
    /// The values its INSERT binds: the credential, the time and each row's own.
    fn values(&self) -> usize {
        2 + match self {
            Chunk::Accounts(accounts) => 3 * accounts.len(),
            Chunk::Statements(statements) => 8 * statements.len(),
        }
    }

    /// Its INSERT, parameters numbered from `$first`.
    fn sql(&self, first: usize) -> String {
        match self {
            Chunk::Accounts(accounts) => format!(
                "INSERT INTO utility_accounts (credential_id, account_number, service_address, fuel, first_synced_at) \
                 VALUES {} ON CONFLICT (credential_id, account_number) DO NOTHING \
                 RETURNING '{ACCOUNT}' AS kind, account_number AS value",
                rows_sql(first, accounts.len(), 3)
            ),
            Chunk::Statements(statements) => format!(
                "INSERT INTO utility_statements (credential_id, statement_id, account_number, period_start, \
                   period_end, usage, usage_unit, amount_cents, currency, first_synced_at) VALUES {} \
                 ON CONFLICT (credential_id, statement_id) DO NOTHING \
                 RETURNING '{STATEMENT}' AS kind, statement_id AS value",
                rows_sql(first, statements.len(), 8)
            ),
        }
    }

    fn bind<'q>(
        &'q self,
        query: QueryAs<'q, Any, (String, Option<String>), AnyArguments<'q>>,
        credential_id: &'q str,
        now_ms: i64,
    ) -> QueryAs<'q, Any, (String, Option<String>), AnyArguments<'q>> {
        let query = query.bind(credential_id).bind(now_ms);
        match self {
            Chunk::Accounts(accounts) => accounts.iter().fold(query, |query, account| {
                query
                    .bind(&account.account_number)
                    .bind(&account.service_address)
                    .bind(&account.fuel)
            }),
            Chunk::Statements(statements) => statements.iter().fold(query, |query, statement| {
                query
                    .bind(&statement.id)
                    .bind(&statement.account_number)
                    .bind(iso_date(statement.period_start))
                    .bind(iso_date(statement.period_end))
                    .bind(statement.usage)
                    .bind(&statement.usage_unit)
                    .bind(statement.amount_cents)
                    .bind(&statement.currency)
            }),
        }
    }
}

/// `count` rows of `($first, …, $first+1)`: the credential and the time,
/// which every row shares, around each row's own `width` values, numbered on.
fn rows_sql(first: usize, count: usize, width: usize) -> String {
    let rows: Vec<String> = (0..count)
        .map(|index| {
            let own_first = first + 2 + width * index;
            let own: Vec<String> = (own_first..own_first + width)
                .map(|n| format!("${n}"))
                .collect();
            format!("(${first}, {}, ${})", own.join(", "), first + 1)
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
