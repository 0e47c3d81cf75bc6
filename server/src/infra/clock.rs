//! The one clock of the server: wall-clock time that never runs backwards
//! and that every replica agrees on.
//!
//! It counts on the monotonic clock from an anchor, a reading of a reference
//! clock: the database's on PostgreSQL (`clock_timestamp()`, so replicas
//! whose system clocks disagree still decide leases, claims, link expiries
//! and sweeps alike), the system's on SQLite. The clock-sync job reads the
//! reference again every minute; a reference that stepped backwards (an NTP
//! correction) holds this clock still until it catches up, so nothing
//! expired comes back and no lease a webhook was sent under opens again. Tests move it forward (to expire links, tokens and sessions)
//! without sleeping, and can set a replica's system clock wrong.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// What the monotonic readings count from.
    origin: Instant,
    /// The reference's time at `origin`, as of the last anchoring.
    anchor_ms: AtomicI64,
    /// How far tests moved time forward.
    advanced_ms: AtomicI64,
    /// How wrong this process's system clock is (tests only set it).
    system_error_ms: AtomicI64,
    /// The latest time handed out: nothing later goes below it.
    latest_ms: AtomicI64,
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::with_system_error(Duration::ZERO)
    }
}

impl Clock {
    /// A clock on a machine whose system clock is `error` off (tests play a
    /// replica whose clock disagrees with this).
    pub fn with_system_error(error: Duration) -> Clock {
        let clock = Clock {
            inner: Arc::new(Inner {
                origin: Instant::now(),
                anchor_ms: AtomicI64::new(0),
                advanced_ms: AtomicI64::new(0),
                system_error_ms: AtomicI64::new(error.whole_milliseconds() as i64),
                latest_ms: AtomicI64::new(i64::MIN),
            }),
        };
        clock.start_at(clock.system_ms());
        clock
    }

    pub fn now(&self) -> OffsetDateTime {
        from_ms(self.now_ms())
    }

    /// Milliseconds since the Unix epoch, as timestamps are stored.
    pub fn now_ms(&self) -> i64 {
        let counted = self.counted_ms();
        let latest = self.inner.latest_ms.fetch_max(counted, Ordering::Relaxed);
        counted.max(latest)
    }

    /// The anchor plus the monotonic time since it (and what tests
    /// advanced), before the guard against running backwards.
    fn counted_ms(&self) -> i64 {
        let inner = &self.inner;
        inner.anchor_ms.load(Ordering::Relaxed)
            + inner.origin.elapsed().as_millis() as i64
            + inner.advanced_ms.load(Ordering::Relaxed)
    }

    /// This process's system clock, in milliseconds since the Unix epoch.
    pub fn system_ms(&self) -> i64 {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as i64);
        system + self.inner.system_error_ms.load(Ordering::Relaxed)
    }

    /// Anchors the clock to `reference_ms` before anything has used it (the
    /// server's start): unlike [`Clock::anchor`], it may go backwards.
    pub fn start_at(&self, reference_ms: i64) {
        self.set_anchor(reference_ms);
        self.inner.latest_ms.store(i64::MIN, Ordering::Relaxed);
    }

    /// Anchors the clock to a new reading of its reference, taken now.
    /// Answers how far the reference moved from this clock's count
    /// (negative: it stepped backwards, and this clock holds still until it
    /// catches up).
    pub fn anchor(&self, reference_ms: i64) -> Duration {
        let before = self.now_ms();
        self.set_anchor(reference_ms);
        Duration::milliseconds(self.counted_ms() - before)
    }

    fn set_anchor(&self, reference_ms: i64) {
        let elapsed = self.inner.origin.elapsed().as_millis() as i64;
        self.inner
            .anchor_ms
            .store(reference_ms - elapsed, Ordering::Relaxed);
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: Duration) {
        self.inner
            .advanced_ms
            .fetch_add(by.whole_milliseconds() as i64, Ordering::Relaxed);
    }

    /// Steps this process's system clock by `by` (tests play an NTP
    /// correction; the clock follows at its next anchoring).
    pub fn step_system_clock(&self, by: Duration) {
        self.inner
            .system_error_ms
            .fetch_add(by.whole_milliseconds() as i64, Ordering::Relaxed);
    }
}

pub fn to_ms(moment: OffsetDateTime) -> i64 {
    (moment.unix_timestamp_nanos() / 1_000_000) as i64
}

/// A stored time as a sentence reads it: `2026-11-28 14:05 UTC`.
pub fn readable(ms: i64) -> String {
    let moment = from_ms(ms);
    format!(
        "{} {:02}:{:02} UTC",
        moment.date(),
        moment.hour(),
        moment.minute()
    )
}

pub fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_a_clone_moves_every_clone() {
        let clock = Clock::default();
        let clone = clock.clone();
        let before = clock.now_ms();
        clone.advance(Duration::hours(72));
        assert!(clock.now_ms() - before >= 72 * 3600 * 1000);
    }

    #[test]
    fn milliseconds_round_trip() {
        let moment = from_ms(1_764_331_200_123);
        assert_eq!(to_ms(moment), 1_764_331_200_123);
    }

    #[test]
    fn it_reads_the_system_clock_it_was_given() {
        let ahead = Clock::with_system_error(Duration::minutes(5));
        let right = Clock::default();
        let apart = ahead.now_ms() - right.now_ms();
        assert!((299_900..=300_100).contains(&apart), "{apart} ms apart");
    }

    #[test]
    fn anchoring_to_a_reference_follows_it() {
        let clock = Clock::with_system_error(Duration::minutes(5));
        let reference = Clock::default();
        clock.start_at(reference.now_ms());
        assert!((clock.now_ms() - reference.now_ms()).abs() < 100);
        let moved = clock.anchor(reference.now_ms() + 2_000);
        assert!((1_900..=2_100).contains(&moved.whole_milliseconds()));
        assert!((clock.now_ms() - reference.now_ms() - 2_000).abs() < 100);
    }

    #[test]
    fn a_reference_that_steps_back_holds_the_clock_still_until_it_catches_up() {
        let clock = Clock::default();
        let before = clock.now_ms();
        let moved = clock.anchor(before - 60_000);
        assert!(moved.whole_milliseconds() <= -59_000);
        for _ in 0..100 {
            assert!(clock.now_ms() >= before);
        }
        assert!(clock.now_ms() - before < 100, "held still");
        // It counts on once the reference has caught up.
        clock.anchor(before + 1_000);
        assert!(clock.now_ms() >= before + 1_000);
    }
}
