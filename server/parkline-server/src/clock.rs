//! Where "now" comes from. Handlers ask the app's clock, so tests can let hours pass in a moment.

use std::sync::atomic::{AtomicI64, Ordering};

use jiff::{SignedDuration, Timestamp};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// The real time, for what other machines check against their own clocks (webhook signatures) and
/// what must keep growing across restarts (stream sequence epochs). Rules use the app's [`Clock`].
pub fn wall() -> Timestamp {
    Timestamp::now()
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Real time moved forward by an adjustable amount.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset_ms: AtomicI64,
}

impl ShiftedClock {
    pub fn advance(&self, by: SignedDuration) {
        self.offset_ms.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        Timestamp::now() + SignedDuration::from_millis(self.offset_ms.load(Ordering::SeqCst))
    }
}
