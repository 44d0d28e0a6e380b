//! Reservations: drivers book, change and cancel their own; staff see and manage all.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use parkline_domain::reservation::Reservation;
use parkline_protocol::{ApiError, ReservationRequest, ReservationWindow, Role};

use crate::app::App;
use crate::auth::Principal;
use crate::error::Result;
use crate::http::extract::Json;
use crate::reservations;

/// A driver acts on their own reservations only; staff (`None`) on any.
fn owner(principal: &Principal) -> Option<i64> {
    match principal {
        Principal::User { id, role: Role::Driver, .. } => Some(*id),
        _ => None,
    }
}

/// Books a spot (or `count` spots, all or nothing) for a window up to 30 days ahead, with its quote. With
/// an `Idempotency-Key` header, a retry returns the reservations the first attempt made.
#[utoipa::path(post, path = "/v1/reservations", tag = "reservations", security(("bearer" = [])),
    request_body = ReservationRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "retry-safe key (optional)")),
    responses(
        (status = 201, body = [Reservation], description = "the reservations made"),
        (status = 409, body = ApiError, description = "conflict: the spot or enough spots are not free then; booking_limit: the account holds as many bookings as it may, owes a fee, or needs money on its account to cover more bookings' no-show fees"),
        (status = 422, body = ApiError, description = "a window in the past, too far ahead, too long or under 30 minutes"),
    ))]
pub async fn book(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    headers: axum::http::HeaderMap,
    Json(req): Json<ReservationRequest>,
) -> Result<(StatusCode, axum::Json<Vec<Reservation>>)> {
    let (owner, limited) = match &principal {
        Principal::User { id, role, .. } => (Some(*id), *role == parkline_protocol::Role::Driver),
        _ => (None, true),
    };
    let key = match headers.get("idempotency-key") {
        Some(v) => Some(crate::payments::idempotency_key(v.to_str().ok())?),
        None => None,
    };
    let booked = reservations::book(&app, req, owner, limited, key.as_deref()).await?;
    Ok((StatusCode::CREATED, axum::Json(booked)))
}

/// The signed-in person's reservations, newest first (the app's "My reservations").
#[utoipa::path(get, path = "/v1/me/reservations", tag = "reservations", security(("bearer" = [])),
    responses((status = 200, body = [Reservation], description = "the reservations")))]
pub async fn mine(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
) -> Result<axum::Json<Vec<Reservation>>> {
    let Principal::User { id, .. } = principal else {
        return Ok(axum::Json(Vec::new()));
    };
    Ok(axum::Json(reservations::of_user(&app, id).await?))
}

#[utoipa::path(get, path = "/v1/reservations/{id}", tag = "reservations", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Reservation, description = "the reservation"), (status = 404, body = ApiError)))]
pub async fn get(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<axum::Json<Reservation>> {
    Ok(axum::Json(reservations::get(&app, &id, owner(&principal)).await?))
}

/// Moves a confirmed reservation to a new window on the same spot; inside the fee window (an hour before
/// the start) a change costs what cancelling would, unless it only stays longer.
#[utoipa::path(put, path = "/v1/reservations/{id}", tag = "reservations", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ReservationWindow,
    responses((status = 200, body = Reservation), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn modify(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    Json(window): Json<ReservationWindow>,
) -> Result<axum::Json<Reservation>> {
    Ok(axum::Json(reservations::modify(&app, &id, owner(&principal), window).await?))
}

/// Cancels a confirmed reservation: free until an hour before the start, the no-show fee after.
#[utoipa::path(delete, path = "/v1/reservations/{id}", tag = "reservations", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Reservation, description = "the cancelled reservation, with any fee"),
        (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn cancel(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<axum::Json<Reservation>> {
    Ok(axum::Json(reservations::cancel(&app, &id, owner(&principal)).await?))
}
