//! Fusing the plate reads of one vehicle passage. A camera sees a car over several frames and reads its
//! plate several times, sometimes wrongly, and sometimes reads something else (a dealer badge, a bumper
//! sticker) once. The passage's plate is the one read most often, by total confidence, among reads that
//! agree up to look-alike characters; a plate seen once when another was seen more does not win. A
//! plate just reported is not reported again for the same vehicle lingering at the lane.

use jiff::{SignedDuration, Timestamp};

use crate::plate::Plate;

/// One frame's read.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    pub plate: Plate,
    /// 0..=1.
    pub confidence: f64,
    pub at: Timestamp,
}

/// A passage's plate.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    pub plate: Plate,
    /// Mean confidence of the reads that agree with it, times the share of reads that do.
    pub confidence: f64,
    /// Reads that agree with it (up to look-alikes).
    pub reads: usize,
    /// Other plates read in the passage, most likely first.
    pub alternatives: Vec<Plate>,
}

/// Collects reads until the passage ends, then says which plate passed.
#[derive(Debug, Clone)]
pub struct PlateTracker {
    reads: Vec<Read>,
    /// The plate last reported, and when: the same one again within `repeat_after` is the same vehicle.
    last: Option<(String, Timestamp)>,
    pub repeat_after: SignedDuration,
}

impl Default for PlateTracker {
    fn default() -> Self {
        PlateTracker { reads: Vec::new(), last: None, repeat_after: SignedDuration::from_secs(30) }
    }
}

impl PlateTracker {
    pub fn observe(&mut self, read: Read) {
        if (0.0..=1.0).contains(&read.confidence) {
            self.reads.push(read);
        }
    }

    /// Reads collected in the current passage.
    pub fn pending(&self) -> usize {
        self.reads.len()
    }

    /// Ends the passage: the fused plate, or `None` when nothing was read or it is the vehicle just
    /// reported, still at the lane.
    pub fn finish(&mut self, now: Timestamp) -> Option<Fused> {
        let reads = std::mem::take(&mut self.reads);
        if reads.is_empty() {
            return None;
        }
        // Group by look-alike key; within a group, the spelling with the most confidence.
        let mut groups: Vec<(String, Vec<&Read>)> = Vec::new();
        for r in &reads {
            let key = r.plate.confusion_key();
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(r),
                None => groups.push((key, vec![r])),
            }
        }
        let weight = |members: &[&Read]| members.iter().map(|r| r.confidence).sum::<f64>();
        groups.sort_by(|a, b| {
            b.1.len()
                .cmp(&a.1.len())
                .then(weight(&b.1).partial_cmp(&weight(&a.1)).unwrap_or(std::cmp::Ordering::Equal))
        });
        let spelling = |members: &[&Read]| -> Plate {
            let mut by_text: Vec<(&Plate, f64)> = Vec::new();
            for r in members {
                match by_text.iter_mut().find(|(p, _)| *p == &r.plate) {
                    Some((_, w)) => *w += r.confidence,
                    None => by_text.push((&r.plate, r.confidence)),
                }
            }
            by_text.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
            by_text[0].0.clone()
        };
        let (key, members) = &groups[0];
        let plate = spelling(members);
        if let Some((last, at)) = &self.last
            && last == key
            && now.duration_since(*at) < self.repeat_after
        {
            self.last = Some((key.clone(), now));
            return None;
        }
        self.last = Some((key.clone(), now));
        let share = members.len() as f64 / reads.len() as f64;
        Some(Fused {
            plate,
            confidence: weight(members) / members.len() as f64 * share,
            reads: members.len(),
            alternatives: groups[1..].iter().map(|(_, m)| spelling(m)).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, confidence: f64, s: i64) -> Read {
        Read {
            plate: Plate::parse(text).unwrap(),
            confidence,
            at: Timestamp::from_second(1_800_000_000 + s).unwrap(),
        }
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    #[test]
    fn the_plate_read_most_often_wins_over_a_badge_read_once_with_more_confidence() {
        let mut t = PlateTracker::default();
        t.observe(read("7ABC123", 0.81, 0));
        t.observe(read("DEALER", 0.99, 0));
        t.observe(read("7A8C123", 0.70, 1));
        t.observe(read("7ABC123", 0.85, 1));
        let fused = t.finish(at(2)).unwrap();
        assert_eq!(fused.plate.as_str(), "7ABC123");
        assert_eq!(fused.reads, 3, "the look-alike read counts for it");
        assert_eq!(fused.alternatives[0].as_str(), "DEALER");
        assert!(fused.confidence > 0.5 && fused.confidence < 0.81);
    }

    #[test]
    fn the_same_vehicle_lingering_is_reported_once() {
        let mut t = PlateTracker::default();
        t.observe(read("7ABC123", 0.9, 0));
        assert!(t.finish(at(1)).is_some());
        t.observe(read("7ABC123", 0.9, 5));
        assert!(t.finish(at(6)).is_none(), "still at the lane");
        t.observe(read("5XYZ789", 0.9, 7));
        assert_eq!(t.finish(at(8)).unwrap().plate.as_str(), "5XYZ789", "the next car");
        t.observe(read("7ABC123", 0.9, 60));
        assert!(t.finish(at(61)).is_some(), "back much later: a new passage");
        assert!(t.finish(at(62)).is_none(), "nothing read");
    }

    #[test]
    fn impossible_confidences_are_ignored() {
        let mut t = PlateTracker::default();
        t.observe(read("7ABC123", 1.5, 0));
        t.observe(read("7ABC123", f64::NAN, 0));
        assert_eq!(t.pending(), 0);
    }
}
