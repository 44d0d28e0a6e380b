//! The live overview: every facility's counts, per floor and zone, kept up by the realtime stream.
//! Facility totals come with each change; floor and zone counts are fetched again (at most once a
//! second per facility) after changes, so they never drift from the server's.

use std::collections::{BTreeMap, BTreeSet};

use parkline_domain::SpotState;
use parkline_sdk::protocol::{
    Availability, FacilitySummary, FloorAvailability, Freshness, SpotCounts, StreamMessage,
};
use serde::Serialize;

/// One facility as the overview shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FacilityCard {
    pub id: String,
    pub name: String,
    pub address: String,
    pub time_zone: String,
    pub counts: SpotCounts,
    /// Occupied and held, in percent of the spots in service.
    pub taken_percent: u32,
    pub floors: Vec<FloorAvailability>,
    pub freshness: Freshness,
}

/// What the window must redraw after a stream message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    Card { card: FacilityCard },
    Spot { facility: String, spot: String, state: SpotState },
    Sensor { facility: String, spot: String, silent: bool },
}

#[derive(Debug, Default)]
pub struct Board {
    cards: BTreeMap<String, FacilityCard>,
    floors_behind: BTreeSet<String>,
}

fn taken_percent(c: &SpotCounts) -> u32 {
    let in_service = c.free + c.occupied + c.held;
    ((c.occupied + c.held) * 100).checked_div(in_service).unwrap_or(0)
}

impl Board {
    /// The board from the facility list (and each facility's floors, where known).
    pub fn new(summaries: &[FacilitySummary], availability: &[Availability]) -> Board {
        let mut board = Board::default();
        for s in summaries {
            let floors = availability
                .iter()
                .find(|a| a.facility == s.id)
                .map(|a| a.floors.clone())
                .unwrap_or_default();
            board.cards.insert(
                s.id.clone(),
                FacilityCard {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    address: s.address.clone(),
                    time_zone: s.time_zone.clone(),
                    counts: s.counts,
                    taken_percent: taken_percent(&s.counts),
                    floors,
                    freshness: s.freshness,
                },
            );
        }
        board
    }

    pub fn cards(&self) -> Vec<FacilityCard> {
        self.cards.values().cloned().collect()
    }

    pub fn card(&self, facility: &str) -> Option<&FacilityCard> {
        self.cards.get(facility)
    }

    /// Replaces a facility's counts and floors with a fresh reading.
    pub fn set_availability(&mut self, a: &Availability) -> Option<FacilityCard> {
        let card = self.cards.get_mut(&a.facility)?;
        card.counts = a.counts;
        card.taken_percent = taken_percent(&a.counts);
        card.floors = a.floors.clone();
        card.freshness = a.freshness;
        Some(card.clone())
    }

    /// Applies one stream message.
    pub fn apply(&mut self, message: &StreamMessage) -> Vec<Change> {
        match message {
            StreamMessage::Snapshot { availability, .. } => self
                .set_availability(availability)
                .map(|card| vec![Change::Card { card }])
                .unwrap_or_default(),
            StreamMessage::Spot { facility, spot, state, counts, .. } => {
                let Some(card) = self.cards.get_mut(facility) else { return Vec::new() };
                card.counts = *counts;
                card.taken_percent = taken_percent(counts);
                self.floors_behind.insert(facility.clone());
                vec![
                    Change::Card { card: card.clone() },
                    Change::Spot { facility: facility.clone(), spot: spot.clone(), state: *state },
                ]
            }
            StreamMessage::SensorSilent { facility, spot, silent, .. } => {
                let Some(card) = self.cards.get_mut(facility) else { return Vec::new() };
                let stale = &mut card.freshness.stale_sensors;
                *stale = if *silent { *stale + 1 } else { stale.saturating_sub(1) };
                vec![
                    Change::Card { card: card.clone() },
                    Change::Sensor { facility: facility.clone(), spot: spot.clone(), silent: *silent },
                ]
            }
            StreamMessage::Notice { .. } | StreamMessage::Error { .. } => Vec::new(),
        }
    }

    /// Facilities whose floor counts are behind their totals since the last call.
    pub fn take_floors_behind(&mut self) -> Vec<String> {
        std::mem::take(&mut self.floors_behind).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parkline_domain::LatLon;
    use parkline_sdk::protocol::FreeByClass;

    fn summary(id: &str, counts: SpotCounts) -> FacilitySummary {
        FacilitySummary {
            id: id.into(),
            name: id.to_uppercase(),
            operator: "city".into(),
            address: "1 Main St".into(),
            location: LatLon { lat: 47.6, lon: -122.3 },
            time_zone: "America/Los_Angeles".into(),
            counts,
            free_by_class: FreeByClass::default(),
            free_ev_charger: 0,
            free_accessible: 0,
            freshness: Freshness::default(),
            distance_m: None,
        }
    }

    fn counts(free: u32, occupied: u32) -> SpotCounts {
        SpotCounts { capacity: free + occupied, free, occupied, held: 0, out_of_service: 0 }
    }

    #[test]
    fn a_spot_change_moves_the_totals_and_marks_the_floors_behind() {
        let mut board = Board::new(&[summary("a", counts(10, 0)), summary("b", counts(5, 5))], &[]);
        let changes = board.apply(&StreamMessage::Spot {
            facility: "a".into(),
            seq: 7,
            spot: "A-001".into(),
            state: SpotState::Occupied,
            counts: counts(9, 1),
        });
        assert_eq!(changes.len(), 2);
        let card = board.card("a").unwrap();
        assert_eq!((card.counts.free, card.counts.occupied, card.taken_percent), (9, 1, 10));
        assert_eq!(board.card("b").unwrap().counts, counts(5, 5));
        assert_eq!(board.take_floors_behind(), vec!["a".to_string()]);
        assert!(board.take_floors_behind().is_empty());
    }

    #[test]
    fn silent_sensors_are_counted_up_and_down_and_unknown_facilities_ignored() {
        let mut board = Board::new(&[summary("a", counts(10, 0))], &[]);
        let silent =
            |silent| StreamMessage::SensorSilent { facility: "a".into(), seq: 1, spot: "A-1".into(), silent };
        board.apply(&silent(true));
        board.apply(&silent(true));
        assert_eq!(board.card("a").unwrap().freshness.stale_sensors, 2);
        board.apply(&silent(false));
        assert_eq!(board.card("a").unwrap().freshness.stale_sensors, 1);
        let unknown = StreamMessage::Spot {
            facility: "zzz".into(),
            seq: 1,
            spot: "X".into(),
            state: SpotState::Free,
            counts: counts(1, 0),
        };
        assert!(board.apply(&unknown).is_empty());
    }
}
