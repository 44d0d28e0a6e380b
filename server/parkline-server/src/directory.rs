//! The public directory: facilities near a place or page by page, a facility's availability, best
//! spots, floor plan, rate plan and quotes. Answered from memory, never waiting for the database.

use std::sync::Arc;

use parkline_domain::pricing::{self, Quote, RatePlan, Stay};
use parkline_domain::{Charging, Preferences, SpotState, Vehicle};
use parkline_protocol::{
    Availability, BestSpots, BestSpotsQuery, ErrorCode, FacilityPage, FacilityQuery, LayoutView, QuoteQuery,
};

use crate::app::App;
use crate::error::{Error, Result};
use crate::live::FacilityLive;

const MAX_RADIUS_M: f64 = 50_000.0;

fn facility(app: &App, id: &str) -> Result<Arc<FacilityLive>> {
    app.live.get(id).ok_or_else(|| Error::unknown_facility(id))
}

/// Facilities with live free counts: a page of all of them by id, or those within `radius_m` of
/// (`lat`, `lon`), nearest first.
pub fn find(app: &App, q: &FacilityQuery) -> Result<FacilityPage> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::validation("limit must be within 1..=200"));
    }
    let limit = limit as usize;
    match (q.lat, q.lon, q.radius_m) {
        (None, None, None) => {
            let (page, more) = app.live.page(q.after.as_deref(), limit);
            let next = more.then(|| page.last().map(|f| f.facility.id.clone())).flatten();
            Ok(FacilityPage {
                facilities: page.iter().map(|f| f.summary(None, app.stale_before())).collect(),
                next,
            })
        }
        (Some(lat), Some(lon), Some(radius)) => {
            if !((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)) {
                return Err(Error::validation("lat must be within -90..=90 and lon within -180..=180"));
            }
            if !(radius > 0.0 && radius <= MAX_RADIUS_M) {
                return Err(Error::validation(format!("radius_m must be within 0..={MAX_RADIUS_M}")));
            }
            if q.after.is_some() {
                return Err(Error::validation("nearby searches are not paged; raise limit instead"));
            }
            let near = app.live.nearest(lat, lon, radius, limit);
            let facilities =
                near.into_iter().map(|(d, f)| f.summary(Some(d.round()), app.stale_before())).collect();
            Ok(FacilityPage { facilities, next: None })
        }
        _ => Err(Error::validation("a nearby search needs lat, lon and radius_m together")),
    }
}

/// Free and occupied spots of one facility, per floor and zone.
pub fn availability(app: &App, id: &str) -> Result<Availability> {
    Ok(facility(app, id)?.availability(app.stale_before()))
}

/// The best free spots for a vehicle and preferences, best first.
pub fn best_spots(app: &App, id: &str, q: &BestSpotsQuery) -> Result<BestSpots> {
    let f = facility(app, id)?;
    let n = q.n.unwrap_or(5);
    if !(1..=50).contains(&n) {
        return Err(Error::validation("n must be within 1..=50"));
    }
    let charging = q.charging.unwrap_or_default();
    if charging == Charging::Require && !q.electric {
        return Err(Error::validation("only electric vehicles can require a charger"));
    }
    let vehicle = Vehicle::new(q.vehicle_class, q.electric);
    let prefs = Preferences { accessible: q.accessible, charging, covered: q.covered, level: q.level };
    let best = f.read().occupancy.best_spots(vehicle, &prefs, &f.levels, n as usize);
    let spots = best.into_iter().map(|c| f.spot_view(c.spot, SpotState::Free)).collect();
    Ok(BestSpots { facility: id.to_owned(), spots })
}

/// The floor plan: every spot with its position and current state, and the gates.
pub fn layout(app: &App, id: &str) -> Result<LayoutView> {
    Ok(facility(app, id)?.layout_view())
}

/// The facility's rate plan.
pub fn rates(app: &App, id: &str) -> Result<Arc<RatePlan>> {
    plan_of(facility(app, id)?.as_ref())
}

fn plan_of(f: &FacilityLive) -> Result<Arc<RatePlan>> {
    f.rates()
        .ok_or_else(|| Error::api(ErrorCode::NotFound, format!("{} has no rate plan yet", f.facility.id)))
}

/// What a planned stay would cost, itemised, at the facility's demand now.
pub fn quote(app: &App, id: &str, q: &QuoteQuery) -> Result<Quote> {
    let f = facility(app, id)?;
    let plan = plan_of(&f)?;
    if q.to <= q.from {
        return Err(Error::validation("`to` must be after `from`"));
    }
    let stay = Stay {
        class: q.vehicle_class,
        entry: q.from,
        exit: q.to,
        charging: q.charging,
        occupancy_permille: Some(f.occupancy_permille()),
    };
    pricing::price(&plan, &f.tz, &stay).map_err(|e| Error::validation(e.to_string()))
}
