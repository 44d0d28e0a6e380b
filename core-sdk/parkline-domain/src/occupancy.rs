//! Live state of every spot in a facility, with counts that cannot drift.
//!
//! Each spot is in exactly one [`SpotState`], and the only way to change a state is [`Occupancy::set_state`],
//! which moves the spot between counters and keeps the free-spot index in step. So, by construction:
//! `free + occupied + held + out_of_service == capacity` for the facility and for every floor and zone, no counter
//! goes negative, and a spot is in the free index exactly when it is free.

use serde::{Deserialize, Serialize};

use crate::allocation::FreeIndex;
use crate::layout::{Facility, Feature, Features, SpotIdx};
use crate::sensor::SensorTrack;
use crate::{Error, VehicleClass};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpotState {
    Free,
    Occupied,
    /// Set aside for a vehicle that has entered (or a reservation) and not yet seen in the spot.
    Held,
    /// Closed by staff (repairs, cones); sensors cannot reopen it.
    OutOfService,
}

impl SpotState {
    pub const ALL: [SpotState; 4] =
        [SpotState::Free, SpotState::Occupied, SpotState::Held, SpotState::OutOfService];
    pub const fn as_str(self) -> &'static str {
        match self {
            SpotState::Free => "free",
            SpotState::Occupied => "occupied",
            SpotState::Held => "held",
            SpotState::OutOfService => "out_of_service",
        }
    }
}

impl std::str::FromStr for SpotState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        SpotState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| Error::UnknownSpotState(s.into()))
    }
}

/// What is known of one spot: its sensors' belief, and whether staff closed it. Its [`SpotState`]
/// follows from these two.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SpotStatus {
    pub sensor: SensorTrack,
    pub out_of_service: bool,
    /// Allocated to a vehicle inside (or a reservation): not offered to anyone else.
    pub held: bool,
}

impl SpotStatus {
    /// Staff closure wins, then what the sensor sees, then a hold.
    pub fn state(&self) -> SpotState {
        if self.out_of_service {
            SpotState::OutOfService
        } else if self.sensor.occupied {
            SpotState::Occupied
        } else if self.held {
            SpotState::Held
        } else {
            SpotState::Free
        }
    }
}

/// Spots per state over some part of a facility.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub free: u32,
    pub occupied: u32,
    pub held: u32,
    pub out_of_service: u32,
}

impl Counts {
    pub fn capacity(&self) -> u32 {
        self.free + self.occupied + self.held + self.out_of_service
    }
    fn slot(&mut self, state: SpotState) -> &mut u32 {
        match state {
            SpotState::Free => &mut self.free,
            SpotState::Occupied => &mut self.occupied,
            SpotState::Held => &mut self.held,
            SpotState::OutOfService => &mut self.out_of_service,
        }
    }
    fn shift(&mut self, from: SpotState, to: SpotState) {
        // The spot was counted under `from`, so that counter is at least one.
        *self.slot(from) -= 1;
        *self.slot(to) += 1;
    }
}

/// What the occupancy structures keep of each spot: enough to count and rank it, nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SpotKey {
    pub size: VehicleClass,
    pub features: Features,
    pub floor: u16,
    pub zone: u16,
    pub distance_cm: u32,
}

/// The state of every spot in one facility, per-floor and per-zone counts, and the free-spot index.
#[derive(Debug, Clone)]
pub struct Occupancy {
    pub(crate) keys: Vec<SpotKey>,
    states: Vec<SpotState>,
    total: Counts,
    floors: Vec<Counts>,
    zones: Vec<Counts>,
    pub(crate) free: FreeIndex,
}

