//! The database: one pool over SQLite (embedded default) or PostgreSQL
//! (several replicas), with the embedded migrations of each.
//!
//! Queries are written once, with `$1`-style parameters that both backends
//! accept; the few statements that must differ branch on [`DatabaseKind`].
//! Timestamps are stored as milliseconds since the Unix epoch (BIGINT).

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::{AnyConnection, AnyPool, Connection, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::infra::config::{ConfigError, DatabaseUrl, DATABASE_URL};

pub mod outage;
pub mod sql;
mod writer_priority;

pub use writer_priority::{WriterPriority, WRITER_NICE};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

impl DatabaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseKind::Sqlite => "sqlite",
            DatabaseKind::Postgres => "postgres",
        }
    }
}

/// The pages each SQLite connection caches: 512 KiB (SQLite's default is
/// 2 MiB). The operating system caches the file anyway, and eight full caches
/// were a quarter of an idle server's memory (docs/benchmarks.md,
/// idle_memory). Bulk writers ask for more while they run and set this back.
pub const SQLITE_CACHE: &str = "PRAGMA cache_size = -512";

/// How often the SQLite checkpointer copies the WAL back into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// WAL frames (pages) past which the checkpointer also starts the log over.
const WAL_FRAMES_TO_TRUNCATE: i64 = 65_536;

/// SQLite: copies committed pages from the write-ahead log into the database
/// file every [`CHECKPOINT_EVERY`], so the log stays small, until `stop`.
/// Left to SQLite, the writer whose commit fills the log past 1,000 pages
/// does it inside that commit: a request or a sweep batch would wait for
/// copying other transactions' pages (a fifth of the expiry sweep's time,
/// docs/benchmarks.md). A passive checkpoint waits for nobody: readers and
/// writers carry on, and what it cannot copy yet is copied next time. The
/// log file starts over only when no reader still needs it, which steady
/// reading can put off for long: past [`WAL_FRAMES_TO_TRUNCATE`] pages
/// (256 MiB) the checkpointer waits for readers (briefly holding up writers,
/// at most the busy timeout) and truncates it.
async fn checkpoint_wal(pool: AnyPool, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(CHECKPOINT_EVERY) => {}
        }
        if pool.is_closed() {
            return;
        }
        let checkpointed = async {
            let (_, frames, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&pool)
                .await?;
            if frames > WAL_FRAMES_TO_TRUNCATE {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&pool)
                    .await?;
            }
            Ok::<_, sqlx::Error>(())
        };
        if let Err(error) = checkpointed.await {
            if !pool.is_closed() {
                tracing::warn!(error = %error, "cannot checkpoint the SQLite write-ahead log");
            }
        }
    }
}

/// A pool of up to `max_connections`, each set up for `kind`.
async fn open_pool(
    options: &AnyConnectOptions,
    kind: DatabaseKind,
    max_connections: u32,
    wait: Duration,
) -> Result<AnyPool, sqlx::Error> {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        // sqlx pings an idle connection before handing it out, to find one a
        // network dropped. A SQLite connection is a file on this machine that
        // no network can drop, and the ping a round trip to its thread.
        .test_before_acquire(kind == DatabaseKind::Postgres)
        .acquire_timeout(wait)
        .after_connect(move |connection, _| {
            Box::pin(async move { set_up(connection, kind, wait).await })
        })
        .connect_with(options.clone())
        .await
}

/// How long a request waits for a connection (or SQLite's writer) before it
/// fails (and answers 503), unless `GRIDLINK_DATABASE_WAIT` says otherwise.
pub const DEFAULT_DATABASE_WAIT: Duration = Duration::from_secs(3);

/// Settings every new connection gets.
async fn set_up(
    connection: &mut AnyConnection,
    kind: DatabaseKind,
    wait: Duration,
) -> Result<(), sqlx::Error> {
    if kind == DatabaseKind::Sqlite {
        // WAL lets readers run beside the writer; the busy timeout makes a
        // writer of another process (a `gridlink` command) wait instead of
        // failing. Statement journals stay in memory. No writer copies the
        // WAL back into the database as it commits: the checkpointer does,
        // beside them (see `checkpoint_wal`).
        connection
            .execute(
                format!(
                    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {}; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                     PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 0;",
                    wait.as_millis()
                )
                .as_str(),
            )
            .await?;
        connection.execute(SQLITE_CACHE).await?;
    }
    Ok(())
}

