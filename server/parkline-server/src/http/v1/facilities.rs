//! Public reads: facilities, availability, best spots, floor plans. Answered from memory.

use axum::extract::{Path, State};
use geo::{Distance, Haversine, Point};
use parkline_domain::{Charging, Preferences, SpotState, Vehicle};
use parkline_protocol::{
    ApiError, Availability, BestSpots, BestSpotsQuery, FacilityPage, FacilityQuery, LayoutView,
};

use crate::error::{Error, Result};
use crate::http::App;
use crate::http::extract::Query;
use crate::live::FacilityLive;

const MAX_RADIUS_M: f64 = 50_000.0;

/// Facilities with live free counts: a page of all of them by id, or those within `radius_m` of
/// (`lat`, `lon`), nearest first.
#[utoipa::path(get, path = "/v1/facilities", tag = "facilities", params(FacilityQuery), responses(
    (status = 200, body = FacilityPage),
    (status = 422, body = ApiError),
))]
pub async fn list(
    State(app): State<App>,
    Query(q): Query<FacilityQuery>,
) -> Result<axum::Json<FacilityPage>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::validation("limit must be within 1..=200"));
    }
    let limit = limit as usize;
    match (q.lat, q.lon, q.radius_m) {
        (None, None, None) => {
            let (page, more) = app.live.page(q.after.as_deref(), limit);
            let next = more.then(|| page.last().map(|f| f.facility.id.clone())).flatten();
            Ok(axum::Json(FacilityPage {
                facilities: page.iter().map(|f| f.summary(None, app.stale_before())).collect(),
                next,
            }))
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
            let here = Point::new(lon, lat);
            let mut near: Vec<(f64, &std::sync::Arc<FacilityLive>)> = Vec::new();
            let all = app.live.all();
            for f in &all {
                let at = f.facility.location;
                let d = Haversine.distance(here, Point::new(at.lon, at.lat));
                if d <= radius {
                    near.push((d, f));
                }
            }
            near.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.facility.id.cmp(&b.1.facility.id)));
            near.truncate(limit);
            let facilities =
                near.into_iter().map(|(d, f)| f.summary(Some(d.round()), app.stale_before())).collect();
            Ok(axum::Json(FacilityPage { facilities, next: None }))
        }
        _ => Err(Error::validation("a nearby search needs lat, lon and radius_m together")),
    }
}

fn facility(app: &App, id: &str) -> Result<std::sync::Arc<FacilityLive>> {
    app.live.get(id).ok_or_else(|| Error::unknown_facility(id))
}

/// Free and occupied spots of one facility, per floor and zone.
#[utoipa::path(get, path = "/v1/facilities/{id}/availability", tag = "facilities",
    params(("id" = String, Path, description = "facility id")),
    responses((status = 200, body = Availability), (status = 404, body = ApiError)))]
pub async fn availability(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<axum::Json<Availability>> {
    Ok(axum::Json(facility(&app, &id)?.availability(app.stale_before())))
}

/// The best free spots for a vehicle and preferences, best first.
#[utoipa::path(get, path = "/v1/facilities/{id}/best-spots", tag = "facilities",
    params(("id" = String, Path, description = "facility id"), BestSpotsQuery),
    responses((status = 200, body = BestSpots), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn best_spots(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<BestSpotsQuery>,
) -> Result<axum::Json<BestSpots>> {
    let f = facility(&app, &id)?;
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
    Ok(axum::Json(BestSpots { facility: id, spots }))
}

/// The floor plan: every spot with its position and current state, and the gates.
#[utoipa::path(get, path = "/v1/facilities/{id}/layout", tag = "facilities",
    params(("id" = String, Path, description = "facility id")),
    responses((status = 200, body = LayoutView), (status = 404, body = ApiError)))]
pub async fn layout(State(app): State<App>, Path(id): Path<String>) -> Result<axum::Json<LayoutView>> {
    Ok(axum::Json(facility(&app, &id)?.layout_view()))
}
