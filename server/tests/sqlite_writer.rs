//! SQLite writes through one writer connection, taken in turn
//! (`store::Database::writer`): writers queue instead of sleeping in SQLite's
//! busy handler, and a transaction its request dropped midway is rolled back
//! before the next writer gets the connection.

mod common;

use server::infra::config::DatabaseUrl;
use server::infra::store::{Database, WriterPriority, WRITER_NICE};

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
/// way to SQLite: the writer must still work for the next request. Another
/// connection holds SQLite's write lock, so the writer's `BEGIN IMMEDIATE`
/// is certainly still waiting in SQLite when the request gives up; it
/// completes on SQLite's thread after the request is gone, and the next
/// writer must find and roll back what it left open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_dropped_while_beginning_leaves_the_writer_usable() {
    use sqlx::{Connection, Executor};
    const ATTEMPTS: u64 = 5;
    let dir = common::TempDir::new("writer-begin-dropped");
    let db = database(&dir).await;
    let mut other = sqlx::SqliteConnection::connect(&format!(
        "sqlite://{}",
        dir.path().join("writer.db").display()
    ))
    .await
    .unwrap();
    for attempt in 0..ATTEMPTS {
        other.execute("BEGIN IMMEDIATE").await.unwrap();
        let given_up = tokio::time::timeout(
            std::time::Duration::from_millis(20 + 10 * attempt),
            db.begin_write(),
        )
        .await;
        assert!(
            given_up.is_err(),
            "BEGIN finished while another writer held the lock"
        );
        other.execute("COMMIT").await.unwrap();
        let mut tx = db.begin_write().await.unwrap();
        sqlx::query("INSERT INTO notes (body) VALUES ($1)")
            .bind(format!("attempt {attempt}"))
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
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

/// Field `index` (from 1, as in proc(5)) of the `stat` file of a thread,
/// `/proc/self/task/<id>` (or `/proc/thread-self` for the one calling).
#[cfg(target_os = "linux")]
fn thread_stat(thread: &str, index: usize) -> i64 {
    let stat = std::fs::read_to_string(format!("{thread}/stat")).unwrap();
    // The name, field 2, is in parentheses and may hold spaces: count after it.
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name
        .split(' ')
        .nth(index - 3)
        .unwrap()
        .parse()
        .unwrap()
}

/// Whether this process may raise a thread's priority: CAP_SYS_NICE, or a
/// soft RLIMIT_NICE that allows the writer's nice value.
#[cfg(target_os = "linux")]
fn may_raise_priority() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .map(|hex| u64::from_str_radix(hex.trim(), 16).unwrap())
        .unwrap();
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let nice_limit: i64 = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max nice priority"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    const CAP_SYS_NICE: u32 = 23;
    effective & (1 << CAP_SYS_NICE) != 0 || nice_limit >= 20 - i64::from(WRITER_NICE)
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_thread_runs_first_where_the_process_may_raise_it() {
    // Other tests here open databases at the same moment, which can leave
    // the writer's new thread not told apart from theirs: open another.
    let mut opened = Vec::new();
    let priority = loop {
        let dir = common::TempDir::new("writer-priority");
        let db = database(&dir).await;
        let priority = db.writer_priority().unwrap();
        opened.push((db, dir));
        if priority != WriterPriority::Unknown || opened.len() == 20 {
            break priority;
        }
    };
    let (db, _dir) = opened.pop().unwrap();
    const NICE: usize = 19;
    const USER_TICKS: usize = 14;
    let (thread, nice) = match priority {
        WriterPriority::Raised { thread } => {
            assert!(may_raise_priority());
            (thread, i64::from(WRITER_NICE))
        }
        WriterPriority::NotPermitted { thread } => {
            assert!(!may_raise_priority());
            // As this process's other threads run.
            (thread, thread_stat("/proc/thread-self", NICE))
        }
        WriterPriority::Unknown => panic!("the writer's thread was never told apart"),
    };
    let thread = format!("/proc/self/task/{thread}");
    assert_eq!(thread_stat(&thread, NICE), nice);
    // It is the thread writes run on: its CPU time grows with them.
    let cpu_before = thread_stat(&thread, USER_TICKS) + thread_stat(&thread, USER_TICKS + 1);
    for n in 0..3000 {
        sqlx::query("INSERT INTO notes (body) VALUES ($1)")
            .bind(format!("note {n}"))
            .execute(&mut *db.writer().await.unwrap())
            .await
            .unwrap();
    }
    let cpu_after = thread_stat(&thread, USER_TICKS) + thread_stat(&thread, USER_TICKS + 1);
    assert!(cpu_after > cpu_before, "{cpu_before} → {cpu_after} ticks");
}
