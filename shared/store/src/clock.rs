//! Clocks: the system's, one a developer can move forward, one a test sets.

use std::sync::atomic::{AtomicI64, Ordering};
use titolare_domain::ports::Clock;

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// System time plus an offset that only grows (the local gateway's `POST /dev/clock`).
#[derive(Default)]
pub struct OffsetClock {
    offset_seconds: AtomicI64,
}

impl OffsetClock {
    pub fn advance(&self, seconds: i64) {
        self.offset_seconds
            .fetch_add(seconds.max(0), Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> jiff::Timestamp {
        let offset = jiff::SignedDuration::from_secs(self.offset_seconds.load(Ordering::SeqCst));
        jiff::Timestamp::now()
            .checked_add(offset)
            .unwrap_or(jiff::Timestamp::MAX)
    }
}

/// A clock that stands still until told otherwise.
pub struct FixedClock {
    seconds: AtomicI64,
}

impl FixedClock {
    pub fn at(seconds: i64) -> Self {
        Self {
            seconds: AtomicI64::new(seconds),
        }
    }

    pub fn set(&self, seconds: i64) {
        self.seconds.store(seconds, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::from_second(self.seconds.load(Ordering::SeqCst))
            .unwrap_or(jiff::Timestamp::MAX)
    }
}
