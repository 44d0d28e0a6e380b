//! Facility layouts: the declarative file format operators write, and the validated model built from it.
//!
//! A layout file lists floors, zones and spots. Spots are usually laid out in rows, so a zone may describe a
//! row ("40 sedan spots from (5, 10), 2.6 m apart") instead of 40 entries; explicit spots are allowed too.
//! [`Facility::from_layout`] expands and validates a [`LayoutFile`] into a [`Facility`], where each spot has a
//! dense index used by the occupancy and allocation structures.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::fusion::MAX_SENSORS;
use crate::{Error, VehicleClass};

/// Upper bound on spots in one facility; larger layouts are rejected rather than slowly accepted.
pub const MAX_SPOTS_PER_FACILITY: usize = 100_000;

/// A spot's equipment. Stored as a small bit set so that allocation can bucket spots by it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Features(u8);

/// One piece of equipment a spot can have.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// A charger; only electric vehicles are sent to these spots.
    EvCharger,
    /// Wider, close to lifts; only given to drivers who ask for an accessible spot.
    Accessible,
    /// Under a roof.
    Covered,
}

impl Feature {
    pub const ALL: [Feature; 3] = [Feature::EvCharger, Feature::Accessible, Feature::Covered];

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl Features {
    pub const NONE: Features = Features(0);
    /// Number of distinct feature sets (the bit set's range).
    pub const COMBINATIONS: usize = 1 << Feature::ALL.len();

    pub fn of(features: &[Feature]) -> Self {
        Features(features.iter().fold(0, |bits, f| bits | f.bit()))
    }
    pub const fn has(self, feature: Feature) -> bool {
        self.0 & feature.bit() != 0
    }
    pub const fn with(self, feature: Feature) -> Self {
        Features(self.0 | feature.bit())
    }
    /// Dense index in `0..COMBINATIONS`.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
    pub const fn from_index(index: usize) -> Self {
        Features(index as u8)
    }
    pub fn list(self) -> Vec<Feature> {
        Feature::ALL.into_iter().filter(|f| self.has(*f)).collect()
    }
}

impl Serialize for Features {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.list().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Features {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Features::of(&Vec::<Feature>::deserialize(d)?))
    }
}

/// WGS-84 position of a facility's entrance.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

/// Whether a gate lets vehicles in or out.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Entry,
    Exit,
}

// ---------------------------------------------------------------------------------------------
// The file format
// ---------------------------------------------------------------------------------------------

/// A facility layout as written in a TOML or JSON file.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutFile {
    /// Stable identifier: lowercase letters, digits and dashes (`harbor-point`).
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub address: String,
    pub location: LatLon,
    /// IANA time zone for local rules (opening hours, time-of-day prices).
    pub time_zone: String,
    /// ISO 4217 code for this facility's prices.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// ISO 3166-1 alpha-2 code of the country it is in (`DE`): the plate formats its lanes read, and
    /// the country open-data feeds name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// ISO 639-1 code of the language its name and address are written in (`de`) [default: `en`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Level where vehicles enter; spots on other levels are a ramp away.
    #[serde(default)]
    pub entry_level: i16,
    /// Driving distance between two adjacent levels, in metres.
    #[serde(default = "default_ramp_m")]
    pub ramp_m_per_level: f64,
    pub floors: Vec<FloorDef>,
    #[serde(default)]
    pub gates: Vec<GateDef>,
    /// Cameras that watch several spots each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cameras: Vec<CameraDef>,
}

fn default_currency() -> String {
    "USD".into()
}
fn default_ramp_m() -> f64 {
    50.0
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloorDef {
    /// 0 is ground level, negative levels are basements.
    pub level: i16,
    /// Prefix of spot codes on this floor; defaults to `G`, `1`, `2`, ... and `B1`, `B2`, ... for basements.
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Where the ramp or lift arrives on this floor, in the floor plan's metres.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<f64>))]
    #[serde(default)]
    pub entrance: [f64; 2],
    pub zones: Vec<ZoneDef>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneDef {
    /// Short code used in spot codes (`A` in `2A-015`).
    pub code: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub rows: Vec<RowDef>,
    #[serde(default)]
    pub spots: Vec<SpotDef>,
}

/// `count` spots of one kind, numbered on from the zone's previous spot, placed `step` apart from `origin`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowDef {
    pub count: u16,
    pub size: VehicleClass,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<f64>))]
    pub origin: [f64; 2],
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<f64>))]
    pub step: [f64; 2],
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Feature>))]
    #[serde(default)]
    pub features: Features,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpotDef {
    pub number: u16,
    pub size: VehicleClass,
    pub x: f64,
    pub y: f64,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Feature>))]
    #[serde(default)]
    pub features: Features,
    /// Sensor reporting this spot; defaults to the spot code.
    #[serde(default)]
    pub sensor: Option<String>,
    /// Further sensors watching this spot; their readings are fused with the first one's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensors: Vec<String>,
}

