//! Writes in few trips to the database. `store::sql::together`: writes sent in one
//! trip, their numbered parameters shared — one query of several statements
//! on SQLite, one statement of data-modifying `WITH` clauses on PostgreSQL.
//! `Database::begin_write_in_line`: a transaction whose BEGIN goes with its
//! first statement and whose COMMIT goes with its last (on SQLite). The hot
//! paths use both (a status change with its event, webhook and COMMIT), so
//! both databases must run every part, in order, with the right values, give
//! back what a statement returns, and leave nothing behind when a part fails
//! or the transaction is dropped.

mod common;

use common::Backend;
use server::infra::config::DatabaseUrl;
use server::infra::store::{self, Database, WriteTransaction};

async fn open(backend: Backend, dir: &common::TempDir) -> Database {
    let url = match backend {
        Backend::Sqlite => DatabaseUrl::Sqlite {
            path: dir.path().join("together.db"),
        },
        Backend::Postgres => DatabaseUrl::parse(&common::fresh_postgres_database().await).unwrap(),
    };
    let db = Database::connect(&url).await.expect("open the database");
    for table in [
        "CREATE TABLE parents (id TEXT PRIMARY KEY, name TEXT NOT NULL)",
        "CREATE TABLE children (parent_id TEXT NOT NULL REFERENCES parents (id), note TEXT NOT NULL, at BIGINT NOT NULL)",
    ] {
        sqlx::query(table)
            .execute(&mut *db.writer().await.unwrap())
            .await
            .unwrap();
    }
    db
}

const PARENT: &str = "INSERT INTO parents (id, name) VALUES ($1, $2)";
const CHILD: &str = "INSERT INTO children (parent_id, note, at) VALUES ($1, $3, $4)";

async fn rows(db: &Database) -> (Vec<(String, String)>, Vec<(String, String, i64)>) {
    let parents = sqlx::query_as("SELECT id, name FROM parents ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap();
    let children = sqlx::query_as("SELECT parent_id, note, at FROM children ORDER BY note")
        .fetch_all(db.pool())
        .await
        .unwrap();
    (parents, children)
}

async fn every_part_runs_with_its_shared_parameters(backend: Backend) {
    let dir = common::TempDir::new("together");
    let db = open(backend, &dir).await;
    let mut tx = db.begin_write().await.unwrap();
    // The child refers to the parent written by the part before it.
    let sql = store::sql::together(&tx, &[PARENT, CHILD, CHILD]);
    sqlx::query(&sql)
        .bind("p1")
        .bind("Ada")
        .bind("twice")
        .bind(1_700_000_000_000_i64)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let (parents, children) = rows(&db).await;
    assert_eq!(parents, vec![("p1".to_owned(), "Ada".to_owned())]);
    assert_eq!(
        children,
        vec![
            ("p1".to_owned(), "twice".to_owned(), 1_700_000_000_000),
            ("p1".to_owned(), "twice".to_owned(), 1_700_000_000_000),
        ]
    );
}

async fn a_part_that_fails_leaves_nothing_behind(backend: Backend) {
    let dir = common::TempDir::new("together-fails");
    let db = open(backend, &dir).await;
    let mut tx = db.begin_write().await.unwrap();
    // The child's parent is not the one the first part writes.
    let sql = store::sql::together(
        &tx,
        &[
            PARENT,
            "INSERT INTO children (parent_id, note, at) VALUES ($3, 'orphan', $4)",
        ],
    );
    let failed = sqlx::query(&sql)
        .bind("p1")
        .bind("Ada")
        .bind("nobody")
        .bind(0_i64)
        .execute(&mut *tx)
        .await;
    assert!(failed.is_err(), "a child without its parent was written");
    drop(tx);

    // The writer is usable again, and neither part's row is there.
    sqlx::query(PARENT)
        .bind("p2")
        .bind("Grace")
        .execute(&mut *db.writer().await.unwrap())
        .await
        .unwrap();
    let (parents, children) = rows(&db).await;
    assert_eq!(parents, vec![("p2".to_owned(), "Grace".to_owned())]);
    assert!(children.is_empty());
}

async fn a_transaction_in_line_begins_and_commits_with_its_statements(backend: Backend) {
    let dir = common::TempDir::new("in-line");
    let db = open(backend, &dir).await;
    let mut tx = db.begin_write_in_line().await.unwrap();
    let sql = tx.begin_with("INSERT INTO parents (id, name) VALUES ($1, $2) RETURNING name");
    let returned: Vec<(String,)> = sqlx::query_as(&sql)
        .bind("p1")
        .bind("Ada")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(
        returned,
        vec![("Ada".to_owned(),)],
        "the first statement's rows"
    );
    // Not committed yet: a reader does not see it.
    assert!(rows(&db).await.0.is_empty());
    let sql = tx.commit_with(&store::sql::together(&tx, &[CHILD]));
    let query = sqlx::query(&sql)
        .bind("p1")
        .bind("unused")
        .bind("last")
        .bind(7_i64);
    tx.commit_after(query).await.unwrap();

    let (parents, children) = rows(&db).await;
    assert_eq!(parents, vec![("p1".to_owned(), "Ada".to_owned())]);
    assert_eq!(children, vec![("p1".to_owned(), "last".to_owned(), 7)]);
    // The writer is free and outside any transaction.
    let mut next = db.begin_write().await.unwrap();
    sqlx::query(PARENT)
        .bind("p2")
        .bind("Grace")
        .execute(&mut *next)
        .await
        .unwrap();
    next.commit().await.unwrap();
    assert_eq!(rows(&db).await.0.len(), 2);
}

/// Inserts a parent as the first statement of `tx`, with its BEGIN.
async fn parent_first(tx: &mut WriteTransaction, id: &str, name: &str) {
    let sql = tx.begin_with(PARENT);
    sqlx::query(&sql)
        .bind(id)
        .bind(name)
        .execute(&mut **tx)
        .await
        .unwrap();
}

async fn a_transaction_in_line_that_fails_or_is_dropped_writes_nothing(backend: Backend) {
    let dir = common::TempDir::new("in-line-fails");
    let db = open(backend, &dir).await;
    // Dropped after its first statement (its request went away).
    let mut dropped = db.begin_write_in_line().await.unwrap();
    parent_first(&mut dropped, "p1", "dropped").await;
    drop(dropped);
    // Its last statement fails: the COMMIT that goes with it does not run.
    let mut failing = db.begin_write_in_line().await.unwrap();
    parent_first(&mut failing, "p2", "failing").await;
    let sql =
        failing.commit_with("INSERT INTO children (parent_id, note, at) VALUES ($1, 'orphan', 0)");
    let failed = failing.commit_after(sqlx::query(&sql).bind("nobody")).await;
    assert!(failed.is_err(), "a child without its parent was written");
    // Never begun: nothing to commit, and the writer is not left waiting.
    db.begin_write_in_line()
        .await
        .unwrap()
        .commit()
        .await
        .unwrap();

    let mut next = db.begin_write_in_line().await.unwrap();
    parent_first(&mut next, "p3", "kept").await;
    next.commit().await.unwrap();
    let (parents, children) = rows(&db).await;
    assert_eq!(parents, vec![("p3".to_owned(), "kept".to_owned())]);
    assert!(children.is_empty());
}

database_tests!(
    every_part_runs_with_its_shared_parameters,
    a_part_that_fails_leaves_nothing_behind,
    a_transaction_in_line_begins_and_commits_with_its_statements,
    a_transaction_in_line_that_fails_or_is_dropped_writes_nothing,
);
