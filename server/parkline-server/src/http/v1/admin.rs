//! Configuration by managers and admins: facilities, spot closures, users, device tokens, API keys;
//! alerts, reports and the audit chain.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use parkline_domain::LayoutFile;
use parkline_protocol::{
    ApiError, ErrorCode, IssuedSecret, NewApiKey, NewDevice, NewUser, OperatorQuery, OperatorView,
    SpotServiceChange, StaffFacilities,
};

use crate::app::App;
use crate::auth::{Principal, Reach};
use crate::error::{Error, Result};
use crate::http::extract::{Json, Query};
use crate::{devices, facilities, occupancy, operators, users};

/// The operators the caller works within: every one for admins, their own for staff.
#[utoipa::path(get, path = "/v1/admin/operators", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = [OperatorView])))]
pub async fn operators(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
) -> Result<axum::Json<Vec<OperatorView>>> {
    Ok(axum::Json(operators::list(&app, &reach).await?))
}

/// Adds a parking operator (admins).
#[utoipa::path(post, path = "/v1/admin/operators", tag = "admin", security(("bearer" = [])),
    request_body = OperatorView,
    responses((status = 201), (status = 409, body = ApiError), (status = 422, body = ApiError)))]
pub async fn create_operator(
    State(app): State<App>,
    Json(operator): Json<OperatorView>,
) -> Result<StatusCode> {
    operators::create(&app, operator).await?;
    Ok(StatusCode::CREATED)
}

/// Imports a facility layout (the same format as the files under `assets/layouts`, as JSON) for the
/// manager's operator, or the one an admin names.
#[utoipa::path(post, path = "/v1/facilities", tag = "admin", security(("bearer" = [])),
    params(OperatorQuery),
    request_body(content = parkline_domain::LayoutFile, description = "a facility layout"),
    responses(
        (status = 201, description = "created"),
        (status = 404, body = ApiError, description = "unknown_operator"),
        (status = 409, body = ApiError, description = "the id is taken"),
        (status = 422, body = ApiError, description = "the layout is invalid"),
    ))]
pub async fn import_facility(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
    Query(q): Query<OperatorQuery>,
    Json(layout): Json<LayoutFile>,
) -> Result<StatusCode> {
    facilities::import(&app, &reach.home(q.operator.as_deref())?, layout).await?;
    Ok(StatusCode::CREATED)
}

/// Closes a spot (out of service) or reopens it.
#[utoipa::path(put, path = "/v1/facilities/{id}/spots/{code}/service", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path), ("code" = String, Path)),
    request_body = SpotServiceChange,
    responses((status = 204), (status = 404, body = ApiError)))]
pub async fn set_spot_service(
    State(app): State<App>,
    Path((id, code)): Path<(String, String)>,
    Json(change): Json<SpotServiceChange>,
) -> Result<StatusCode> {
    occupancy::set_out_of_service(&app, &id, &code, change.out_of_service).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates an account: staff for the manager's operator (or the one an admin names), optionally
/// limited to some of its facilities; drivers and admins (admins only).
#[utoipa::path(post, path = "/v1/admin/users", tag = "admin", security(("bearer" = [])), request_body = NewUser,
    responses((status = 201, body = i64), (status = 404, body = ApiError), (status = 409, body = ApiError),
        (status = 422, body = ApiError)))]
pub async fn create_user(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
    Json(user): Json<NewUser>,
) -> Result<(StatusCode, axum::Json<i64>)> {
    let id = users::create_for(&app, &reach, user).await?;
    Ok((StatusCode::CREATED, axum::Json(id)))
}

/// Limits a staff member to some of the operator's facilities (empty: all of them), from their next
/// sign-in or token refresh.
#[utoipa::path(put, path = "/v1/admin/users/{id}/facilities", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = StaffFacilities,
    responses((status = 204), (status = 404, body = ApiError)))]
