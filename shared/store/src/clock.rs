//! Clocks: the system's, one a developer can move forward, one a test sets.

use std::sync::atomic::{AtomicI64, Ordering};
use titolare_domain::ports::Clock;

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// System time plus an offset that only grows (the local gateway's `POST /dev/clock`), or,
/// frozen, a start time plus that offset: tests that must hit a second exactly freeze it,
/// so only `advance` moves it.
#[derive(Default)]
pub struct OffsetClock {
    offset_seconds: AtomicI64,
    frozen_at: Option<i64>,
}

impl OffsetClock {
    /// A clock standing at `seconds` (epoch) until advanced.
    pub fn frozen_at(seconds: i64) -> Self {
        Self {
            offset_seconds: AtomicI64::new(0),
            frozen_at: Some(seconds),
        }
    }

    pub fn advance(&self, seconds: i64) {
        self.offset_seconds
            .fetch_add(seconds.max(0), Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> jiff::Timestamp {
        let offset = jiff::SignedDuration::from_secs(self.offset_seconds.load(Ordering::SeqCst));
        let start = match self.frozen_at {
            Some(seconds) => jiff::Timestamp::from_second(seconds).unwrap_or(jiff::Timestamp::MAX),
            None => jiff::Timestamp::now(),
        };
        start.checked_add(offset).unwrap_or(jiff::Timestamp::MAX)
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
