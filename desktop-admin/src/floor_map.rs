//! A floor drawn from the layout's coordinates: one rectangle per spot, coloured by its state, with the
//! ramp landing. Drawn as SVG in floor-plan metres; each spot carries `data-spot` so the window can
//! recolour it as the stream reports changes.

use std::fmt::Write;

use parkline_domain::SpotState;
use parkline_sdk::protocol::LayoutView;
use serde::Serialize;

/// Spot rectangles, metres: a bay is about 2.5 m wide and 5 m deep.
const BAY_W: f64 = 2.3;
const BAY_D: f64 = 4.8;
const MARGIN: f64 = 4.0;

/// How the map's legend counts the floor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Legend {
    pub free: u32,
    pub occupied: u32,
    /// Held for a vehicle that entered, or for a reservation.
    pub reserved: u32,
    pub out_of_service: u32,
    /// Sensor silent: the state shown may be out of date.
    pub stale: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FloorMap {
    pub facility: String,
    pub level: i16,
    pub levels: Vec<i16>,
    pub svg: String,
    pub legend: Legend,
}

/// The CSS class of a state, as the window's stylesheet colours it.
pub fn state_class(state: SpotState) -> &'static str {
    match state {
        SpotState::Free => "free",
        SpotState::Occupied => "occupied",
        SpotState::Held => "reserved",
        SpotState::OutOfService => "out-of-service",
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Draws `level` of the facility (its first floor when `level` is not one of its floors).
pub fn draw(layout: &LayoutView, level: Option<i16>) -> FloorMap {
    let mut levels: Vec<i16> = layout.floors.iter().map(|f| f.level).collect();
    if levels.is_empty() {
        levels = layout.spots.iter().map(|s| s.level).collect();
        levels.sort_unstable();
        levels.dedup();
    }
    let level = level.filter(|l| levels.contains(l)).or_else(|| levels.first().copied()).unwrap_or(0);
    let spots: Vec<_> = layout.spots.iter().filter(|s| s.level == level).collect();
    let entrance = layout.floors.iter().find(|f| f.level == level).map(|f| f.entrance);

    let xs = spots.iter().map(|s| s.x).chain(entrance.map(|e| e[0]));
    let ys = spots.iter().map(|s| s.y).chain(entrance.map(|e| e[1]));
    let (min_x, max_x) = xs.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (min_y, max_y) = ys.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (min_x, max_x, min_y, max_y) =
        if min_x > max_x { (0.0, 10.0, 0.0, 10.0) } else { (min_x, max_x, min_y, max_y) };
    let (x0, y0) = (min_x - MARGIN, min_y - MARGIN);
    let (w, h) = (max_x - min_x + 2.0 * MARGIN, max_y - min_y + 2.0 * MARGIN);

    let mut legend = Legend::default();
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="floor-map" viewBox="{x0:.1} {y0:.1} {w:.1} {h:.1}" data-facility="{}" data-level="{level}">"#,
        escape(&layout.facility)
    );
    let _ = write!(svg, r#"<rect class="floor" x="{x0:.1}" y="{y0:.1}" width="{w:.1}" height="{h:.1}"/>"#);
    for s in &spots {
        match s.state {
            SpotState::Free => legend.free += 1,
            SpotState::Occupied => legend.occupied += 1,
            SpotState::Held => legend.reserved += 1,
            SpotState::OutOfService => legend.out_of_service += 1,
        }
        legend.stale += u32::from(s.stale);
        let class = state_class(s.state);
        let stale = if s.stale { " stale" } else { "" };
        let code = escape(&s.code);
        let _ = write!(
            svg,
            r#"<rect class="spot {class}{stale}" data-spot="{code}" x="{:.2}" y="{:.2}" width="{BAY_W}" height="{BAY_D}" rx="0.4"><title>{code} · zone {} · {} · {class}{stale}</title></rect>"#,
            s.x - BAY_W / 2.0,
            s.y - BAY_D / 2.0,
            escape(&s.zone),
            s.size.as_str(),
        );
    }
    if let Some([ex, ey]) = entrance {
        let _ = write!(
            svg,
            r#"<circle class="entrance" cx="{ex:.2}" cy="{ey:.2}" r="1.6"><title>ramp landing</title></circle>"#
        );
    }
    svg.push_str("</svg>");
    FloorMap { facility: layout.facility.clone(), level, levels, svg, legend }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parkline_domain::VehicleClass;
    use parkline_sdk::protocol::{FloorPlan, SpotView};

    fn spot(code: &str, level: i16, x: f64, state: SpotState, stale: bool) -> SpotView {
        SpotView {
            code: code.into(),
            level,
            zone: "A".into(),
            size: VehicleClass::Sedan,
            features: vec![],
            x,
            y: 6.0,
            distance_m: x,
            state,
            stale,
        }
    }

    #[test]
    fn each_spot_of_the_floor_is_drawn_in_its_state_and_counted() {
        let layout = LayoutView {
            facility: "lot".into(),
            country: None,
            spots: vec![
                spot("A-1", 0, 4.0, SpotState::Free, false),
                spot("A-2", 0, 6.6, SpotState::Occupied, true),
                spot("A-3", 0, 9.2, SpotState::Held, false),
                spot("A-4", 0, 11.8, SpotState::OutOfService, false),
                spot("B-1", 1, 4.0, SpotState::Free, false),
            ],
            gates: vec![],
            floors: vec![
                FloorPlan { level: 0, label: "G".into(), name: "Ground".into(), entrance: [0.0, 0.0] },
                FloorPlan { level: 1, label: "1".into(), name: "One".into(), entrance: [0.0, 0.0] },
            ],
        };
        let map = draw(&layout, Some(0));
        assert_eq!(map.levels, vec![0, 1]);
        assert_eq!(map.legend, Legend { free: 1, occupied: 1, reserved: 1, out_of_service: 1, stale: 1 });
        assert!(map.svg.contains(r#"class="spot free" data-spot="A-1""#));
        assert!(map.svg.contains(r#"class="spot occupied stale" data-spot="A-2""#));
        assert!(map.svg.contains(r#"class="spot reserved" data-spot="A-3""#));
        assert!(map.svg.contains(r#"class="spot out-of-service" data-spot="A-4""#));
        assert!(!map.svg.contains("B-1"), "another floor's spot was drawn");
        assert_eq!(draw(&layout, Some(7)).level, 0, "an unknown level shows the first floor");
    }

    #[test]
    fn spot_codes_cannot_inject_markup() {
        let layout = LayoutView {
            facility: "lot".into(),
            country: None,
            spots: vec![spot("<script>", 0, 4.0, SpotState::Free, false)],
            gates: vec![],
            floors: vec![],
        };
        let map = draw(&layout, None);
        assert!(!map.svg.contains("<script>"));
        assert!(map.svg.contains("&lt;script&gt;"));
    }
}
