//! When the database cannot serve: which failures mean "unreachable" or
//! "storage full" (a client should hear 503 and try again, not 500), and
//! the episodes they make. An episode is one warning in the log and one count
//! in `gridlink_database_outages_total` when it starts, and one line when
//! the database answers again — not a line per request that met it.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Why the database cannot serve a request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// No connection within the wait, or the connection broke.
    Unreachable,
    /// The disk (or the server's storage) is full.
    StorageFull,
}

impl Outage {
    pub fn as_str(self) -> &'static str {
        match self {
            Outage::Unreachable => "unreachable",
            Outage::StorageFull => "storage_full",
        }
    }

    fn from_u8(value: u8) -> Option<Outage> {
        match value {
            1 => Some(Outage::Unreachable),
            2 => Some(Outage::StorageFull),
            _ => None,
        }
    }

    fn as_u8(self) -> u8 {
        match self {
            Outage::Unreachable => 1,
            Outage::StorageFull => 2,
        }
    }
}

/// The outage `error` is a sign of, if it is one (`None`: a bug, a
/// constraint, a query's own problem).
pub fn outage(error: &sqlx::Error) -> Option<Outage> {
    match error {
        // No connection within the wait, or one that broke: closed, reset,
        // or answering what no database would (a connection cut mid-reply).
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => Some(Outage::Unreachable),
        sqlx::Error::Database(database) => {
            let code = database.code()?;
            let code = code.as_ref();
            if code.len() <= 4 {
                // SQLite's (extended) result codes, in decimal: SQLITE_FULL;
                // SQLITE_IOERR and its extended codes (files it could not read
                // or write), SQLITE_CANTOPEN.
                let code = code.parse::<u32>().ok()?;
                match code & 0xff {
                    13 => Some(Outage::StorageFull),
                    10 | 14 => Some(Outage::Unreachable),
                    _ => None,
                }
            } else if code == "53100" {
                // PostgreSQL's disk_full.
                Some(Outage::StorageFull)
            } else if code.starts_with("08") || code.starts_with("57P") {
                // PostgreSQL: a connection exception, or the server shutting
                // down or starting up.
                Some(Outage::Unreachable)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The outage under way in this process (0: none).
static CURRENT: AtomicU8 = AtomicU8::new(0);
/// When a request or job last met it: milliseconds since [`origin`].
static LAST_MET_MS: AtomicU64 = AtomicU64::new(0);

/// What [`LAST_MET_MS`] counts from.
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// A request or job met `outage` (because of `error`): the first such
/// failure of an episode is logged and counted.
pub fn met(outage: Outage, error: &sqlx::Error) {
    LAST_MET_MS.store(origin().elapsed().as_millis() as u64, Ordering::Relaxed);
    let before = CURRENT.swap(outage.as_u8(), Ordering::AcqRel);
    if Outage::from_u8(before) != Some(outage) {
        tracing::warn!(
            reason = outage.as_str(),
            %error,
            "the database cannot serve: answering 503 until it recovers (one line per episode)"
        );
        metrics::counter!(crate::infra::metrics::DATABASE_OUTAGES, "reason" => outage.as_str())
            .increment(1);
    }
}

/// The database served a request: an episode under way ends.
pub fn served() {
    if CURRENT.load(Ordering::Relaxed) == 0 {
        return;
    }
    if let Some(outage) = Outage::from_u8(CURRENT.swap(0, Ordering::AcqRel)) {
        tracing::warn!(reason = outage.as_str(), "the database serves again");
    }
}

/// A background job failed with `error`: a database outage is logged once
/// per episode (the job tries again at its next turn, its claims' leases
/// intact), anything else every time.
pub fn job_failed(job: &'static str, error: &anyhow::Error) {
    let found = error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<sqlx::Error>())
        .find_map(|database| outage(database).map(|outage| (outage, database)));
    match found {
        Some((outage, database)) => met(outage, database),
        None => tracing::error!(job, error = format!("{error:#}"), "a background job failed"),
    }
}

/// The outage under way, if a request or job met it within `window`. A
/// probe that writes one row can succeed on a full disk (SQLite reuses its
/// write-ahead log's space) while writes that need new pages fail: what the
/// requests meet counts too.
pub fn met_within(window: Duration) -> Option<Outage> {
    let outage = Outage::from_u8(CURRENT.load(Ordering::Relaxed))?;
    let since = origin()
        .elapsed()
        .saturating_sub(Duration::from_millis(LAST_MET_MS.load(Ordering::Relaxed)));
    (since < window).then_some(outage)
}

/// Whether an outage is under way (for the readiness check's log).
pub fn under_way() -> bool {
    CURRENT.load(Ordering::Relaxed) != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{Connection, Executor};

    #[tokio::test]
    async fn a_full_sqlite_database_is_storage_full() {
        sqlx::any::install_default_drivers();
        let mut connection = sqlx::AnyConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        connection
            .execute("CREATE TABLE filler (data BLOB); PRAGMA max_page_count = 8;")
            .await
            .unwrap();
        let mut failure = None;
        for _ in 0..100 {
            if let Err(error) = connection
                .execute("INSERT INTO filler VALUES (randomblob(4000))")
                .await
            {
                failure = Some(error);
                break;
            }
        }
        let failure = failure.expect("SQLite refuses a write past max_page_count");
        assert_eq!(outage(&failure), Some(Outage::StorageFull), "{failure:?}");
    }

    #[test]
    fn a_pool_that_times_out_is_unreachable_and_a_query_error_is_not() {
        assert_eq!(
            outage(&sqlx::Error::PoolTimedOut),
            Some(Outage::Unreachable)
        );
        assert_eq!(outage(&sqlx::Error::RowNotFound), None);
    }
}