impl Occupancy {
    /// Every spot starts free.
    pub fn new(facility: &Facility) -> Occupancy {
        let keys: Vec<SpotKey> = facility
            .spots
            .iter()
            .map(|s| SpotKey {
                size: s.size,
                features: s.features,
                floor: s.floor,
                zone: s.zone,
                distance_cm: s.distance_cm,
            })
            .collect();
        let mut floors = vec![Counts::default(); facility.floors.len()];
        let mut zones = vec![Counts::default(); facility.zones.len()];
        let mut free = FreeIndex::new(facility.floors.len());
        for (idx, key) in keys.iter().enumerate() {
            floors[key.floor as usize].free += 1;
            zones[key.zone as usize].free += 1;
            free.insert(key, idx as SpotIdx);
        }
        let total = Counts { free: keys.len() as u32, ..Counts::default() };
        Occupancy { states: vec![SpotState::Free; keys.len()], keys, total, floors, zones, free }
    }

    pub fn capacity(&self) -> usize {
        self.keys.len()
    }

    pub fn state(&self, spot: SpotIdx) -> SpotState {
        self.states[spot as usize]
    }

    /// Moves a spot to `to`, returning its previous state. Unknown spots are an error, not a panic.
    pub fn set_state(&mut self, spot: SpotIdx, to: SpotState) -> Result<SpotState, Error> {
        let i = spot as usize;
        let from = *self.states.get(i).ok_or(Error::UnknownSpotIndex(spot))?;
        if from == to {
            return Ok(from);
        }
        let key = self.keys[i];
        self.states[i] = to;
        self.total.shift(from, to);
        self.floors[key.floor as usize].shift(from, to);
        self.zones[key.zone as usize].shift(from, to);
        if from == SpotState::Free {
            self.free.remove(&key, spot);
        }
        if to == SpotState::Free {
            self.free.insert(&key, spot);
        }
        Ok(from)
    }

    pub fn totals(&self) -> Counts {
        self.total
    }
    pub fn floor_counts(&self, floor: u16) -> Counts {
        self.floors[floor as usize]
    }
    pub fn zone_counts(&self, zone: u16) -> Counts {
        self.zones[zone as usize]
    }

    /// Free spots a plain vehicle of each class may be sent to (no charger, not accessible), indexed by
    /// [`VehicleClass::index`]. Computed from the index's buckets, so its cost does not grow with spots.
    pub fn free_by_class(&self) -> [u32; 4] {
        let mut per_size = [0u32; 4];
        self.free.for_each_bucket(|size, features, _floor, len| {
            if !features.has(Feature::EvCharger) && !features.has(Feature::Accessible) {
                per_size[size.index()] += len as u32;
            }
        });
        // A class may use its own size and every larger one.
        let mut out = [0u32; 4];
        let mut running = 0;
        for i in (0..4).rev() {
            running += per_size[i];
            out[i] = running;
        }
        out
    }

    /// Free spots having `feature`.
    pub fn free_with(&self, feature: Feature) -> u32 {
        let mut n = 0;
        self.free.for_each_bucket(|_, features, _, len| {
            if features.has(feature) {
                n += len as u32;
            }
        });
        n
    }

    /// Recounts everything from the spot states and compares; for tests and debug assertions.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut total = Counts::default();
        let mut floors = vec![Counts::default(); self.floors.len()];
        let mut zones = vec![Counts::default(); self.zones.len()];
        for (key, state) in self.keys.iter().zip(&self.states) {
            *total.slot(*state) += 1;
            *floors[key.floor as usize].slot(*state) += 1;
            *zones[key.zone as usize].slot(*state) += 1;
        }
        if total != self.total || floors != self.floors || zones != self.zones {
            return Err(format!("counts drifted: kept {:?}, recounted {total:?}", self.total));
        }
        if total.capacity() as usize != self.capacity() {
            return Err("free + occupied + held + out_of_service != capacity".into());
        }
        let indexed = self.free.len();
        if indexed != total.free as usize {
            return Err(format!("free index holds {indexed} spots but {} are free", total.free));
        }
        for (i, state) in self.states.iter().enumerate() {
            let in_index = self.free.contains(&self.keys[i], i as SpotIdx);
            if in_index != (*state == SpotState::Free) {
                return Err(format!("spot {i} is {state:?} but in_index={in_index}"));
            }
        }
        Ok(())
    }
}
