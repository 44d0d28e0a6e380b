//! Permits and pools, managed by staff.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use parkline_domain::permit::Permit;
use parkline_protocol::{ApiError, PoolLimit};

use crate::app::App;
use crate::auth::Reach;
use crate::error::Result;
use crate::http::extract::Json;
use crate::permits;

/// Issues a permit for up to 10 plates, optionally limited to facilities, hours and a pool.
#[utoipa::path(post, path = "/v1/permits", tag = "permits", security(("bearer" = [])),
    request_body(content = Permit, description = "a permit"),
    responses((status = 201), (status = 409, body = ApiError), (status = 422, body = ApiError)))]
pub async fn create(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
    Json(permit): Json<Permit>,
) -> Result<StatusCode> {
    permits::add(&app, &reach, permit).await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(get, path = "/v1/permits/{id}", tag = "permits", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Permit, description = "the permit"), (status = 404, body = ApiError)))]
pub async fn get(State(app): State<App>, Path(id): Path<String>) -> Result<axum::Json<Permit>> {
    Ok(axum::Json(permits::get(&app, &id)?.as_ref().clone()))
}

/// Revokes a permit at once; vehicles inside on it leave free of charge.
#[utoipa::path(delete, path = "/v1/permits/{id}", tag = "permits", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ApiError)))]
pub async fn revoke(State(app): State<App>, Path(id): Path<String>) -> Result<StatusCode> {
    permits::revoke(&app, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates or resizes a pool: how many of its permits' vehicles may be inside one facility at once.
#[utoipa::path(put, path = "/v1/permit-pools/{id}", tag = "permits", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = PoolLimit,
    responses((status = 204), (status = 422, body = ApiError)))]
pub async fn set_pool(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
    Path(id): Path<String>,
    Json(pool): Json<PoolLimit>,
) -> Result<StatusCode> {
    permits::set_pool(&app, &reach, &id, pool.limit, pool.operator.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