/// SQLite's one writing connection, and whether a transaction on it may have
/// been left open (its request was dropped midway, or its COMMIT failed): the
/// next writer rolls that back first.
#[derive(Debug)]
pub struct SqliteWriter {
    connection: AnyConnection,
    in_transaction: bool,
}

/// How writes reach the database.
#[derive(Debug, Clone)]
enum Writers {
    /// SQLite lets one connection write at a time, so it has one writer,
    /// taken in turn (see [`Database::writer`]).
    Sqlite(Arc<Mutex<SqliteWriter>>),
    /// PostgreSQL writes on any pooled connection.
    Postgres,
}

/// A connection to write with, held until dropped: on SQLite the one writer.
#[derive(Debug)]
pub enum WriteConnection {
    Sqlite(OwnedMutexGuard<SqliteWriter>),
    Pooled(PoolConnection<sqlx::Any>),
}

impl Deref for WriteConnection {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            WriteConnection::Sqlite(writer) => &writer.connection,
            WriteConnection::Pooled(connection) => connection,
        }
    }
}

impl DerefMut for WriteConnection {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            WriteConnection::Sqlite(writer) => &mut writer.connection,
            WriteConnection::Pooled(connection) => connection,
        }
    }
}

/// A transaction that writes ([`Database::begin_write`]). Dropped without
/// [`WriteTransaction::commit`], it is rolled back. Its trace span lasts from
/// its start to its end, so a trace shows each group of writes.
#[derive(Debug)]
pub struct WriteTransaction {
    open: OpenTransaction,
    _span: tracing::Span,
}

#[derive(Debug)]
enum OpenTransaction {
    Sqlite(SqliteTransaction),
    Pooled(sqlx::Transaction<'static, sqlx::Any>),
}

/// SQLite's writer inside a transaction, whose BEGIN may wait to go with its
/// first statement ([`Database::begin_write_in_line`]).
#[derive(Debug)]
pub struct SqliteTransaction {
    writer: OwnedMutexGuard<SqliteWriter>,
    begin_pending: bool,
}

impl WriteTransaction {
    fn new(open: OpenTransaction, kind: DatabaseKind) -> WriteTransaction {
        let system = match kind {
            DatabaseKind::Sqlite => "sqlite",
            DatabaseKind::Postgres => "postgresql",
        };
        WriteTransaction {
            open,
            _span: tracing::info_span!("db transaction", otel.kind = "client", db.system = system),
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self.open {
            OpenTransaction::Sqlite(transaction) => transaction.end("COMMIT").await,
            OpenTransaction::Pooled(transaction) => transaction.commit().await,
        }?;
        // A write went through: an outage under way is over.
        outage::served();
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self.open {
            OpenTransaction::Sqlite(transaction) => transaction.end("ROLLBACK").await,
            OpenTransaction::Pooled(transaction) => transaction.rollback().await,
        }
    }

    /// `sql` to run as the transaction's first statement. On SQLite, in a
    /// transaction from [`Database::begin_write_in_line`], the BEGIN goes
    /// with it: one trip to the writer's thread instead of two.
    pub fn begin_with(&mut self, sql: &str) -> String {
        match &mut self.open {
            OpenTransaction::Sqlite(transaction) if transaction.begin_pending => {
                transaction.begin_pending = false;
                // Marked first: dropped while this runs, it is rolled back.
                transaction.writer.in_transaction = true;
                format!("BEGIN IMMEDIATE;\n{sql}")
            }
            _ => sql.to_owned(),
        }
    }

    /// `sql` to run as the transaction's last statement with
    /// [`WriteTransaction::commit_after`]: on SQLite the COMMIT goes with it.
    pub fn commit_with(&self, sql: &str) -> String {
        match self.open {
            OpenTransaction::Sqlite(_) => format!("{sql};\nCOMMIT"),
            OpenTransaction::Pooled(_) => sql.to_owned(),
        }
    }

    /// Runs `query`, built on [`WriteTransaction::commit_with`]'s SQL, and
    /// commits: on SQLite in the same trip. If it fails, nothing is committed.
    pub async fn commit_after<'q>(
        self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> Result<(), sqlx::Error> {
        match self.open {
            OpenTransaction::Sqlite(mut transaction) => {
                debug_assert!(!transaction.begin_pending, "the transaction never began");
                debug_assert!(sqlx::Execute::sql(&query).ends_with("COMMIT"));
                query.execute(&mut transaction.writer.connection).await?;
                transaction.writer.in_transaction = false;
                Ok(())
            }
            OpenTransaction::Pooled(mut transaction) => {
                query.execute(&mut *transaction).await?;
                transaction.commit().await
            }
        }
    }
}

impl SqliteTransaction {
    /// Ends the transaction with `statement` (COMMIT or ROLLBACK); if that
    /// fails, the next writer rolls it back. One whose BEGIN never went has
    /// nothing to end.
    async fn end(mut self, statement: &'static str) -> Result<(), sqlx::Error> {
        if self.begin_pending {
            return Ok(());
        }
        self.writer.connection.execute(statement).await?;
        self.writer.in_transaction = false;
        Ok(())
    }
}

impl Deref for WriteTransaction {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.open {
            OpenTransaction::Sqlite(transaction) => &transaction.writer.connection,
            OpenTransaction::Pooled(transaction) => transaction,
        }
    }
}

impl DerefMut for WriteTransaction {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.open {
            OpenTransaction::Sqlite(transaction) => {
                debug_assert!(
                    !transaction.begin_pending,
                    "a statement before the transaction's first (begin_with)"
                );
                &mut transaction.writer.connection
            }
            OpenTransaction::Pooled(transaction) => transaction,
        }
    }
}

