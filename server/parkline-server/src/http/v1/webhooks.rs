//! Partners' webhook endpoints: register, list, remove. Deliveries: see `crate::webhooks`.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use parkline_protocol::{ApiError, WebhookRequest, WebhookView};

use crate::app::App;
use crate::auth::Reach;
use crate::error::Result;
use crate::http::extract::Json;
use crate::webhooks;

/// Registers an endpoint for some event types (`["*"]`: all). The answer holds the signing secret, once.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    request_body = WebhookRequest,
    responses((status = 201, body = WebhookView), (status = 422, body = ApiError, description = "bad URL or topic")))]
pub async fn create(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
    Json(req): Json<WebhookRequest>,
) -> Result<(StatusCode, axum::Json<WebhookView>)> {
    Ok((StatusCode::CREATED, axum::Json(webhooks::register(&app, &reach, req).await?)))
}

/// The registered endpoints (without their secrets).
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = [WebhookView])))]
pub async fn list(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
) -> Result<axum::Json<Vec<WebhookView>>> {
    Ok(axum::Json(webhooks::list(&app, &reach).await?))
}

/// Removes an endpoint; its undelivered events are dropped with it.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = ApiError)))]
pub async fn remove(State(app): State<App>, Path(id): Path<String>) -> Result<StatusCode> {
    webhooks::remove(&app, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
