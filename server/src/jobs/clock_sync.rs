//! Keeps the server's [`Clock`] on its reference: PostgreSQL's clock, which
//! every replica reads, or on SQLite the system's. Read at the start before
//! anything is decided, then every minute; a reference that disagrees by
//! more than a second is logged, and one that stepped backwards holds the
//! clock still rather than taking it back (see [`crate::infra::clock`]).

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::infra::clock::Clock;
use crate::infra::store::outage;
use crate::infra::store::Database;

/// More than this between the clock and its reference is worth a warning.
const NOTABLE_MS: i128 = 1_000;

pub async fn run(
    db: Database,
    clock: Clock,
    every: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    super::every(
        super::Cadence::new("clock_sync", every),
        &shutdown,
        || async {
            if let Err(error) = anchor(&db, &clock).await {
                outage::job_failed("clock sync", &anyhow::Error::from(error));
            }
        },
    )
    .await;
    Ok(())
}

/// Anchors `clock` to a new reading of its reference; answers how far the
/// reference moved against the clock's count.
pub async fn anchor(db: &Database, clock: &Clock) -> Result<time::Duration, sqlx::Error> {
    let moved = clock.anchor(reference_ms(db, clock).await?);
    if moved.whole_milliseconds().abs() > NOTABLE_MS {
        tracing::warn!(
            moved_ms = moved.whole_milliseconds() as i64,
            "the reference clock moved against this server's count; following it \
             (a step backwards holds the clock still until it catches up)"
        );
    }
    Ok(moved)
}

/// Anchors `clock` to its reference before the server decides anything,
/// and says how far this machine's system clock is from the database's.
pub async fn start(db: &Database, clock: &Clock) -> anyhow::Result<()> {
    let reference = reference_ms(db, clock).await?;
    clock.start_at(reference);
    let system_off_ms = clock.system_ms() - reference;
    if i128::from(system_off_ms.abs()) > NOTABLE_MS {
        tracing::warn!(
            system_off_ms,
            "this machine's clock disagrees with the database's; Gridlink keeps time by the database's"
        );
    }
    Ok(())
}

/// The reference clock now: the database's, read halfway through the round
/// trip, or the system's.
async fn reference_ms(db: &Database, clock: &Clock) -> Result<i64, sqlx::Error> {
    let asked = Instant::now();
    Ok(match db.clock_ms().await? {
        Some(database_ms) => database_ms + (asked.elapsed().as_millis() / 2) as i64,
        None => clock.system_ms(),
    })
}
