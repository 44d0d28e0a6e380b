//! The reservations that hold spots at one facility, indexed so a gate's questions (is this plate
//! booked now? which spots are kept for arrivals soon?) and a booking's (is this spot free then? how
//! much does this account hold?) look at the few claims concerned, not at every claim.

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;

use crate::plate::Plate;
use crate::reservation::{GRACE, Reservation, WALK_IN_LOOKAHEAD};

/// Confirmed and checked-in reservations of one facility.
#[derive(Debug, Default, Clone)]
pub struct Claims {
    by_id: HashMap<String, Reservation>,
    by_start: BTreeSet<(Timestamp, String)>,
    by_plate: HashMap<Plate, BTreeSet<String>>,
    by_spot: HashMap<String, BTreeSet<String>>,
    by_owner: HashMap<i64, BTreeSet<String>>,
}

impl Claims {
    /// Adds a claim, or replaces the one with its id.
    pub fn insert(&mut self, r: Reservation) {
        self.remove(&r.id);
        self.by_start.insert((r.start, r.id.clone()));
        self.by_plate.entry(r.plate.clone()).or_default().insert(r.id.clone());
        self.by_spot.entry(r.spot.clone()).or_default().insert(r.id.clone());
        if let Some(owner) = r.owner {
            self.by_owner.entry(owner).or_default().insert(r.id.clone());
        }
        self.by_id.insert(r.id.clone(), r);
    }

    /// Replaces a claim that is held; a claim already released stays released.
    pub fn update(&mut self, r: Reservation) {
        if self.by_id.contains_key(&r.id) {
            self.insert(r);
        }
    }

    pub fn remove(&mut self, id: &str) -> Option<Reservation> {
        let r = self.by_id.remove(id)?;
        self.by_start.remove(&(r.start, r.id.clone()));
        unindex(&mut self.by_plate, &r.plate, id);
        unindex(&mut self.by_spot, &r.spot, id);
        if let Some(owner) = r.owner {
            unindex(&mut self.by_owner, &owner, id);
        }
        Some(r)
    }

    pub fn get(&self, id: &str) -> Option<&Reservation> {
        self.by_id.get(id)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Every claim, in no particular order (for the occasional sweep, never for a gate).
    pub fn iter(&self) -> impl Iterator<Item = &Reservation> {
        self.by_id.values()
    }

    /// Whether `spot` is free of claims over `[start, end)`, leaving out the claim `except`.
    pub fn spot_free(&self, spot: &str, start: Timestamp, end: Timestamp, except: Option<&str>) -> bool {
        self.ids(&self.by_spot, spot)
            .filter(|r| Some(r.id.as_str()) != except)
            .all(|r| !r.overlaps(start, end))
    }

    /// The reservation a vehicle with `plate` arriving at `at` checks in on.
    pub fn check_in(&self, plate: &Plate, at: Timestamp) -> Option<&Reservation> {
        self.ids(&self.by_plate, plate).find(|r| r.can_check_in(at))
    }

    /// Spots kept from walk-ins arriving at `now` for reservations starting soon.
    pub fn kept_for_arrivals(&self, now: Timestamp) -> impl Iterator<Item = &str> {
        self.starting(now - GRACE, now + WALK_IN_LOOKAHEAD)
            .filter(move |r| r.keeps_walk_ins_out(now))
            .map(|r| r.spot.as_str())
    }

    /// Confirmed reservations whose check-in window has passed by `now`.
    pub fn no_shows(&self, now: Timestamp) -> impl Iterator<Item = &Reservation> {
        self.starting(Timestamp::MIN, now - GRACE).filter(move |r| r.is_no_show(now))
    }

    /// The claims `owner` holds here.
    pub fn held_by(&self, owner: i64) -> impl Iterator<Item = &Reservation> {
        self.ids(&self.by_owner, &owner)
    }

    /// Claims starting within `[from, to]`.
    fn starting(&self, from: Timestamp, to: Timestamp) -> impl Iterator<Item = &Reservation> {
        let ids = if from <= to { Some(self.by_start.range((from, String::new())..)) } else { None };
        ids.into_iter()
            .flatten()
            .take_while(move |(start, _)| *start <= to)
            .filter_map(|(_, id)| self.by_id.get(id))
    }

    fn ids<'a, K, Q>(
        &'a self,
        index: &'a HashMap<K, BTreeSet<String>>,
        key: &Q,
    ) -> impl Iterator<Item = &'a Reservation> + use<'a, K, Q>
    where
        K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        index.get(key).into_iter().flatten().filter_map(|id| self.by_id.get(id))
    }
}

