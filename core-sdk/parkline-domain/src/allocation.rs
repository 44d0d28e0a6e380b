//! Choosing the best free spot for a vehicle, in O(log n).
//!
//! Free spots are kept in buckets of identical (size, features, floor), each a `BTreeSet` ordered by
//! distance from the entrance. Inside a bucket every term of the score is equal except the distance, so the
//! bucket's nearest spot beats the rest of it. The best spot is therefore the best of the bucket heads, and
//! the best N come from a k-way merge over buckets. The number of buckets depends on the layout's variety
//! (4 sizes x 8 feature sets x floors), not on the number of spots.
//!
//! The score is an integer cost in centimetre-equivalents; lower is better, ties go to the lower spot index,
//! so the same state always yields the same answer.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::ops::Bound;

use serde::{Deserialize, Serialize};

use crate::layout::{Feature, Features, SpotIdx};
use crate::occupancy::{Occupancy, SpotKey};
use crate::{Vehicle, VehicleClass};

/// How much each mismatch costs, in centimetres of extra walking a driver would accept to avoid it.
pub mod weights {
    /// Per size class larger than the vehicle needs: keeps big spots for big vehicles.
    pub const OVERSIZE_PER_CLASS: u64 = 3_000;
    /// Sending a driver who asked for an accessible spot to a regular one.
    pub const MISSING_ACCESSIBLE: u64 = 20_000;
    /// An electric vehicle that prefers charging, parked where there is no charger.
    pub const MISSING_CHARGER: u64 = 5_000;
    /// A driver who prefers a roof, parked in the open.
    pub const MISSING_COVER: u64 = 2_000;
    /// Per level away from the floor the driver asked for.
    pub const PER_LEVEL_FROM_PREFERRED: u64 = 5_000;
    /// Added in proportion to how full a floor is (all of it on a full floor), to spread traffic.
    pub const FULL_FLOOR: u64 = 4_000;
}

/// Whether a driver needs a charger.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Charging {
    /// Electric vehicles prefer a charger; others never get one.
    #[default]
    Auto,
    /// Only spots with a charger (electric vehicles only).
    Require,
    /// Do not prefer chargers (an electric vehicle may still be given one).
    No,
}

/// What a driver asks for beyond fitting the car.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    /// The driver holds an accessible-parking permit: accessible spots are allowed and preferred.
    pub accessible: bool,
    pub charging: Charging,
    /// Prefer spots under a roof.
    pub covered: bool,
    /// Prefer this level.
    pub level: Option<i16>,
}

/// One ranked answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub spot: SpotIdx,
    pub cost: u64,
}

/// Whether policy allows sending this vehicle to a spot of this size and equipment.
pub fn eligible(vehicle: Vehicle, prefs: &Preferences, size: VehicleClass, features: Features) -> bool {
    let charger = features.has(Feature::EvCharger);
    vehicle.class.fits_in(size)
        && (!features.has(Feature::Accessible) || prefs.accessible)
        && (!charger || vehicle.electric)
        && (charger || prefs.charging != Charging::Require)
}

/// Cost of every spot of a bucket, apart from its distance.
fn bucket_cost(
    vehicle: Vehicle,
    prefs: &Preferences,
    size: VehicleClass,
    features: Features,
    level: i16,
    floor: crate::Counts,
) -> u64 {
    let mut cost = (size.index() - vehicle.class.index()) as u64 * weights::OVERSIZE_PER_CLASS;
    if prefs.accessible && !features.has(Feature::Accessible) {
        cost += weights::MISSING_ACCESSIBLE;
    }
    if vehicle.electric && prefs.charging == Charging::Auto && !features.has(Feature::EvCharger) {
        cost += weights::MISSING_CHARGER;
    }
    if prefs.covered && !features.has(Feature::Covered) {
        cost += weights::MISSING_COVER;
    }
    if let Some(want) = prefs.level {
        cost += u64::from(want.abs_diff(level)) * weights::PER_LEVEL_FROM_PREFERRED;
    }
    let capacity = u64::from(floor.capacity().max(1));
    cost + u64::from(floor.occupied) * weights::FULL_FLOOR / capacity
}

/// Free spots bucketed by (floor, size, features), each bucket ordered by (distance, index).
#[derive(Debug, Clone)]
pub(crate) struct FreeIndex {
    buckets: Vec<BTreeSet<(u32, SpotIdx)>>,
}

