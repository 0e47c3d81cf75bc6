//! The two migration trees (`migrations/sqlite` and `migrations/postgres`)
//! build the same schema: the same tables, the same columns in each, and the
//! same indexes on the same columns, but for the few differences each
//! database needs, listed here with their reasons.

mod common;

use std::collections::BTreeSet;

use server::infra::config::DatabaseUrl;
use server::infra::store::Database;

/// `table.column`, `index name (table: columns)` and `table` entries.
type Shape = BTreeSet<String>;

/// SQLite's username search is an FTS5 table (`credential_usernames`, with
/// the shadow tables FTS5 makes); PostgreSQL's is a trigram index on an
/// expression, which the shape does not list.
const SQLITE_ONLY_PREFIX: &str = "credential_usernames";

/// Entries only PostgreSQL has: its credential counts are rows appended per
/// change and folded later (an id, and an index instead of the primary key
/// SQLite updates in place).
const POSTGRES_ONLY: [&str; 2] = [
    "column credential_counts.id",
    "index credential_counts_by_organisation (credential_counts: organisation_id, status_detail)",
];

async fn sqlite_shape() -> Shape {
    let dir = common::TempDir::new("migrations");
    let url = DatabaseUrl::Sqlite {
        path: dir.path().join("shape.db"),
    };
    let db = Database::connect(&url).await.expect("open SQLite");
    db.migrate().await.expect("migrate SQLite");
    let pool = db.pool();
    let mut shape = Shape::new();
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (table,) in tables {
        if table.starts_with(SQLITE_ONLY_PREFIX) {
            continue;
        }
        shape.insert(format!("table {table}"));
        let columns: Vec<(String,)> =
            sqlx::query_as(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(pool)
                .await
                .unwrap();
        for (column,) in columns {
            shape.insert(format!("column {table}.{column}"));
        }
    }
    // Indexes written as CREATE INDEX (not those SQLite makes for keys).
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (index, table) in indexes {
        let columns: Vec<(String,)> = sqlx::query_as(&format!(
            "SELECT name FROM pragma_index_info('{index}') ORDER BY seqno"
        ))
        .fetch_all(pool)
        .await
        .unwrap();
        let columns: Vec<String> = columns.into_iter().map(|(name,)| name).collect();
        shape.insert(format!("index {index} ({table}: {})", columns.join(", ")));
    }
    shape
}

async fn postgres_shape() -> Shape {
    let url = DatabaseUrl::parse(&common::fresh_postgres_database().await).unwrap();
    let db = Database::connect(&url).await.expect("open PostgreSQL");
    db.migrate().await.expect("migrate PostgreSQL");
    let pool = db.pool();
    let mut shape = Shape::new();
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (table, column) in columns {
        shape.insert(format!("table {table}"));
        shape.insert(format!("column {table}.{column}"));
    }
    // Indexes written as CREATE INDEX (not those behind a key or constraint).
    let indexes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT i.relname::text, t.relname::text, \
                string_agg(a.attname::text, ', ' ORDER BY k.position) \
         FROM pg_index x \
         JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, position) \
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
         WHERE n.nspname = current_schema() AND t.relname <> '_sqlx_migrations' \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) \
         GROUP BY i.relname, t.relname",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (index, table, columns) in indexes {
        shape.insert(format!("index {index} ({table}: {columns})"));
    }
    for entry in POSTGRES_ONLY {
        assert!(shape.remove(entry), "PostgreSQL no longer has {entry}");
    }
    shape
}

#[tokio::test]
async fn on_postgres_sqlite_and_postgresql_migrations_build_the_same_schema() {
    let sqlite = sqlite_shape().await;
    let postgres = postgres_shape().await;
    assert!(
        sqlite
            .iter()
            .filter(|entry| entry.starts_with("table "))
            .count()
            > 10,
        "the SQLite schema looks empty: {sqlite:?}"
    );
    let only_sqlite: Vec<&String> = sqlite.difference(&postgres).collect();
    let only_postgres: Vec<&String> = postgres.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "the migration trees differ:\n  only on SQLite: {only_sqlite:#?}\n  only on PostgreSQL: {only_postgres:#?}"
    );
}