/// SQLite's writer once the writers before have finished with it, with any
/// transaction a dropped request left open rolled back.
async fn take_writer(
    writer: &Arc<Mutex<SqliteWriter>>,
    wait: Duration,
) -> Result<OwnedMutexGuard<SqliteWriter>, sqlx::Error> {
    let waiting = InWriterQueue::join();
    let mut writer = tokio::time::timeout(wait, Arc::clone(writer).lock_owned())
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?;
    drop(waiting);
    if writer.in_transaction {
        // Its COMMIT may have run after all, leaving nothing to roll back.
        if let Err(error) = writer.connection.execute("ROLLBACK").await {
            tracing::debug!(%error, "no transaction left open on the SQLite writer");
        }
        // A bulk writer that failed midway may have left a larger cache.
        writer.connection.execute(SQLITE_CACHE).await?;
        writer.in_transaction = false;
    }
    Ok(writer)
}

/// One writer waiting for SQLite's write connection, counted in
/// [`crate::infra::metrics::SQLITE_WRITER_QUEUE`] until it has it, gives up
/// or is cancelled.
struct InWriterQueue;

impl InWriterQueue {
    fn join() -> InWriterQueue {
        metrics::gauge!(crate::infra::metrics::SQLITE_WRITER_QUEUE).increment(1.0);
        InWriterQueue
    }
}

impl Drop for InWriterQueue {
    fn drop(&mut self) {
        metrics::gauge!(crate::infra::metrics::SQLITE_WRITER_QUEUE).decrement(1.0);
    }
}

/// Tables whose rows [`Database::lock_row`] can lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockedTable {
    Credentials,
    Organisations,
}

/// A connection pool and the kind of database behind it.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    writers: Writers,
    /// SQLite: how its writer's thread is scheduled.
    writer_priority: Option<WriterPriority>,
    kind: DatabaseKind,
    /// A request's longest wait for a connection or the writer.
    wait: Duration,
    /// SQLite: stops [`checkpoint_wal`] when the last clone is dropped.
    _checkpointer: Option<Arc<DropGuard>>,
}

