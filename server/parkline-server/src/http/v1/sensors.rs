//! Sensor ingest over HTTP: readings of single sensors, and cameras' per-spot reports.

use axum::Extension;
use axum::extract::{Path, State};
use parkline_protocol::{ApiError, CameraReport, IngestReport, SensorBatch};

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

/// Applies a camera's per-spot report: each spot is a reading of kind `camera` from this camera, fused
/// with the spot's other sensors. The camera must be in the facility's layout and watch every spot
/// named; otherwise nothing changes.
#[utoipa::path(post, path = "/v1/facilities/{id}/cameras/{camera}/occupancy", tag = "sensors",
    request_body = CameraReport,
    params(("id" = String, Path, description = "Facility id"), ("camera" = String, Path, description = "Camera id in the layout")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = IngestReport),
        (status = 400, body = ApiError, description = "malformed_request"),
        (status = 404, body = ApiError, description = "unknown_facility, unknown_spot or unknown_sensor (no such camera, or it does not watch the spot)"),
        (status = 413, body = ApiError, description = "payload_too_large"),
        (status = 422, body = ApiError, description = "validation_failed"),
    ))]
pub async fn camera(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
    Path((facility, camera)): Path<(String, String)>,
    Json(report): Json<CameraReport>,
) -> Result<axum::Json<IngestReport>> {
    let batch = SensorBatch { readings: report.readings(&facility, &camera) };
    Ok(axum::Json(occupancy::ingest(&app, batch, &reach).await?))
}
