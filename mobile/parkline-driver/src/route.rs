//! Directions inside a garage, from the entry to the driver's spot, drawn from the layout's coordinates:
//! the floor to drive to, then along the aisle from the ramp's landing to the spot (garages are walked
//! and driven along right angles, as the allocation's distances are measured).

use parkline_protocol::LayoutView;

/// The way from the entry to a spot, and the floor plan to draw it on.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub spot: String,
    /// Where the driver arrives on the spot's floor (the ramp's landing), floor-plan metres.
    pub landing: (f64, f64),
    pub at: (f64, f64),
    /// Every spot of the floor, to draw it.
    pub floor_spots: Vec<(f64, f64)>,
    pub steps: Vec<String>,
    /// From the entrance, driving.
    pub distance_m: f64,
}

/// The route to `spot` for a car that came in at `entry_level`.
pub fn route(layout: &LayoutView, spot: &str, entry_level: i16) -> Option<Route> {
    let target = layout.spots.iter().find(|s| s.code == spot)?;
    let floor = layout.floors.iter().find(|f| f.level == target.level)?;
    let entry = layout.floors.iter().find(|f| f.level == entry_level);
    let landing = (floor.entrance[0], floor.entrance[1]);
    let mut steps = Vec::new();
    let levels = target.level - entry_level;
    if levels != 0 {
        let (way, n) = if levels < 0 { ("down", -levels) } else { ("up", levels) };
        let from = entry.map_or(String::new(), |e| format!(" from {}", e.name));
        let plural = if n == 1 { "" } else { "s" };
        steps.push(format!("Take the ramp {way} {n} level{plural}{from} to {}.", floor.name));
    }
    let (dx, dy) = (target.x - landing.0, target.y - landing.1);
    let along = |d: f64, pos: &str, neg: &str| {
        if d >= 0.0 { format!("{:.0} m {pos}", d) } else { format!("{:.0} m {neg}", -d) }
    };
    if dy.abs() >= 1.0 {
        steps.push(format!("Drive {} along the aisle.", along(dy, "ahead", "back")));
    }
    if dx.abs() >= 1.0 {
        steps.push(format!("Turn and go {}.", along(dx, "to the right", "to the left")));
    }
    steps.push(format!("Your spot is {} in zone {}.", target.code, target.zone));
    Some(Route {
        spot: target.code.clone(),
        landing,
        at: (target.x, target.y),
        floor_spots: layout.spots.iter().filter(|s| s.level == target.level).map(|s| (s.x, s.y)).collect(),
        steps,
        distance_m: target.distance_m,
    })
}
