//! Several sensors watching one spot, fused into one belief with its own confidence.
//!
//! Each sensor's latest reading is evidence, weighed by how often its kind is right
//! ([`SensorKind::accuracy`]), by the confidence the sensor gave, and by its age. The weights add up in
//! log-odds (the naive-Bayes sum of independent witnesses), which gives the rules a parking operator
//! expects:
//! - sensors that agree make the belief surer than any of them alone;
//! - one sensor of a less accurate kind, no surer than a better one, cannot outvote it;
//! - a sensor not heard from within the silence window stops counting (it fades over the window's
//!   second half), so a dead sensor's last word does not pin a spot for ever.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::sensor::SensorKind;

/// How many sensors may watch one spot (a ground sensor, a second one and a camera, say).
pub const MAX_SENSORS: usize = 3;

/// One sensor's latest accepted reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub kind: SensorKind,
    pub occupied: bool,
    pub confidence: f32,
    pub at: Timestamp,
}

/// What the sensors say together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Belief {
    pub occupied: bool,
    /// The chance the belief is right, 0.5..1.
    pub confidence: f64,
}

/// The log-odds one piece of evidence adds at `now` (always positive, or 0 when it no longer counts).
pub fn weight(e: &Evidence, now: Timestamp, silence: SignedDuration) -> f64 {
    // Evidence newer than `now` (another sensor's later reading) counts as fresh.
    let age = now.duration_since(e.at).max(SignedDuration::ZERO);
    if age >= silence {
        return 0.0;
    }
    let half = silence.as_secs_f64() / 2.0;
    let fade = ((silence.as_secs_f64() - age.as_secs_f64()) / half).min(1.0);
    // The chance this reading is right: its kind's accuracy, discounted by its own confidence. A
    // reading no better than a coin adds nothing; none is treated as certain.
    let right = (e.kind.accuracy() * f64::from(e.confidence)).clamp(0.5, 0.999);
    (right / (1.0 - right)).ln() * fade
}