const SIZES: usize = VehicleClass::ALL.len();

impl FreeIndex {
    pub fn new(floors: usize) -> Self {
        FreeIndex { buckets: vec![BTreeSet::new(); floors * SIZES * Features::COMBINATIONS] }
    }
    fn slot(floor: u16, size: VehicleClass, features: Features) -> usize {
        (usize::from(floor) * SIZES + size.index()) * Features::COMBINATIONS + features.index()
    }
    fn unslot(slot: usize) -> (u16, VehicleClass, Features) {
        let features = Features::from_index(slot % Features::COMBINATIONS);
        let rest = slot / Features::COMBINATIONS;
        ((rest / SIZES) as u16, VehicleClass::ALL[rest % SIZES], features)
    }
    pub fn insert(&mut self, key: &SpotKey, spot: SpotIdx) {
        self.buckets[Self::slot(key.floor, key.size, key.features)].insert((key.distance_cm, spot));
    }
    pub fn remove(&mut self, key: &SpotKey, spot: SpotIdx) {
        self.buckets[Self::slot(key.floor, key.size, key.features)].remove(&(key.distance_cm, spot));
    }
    pub fn contains(&self, key: &SpotKey, spot: SpotIdx) -> bool {
        self.buckets[Self::slot(key.floor, key.size, key.features)].contains(&(key.distance_cm, spot))
    }
    pub fn len(&self) -> usize {
        self.buckets.iter().map(BTreeSet::len).sum()
    }
    /// Calls `f(size, features, floor, free spots)` for every non-empty bucket.
    pub fn for_each_bucket(&self, mut f: impl FnMut(VehicleClass, Features, u16, usize)) {
        for (slot, bucket) in self.buckets.iter().enumerate() {
            if !bucket.is_empty() {
                let (floor, size, features) = Self::unslot(slot);
                f(size, features, floor, bucket.len());
            }
        }
    }
}

impl Occupancy {
    /// The best `n` free spots for `vehicle`, best first. `levels[i]` is the level number of floor `i`.
    pub fn best_spots(
        &self,
        vehicle: Vehicle,
        prefs: &Preferences,
        levels: &[i16],
        n: usize,
    ) -> Vec<Candidate> {
        // One heap entry per eligible bucket: (cost, spot, distance, bucket's fixed cost, slot).
        let mut heap = BinaryHeap::new();
        for (slot, bucket) in self.free.buckets.iter().enumerate() {
            let Some(&(distance, spot)) = bucket.first() else { continue };
            let (floor, size, features) = FreeIndex::unslot(slot);
            if !eligible(vehicle, prefs, size, features) {
                continue;
            }
            let level = levels.get(usize::from(floor)).copied().unwrap_or_default();
            let fixed = bucket_cost(vehicle, prefs, size, features, level, self.floor_counts(floor));
            heap.push(Reverse((fixed + u64::from(distance), spot, distance, fixed, slot)));
        }
        let mut out = Vec::with_capacity(n.min(self.keys.len()));
        while out.len() < n {
            let Some(Reverse((cost, spot, distance, fixed, slot))) = heap.pop() else { break };
            out.push(Candidate { spot, cost });
            let after = (Bound::Excluded((distance, spot)), Bound::Unbounded);
            if let Some(&(distance, spot)) = self.free.buckets[slot].range(after).next() {
                heap.push(Reverse((fixed + u64::from(distance), spot, distance, fixed, slot)));
            }
        }
        out
    }

    /// The score [`Self::best_spots`] gives a free spot, or `None` if the vehicle may not use it. Exposed so
    /// tests can check the index against a plain scan.
    pub fn cost_of(
        &self,
        spot: SpotIdx,
        vehicle: Vehicle,
        prefs: &Preferences,
        levels: &[i16],
    ) -> Option<u64> {
        let key = self.keys.get(spot as usize)?;
        if !eligible(vehicle, prefs, key.size, key.features) {
            return None;
        }
        let level = levels.get(usize::from(key.floor)).copied().unwrap_or_default();
        let fixed = bucket_cost(vehicle, prefs, key.size, key.features, level, self.floor_counts(key.floor));
        Some(fixed + u64::from(key.distance_cm))
    }
}