impl FromIterator<Reservation> for Claims {
    fn from_iter<I: IntoIterator<Item = Reservation>>(iter: I) -> Self {
        let mut claims = Claims::default();
        for r in iter {
            claims.insert(r);
        }
        claims
    }
}

fn unindex<K: std::hash::Hash + Eq>(index: &mut HashMap<K, BTreeSet<String>>, key: &K, id: &str) {
    if let Some(ids) = index.get_mut(key) {
        ids.remove(id);
        if ids.is_empty() {
            index.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reservation::Status;
    use crate::{Vehicle, VehicleClass};
    use jiff::SignedDuration;

    fn at(mins: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap() + SignedDuration::from_mins(mins)
    }

    fn claim(id: &str, spot: &str, plate: &str, start: i64, owner: i64) -> Reservation {
        Reservation {
            id: id.into(),
            facility: "f".into(),
            spot: spot.into(),
            plate: Plate::parse(plate).unwrap(),
            vehicle: Vehicle::new(VehicleClass::Sedan, false),
            start: at(start),
            end: at(start + 60),
            status: Status::Confirmed,
            quote_minor: 1000,
            fee_minor: 0,
            owner: Some(owner),
            group: None,
        }
    }

    /// The indexes answer as a scan of every claim would, through inserts, moves and removals.
    #[test]
    fn indexed_answers_match_a_scan_of_every_claim() {
        let mut claims = Claims::default();
        let mut all = Vec::new();
        for n in 0..200 {
            let r = claim(
                &format!("r{n}"),
                &format!("S{}", n % 17),
                &format!("PL{}", n % 23),
                (n * 37) % 900 - 100,
                n % 5,
            );
            claims.insert(r.clone());
            all.push(r);
        }
        // Move some, release some.
        for n in (0..200).step_by(7) {
            let mut moved = all[n].clone();
            moved.start += SignedDuration::from_mins(45);
            moved.end += SignedDuration::from_mins(45);
            claims.update(moved.clone());
            all[n] = moved;
        }
        for n in (0..200).step_by(11) {
            assert!(claims.remove(&format!("r{n}")).is_some());
        }
        all.retain(|r| claims.get(&r.id).is_some());
        assert_eq!(claims.len(), all.len());
        for now in (-200..1000).step_by(13).map(at) {
            let mut kept: Vec<&str> = claims.kept_for_arrivals(now).collect();
            let mut scanned: Vec<&str> =
                all.iter().filter(|r| r.keeps_walk_ins_out(now)).map(|r| r.spot.as_str()).collect();
            kept.sort();
            scanned.sort();
            assert_eq!(kept, scanned, "at {now}");
            let mut missed: Vec<&str> = claims.no_shows(now).map(|r| r.id.as_str()).collect();
            let mut scanned: Vec<&str> =
                all.iter().filter(|r| r.is_no_show(now)).map(|r| r.id.as_str()).collect();
            missed.sort();
            scanned.sort();
            assert_eq!(missed, scanned);
            for plate in ["PL1", "PL7", "PL22"] {
                let plate = Plate::parse(plate).unwrap();
                let found = claims.check_in(&plate, now).map(|r| r.id.clone());
                let any = all.iter().any(|r| r.plate == plate && r.can_check_in(now));
                assert_eq!(found.is_some(), any);
            }
            for spot in ["S0", "S5", "S16"] {
                let free = claims.spot_free(spot, now, now + SignedDuration::from_mins(30), None);
                assert_eq!(
                    free,
                    !all.iter()
                        .any(|r| r.spot == spot && r.overlaps(now, now + SignedDuration::from_mins(30)))
                );
            }
        }
        assert_eq!(claims.held_by(3).count(), all.iter().filter(|r| r.owner == Some(3)).count());
        let first = all[0].clone();
        assert!(!claims.spot_free(&first.spot, first.start, first.end, None));
        assert!(
            claims.spot_free(&first.spot, first.start, first.end, Some(&first.id))
                || all.iter().filter(|r| r.spot == first.spot && r.overlaps(first.start, first.end)).count()
                    > 1
        );
    }

    #[test]
    fn a_released_claim_is_not_brought_back_by_an_update() {
        let mut claims: Claims = [claim("a", "S1", "AAA111", 60, 1)].into_iter().collect();
        let r = claims.remove("a").unwrap();
        claims.update(r);
        assert!(claims.is_empty());
        assert!(claims.spot_free("S1", at(0), at(500), None));
    }
}
