//! Rate plans and quotes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use parkline_domain::pricing::{self, Quote, RatePlan, Stay};
use parkline_protocol::{ApiError, ErrorCode, QuoteQuery};

use crate::error::{Error, Result};
use crate::facilities;
use crate::http::App;
use crate::http::extract::{Json, Query};
use crate::live::FacilityLive;

fn facility(app: &App, id: &str) -> Result<std::sync::Arc<FacilityLive>> {
    app.live.get(id).ok_or_else(|| Error::unknown_facility(id))
}

fn plan_of(f: &FacilityLive) -> Result<std::sync::Arc<RatePlan>> {
    f.rates()
        .ok_or_else(|| Error::api(ErrorCode::NotFound, format!("{} has no rate plan yet", f.facility.id)))
}

/// The facility's rate plan: hourly rates per class, bands, surges, caps (minor units; basis points).
#[utoipa::path(get, path = "/v1/facilities/{id}/rates", tag = "pricing",
    params(("id" = String, Path, description = "facility id")),
    responses((status = 200, body = Object, description = "the rate plan"), (status = 404, body = ApiError)))]
pub async fn get_rates(State(app): State<App>, Path(id): Path<String>) -> Result<axum::Json<RatePlan>> {
    let f = facility(&app, &id)?;
    Ok(axum::Json(plan_of(&f)?.as_ref().clone()))
}

/// Replaces the facility's rate plan; it applies to quotes from now on.
#[utoipa::path(put, path = "/v1/facilities/{id}/rates", tag = "pricing", security(("bearer" = [])),
    params(("id" = String, Path, description = "facility id")),
    request_body(content = Object, description = "a rate plan"),
    responses((status = 204), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn put_rates(
    State(app): State<App>,
    Path(id): Path<String>,
    Json(plan): Json<RatePlan>,
) -> Result<StatusCode> {
    let f = facility(&app, &id)?;
    facilities::set_rate_plan(app.store.as_ref(), &f, plan, app.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a planned stay would cost, itemised: each part at its rate, daily maxima, minimum, charging.
/// Demand pricing uses the facility's occupancy now.
#[utoipa::path(get, path = "/v1/facilities/{id}/quote", tag = "pricing",
    params(("id" = String, Path, description = "facility id"), QuoteQuery),
    responses((status = 200, body = Object, description = "the itemised quote"),
        (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn quote(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<QuoteQuery>,
) -> Result<axum::Json<Quote>> {
    let f = facility(&app, &id)?;
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
    let quote = pricing::price(&plan, &f.tz, &stay).map_err(|e| Error::validation(e.to_string()))?;
    Ok(axum::Json(quote))
}