pub async fn set_staff_facilities(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
    Path(id): Path<i64>,
    Json(body): Json<StaffFacilities>,
) -> Result<StatusCode> {
    users::set_facilities(&app, &reach, id, body.facilities).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Issues a device token (shown once) for a sensor gateway or kiosk at one facility.
#[utoipa::path(post, path = "/v1/admin/devices", tag = "admin", security(("bearer" = [])), request_body = NewDevice,
    responses((status = 201, body = IssuedSecret), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn create_device(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
    Json(device): Json<NewDevice>,
) -> Result<(StatusCode, axum::Json<IssuedSecret>)> {
    Ok((StatusCode::CREATED, axum::Json(devices::issue(&app, &reach, device).await?)))
}

/// Issues an API key (shown once) for a third party reading one operator's data, with its own rate
/// limit and scopes.
#[utoipa::path(post, path = "/v1/admin/api-keys", tag = "admin", security(("bearer" = [])), request_body = NewApiKey,
    responses((status = 201, body = IssuedSecret), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn create_api_key(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
    Json(key): Json<NewApiKey>,
) -> Result<(StatusCode, axum::Json<IssuedSecret>)> {
    Ok((StatusCode::CREATED, axum::Json(devices::issue_api_key(&app, &reach, key).await?)))
}

/// Removes plates and images past the retention period now (it also runs hourly); how many rows changed.
#[utoipa::path(post, path = "/v1/admin/retention/purge", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = parkline_protocol::Purged)))]
pub async fn purge(State(app): State<App>) -> Result<axum::Json<parkline_protocol::Purged>> {
    Ok(axum::Json(parkline_protocol::Purged { purged: crate::privacy::purge(&app).await? }))
}

/// Bills every permit month begun and not yet billed now (it also runs every minute); how many.
#[utoipa::path(post, path = "/v1/admin/billing/run", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = parkline_protocol::Billed)))]
pub async fn run_billing(State(app): State<App>) -> Result<axum::Json<parkline_protocol::Billed>> {
    Ok(axum::Json(parkline_protocol::Billed { billed: crate::billing::bill_permits(&app).await? }))
}

/// Current alerts across facilities (sensors silent, nearly full, overstays), unacknowledged first,
/// then newest, a page at a time.
#[utoipa::path(get, path = "/v1/admin/alerts", tag = "admin", security(("bearer" = [])),
    params(parkline_protocol::AlertQuery),
    responses((status = 200, body = [parkline_protocol::Alert]), (status = 422, body = ApiError)))]
pub async fn alerts(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
    Query(q): Query<parkline_protocol::AlertQuery>,
) -> Result<axum::Json<Vec<parkline_protocol::Alert>>> {
    let limit = q.limit.unwrap_or(200);
    if !(1..=500).contains(&limit) {
        return Err(Error::validation("limit must be within 1..=500"));
    }
    let mut alerts = crate::alerts::list(&app, &reach).await?;
    let offset = (q.offset.unwrap_or(0) as usize).min(alerts.len());
    alerts.drain(..offset);
    alerts.truncate(limit as usize);
    Ok(axum::Json(alerts))
}

/// Acknowledges a current alert with a note; the first acknowledgement stands.
#[utoipa::path(post, path = "/v1/admin/alerts/{id}/acknowledgement", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "alert id")),
    request_body = parkline_protocol::AcknowledgeAlert,
    responses(
        (status = 200, body = parkline_protocol::Acknowledgement),
        (status = 404, body = ApiError, description = "no such alert now"),
        (status = 422, body = ApiError, description = "missing or long note"),
    ))]
pub async fn acknowledge_alert(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    Json(body): Json<parkline_protocol::AcknowledgeAlert>,
) -> Result<axum::Json<parkline_protocol::Acknowledgement>> {
    let Principal::User { id: user, .. } = principal else {
        return Err(Error::api(ErrorCode::Forbidden, "alerts are acknowledged by people"));
    };
    Ok(axum::Json(crate::alerts::acknowledge(&app, &id, &body.note, user).await?))
}

/// Money taken by local day, facility and payment method.
#[utoipa::path(get, path = "/v1/admin/revenue", tag = "admin", security(("bearer" = [])),
    params(parkline_protocol::RevenueQuery),
    responses((status = 200, body = [parkline_protocol::RevenueRow]), (status = 422, body = ApiError)))]
pub async fn revenue(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
    Query(q): Query<parkline_protocol::RevenueQuery>,
) -> Result<axum::Json<Vec<parkline_protocol::RevenueRow>>> {
    Ok(axum::Json(crate::reports::revenue(&app, &reach, q.from, q.to).await?))
}

/// A facility's occupancy, sampled every five minutes, oldest first (at most 62 days).
#[utoipa::path(get, path = "/v1/admin/facilities/{id}/occupancy", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path), parkline_protocol::OccupancyQuery),
    responses((status = 200, body = parkline_protocol::OccupancyHistory), (status = 404, body = ApiError),
        (status = 422, body = ApiError)))]
pub async fn occupancy(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<parkline_protocol::OccupancyQuery>,
) -> Result<axum::Json<parkline_protocol::OccupancyHistory>> {
    Ok(axum::Json(crate::reports::occupancy(&app, &id, q.from, q.to).await?))
}

