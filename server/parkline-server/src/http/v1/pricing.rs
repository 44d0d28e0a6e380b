//! Rate plans and quotes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use parkline_domain::pricing::{Quote, RatePlan};
use parkline_protocol::{ApiError, QuoteQuery};

use crate::app::App;
use crate::directory;
use crate::error::Result;
use crate::http::extract::{Json, Query};

/// The facility's rate plan: hourly rates per class, bands, surges, caps (minor units; basis points).
#[utoipa::path(get, path = "/v1/facilities/{id}/rates", tag = "pricing",
    params(("id" = String, Path, description = "facility id")),
    responses((status = 200, body = RatePlan, description = "the rate plan"), (status = 404, body = ApiError)))]
pub async fn get_rates(State(app): State<App>, Path(id): Path<String>) -> Result<axum::Json<RatePlan>> {
    Ok(axum::Json(directory::rates(&app, &id)?.as_ref().clone()))
}

/// Replaces the facility's rate plan; it applies to quotes from now on.
#[utoipa::path(put, path = "/v1/facilities/{id}/rates", tag = "pricing", security(("bearer" = [])),
    params(("id" = String, Path, description = "facility id")),
    request_body(content = RatePlan, description = "a rate plan"),
    responses((status = 204), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn put_rates(
    State(app): State<App>,
    Path(id): Path<String>,
    Json(plan): Json<RatePlan>,
) -> Result<StatusCode> {
    crate::facilities::set_rate_plan(&app, &id, plan).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a planned stay would cost, itemised: each part at its rate, daily maxima, minimum, charging.
/// Demand pricing uses the facility's occupancy now.
#[utoipa::path(get, path = "/v1/facilities/{id}/quote", tag = "pricing",
    params(("id" = String, Path, description = "facility id"), QuoteQuery),
    responses((status = 200, body = Quote, description = "the itemised quote"),
        (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn quote(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<QuoteQuery>,
) -> Result<axum::Json<Quote>> {
    Ok(axum::Json(directory::quote(&app, &id, &q)?))
}
