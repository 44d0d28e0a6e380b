//! Rules for turning raw occupancy-sensor readings into spot changes.
//!
//! Sensors lie a little: they report low-confidence guesses, resend readings, deliver them out of order
//! through gateways, and flap while a car manoeuvres. A spot may be watched by several sensors (a
//! ground sensor and a camera, say): each keeps its latest reading as evidence, and [`crate::fusion`]
//! turns the evidence into one belief. [`SensorTrack::observe`] decides, per spot, what a reading
//! means; [`SensorTrack::settle`] applies a held change once the spot has been still long enough. Both
//! are pure: the caller supplies the clock.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::fusion::{self, Evidence, MAX_SENSORS};

/// The kind of device that produced a reading; kept in the history for analysis.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorKind {
    Ultrasonic,
    Magnetic,
    Camera,
    Infrared,
}

impl SensorKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            SensorKind::Ultrasonic => "ultrasonic",
            SensorKind::Magnetic => "magnetic",
            SensorKind::Camera => "camera",
            SensorKind::Infrared => "infrared",
        }
    }

    /// How often a reading of this kind is right: the design's figures for ultrasonic (95%),
    /// magnetic (85%) and camera (98%) sensors; infrared beam sensors are taken as 90%.
    pub const fn accuracy(self) -> f64 {
        match self {
            SensorKind::Ultrasonic => 0.95,
            SensorKind::Magnetic => 0.85,
            SensorKind::Camera => 0.98,
            SensorKind::Infrared => 0.90,
        }
    }
}

/// Tunables, with the defaults the design calls for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SensorRules {
    /// Readings below this confidence are ignored.
    pub min_confidence: f64,
    /// A change arriving sooner than this after the previous change is held until the spot stays put.
    pub debounce: SignedDuration,
    /// How far ahead of the server's clock a reading's timestamp may be before it is rejected.
    pub max_clock_skew: SignedDuration,
    /// How old a reading may be: older ones (a gateway whose clock says 1970) are rejected, not applied.
    pub max_age: SignedDuration,
    /// A sensor heard from less recently than this, when another of the spot's sensors reports,
    /// no longer counts (it fades out over the second half of the window). Sensors send a
    /// heartbeat well within it.
    pub silence: SignedDuration,
}

impl Default for SensorRules {
    fn default() -> Self {
        SensorRules {
            min_confidence: 0.85,
            debounce: SignedDuration::from_secs(5),
            max_clock_skew: SignedDuration::from_secs(30),
            max_age: SignedDuration::from_hours(1),
            silence: SignedDuration::from_mins(15),
        }
    }
}

/// One reading, already tied to a spot and to which of the spot's sensors made it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub occupied: bool,
    pub confidence: f64,
    pub at: Timestamp,
    pub kind: SensorKind,
    /// The sensor's place among the spot's sensors (0 for its first), below [`MAX_SENSORS`].
    pub slot: u8,
}

/// Why a reading cannot be accepted at all (the batch is rejected).
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ReadingError {
    #[error("confidence {0} is outside 0..=1")]
    ConfidenceOutOfRange(f64),
    #[error("timestamp {at} is more than {skew} ahead of the server clock ({now})")]
    FromTheFuture { at: Timestamp, now: Timestamp, skew: SignedDuration },
    #[error("timestamp {at} is more than {max_age:#} older than the server clock ({now})")]
    TooOld { at: Timestamp, now: Timestamp, max_age: SignedDuration },
}

impl Reading {
    pub fn validate(&self, now: Timestamp, rules: &SensorRules) -> Result<(), ReadingError> {
        if !(0.0..=1.0).contains(&self.confidence) {
            return Err(ReadingError::ConfidenceOutOfRange(self.confidence));
        }
        if self.at > now + rules.max_clock_skew {
            return Err(ReadingError::FromTheFuture { at: self.at, now, skew: rules.max_clock_skew });
        }
        if self.at < now - rules.max_age {
            return Err(ReadingError::TooOld { at: self.at, now, max_age: rules.max_age });
        }
        Ok(())
    }
}

/// What a reading did.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The spot's occupancy changed.
    Changed,
    /// It confirmed what was known.
    Unchanged,
    /// A change arrived too soon after the last one; held until the spot stays put.
    Held,
    /// Below the confidence threshold.
    LowConfidence,
    /// Same timestamp as the last accepted reading.
    Duplicate,
    /// Older than the last accepted reading.
    OutOfOrder,
}

impl Outcome {
    /// Whether the reading was accepted (and so advances the sensor's last-seen time).
    pub fn accepted(self) -> bool {
        matches!(self, Outcome::Changed | Outcome::Unchanged | Outcome::Held)
    }
}