/// Creates the SQLite file readable by its owner alone (0600), and narrows
/// an existing one and its WAL files to that (case 40): sealed secrets aside,
/// it holds hashes, contacts and timelines. SQLite gives the WAL and shared
/// memory files it creates the database file's permissions.
fn keep_private(path: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        let mut files = vec![path.to_path_buf()];
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            files.push(name.into());
        }
        for file in files.iter().filter(|file| file.exists()) {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl Database {
    /// Opens the database (creating a SQLite file and its folder if needed),
    /// failing with an error that names `GRIDLINK_DATABASE_URL` if it cannot be reached.
    pub async fn connect(url: &DatabaseUrl) -> Result<Database, ConfigError> {
        Database::connect_waiting(url, DEFAULT_DATABASE_WAIT).await
    }

    /// [`Database::connect`], where a request waits at most `wait` for a
    /// connection (or SQLite's writer) before it fails.
    #[tracing::instrument(skip_all, fields(database = %url.redacted()))]
    pub async fn connect_waiting(
        url: &DatabaseUrl,
        wait: Duration,
    ) -> Result<Database, ConfigError> {
        sqlx::any::install_default_drivers();
        let unreachable = |error: &dyn std::fmt::Display| {
            ConfigError::new(
                DATABASE_URL,
                format!("cannot open {}: {error}", url.redacted()),
            )
        };
        let (connection_url, kind, max_connections) = match url {
            DatabaseUrl::Sqlite { path } => {
                if let Some(parent) = path
                    .parent()
                    .filter(|parent| !parent.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(parent).map_err(|error| unreachable(&error))?;
                }
                keep_private(path).map_err(|error| unreachable(&error))?;
                // Seven readers and the one writer (below).
                (
                    format!("sqlite://{}?mode=rwc", path.display()),
                    DatabaseKind::Sqlite,
                    7,
                )
            }
            DatabaseUrl::Postgres { url } => (url.clone(), DatabaseKind::Postgres, 10),
        };
        let options: AnyConnectOptions = connection_url
            .parse()
            .map_err(|error| unreachable(&error))?;
        // One direct connection first: a pool only reports "timed out", while
        // this says why (refused, unknown database, authentication failed).
        let probe = tokio::time::timeout(
            Duration::from_secs(10),
            AnyConnection::connect_with(&options),
        )
        .await
        .map_err(|_| unreachable(&"no answer within 10 seconds"))?
        .map_err(|error| unreachable(&error))?;
        probe.close().await.map_err(|error| unreachable(&error))?;
        let pool = open_pool(&options, kind, max_connections, wait)
            .await
            .map_err(|error| unreachable(&error))?;
        // SQLite lets one connection write at a time; the others wait in
        // its busy handler, which sleeps 1 to 100 ms between tries, holding
        // a pooled connection and its thread all the while. Under load that
        // was hundreds of sleeps a second (docs/benchmarks.md, MFA flows).
        // Writes go through one connection instead: writers queue in the
        // runtime, in order, and each starts the moment the last ends. It is
        // held outside the pool, which would ping it (a round trip to its
        // thread) every time it is given back.
        // Its thread runs first when woken (see `writer_priority`).
        let (writers, writer_priority) = match kind {
            DatabaseKind::Sqlite => {
                let (mut connection, priority) =
                    writer_priority::open_writer(AnyConnection::connect_with(&options))
                        .await
                        .map_err(|error| unreachable(&error))?;
                set_up(&mut connection, kind, wait)
                    .await
                    .map_err(|error| unreachable(&error))?;
                let writer = SqliteWriter {
                    connection,
                    in_transaction: false,
                };
                (
                    Writers::Sqlite(Arc::new(Mutex::new(writer))),
                    Some(priority),
                )
            }
            DatabaseKind::Postgres => (Writers::Postgres, None),
        };
        let checkpointer = (kind == DatabaseKind::Sqlite).then(|| {
            let stop = CancellationToken::new();
            tokio::spawn(checkpoint_wal(pool.clone(), stop.clone()));
            Arc::new(stop.drop_guard())
        });
        Ok(Database {
            pool,
            writers,
            writer_priority,
            kind,
            wait,
            _checkpointer: checkpointer,
        })
    }

    /// The schema version this build migrates to: its last migration's number.
    pub fn latest_schema_version(kind: DatabaseKind) -> i64 {
        let migrator = match kind {
            DatabaseKind::Sqlite => &SQLITE_MIGRATIONS,
            DatabaseKind::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .iter()
            .map(|migration| migration.version)
            .max()
            .unwrap_or(0)
    }

    /// Applies every embedded migration not yet applied.
    #[tracing::instrument(skip_all)]
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.kind {
            DatabaseKind::Sqlite => &SQLITE_MIGRATIONS,
            DatabaseKind::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .context("Failed to apply database migrations")
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .context("Database did not answer")?;
        Ok(())
    }

    /// The database's clock, in milliseconds since the Unix epoch, on
    /// PostgreSQL (the clock every replica follows); `None` on SQLite, whose
    /// database is this process's file and whose clock is the system's.
    pub async fn clock_ms(&self) -> Result<Option<i64>, sqlx::Error> {
        match self.kind {
            DatabaseKind::Sqlite => Ok(None),
            DatabaseKind::Postgres => {
                let (ms,): (i64,) =
                    sqlx::query_as("SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT")
                        .fetch_one(&self.pool)
                        .await?;
                Ok(Some(ms))
            }
        }
    }

    /// Whether the database accepts a write (a full disk or a read-only
    /// replica answers reads but not this).
    pub async fn probe_write(&self, now_ms: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE health_probe SET checked_at = $1 WHERE id = 1")
            .bind(now_ms)
            .execute(&mut *self.writer().await?)
            .await
            .context("Database refused a write")?;
        Ok(())
    }

    /// Begins a transaction that will write. On SQLite it takes the write
    /// lock at once (`BEGIN IMMEDIATE`): a deferred transaction that reads
    /// first and writes later can fail with "database is locked" instead of
    /// waiting its turn under the busy timeout.
    pub async fn begin_write(&self) -> Result<WriteTransaction, sqlx::Error> {
        match &self.writers {
            Writers::Sqlite(writer) => {
                let mut writer = take_writer(writer, self.wait).await?;
                // Marked first: a request dropped while BEGIN runs still
                // has its transaction rolled back by the next writer.
                writer.in_transaction = true;
                writer.connection.execute("BEGIN IMMEDIATE").await?;
                Ok(WriteTransaction::new(
                    OpenTransaction::Sqlite(SqliteTransaction {
                        writer,
                        begin_pending: false,
                    }),
                    self.kind,
                ))
            }
            Writers::Postgres => Ok(WriteTransaction::new(
                OpenTransaction::Pooled(self.pool.begin().await?),
                self.kind,
            )),
        }
    }

    /// [`Database::begin_write`] for a transaction whose first statement is
    /// known: on SQLite its BEGIN waits to go with that statement
    /// ([`WriteTransaction::begin_with`]), and the one writer is a trip less
    /// busy. Nothing may run on it before that statement.
    pub async fn begin_write_in_line(&self) -> Result<WriteTransaction, sqlx::Error> {
        match &self.writers {
            Writers::Sqlite(writer) => Ok(WriteTransaction::new(
                OpenTransaction::Sqlite(SqliteTransaction {
                    writer: take_writer(writer, self.wait).await?,
                    begin_pending: true,
                }),
                self.kind,
            )),
            Writers::Postgres => Ok(WriteTransaction::new(
                OpenTransaction::Pooled(self.pool.begin().await?),
                self.kind,
            )),
        }
    }

    /// A connection for statements that write outside a transaction: on
    /// SQLite its one writer, waited for in turn; on PostgreSQL a pooled one.
    pub async fn writer(&self) -> Result<WriteConnection, sqlx::Error> {
        match &self.writers {
            Writers::Sqlite(writer) => Ok(WriteConnection::Sqlite(
                take_writer(writer, self.wait).await?,
            )),
            Writers::Postgres => Ok(WriteConnection::Pooled(self.pool.acquire().await?)),
        }
    }

    /// Inside a write transaction, locks one row until it ends, so writers
    /// that check something about it and then change it take turns. SQLite
    /// needs nothing: [`Database::begin_write`] already holds its only write lock.
    pub async fn lock_row(
        &self,
        connection: &mut sqlx::AnyConnection,
        table: LockedTable,
        id: &str,
    ) -> Result<(), sqlx::Error> {
        if self.kind == DatabaseKind::Postgres {
            let sql = match table {
                LockedTable::Credentials => "SELECT id FROM credentials WHERE id = $1 FOR UPDATE",
                LockedTable::Organisations => {
                    "SELECT id FROM organisations WHERE id = $1 FOR UPDATE"
                }
            };
            sqlx::query(sql).bind(id).execute(connection).await?;
        }
        Ok(())
    }

    /// What ends a `SELECT … LIMIT n` that claims rows for one worker:
    /// PostgreSQL skips rows another transaction holds; SQLite has one writer.
    pub fn skip_locked(&self) -> &'static str {
        match self.kind {
            DatabaseKind::Postgres => "FOR UPDATE SKIP LOCKED",
            DatabaseKind::Sqlite => "",
        }
    }

    /// Where reads go.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// SQLite: whether its writer's thread runs at a raised priority.
    pub fn writer_priority(&self) -> Option<WriterPriority> {
        self.writer_priority
    }

    /// Waits for in-flight queries and closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
