//! Sensor ingest over HTTP.

use axum::Extension;
use axum::extract::State;
use parkline_protocol::{ApiError, IngestReport, SensorBatch};

use crate::app::App;
use crate::auth::Reach;
use crate::error::Result;
use crate::http::extract::Json;
use crate::occupancy;

/// Applies a batch of occupancy readings. The whole batch is validated first; one bad reading rejects
/// it all and changes nothing. Low-confidence, duplicate and out-of-order readings are not errors: the
/// report says what each reading did.
#[utoipa::path(post, path = "/v1/sensors/events", tag = "sensors", request_body = SensorBatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = IngestReport),
        (status = 400, body = ApiError, description = "malformed_request"),
        (status = 404, body = ApiError, description = "unknown_facility, unknown_spot or unknown_sensor"),
        (status = 413, body = ApiError, description = "payload_too_large"),
        (status = 422, body = ApiError, description = "validation_failed"),
    ))]
pub async fn ingest(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
    Json(batch): Json<SensorBatch>,
) -> Result<axum::Json<IngestReport>> {
    Ok(axum::Json(occupancy::ingest(&app, batch, &reach).await?))
}