/// Fuses the evidence at `now`. `None` when nothing counts, or the sensors cancel out exactly.
pub fn fuse(evidence: &[Option<Evidence>], now: Timestamp, silence: SignedDuration) -> Option<Belief> {
    let log_odds: f64 = evidence
        .iter()
        .flatten()
        .map(|e| {
            let w = weight(e, now, silence);
            if e.occupied { w } else { -w }
        })
        .sum();
    if log_odds == 0.0 {
        return None;
    }
    let confidence = 1.0 / (1.0 + (-log_odds.abs()).exp());
    Some(Belief { occupied: log_odds > 0.0, confidence })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const SILENCE: SignedDuration = SignedDuration::from_mins(15);

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn kinds() -> impl Strategy<Value = SensorKind> {
        prop_oneof![
            Just(SensorKind::Ultrasonic),
            Just(SensorKind::Magnetic),
            Just(SensorKind::Camera),
            Just(SensorKind::Infrared),
        ]
    }

    /// Fresh evidence (within the first half of the silence window) from a confident sensor.
    fn fresh() -> impl Strategy<Value = Evidence> {
        (kinds(), any::<bool>(), 0.85f32..=1.0, 0i64..450).prop_map(|(kind, occupied, confidence, ago)| {
            Evidence { kind, occupied, confidence, at: t(-ago) }
        })
    }

    fn slots(list: &[Evidence]) -> Vec<Option<Evidence>> {
        list.iter().copied().map(Some).collect()
    }

    proptest! {
        /// One sensor alone decides, with its own kind's and confidence's weight.
        #[test]
        fn a_lone_sensor_decides(e in fresh()) {
            let b = fuse(&[Some(e)], t(0), SILENCE).unwrap();
            prop_assert_eq!(b.occupied, e.occupied);
            let right = (e.kind.accuracy() * f64::from(e.confidence)).clamp(0.5, 0.999);
            prop_assert!((b.confidence - right).abs() < 1e-9);
        }

        /// Another sensor that agrees makes the belief surer, never less sure.
        #[test]
        fn agreeing_sensors_raise_confidence(a in fresh(), b in fresh(), c in fresh()) {
            let agree = |e: Evidence| Evidence { occupied: a.occupied, ..e };
            let one = fuse(&slots(&[a]), t(0), SILENCE).unwrap();
            let two = fuse(&slots(&[a, agree(b)]), t(0), SILENCE).unwrap();
            let three = fuse(&slots(&[a, agree(b), agree(c)]), t(0), SILENCE).unwrap();
            prop_assert_eq!(two.occupied, a.occupied);
            prop_assert_eq!(three.occupied, a.occupied);
            prop_assert!(two.confidence > one.confidence);
            prop_assert!(three.confidence > two.confidence || three.confidence > 0.999_999);
        }

        /// One disagreeing sensor of a less accurate kind, no surer and no fresher, does not flip the
        /// spot, however many agreeing sensors back the better one.
        #[test]
        fn a_less_accurate_dissenter_does_not_flip(
            better in fresh(), worse_kind in kinds(), worse_conf in 0.85f32..=1.0, extra in proptest::option::of(fresh()),
        ) {
            prop_assume!(worse_kind.accuracy() < better.kind.accuracy());
            let dissent = Evidence {
                kind: worse_kind,
                occupied: !better.occupied,
                confidence: worse_conf.min(better.confidence),
                at: better.at,
            };
            let mut list = vec![better, dissent];
            list.extend(extra.map(|e| Evidence { occupied: better.occupied, ..e }));
            let b = fuse(&slots(&list), t(0), SILENCE).unwrap();
            prop_assert_eq!(b.occupied, better.occupied);
            // Contradicted, the belief is less sure than the better sensor alone.
            if extra.is_none() {
                prop_assert!(b.confidence < fuse(&[Some(better)], t(0), SILENCE).unwrap().confidence);
            }
        }

        /// A sensor silent for the whole window counts for nothing, whatever it last said.
        #[test]
        fn a_silent_sensor_stops_counting(live in fresh(), mut silent in fresh(), extra_s in 0i64..100_000) {
            silent.at = t(-(SILENCE.as_secs() + extra_s));
            let without = fuse(&[Some(live)], t(0), SILENCE);
            let with = fuse(&[Some(live), Some(silent)], t(0), SILENCE);
            prop_assert_eq!(with, without);
            prop_assert_eq!(fuse(&[Some(silent)], t(0), SILENCE), None);
        }

        /// Evidence weighs less as it ages through the window's second half, never more.
        #[test]
        fn evidence_fades_with_age(e in fresh(), a in 0i64..900, b in 0i64..900) {
            let (younger, older) = (a.min(b), a.max(b));
            let at = |ago: i64| Evidence { at: t(-ago), ..e };
            prop_assert!(weight(&at(older), t(0), SILENCE) <= weight(&at(younger), t(0), SILENCE));
        }
    }

    #[test]
    fn the_design_s_three_sensors() {
        let e = |kind, occupied| Evidence { kind, occupied, confidence: 1.0, at: t(0) };
        // Camera (98%) and ultrasonic (95%) say occupied, the magnetic sensor (85%) says free.
        let b = fuse(
            &[
                Some(e(SensorKind::Camera, true)),
                Some(e(SensorKind::Ultrasonic, true)),
                Some(e(SensorKind::Magnetic, false)),
            ],
            t(0),
            SILENCE,
        )
        .unwrap();
        assert!(b.occupied);
        assert!(b.confidence > 0.99, "{b:?}");
        // A camera outvotes one ultrasonic sensor; two ground sensors together outvote a camera.
        let two = [Some(e(SensorKind::Camera, true)), Some(e(SensorKind::Ultrasonic, false))];
        assert!(fuse(&two, t(0), SILENCE).unwrap().occupied);
        let three = [
            Some(e(SensorKind::Camera, true)),
            Some(e(SensorKind::Ultrasonic, false)),
            Some(e(SensorKind::Magnetic, false)),
        ];
        assert!(!fuse(&three, t(0), SILENCE).unwrap().occupied);
    }
}
