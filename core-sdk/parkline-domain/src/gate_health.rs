//! Is a gate working? Two signs a lane needs someone: a busy gate that has stopped opening in business
//! hours (a jammed barrier, a dead camera, a queue nobody serves), and plate reads whose confidence has
//! dropped (a dirty or knocked camera).

use std::collections::VecDeque;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// Business hours, local: the gate is expected to serve traffic from 07:00 to 22:00.
const OPEN_HOURS: std::ops::Range<i8> = 7..22;
/// A gate silent this long is idle...
pub const IDLE_AFTER: SignedDuration = SignedDuration::from_mins(5);
/// ...if it opened at least this many times in the hour before.
const BUSY_OPENS: usize = 3;
const KEPT: usize = 200;
/// Recent reads compared with the ones before.
const RECENT_READS: usize = 10;
const MIN_READS: usize = 30;

/// What a gate did lately: when it opened, and how sure its plate reads were.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GateActivity {
    opens: VecDeque<Timestamp>,
    reads: VecDeque<f64>,
}

impl GateActivity {
    pub fn record(&mut self, at: Timestamp, opened: bool, confidence: Option<f64>) {
        if opened {
            self.opens.push_back(at);
            if self.opens.len() > KEPT {
                self.opens.pop_front();
            }
        }
        if let Some(c) = confidence.filter(|c| c.is_finite()) {
            self.reads.push_back(c.clamp(0.0, 1.0));
            if self.reads.len() > KEPT {
                self.reads.pop_front();
            }
        }
    }

    /// When the gate last opened, if it has been idle for [`IDLE_AFTER`] in business hours after being
    /// busy.
    pub fn idle_since(&self, now: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let last = *self.opens.back()?;
        let hour = now.to_zoned_datetime(tz.clone()).hour();
        if !OPEN_HOURS.contains(&hour) || now.duration_since(last) < IDLE_AFTER {
            return None;
        }
        let busy =
            self.opens.iter().filter(|t| last.duration_since(**t) <= SignedDuration::from_hours(1)).count();
        (busy >= BUSY_OPENS).then_some(last)
    }

    /// `(recent, usual)` mean confidence when the last reads are much less sure than the ones before
    /// (down by 0.15 or more), or simply poor (under 0.6).
    pub fn confidence_drop(&self) -> Option<(f64, f64)> {
        if self.reads.len() < MIN_READS {
            return None;
        }
        let split = self.reads.len() - RECENT_READS;
        let mean = |xs: &mut dyn Iterator<Item = &f64>, n: usize| xs.sum::<f64>() / n as f64;
        let recent = mean(&mut self.reads.iter().skip(split), RECENT_READS);
        let usual = mean(&mut self.reads.iter().take(split), split);
        (recent < usual - 0.15 || recent < 0.6).then_some((recent, usual))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz() -> TimeZone {
        TimeZone::get("America/Los_Angeles").unwrap()
    }

    fn at(local: &str) -> Timestamp {
        local.parse::<jiff::civil::DateTime>().unwrap().to_zoned_datetime(tz()).unwrap().timestamp()
    }

    #[test]
    fn a_busy_gate_that_stops_opening_in_business_hours_is_idle() {
        let mut g = GateActivity::default();
        for minute in [0, 10, 20, 30] {
            g.record(at(&format!("2026-11-24T09:{minute:02}")), true, Some(0.9));
        }
        assert_eq!(g.idle_since(at("2026-11-24T09:33"), &tz()), None, "three minutes is not idle");
        assert_eq!(g.idle_since(at("2026-11-24T09:36"), &tz()), Some(at("2026-11-24T09:30")));
        assert_eq!(g.idle_since(at("2026-11-24T23:00"), &tz()), None, "closed hours");
        let mut quiet = GateActivity::default();
        quiet.record(at("2026-11-24T09:00"), true, None);
        assert_eq!(quiet.idle_since(at("2026-11-24T10:00"), &tz()), None, "a quiet gate is not a stuck one");
    }

    #[test]
    fn a_drop_in_read_confidence_is_noticed_and_a_steady_one_is_not() {
        let mut g = GateActivity::default();
        let t = at("2026-11-24T09:00");
        for _ in 0..40 {
            g.record(t, false, Some(0.93));
        }
        assert_eq!(g.confidence_drop(), None);
        for _ in 0..10 {
            g.record(t, false, Some(0.55));
        }
        let (recent, usual) = g.confidence_drop().unwrap();
        assert!((recent - 0.55).abs() < 1e-9 && usual > 0.8, "{recent} {usual}");
        let mut few = GateActivity::default();
        for _ in 0..5 {
            few.record(t, false, Some(0.1));
        }
        assert_eq!(few.confidence_drop(), None, "too few reads to judge");
    }
}
