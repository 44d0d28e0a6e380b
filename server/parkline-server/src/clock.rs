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

/// Real time moved forward by an adjustable amount, or (once frozen) time that moves only when told.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset_ms: AtomicI64,
    /// The frozen instant in milliseconds; 0: not frozen.
    frozen_ms: AtomicI64,
}

impl ShiftedClock {
    pub fn advance(&self, by: SignedDuration) {
        let by = by.as_millis() as i64;
        self.offset_ms.fetch_add(by, Ordering::SeqCst);
        let _ =
            self.frozen_ms.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |f| (f != 0).then_some(f + by));
    }

    /// Stops time where it is now, so that two readings a test compares (a fee shown, then the fee
    /// asked at the exit) cannot fall either side of a minute; `advance` still moves it.
    pub fn freeze(&self) {
        let now = self.now().as_millisecond();
        self.frozen_ms.store(now, Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        match self.frozen_ms.load(Ordering::SeqCst) {
            0 => Timestamp::now() + SignedDuration::from_millis(self.offset_ms.load(Ordering::SeqCst)),
            frozen => Timestamp::from_millisecond(frozen).unwrap_or(Timestamp::UNIX_EPOCH),
        }
    }
}
