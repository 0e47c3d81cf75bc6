//! The one clock of the server. Production reads the system time; tests move
//! it forward (to expire links, tokens and sessions) without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Milliseconds since the Unix epoch, as timestamps are stored.
    pub fn now_ms(&self) -> i64 {
        to_ms(self.now())
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
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
}
