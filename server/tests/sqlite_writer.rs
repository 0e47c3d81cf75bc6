//! SQLite writes through one writer connection, taken in turn
//! (`store::Database::writer`): writers queue instead of sleeping in SQLite's
//! busy handler, and a transaction its request dropped midway is rolled back
//! before the next writer gets the connection.

mod common;

use std::future::Future;

use server::config::DatabaseUrl;
use server::store::Database;

async fn database(dir: &common::TempDir) -> Database {
    let db = Database::connect(&DatabaseUrl::Sqlite {
        path: dir.path().join("writer.db"),
    })
    .await
    .unwrap();
    sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .execute(&mut *db.writer().await.unwrap())
        .await
        .unwrap();
    db
}

async fn count(db: &Database) -> i64 {
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM notes")
        .fetch_one(db.pool())
        .await
        .unwrap();
    count
}

#[tokio::test]
async fn a_transaction_dropped_midway_is_rolled_back_before_the_next_writer() {
    let dir = common::TempDir::new("writer-dropped");
    let db = database(&dir).await;
    let mut abandoned = db.begin_write().await.unwrap();
    sqlx::query("INSERT INTO notes (body) VALUES ('never committed')")
        .execute(&mut *abandoned)
        .await
        .unwrap();
    // A request that ends here (its client went away) drops its transaction.
    drop(abandoned);

    let mut next = db.begin_write().await.unwrap();
    sqlx::query("INSERT INTO notes (body) VALUES ('committed')")
        .execute(&mut *next)
        .await
        .unwrap();
    next.commit().await.unwrap();
    sqlx::query("INSERT INTO notes (body) VALUES ('outside a transaction')")
        .execute(&mut *db.writer().await.unwrap())
        .await
        .unwrap();

    let bodies: Vec<(String,)> = sqlx::query_as("SELECT body FROM notes ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(
        bodies,
        [
            ("committed".to_owned(),),
            ("outside a transaction".to_owned(),)
        ]
    );
}

/// A request can be dropped at any await, even while its BEGIN is on the
/// way to SQLite: the writer must still work for the next request. Each
/// attempt polls a `begin_write` a few times, letting SQLite's thread run in
/// between, then drops it wherever it got to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_dropped_while_beginning_leaves_the_writer_usable() {
    const ATTEMPTS: usize = 40;
    let dir = common::TempDir::new("writer-begin-dropped");
    let db = database(&dir).await;
    let mut cut_short = 0;
    for attempt in 0..ATTEMPTS {
        let mut begin = Box::pin(db.begin_write());
        for _ in 0..=attempt % 4 {
            let polled = std::future::poll_fn(|context| {
                std::task::Poll::Ready(begin.as_mut().poll(context))
            })
            .await;
            if polled.is_ready() {
                break;
            }
            cut_short += 1;
            tokio::task::yield_now().await;
        }
        drop(begin);
        let mut tx = db.begin_write().await.unwrap();
        sqlx::query("INSERT INTO notes (body) VALUES ($1)")
            .bind(format!("attempt {attempt}"))
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    assert!(cut_short > 0, "no begin was ever cut short");
    assert_eq!(count(&db).await, ATTEMPTS as i64);
}

#[tokio::test]
async fn a_rolled_back_transaction_leaves_nothing_and_frees_the_writer() {
    let dir = common::TempDir::new("writer-rollback");
    let db = database(&dir).await;
    let mut tx = db.begin_write().await.unwrap();
    sqlx::query("INSERT INTO notes (body) VALUES ('undone')")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(count(&db).await, 0);
    let tx = db.begin_write().await.unwrap();
    tx.commit().await.unwrap();
}

/// Two hundred writers at once, each a read-then-write transaction, beside
/// readers: every one commits (none fails with "database is locked"), and
/// none is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_writers_at_once_all_commit_in_turn() {
    const WRITERS: i64 = 200;
    let dir = common::TempDir::new("writer-queue");
    let db = database(&dir).await;
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..WRITERS {
        let db = db.clone();
        tasks.spawn(async move {
            let mut tx = db.begin_write().await?;
            let (before,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM notes")
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO notes (body) VALUES ($1)")
                .bind(format!("writer {writer} saw {before}"))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            // A reader beside the writers.
            sqlx::query("SELECT COUNT(*) FROM notes")
                .fetch_one(db.pool())
                .await?;
            Ok::<_, sqlx::Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    assert_eq!(count(&db).await, WRITERS);
    // Each writer saw every writer before it: they ran one after another.
    let (distinct,): (i64,) =
        sqlx::query_as("SELECT COUNT(DISTINCT substr(body, instr(body, 'saw'))) FROM notes")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(distinct, WRITERS);
}