/// What is known from one spot's sensors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SensorTrack {
    /// The spot is believed occupied. Spots with no readings yet are taken as free.
    pub occupied: bool,
    /// Timestamp of the last accepted reading of any of the spot's sensors.
    pub last_reading: Option<Timestamp>,
    /// When `occupied` last changed.
    pub last_change: Option<Timestamp>,
    /// A change held by the debounce: the new value and when it was first seen.
    pub pending: Option<(bool, Timestamp)>,
    /// Each sensor's latest accepted reading, by its slot: what the belief is fused from.
    pub evidence: [Option<Evidence>; MAX_SENSORS],
}

impl SensorTrack {
    pub fn observe(&mut self, reading: &Reading, rules: &SensorRules) -> Outcome {
        let slot = usize::from(reading.slot).min(MAX_SENSORS - 1);
        // Order is per sensor: two sensors' readings interleave. A spot saved before sensors kept
        // evidence has only its one sensor's last reading.
        let last = match self.evidence[slot] {
            Some(e) => Some(e.at),
            None if self.evidence.iter().all(Option::is_none) => self.last_reading,
            None => None,
        };
        match last {
            Some(last) if reading.at < last => return Outcome::OutOfOrder,
            Some(last) if reading.at == last => return Outcome::Duplicate,
            _ => {}
        }
        if reading.confidence < rules.min_confidence {
            return Outcome::LowConfidence;
        }
        self.last_reading = self.last_reading.max(Some(reading.at));
        self.evidence[slot] = Some(Evidence {
            kind: reading.kind,
            occupied: reading.occupied,
            confidence: reading.confidence as f32,
            at: reading.at,
        });
        // A tie between sensors keeps what was believed.
        let occupied = self.belief(reading.at, rules).map_or(self.occupied, |b| b.occupied);
        let reading = Reading { occupied, ..*reading };
        if reading.occupied == self.occupied {
            self.pending = None;
            return Outcome::Unchanged;
        }
        let too_soon =
            self.last_change.is_some_and(|changed| reading.at.duration_since(changed) < rules.debounce);
        if too_soon {
            let since = match self.pending {
                Some((value, since)) if value == reading.occupied => since,
                _ => reading.at,
            };
            self.pending = Some((reading.occupied, since));
            return Outcome::Held;
        }
        self.occupied = reading.occupied;
        self.last_change = Some(reading.at);
        self.pending = None;
        Outcome::Changed
    }

    /// What the spot's sensors say together at `at`, if any of them still counts.
    pub fn belief(&self, at: Timestamp, rules: &SensorRules) -> Option<fusion::Belief> {
        fusion::fuse(&self.evidence, at, rules.silence)
    }

    /// When a held change becomes due, if one is held.
    pub fn due_at(&self, rules: &SensorRules) -> Option<Timestamp> {
        let (_, since) = self.pending?;
        let window_end = self.last_change.map_or(since, |changed| changed + rules.debounce);
        Some(window_end.max(since))
    }

    /// Applies a held change whose debounce window has passed by `now`. Returns the new occupancy if it
    /// changed.
    pub fn settle(&mut self, now: Timestamp, rules: &SensorRules) -> Option<bool> {
        let due = self.due_at(rules)?;
        if now < due {
            return None;
        }
        let (value, _) = self.pending.take()?;
        self.occupied = value;
        self.last_change = Some(due);
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }
    fn reading(occupied: bool, s: i64) -> Reading {
        Reading { occupied, confidence: 0.95, at: at(s), kind: SensorKind::Ultrasonic, slot: 0 }
    }

    /// Feeds `(occupied, second)` readings and returns each outcome and the final belief.
    fn check(readings: &[(bool, i64)], expected: &[Outcome], occupied_after: bool) {
        let rules = SensorRules::default();
        let mut track = SensorTrack::default();
        let got: Vec<Outcome> =
            readings.iter().map(|&(o, s)| track.observe(&reading(o, s), &rules)).collect();
        assert_eq!(got, expected, "readings {readings:?}");
        assert_eq!(track.occupied, occupied_after, "readings {readings:?}");
    }

    #[test]
    fn readings_change_confirm_dedup_and_reorder() {
        use Outcome::*;
        check(&[(true, 0)], &[Changed], true);
        check(&[(false, 0)], &[Unchanged], false);
        check(&[(true, 0), (true, 0)], &[Changed, Duplicate], true);
        check(&[(true, 10), (false, 5)], &[Changed, OutOfOrder], true);
        check(&[(true, 0), (false, 60)], &[Changed, Changed], false);
    }

