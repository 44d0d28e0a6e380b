//! ParkAPI's JSON (version 3, the `items` a ParkAPI source pushes): each facility's static data and
//! its realtime counts in one object, the shape `parkapi-sources` validates as `StaticParkingSiteInput`
//! and `RealtimeParkingSiteInput`.

use serde::Serialize;

use super::{Feed, Site, Structure, instant};

#[derive(Debug, Serialize)]
pub struct Items {
    pub items: Vec<Item>,
}

/// One parking site.
#[derive(Debug, Serialize)]
pub struct Item {
    pub uid: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub purpose: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub lat: f64,
    pub lon: f64,
    pub has_realtime_data: bool,
    pub static_data_updated_at: String,
    pub capacity: u32,
    pub capacity_disabled: u32,
    pub capacity_charging: u32,
    /// When the counts below were last confirmed: their age is what a consumer judges them by.
    pub realtime_data_updated_at: String,
    pub realtime_opening_status: &'static str,
    pub realtime_capacity: u32,
    pub realtime_free_capacity: u32,
    pub realtime_free_capacity_disabled: u32,
    pub realtime_free_capacity_charging: u32,
}

pub fn items(feed: &Feed) -> Items {
    Items { items: feed.sites.iter().map(item).collect() }
}

fn item(site: &Site) -> Item {
    Item {
        uid: site.id.clone(),
        name: site.name.clone(),
        address: Some(site.address.clone()).filter(|a| !a.is_empty()),
        purpose: "CAR",
        kind: match site.structure {
            Structure::SingleLevel => "OFF_STREET_PARKING_GROUND",
            Structure::Underground => "UNDERGROUND",
            Structure::MultiStorey | Structure::UndergroundAndMultiStorey => "CAR_PARK",
        },
        lat: site.lat,
        lon: site.lon,
        has_realtime_data: true,
        static_data_updated_at: instant(site.created),
        capacity: site.counts.capacity(),
        capacity_disabled: site.accessible_spaces,
        capacity_charging: site.charging_spaces,
        realtime_data_updated_at: instant(site.updated),
        realtime_opening_status: if site.open() { "OPEN" } else { "CLOSED" },
        realtime_capacity: site.usable(),
        realtime_free_capacity: site.counts.free,
        realtime_free_capacity_disabled: site.free_accessible,
        realtime_free_capacity_charging: site.free_charging,
    }
}