/// A camera and the spots it sees: each spot's outline in the camera's image, in pixels. A camera
/// counts as one of each spot's sensors ([`crate::fusion::MAX_SENSORS`] at most per spot).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraDef {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub spots: Vec<CameraSpotDef>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSpotDef {
    /// Spot code (`2A-015`).
    pub spot: String,
    /// The spot's outline in the image, pixel corners in order; at least three.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<f64>>))]
    pub polygon: Vec<[f64; 2]>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateDef {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub direction: Direction,
    #[serde(default)]
    pub level: i16,
}

// ---------------------------------------------------------------------------------------------
// The validated model
// ---------------------------------------------------------------------------------------------

/// Dense index of a spot within its facility.
pub type SpotIdx = u32;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Floor {
    pub level: i16,
    pub label: String,
    pub name: String,
    /// Where cars arrive on this floor, floor-plan metres.
    pub entrance: [f64; 2],
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Zone {
    /// Index into [`Facility::floors`].
    pub floor: u16,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spot {
    /// Human code, unique in the facility: floor label, zone, number (`2A-015`).
    pub code: String,
    /// Index into [`Facility::floors`].
    pub floor: u16,
    /// Index into [`Facility::zones`].
    pub zone: u16,
    pub size: VehicleClass,
    pub features: Features,
    /// Position on the floor plan, metres.
    pub x: f64,
    pub y: f64,
    /// Driving distance from the facility entrance, centimetres (integer so orderings are exact).
    pub distance_cm: u32,
    pub sensor: String,
}

/// A camera watching several spots.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Camera {
    pub id: String,
    pub name: String,
    /// The spots it sees with their outlines in its image.
    pub views: Vec<CameraView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraView {
    pub spot: SpotIdx,
    pub polygon: Vec<[f64; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gate {
    pub id: String,
    pub name: String,
    pub direction: Direction,
    pub level: i16,
}

/// A validated facility: floors sorted by level, spots with dense indices and unique codes and sensors.
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    pub id: String,
    pub name: String,
    pub address: String,
    pub location: LatLon,
    pub time_zone: String,
    pub currency: String,
    pub floors: Vec<Floor>,
    pub zones: Vec<Zone>,
    pub spots: Vec<Spot>,
    pub gates: Vec<Gate>,
    pub cameras: Vec<Camera>,
    by_code: HashMap<String, SpotIdx>,
    by_sensor: HashMap<String, SpotIdx>,
    /// Sensors after a spot's first, and cameras: the spots each watches, with its slot there.
    more_sensors: HashMap<String, Vec<(SpotIdx, u8)>>,
}

impl Facility {
    /// Expands rows, computes distances and checks every rule a layout must follow.
    pub fn from_layout(file: &LayoutFile) -> Result<Facility, Error> {
        let bad = |why: String| Err(Error::InvalidLayout(format!("{}: {why}", file.id)));
        if !is_slug(&file.id) {
            return Err(Error::InvalidLayout(format!(
                "facility id {:?} must be 1-64 lowercase letters, digits or dashes",
                file.id
            )));
        }
        if file.name.trim().is_empty() {
            return bad("name is empty".into());
        }
        let LatLon { lat, lon } = file.location;
        if !(lat.is_finite()
            && lon.is_finite()
            && (-90.0..=90.0).contains(&lat)
            && (-180.0..=180.0).contains(&lon))
        {
            return bad(format!("location ({lat}, {lon}) is not a valid latitude/longitude"));
        }
        if file.currency.len() != 3 || !file.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return bad(format!("currency {:?} is not an ISO 4217 code", file.currency));
        }
        let code = |c: &Option<String>, ok: fn(&u8) -> bool| {
            c.as_deref().is_none_or(|c| c.len() == 2 && c.as_bytes().iter().all(ok))
        };
        if !code(&file.country, u8::is_ascii_uppercase) {
            return bad(format!("country {:?} is not an ISO 3166-1 alpha-2 code", file.country));
        }
        if !code(&file.language, u8::is_ascii_lowercase) {
            return bad(format!("language {:?} is not an ISO 639-1 code", file.language));
        }
        if file.time_zone.is_empty() {
            return bad("time_zone is empty".into());
        }
        if !(file.ramp_m_per_level.is_finite() && file.ramp_m_per_level >= 0.0) {
            return bad("ramp_m_per_level must be a non-negative number".into());
        }
        if file.floors.is_empty() {
            return bad("a facility needs at least one floor".into());
        }

        let mut floor_defs: Vec<&FloorDef> = file.floors.iter().collect();
        floor_defs.sort_by_key(|f| f.level);
        if let Some(w) = floor_defs.windows(2).find(|w| w[0].level == w[1].level) {
            return bad(format!("level {} is listed twice", w[0].level));
        }

        let mut facility = Facility {
            id: file.id.clone(),
            name: file.name.clone(),
            address: file.address.clone(),
            location: file.location,
            time_zone: file.time_zone.clone(),
            currency: file.currency.clone(),
            floors: Vec::new(),
            zones: Vec::new(),
            spots: Vec::new(),
            gates: Vec::new(),
            cameras: Vec::new(),
            by_code: HashMap::new(),
            by_sensor: HashMap::new(),
            more_sensors: HashMap::new(),
        };
        // Sensors each spot has so far (its first is slot 0).
        let mut slots: Vec<u8> = Vec::new();

        for (floor_idx, floor) in floor_defs.iter().enumerate() {
            let label = floor.label.clone().unwrap_or_else(|| default_floor_label(floor.level));
            let ramp_m = f64::from((floor.level - file.entry_level).unsigned_abs()) * file.ramp_m_per_level;
            facility.floors.push(Floor {
                level: floor.level,
                name: floor.name.clone().unwrap_or_else(|| format!("Level {label}")),
                label: label.clone(),
                entrance: floor.entrance,
            });
            let mut zone_codes = HashSet::new();
            for zone in &floor.zones {
                if zone.code.is_empty() || !zone.code.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return bad(format!(
                        "zone code {:?} on level {} must be letters or digits",
                        zone.code, floor.level
                    ));
                }
                if !zone_codes.insert(zone.code.as_str()) {
                    return bad(format!("zone {} is listed twice on level {}", zone.code, floor.level));
                }
                let zone_idx = facility.zones.len() as u16;
                facility.zones.push(Zone {
                    floor: floor_idx as u16,
                    code: zone.code.clone(),
                    name: zone.name.clone().unwrap_or_else(|| format!("Zone {}", zone.code)),
                });

                let mut number = 0u32;
                let mut place = |number: u32, def: SpotDef| -> Result<(), Error> {
                    if !(def.x.is_finite() && def.y.is_finite()) {
                        return Err(Error::InvalidLayout(format!(
                            "{}: spot coordinates must be numbers",
                            file.id
                        )));
                    }
                    let code = format!("{label}{}-{number:03}", zone.code);
                    let walk_m = (def.x - floor.entrance[0]).abs() + (def.y - floor.entrance[1]).abs();
                    let distance_cm = ((ramp_m + walk_m) * 100.0).round().min(f64::from(u32::MAX)) as u32;
                    let sensor = def.sensor.unwrap_or_else(|| code.clone());
                    let more = def.sensors;
                    let idx = facility.spots.len() as SpotIdx;
                    facility.push_spot(Spot {
                        code,
                        floor: floor_idx as u16,
                        zone: zone_idx,
                        size: def.size,
                        features: def.features,
                        x: def.x,
                        y: def.y,
                        distance_cm,
                        sensor,
                    })?;
                    slots.push(1);
                    for sensor in more {
                        facility.add_sensor(&mut slots, sensor, idx)?;
                    }
                    Ok(())
                };
                for row in &zone.rows {
                    if row.count == 0 {
                        return bad(format!("a row in zone {} has no spots", zone.code));
                    }
                    for i in 0..row.count {
                        number += 1;
                        let at = |axis: usize| row.origin[axis] + row.step[axis] * f64::from(i);
                        let def = SpotDef {
                            number: 0,
                            size: row.size,
                            x: at(0),
                            y: at(1),
                            features: row.features,
                            sensor: None,
                            sensors: Vec::new(),
                        };
                        place(number, def)?;
                    }
                }
                for spot in &zone.spots {
                    number = u32::from(spot.number);
                    place(number, spot.clone())?;
                }
            }
        }
        if facility.spots.is_empty() {
            return bad("a facility needs at least one spot".into());
        }

        let mut gate_ids = HashSet::new();
        for gate in &file.gates {
            if !is_slug(&gate.id) {
                return bad(format!("gate id {:?} must be lowercase letters, digits or dashes", gate.id));
            }
            if !gate_ids.insert(gate.id.as_str()) {
                return bad(format!("gate {} is listed twice", gate.id));
            }
            facility.gates.push(Gate {
                id: gate.id.clone(),
                name: gate.name.clone().unwrap_or_else(|| gate.id.clone()),
                direction: gate.direction,
                level: gate.level,
            });
        }

        for camera in &file.cameras {
            if !is_slug(&camera.id) {
                return bad(format!("camera id {:?} must be lowercase letters, digits or dashes", camera.id));
            }
            if facility.has_sensor(&camera.id) {
                return bad(format!("camera {} is listed twice or is also a sensor", camera.id));
            }
            let mut views = Vec::with_capacity(camera.spots.len());
            for view in &camera.spots {
                let Some(spot) = facility.spot_by_code(&view.spot) else {
                    return bad(format!(
                        "camera {} sees spot {}, which is not in the layout",
                        camera.id, view.spot
                    ));
                };
                if view.polygon.len() < 3 || view.polygon.iter().flatten().any(|v| !v.is_finite() || *v < 0.0)
                {
                    return bad(format!(
                        "camera {}: spot {} needs an outline of at least three corners in image pixels",
                        camera.id, view.spot
                    ));
                }
                if views.iter().any(|v: &CameraView| v.spot == spot) {
                    return bad(format!("camera {} lists spot {} twice", camera.id, view.spot));
                }
                facility.add_sensor(&mut slots, camera.id.clone(), spot)?;
                views.push(CameraView { spot, polygon: view.polygon.clone() });
            }
            facility.cameras.push(Camera {
                id: camera.id.clone(),
                name: camera.name.clone().unwrap_or_else(|| camera.id.clone()),
                views,
            });
        }
        Ok(facility)
    }

    /// Gives `spot` one more sensor, in its next slot.
    fn add_sensor(&mut self, slots: &mut [u8], sensor: String, spot: SpotIdx) -> Result<(), Error> {
        let used = &mut slots[spot as usize];
        let code = &self.spots[spot as usize].code;
        if usize::from(*used) >= MAX_SENSORS {
            return Err(Error::InvalidLayout(format!(
                "{}: spot {code} has more than {MAX_SENSORS} sensors and cameras",
                self.id
            )));
        }
        let taken = self.by_sensor.contains_key(&sensor)
            || self.more_sensors.get(&sensor).is_some_and(|spots| spots.iter().any(|(s, _)| *s == spot));
        if taken {
            return Err(Error::InvalidLayout(format!(
                "{}: sensor {sensor} is listed twice on spot {code}",
                self.id
            )));
        }
        self.more_sensors.entry(sensor).or_default().push((spot, *used));
        *used += 1;
        Ok(())
    }

    fn push_spot(&mut self, spot: Spot) -> Result<(), Error> {
        if self.spots.len() >= MAX_SPOTS_PER_FACILITY {
            return Err(Error::InvalidLayout(format!(
                "{}: more than {MAX_SPOTS_PER_FACILITY} spots",
                self.id
            )));
        }
        let idx = self.spots.len() as SpotIdx;
        if self.by_code.insert(spot.code.clone(), idx).is_some() {
            return Err(Error::InvalidLayout(format!("{}: spot {} is listed twice", self.id, spot.code)));
        }
        if self.more_sensors.contains_key(&spot.sensor)
            || self.by_sensor.insert(spot.sensor.clone(), idx).is_some()
        {
            return Err(Error::InvalidLayout(format!(
                "{}: sensor {} is assigned to two spots",
                self.id, spot.sensor
            )));
        }
        self.spots.push(spot);
        Ok(())
    }

    pub fn capacity(&self) -> usize {
        self.spots.len()
    }
    pub fn spot_by_code(&self, code: &str) -> Option<SpotIdx> {
        self.by_code.get(code).copied()
    }
    /// The spot this sensor watches, if it watches one (a camera watches several).
    pub fn spot_by_sensor(&self, sensor: &str) -> Option<SpotIdx> {
        self.by_sensor.get(sensor).copied().or_else(|| match self.more_sensors.get(sensor)?.as_slice() {
            [(spot, _)] => Some(*spot),
            _ => None,
        })
    }
    /// Which of `spot`'s sensors `sensor` is (its slot), if it watches that spot.
    pub fn sensor_slot(&self, spot: SpotIdx, sensor: &str) -> Option<u8> {
        if self.by_sensor.get(sensor) == Some(&spot) {
            return Some(0);
        }
        self.more_sensors.get(sensor)?.iter().find(|(s, _)| *s == spot).map(|(_, slot)| *slot)
    }
    /// Whether `sensor` names any sensor or camera here.
    pub fn has_sensor(&self, sensor: &str) -> bool {
        self.by_sensor.contains_key(sensor) || self.more_sensors.contains_key(sensor)
    }
    pub fn camera(&self, id: &str) -> Option<&Camera> {
        self.cameras.iter().find(|c| c.id == id)
    }
    pub fn spot(&self, idx: SpotIdx) -> &Spot {
        &self.spots[idx as usize]
    }
    pub fn gate(&self, id: &str) -> Option<&Gate> {
        self.gates.iter().find(|g| g.id == id)
    }
}

fn default_floor_label(level: i16) -> String {
    match level {
        0 => "G".into(),
        l if l < 0 => format!("B{}", -l),
        l => l.to_string(),
    }
}

/// Identifiers in URLs and topics: 1-64 of `a-z`, `0-9`, `-`, not starting with a dash.
pub fn is_slug(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && !s.starts_with('-')
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn small_layout() -> LayoutFile {
        toml::from_str(
            r#"
            id = "test-garage"
            name = "Test Garage"
            location = { lat = 40.0, lon = -73.0 }
            time_zone = "America/New_York"
            [[floors]]
            level = -1
            entrance = [0.0, 0.0]
            [[floors.zones]]
            code = "A"
            rows = [{ count = 3, size = "compact", origin = [5.0, 0.0], step = [2.5, 0.0] }]
            spots = [{ number = 10, size = "suv", x = 1.0, y = 1.0, features = ["ev_charger", "covered"] }]
            [[floors]]
            level = 2
            [[floors.zones]]
            code = "A"
            rows = [{ count = 2, size = "sedan", origin = [0.0, 3.0], step = [0.0, 3.0], features = ["accessible"] }]
            [[gates]]
            id = "north-in"
            direction = "entry"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn rows_expand_to_coded_spots_with_distances_from_the_entrance() {
        let f = Facility::from_layout(&small_layout()).unwrap();
        let codes: Vec<&str> = f.spots.iter().map(|s| s.code.as_str()).collect();
        assert_eq!(codes, ["B1A-001", "B1A-002", "B1A-003", "B1A-010", "2A-001", "2A-002"]);
        // B1 is one level below the entry: 50 m ramp + 5 m walk.
        assert_eq!(f.spot(0).distance_cm, 5_500);
        // Level 2 is two levels up: 100 m + 3 m.
        assert_eq!(f.spot(4).distance_cm, 10_300);
        assert!(f.spot(3).features.has(Feature::EvCharger) && f.spot(3).features.has(Feature::Covered));
        assert_eq!(f.spot_by_code("2A-002"), Some(5));
        assert_eq!(f.spot_by_sensor("B1A-010"), Some(3));
        assert_eq!(f.floors.iter().map(|f| f.label.as_str()).collect::<Vec<_>>(), ["B1", "2"]);
    }

    #[test]
    fn invalid_layouts_are_rejected_with_the_reason() {
        let check = |edit: fn(&mut LayoutFile), needle: &str| {
            let mut file = small_layout();
            edit(&mut file);
            let err = Facility::from_layout(&file).unwrap_err().to_string();
            assert!(err.contains(needle), "{err:?} should mention {needle:?}");
        };
        check(|f| f.id = "Bad Id".into(), "facility id");
        check(|f| f.location.lat = 91.0, "latitude");
        check(|f| f.currency = "usd".into(), "ISO 4217");
        check(|f| f.country = Some("de".into()), "ISO 3166-1");
        check(|f| f.country = Some("DEU".into()), "ISO 3166-1");
        check(|f| f.language = Some("DE".into()), "ISO 639-1");
        check(|f| f.floors[1].level = -1, "listed twice");
        check(|f| f.floors[0].zones[0].spots[0].number = 2, "spot B1A-002 is listed twice");
        check(|f| f.floors[0].zones[0].spots[0].sensor = Some("2A-001".into()), "sensor 2A-001");
        check(|f| f.floors[0].zones[0].rows[0].count = 0, "no spots");
        check(|f| f.floors[0].zones[0].spots[0].x = f64::NAN, "coordinates");
        check(|f| f.floors.clear(), "at least one floor");
        check(|f| f.gates.push(f.gates[0].clone()), "gate north-in");
        fn view(spot: &str) -> CameraSpotDef {
            CameraSpotDef { spot: spot.into(), polygon: vec![[0.0, 0.0], [9.0, 0.0], [9.0, 9.0]] }
        }
        fn camera(id: &str, spots: Vec<CameraSpotDef>) -> CameraDef {
            CameraDef { id: id.into(), name: None, spots }
        }
        check(|f| f.cameras.push(camera("cam", vec![view("9Z-001")])), "not in the layout");
        check(|f| f.cameras.push(camera("Cam 1", vec![view("2A-001")])), "camera id");
        check(
            |f| {
                f.floors[0].zones[0].spots[0].sensor = Some("s-10".into());
                f.cameras.push(camera("s-10", vec![view("2A-001")]));
            },
            "also a sensor",
        );
        check(|f| f.cameras.push(camera("cam", vec![view("2A-001"), view("2A-001")])), "twice");
        check(
            |f| {
                f.cameras.push(camera("cam", vec![view("2A-001")]));
                f.cameras.push(camera("cam", vec![view("2A-002")]));
            },
            "camera cam is listed twice",
        );
        check(
            |f| {
                let mut bad = view("2A-001");
                bad.polygon.pop();
                f.cameras.push(camera("cam", vec![bad]));
            },
            "three corners",
        );
        check(
            |f| {
                f.floors[0].zones[0].spots[0].sensors = vec!["m-1".into(), "m-2".into()];
                f.cameras.push(camera("cam", vec![view("B1A-010")]));
            },
            "more than 3 sensors",
        );
    }

    #[test]
    fn a_spot_may_have_more_sensors_and_cameras_each_in_its_own_slot() {
        let mut file = small_layout();
        file.floors[0].zones[0].spots[0].sensors = vec!["mag-10".into()];
        file.cameras = toml::from_str::<LayoutFile>(
            &(toml::to_string(&small_layout()).unwrap()
                + r#"
                [[cameras]]
                id = "cam-b1"
                spots = [
                  { spot = "B1A-001", polygon = [[0, 0], [100, 0], [100, 80], [0, 80]] },
                  { spot = "B1A-010", polygon = [[100, 0], [200, 0], [200, 80], [100, 80]] },
                ]
                "#),
        )
        .unwrap()
        .cameras;
        let f = Facility::from_layout(&file).unwrap();
        let (a1, a10) = (f.spot_by_code("B1A-001").unwrap(), f.spot_by_code("B1A-010").unwrap());
        assert_eq!(f.sensor_slot(a10, "B1A-010"), Some(0));
        assert_eq!(f.sensor_slot(a10, "mag-10"), Some(1));
        assert_eq!(f.sensor_slot(a10, "cam-b1"), Some(2));
        assert_eq!(f.sensor_slot(a1, "cam-b1"), Some(1));
        assert_eq!(f.sensor_slot(a1, "mag-10"), None);
        assert_eq!(f.camera("cam-b1").unwrap().views.len(), 2);
        assert!(f.has_sensor("cam-b1") && !f.has_sensor("cam-x"));
    }
}