    #[test]
    fn low_confidence_readings_are_ignored_and_do_not_advance_the_clock() {
        let rules = SensorRules::default();
        let mut track = SensorTrack::default();
        let weak = Reading { confidence: 0.84, ..reading(true, 10) };
        assert_eq!(track.observe(&weak, &rules), Outcome::LowConfidence);
        assert_eq!(track, SensorTrack::default());
        // A confident reading older than the weak one still counts.
        assert_eq!(track.observe(&reading(true, 5), &rules), Outcome::Changed);
    }

    #[test]
    fn a_flapping_spot_is_held_and_a_flap_back_cancels_the_change() {
        use Outcome::*;
        // Car arrives, sensor flickers free and back while it manoeuvres.
        check(&[(true, 0), (false, 1), (true, 2)], &[Changed, Held, Unchanged], true);
        let rules = SensorRules::default();
        let mut track = SensorTrack::default();
        track.observe(&reading(true, 0), &rules);
        track.observe(&reading(false, 1), &rules);
        track.observe(&reading(true, 2), &rules);
        assert_eq!(track.pending, None);
        assert_eq!(track.settle(at(100), &rules), None);
    }

    #[test]
    fn a_held_change_is_applied_once_the_debounce_window_has_passed() {
        let rules = SensorRules::default();
        let mut track = SensorTrack::default();
        track.observe(&reading(true, 0), &rules);
        assert_eq!(track.observe(&reading(false, 2), &rules), Outcome::Held);
        assert_eq!(track.due_at(&rules), Some(at(5)));
        assert_eq!(track.settle(at(4), &rules), None);
        assert_eq!(track.settle(at(5), &rules), Some(false));
        assert!(!track.occupied);
        assert_eq!(track.last_change, Some(at(5)));
        // A later confirming reading after the window is a plain change, not a hold.
        let mut track2 = SensorTrack::default();
        track2.observe(&reading(true, 0), &rules);
        track2.observe(&reading(false, 2), &rules);
        assert_eq!(track2.observe(&reading(false, 6), &rules), Outcome::Changed);
    }

    #[test]
    fn several_sensors_of_a_spot_are_fused() {
        use Outcome::*;
        let rules = SensorRules::default();
        let mut track = SensorTrack::default();
        let camera = |occupied, s| Reading { kind: SensorKind::Camera, slot: 1, ..reading(occupied, s) };
        let magnetic = |occupied, s| Reading { kind: SensorKind::Magnetic, slot: 0, ..reading(occupied, s) };
        assert_eq!(track.observe(&camera(true, 0), &rules), Changed);
        // The magnetic sensor disagrees: the camera is more accurate, the spot stays occupied.
        assert_eq!(track.observe(&magnetic(false, 60), &rules), Unchanged);
        assert!(track.occupied);
        // Each sensor's readings are ordered on their own: older than the magnetic sensor's last is
        // fine, older than the camera's own is not.
        assert_eq!(track.observe(&camera(true, 30), &rules), Unchanged);
        assert_eq!(track.observe(&camera(true, 20), &rules), OutOfOrder);
        assert_eq!(track.observe(&camera(true, 60), &rules), Unchanged);
        assert!(track.belief(at(60), &rules).unwrap().confidence < 0.98);
        // The camera falls silent; fifteen minutes on, the magnetic sensor alone decides.
        assert_eq!(track.observe(&magnetic(false, 60 + 15 * 60), &rules), Changed);
        assert!(!track.occupied);
    }

    #[test]
    fn validation_rejects_bad_confidence_and_future_timestamps() {
        let rules = SensorRules::default();
        let now = at(0);
        let bad = |confidence: f64, s: i64| Reading { confidence, ..reading(true, s) }.validate(now, &rules);
        assert!(bad(0.9, 0).is_ok());
        assert!(bad(0.9, 30).is_ok());
        assert!(matches!(bad(1.5, 0), Err(ReadingError::ConfidenceOutOfRange(_))));
        assert!(matches!(bad(-0.1, 0), Err(ReadingError::ConfidenceOutOfRange(_))));
        assert!(matches!(bad(f64::NAN, 0), Err(ReadingError::ConfidenceOutOfRange(_))));
        assert!(matches!(bad(0.9, 31), Err(ReadingError::FromTheFuture { .. })));
        assert!(bad(0.9, -3600).is_ok());
        assert!(matches!(bad(0.9, -3601), Err(ReadingError::TooOld { .. })));
        let epoch = Reading { at: Timestamp::UNIX_EPOCH, ..reading(true, 0) };
        assert!(matches!(epoch.validate(at(1_800_000_000), &rules), Err(ReadingError::TooOld { .. })));
    }
}
