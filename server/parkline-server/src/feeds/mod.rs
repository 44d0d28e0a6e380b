//! Open data: one operator's facilities and their live availability in the shapes third parties
//! already read, DATEX II 3 and 2.3 (`datex2`, what European access points and traffic centres take) and
//! ParkAPI's JSON (`parkapi`, what ParkAPI and its aggregators take). Both are made from one
//! [`Feed`], a snapshot of memory; a feed is a pure function of the state it shows (its times are
//! the data's own, never the request's), so every instance answers byte for byte the same and the
//! body's hash is its ETag.

pub mod datex2;
pub mod parkapi;

use jiff::{Timestamp, Unit};
use parkline_domain::{Counts, Feature};
use parkline_protocol::ErrorCode;

use crate::app::App;
use crate::error::{Error, Result};

/// One operator's facilities as published, by id.
#[derive(Debug, Clone)]
pub struct Feed {
    pub operator: String,
    pub sites: Vec<Site>,
}

/// A facility as the feeds show it.
#[derive(Debug, Clone)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub address: String,
    pub lat: f64,
    pub lon: f64,
    pub country: Option<String>,
    /// ISO 639-1 code its name is written in.
    pub language: String,
    pub structure: Structure,
    /// When it was added; layouts are not changed in place.
    pub created: Timestamp,
    pub counts: Counts,
    pub accessible_spaces: u32,
    pub charging_spaces: u32,
    pub free_accessible: u32,
    pub free_charging: u32,
    /// When its counts were last confirmed: its last sensor reading or change, else when it was added.
    pub updated: Timestamp,
}

/// How a facility is built, from its levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Structure {
    /// One level at ground.
    SingleLevel,
    /// Several levels, none below ground.
    MultiStorey,
    /// Only levels below ground.
    Underground,
    /// Levels below and above ground.
    UndergroundAndMultiStorey,
}

impl Structure {
    fn of(levels: impl Iterator<Item = i16> + Clone) -> Structure {
        let below = levels.clone().any(|l| l < 0);
        let above = levels.clone().any(|l| l > 0);
        let ground = levels.clone().any(|l| l == 0);
        match (below, above || ground) {
            (true, false) => Structure::Underground,
            (true, true) => Structure::UndergroundAndMultiStorey,
            (false, _) if above => Structure::MultiStorey,
            _ => Structure::SingleLevel,
        }
    }
}

impl Site {
    /// Spaces that can be used now (capacity less those out of service).
    pub fn usable(&self) -> u32 {
        self.counts.capacity() - self.counts.out_of_service
    }
    /// Closed when staff have taken every space out of service.
    pub fn open(&self) -> bool {
        self.usable() > 0
    }
    /// Per cent of usable spaces taken (occupied or held for a vehicle on its way).
    pub fn occupancy_percent(&self) -> u32 {
        let taken = self.counts.occupied + self.counts.held;
        (taken * 100).checked_div(self.usable()).unwrap_or(100)
    }
}

impl Feed {
    /// When the table last changed: the newest facility.
    pub fn table_time(&self) -> Timestamp {
        self.sites.iter().map(|s| s.created).max().unwrap_or(Timestamp::UNIX_EPOCH)
    }
    /// When the counts last changed.
    pub fn status_time(&self) -> Timestamp {
        self.sites.iter().map(|s| s.updated).max().unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

/// The feed of `operator`'s facilities. An operator without facilities publishes nothing: not found,
/// the same answer as for an operator that does not exist.
pub fn of(app: &App, operator: &str) -> Result<Feed> {
    let sites: Vec<Site> =
        app.live.all().into_iter().filter(|f| f.operator == operator).map(|f| site(&f)).collect();
    if sites.is_empty() {
        return Err(Error::api(ErrorCode::NotFound, format!("no open data for operator {operator:?}")));
    }
    Ok(Feed { operator: operator.to_owned(), sites })
}

fn site(live: &crate::live::FacilityLive) -> Site {
    let f = &live.facility;
    let state = live.read();
    let spaces = |feature| f.spots.iter().filter(|s| s.features.has(feature)).count() as u32;
    let second = |t: Timestamp| t.round(Unit::Second).unwrap_or(t);
    let created = second(live.created);
    Site {
        id: f.id.clone(),
        name: f.name.clone(),
        address: f.address.clone(),
        lat: f.location.lat,
        lon: f.location.lon,
        country: live.layout.country.clone(),
        language: live.layout.language.clone().unwrap_or_else(|| "en".into()),
        structure: Structure::of(f.floors.iter().map(|fl| fl.level)),
        created,
        counts: state.occupancy.totals(),
        accessible_spaces: spaces(Feature::Accessible),
        charging_spaces: spaces(Feature::EvCharger),
        free_accessible: state.occupancy.free_with(Feature::Accessible),
        free_charging: state.occupancy.free_with(Feature::EvCharger),
        updated: state.last_reading.max(state.last_change).map_or(created, second).max(created),
    }
}

/// Seconds are the feeds' finest unit: instances that loaded the same state from the database (which
/// keeps milliseconds) then write the same bytes.
pub fn instant(t: Timestamp) -> String {
    t.round(Unit::Second).unwrap_or(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::Structure::{self, *};

    #[test]
    fn a_facility_s_structure_follows_its_levels() {
        let of = |levels: &[i16]| Structure::of(levels.iter().copied());
        assert_eq!(of(&[0]), SingleLevel);
        assert_eq!(of(&[0, 1, 2]), MultiStorey);
        assert_eq!(of(&[-2, -1]), Underground);
        assert_eq!(of(&[-1, 0, 1]), UndergroundAndMultiStorey);
        assert_eq!(of(&[-1, 0]), UndergroundAndMultiStorey);
        assert_eq!(of(&[1]), MultiStorey);
    }
}
