//! Public reads: facilities, availability, best spots, floor plans. Answered from memory.

use axum::extract::{Path, State};
use parkline_protocol::{
    ApiError, Availability, BestSpots, BestSpotsQuery, FacilityDetail, FacilityDetailQuery, FacilityPage,
    FacilityQuery, LayoutView,
};

use crate::app::App;
use crate::directory;
use crate::error::Result;
use crate::http::extract::Query;

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
    Ok(axum::Json(directory::find(&app, &q)?))
}

/// One facility with its live counts and predicted availability: when it usually fills up, the free
/// spots to expect over the next twelve hours and at a planned `arrival`.
#[utoipa::path(get, path = "/v1/facilities/{id}", tag = "facilities",
    params(("id" = String, Path, description = "facility id"), FacilityDetailQuery),
    responses((status = 200, body = FacilityDetail), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn detail(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<FacilityDetailQuery>,
) -> Result<axum::Json<FacilityDetail>> {
    Ok(axum::Json(crate::forecast::detail(&app, &id, &q).await?))
}

/// Free and occupied spots of one facility, per floor and zone.
#[utoipa::path(get, path = "/v1/facilities/{id}/availability", tag = "facilities",
    params(("id" = String, Path, description = "facility id")),
    responses((status = 200, body = Availability), (status = 404, body = ApiError)))]
pub async fn availability(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<axum::Json<Availability>> {
    Ok(axum::Json(directory::availability(&app, &id)?))
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
    Ok(axum::Json(directory::best_spots(&app, &id, &q)?))
}

/// The floor plan: every spot with its position and current state, and the gates.
#[utoipa::path(get, path = "/v1/facilities/{id}/layout", tag = "facilities",
    params(("id" = String, Path, description = "facility id")),
    responses((status = 200, body = LayoutView), (status = 404, body = ApiError)))]
pub async fn layout(State(app): State<App>, Path(id): Path<String>) -> Result<axum::Json<LayoutView>> {
    Ok(axum::Json(directory::layout(&app, &id)?))
}