/// Stays of a plate (matched by its blind index) or with a ticket, newest first, with their timelines.
#[utoipa::path(get, path = "/v1/admin/sessions", tag = "admin", security(("bearer" = [])),
    params(parkline_protocol::SessionSearch),
    responses((status = 200, body = [parkline_protocol::SessionTimeline]), (status = 422, body = ApiError)))]
pub async fn find_sessions(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
    Query(q): Query<parkline_protocol::SessionSearch>,
) -> Result<axum::Json<Vec<parkline_protocol::SessionTimeline>>> {
    Ok(axum::Json(crate::reports::find_sessions(&app, &reach, &q).await?))
}

/// Records of the audit chain (money movements and overrides), oldest first.
#[utoipa::path(get, path = "/v1/admin/audit", tag = "admin", security(("bearer" = [])),
    params(parkline_protocol::AuditQuery),
    responses((status = 200, body = [parkline_protocol::AuditRecord]), (status = 422, body = ApiError)))]
pub async fn audit(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
    Query(q): Query<parkline_protocol::AuditQuery>,
) -> Result<axum::Json<Vec<parkline_protocol::AuditRecord>>> {
    Ok(axum::Json(crate::reports::audit_page(&app, &reach, &q).await?))
}

/// Checks the whole audit chain and compares it with the ledger.
#[utoipa::path(post, path = "/v1/admin/audit/verification", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = parkline_protocol::AuditVerification)))]
pub async fn verify_audit(
    State(app): State<App>,
) -> Result<axum::Json<parkline_protocol::AuditVerification>> {
    Ok(axum::Json(crate::reports::verify_audit(&app).await?))
}

/// The devices (kiosks, sensor gateways) within reach, newest first; tokens are never shown again.
#[utoipa::path(get, path = "/v1/admin/devices", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = [parkline_protocol::DeviceView])))]
pub async fn devices(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
) -> Result<axum::Json<Vec<parkline_protocol::DeviceView>>> {
    Ok(axum::Json(devices::list(&app, &reach).await?))
}

/// The partners' API keys within reach, newest first; keys are never shown again.
#[utoipa::path(get, path = "/v1/admin/api-keys", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = [parkline_protocol::ApiKeyView])))]
pub async fn api_keys(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
) -> Result<axum::Json<Vec<parkline_protocol::ApiKeyView>>> {
    Ok(axum::Json(devices::api_keys(&app, &reach).await?))
}

/// Revokes a partner's API key: refused at once, by every instance.
#[utoipa::path(delete, path = "/v1/admin/api-keys/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 404, body = ApiError)))]
pub async fn revoke_api_key(State(app): State<App>, Path(id): Path<i64>) -> Result<StatusCode> {
    devices::revoke_api_key(&app, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes a device's token: refused at once, by every instance.
#[utoipa::path(delete, path = "/v1/admin/devices/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 404, body = ApiError)))]
pub async fn revoke_device(State(app): State<App>, Path(id): Path<i64>) -> Result<StatusCode> {
    devices::revoke(&app, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The accounts within reach (all for admins, the operator's staff for its managers), with roles.
#[utoipa::path(get, path = "/v1/admin/users", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = [parkline_protocol::UserView])))]
pub async fn users(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
) -> Result<axum::Json<Vec<parkline_protocol::UserView>>> {
    Ok(axum::Json(users::list(&app, &reach).await?))
}

/// The permits and pools within reach.
#[utoipa::path(get, path = "/v1/permits", tag = "permits", security(("bearer" = [])),
    responses((status = 200, body = parkline_protocol::PermitList)))]
pub async fn permits(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
) -> Result<axum::Json<parkline_protocol::PermitList>> {
    Ok(axum::Json(crate::permits::list(&app, &reach).await?))
}

/// Finished stays within reach that still owe money (let out offline or by an attendant), oldest first.
#[utoipa::path(get, path = "/v1/admin/balances", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = [parkline_protocol::OpenBalance])))]
pub async fn open_balances(
    State(app): State<App>,
    Extension(reach): Extension<Reach>,
) -> Result<axum::Json<Vec<parkline_protocol::OpenBalance>>> {
    Ok(axum::Json(crate::payments::open_balances(&app, &reach).await?))
}

/// The whole ledger checked: every account's balance, and anything the payment rules never write
/// (money in a staff account, a refund credited to someone other than its payer, refunds beyond
/// their payment). Admins only: accounts belong to no operator.
#[utoipa::path(get, path = "/v1/admin/balances/check", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = parkline_protocol::BalanceCheck)))]
pub async fn check_balances(State(app): State<App>) -> Result<axum::Json<parkline_protocol::BalanceCheck>> {
    Ok(axum::Json(crate::accounts::check_all(&app).await?))
}
