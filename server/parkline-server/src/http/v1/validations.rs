//! Merchant validations: managers create codes, merchants or visitors apply them to a ticket.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use parkline_protocol::{ApiError, ApplyValidation, SessionView, ValidationRequest};

use crate::app::App;
use crate::auth::Reach;
use crate::error::Result;
use crate::http::extract::Json;
use crate::validations;
use parkline_store::ValidationRecord;

/// Creates a validation code for one facility: a fixed amount, a percentage or free hours off, with an
/// optional use limit and end date.
#[utoipa::path(post, path = "/v1/validations", tag = "payments", security(("bearer" = [])),
    request_body = ValidationRequest,
    responses((status = 201, body = parkline_protocol::ValidationCode), (status = 409, body = ApiError, description = "the code exists"),
        (status = 422, body = ApiError)))]
pub async fn create(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
    Json(req): Json<ValidationRequest>,
) -> Result<(StatusCode, axum::Json<ValidationRecord>)> {
    Ok((StatusCode::CREATED, axum::Json(validations::create(&app, &reach, req).await?)))
}

/// Applies a validation code to an active ticket (once per ticket; applying it again changes nothing)
/// and returns the stay with its new fee.
#[utoipa::path(post, path = "/v1/tickets/{ticket}/validations", tag = "payments",
    params(("ticket" = String, Path)), request_body = ApplyValidation,
    responses((status = 200, body = SessionView),
        (status = 404, body = ApiError, description = "no such ticket or code"),
        (status = 409, body = ApiError, description = "the code has no uses left"),
        (status = 422, body = ApiError, description = "the code is for another facility or has expired")))]
pub async fn apply(
    State(app): State<App>,
    Path(ticket): Path<String>,
    Json(req): Json<ApplyValidation>,
) -> Result<axum::Json<SessionView>> {
    Ok(axum::Json(validations::apply(&app, &ticket, req).await?))
}
