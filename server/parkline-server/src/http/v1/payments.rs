//! Payments: pay a ticket before leaving, see a receipt, refund (staff).

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use parkline_protocol::{AccountView, ApiError, PaymentRequest, Receipt, RefundRequest, TopUpRequest};

use crate::app::App;
use crate::auth::Principal;
use crate::error::Result;
use crate::http::extract::Json;
use crate::payments;

fn key(headers: &HeaderMap) -> Result<String> {
    payments::idempotency_key(headers.get("idempotency-key").and_then(|v| v.to_str().ok()))
}

fn user(principal: Option<&Principal>) -> Option<i64> {
    match principal {
        Some(Principal::User { id, .. }) => Some(*id),
        _ => None,
    }
}

/// Pays (part of) what a ticket owes now, by card. Anyone holding the ticket may pay, as at a pay
/// station. Once paid, the exit gate opens for the ticket for 15 minutes.
#[utoipa::path(post, path = "/v1/tickets/{ticket}/payments", tag = "payments",
    params(("ticket" = String, Path), ("Idempotency-Key" = String, Header, description = "retry-safe key")),
    request_body = PaymentRequest,
    responses(
        (status = 201, body = Receipt),
        (status = 402, body = ApiError, description = "payment_declined"),
        (status = 404, body = ApiError, description = "no active session has this ticket"),
        (status = 409, body = ApiError, description = "nothing_due"),
        (status = 422, body = ApiError, description = "bad amount, token or idempotency key"),
        (status = 502, body = ApiError, description = "payment_provider_error: retry with the same key"),
    ))]
pub async fn pay(
    State(app): State<App>,
    principal: Option<Extension<Principal>>,
    Path(ticket): Path<String>,
    headers: HeaderMap,
    Json(req): Json<PaymentRequest>,
) -> Result<(StatusCode, axum::Json<Receipt>)> {
    let key = key(&headers)?;
    let user = user(principal.as_ref().map(|p| &p.0));
    let receipt = payments::pay(&app, ticket.trim(), req, &key, user).await?;
    Ok((StatusCode::CREATED, axum::Json(receipt)))
}

/// A receipt, by the payment's or refund's id.
#[utoipa::path(get, path = "/v1/payments/{id}", tag = "payments", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Receipt), (status = 404, body = ApiError)))]
pub async fn receipt(State(app): State<App>, Path(id): Path<String>) -> Result<axum::Json<Receipt>> {
    Ok(axum::Json(payments::receipt_by_id(&app, &id).await?))
}

/// Refunds (part of) a payment, with a reason; never more than is left of it.
#[utoipa::path(post, path = "/v1/payments/{id}/refunds", tag = "payments", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = String, Header, description = "retry-safe key")),
    request_body = RefundRequest,
    responses(
        (status = 201, body = Receipt),
        (status = 404, body = ApiError, description = "no such payment"),
        (status = 409, body = ApiError, description = "refund_too_large"),
    ))]
pub async fn refund(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(req): Json<RefundRequest>,
) -> Result<(StatusCode, axum::Json<Receipt>)> {
    let key = key(&headers)?;
    let receipt = payments::refund(&app, &id, req, &key, user(Some(&principal))).await?;
    Ok((StatusCode::CREATED, axum::Json(receipt)))
}

/// The signed-in driver's account: balances and the entries behind them.
#[utoipa::path(get, path = "/v1/me/account", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = AccountView)))]
pub async fn account(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
) -> Result<axum::Json<AccountView>> {
    let user =
        user(Some(&principal)).ok_or_else(|| crate::error::Error::validation("only people have accounts"))?;
    Ok(axum::Json(crate::accounts::view(&app, user).await?))
}

/// Adds money to the signed-in driver's account by card.
#[utoipa::path(post, path = "/v1/me/account/top-ups", tag = "payments", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "retry-safe key")),
    request_body = TopUpRequest,
    responses((status = 201, body = Receipt), (status = 402, body = ApiError), (status = 422, body = ApiError)))]
pub async fn top_up(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    Json(req): Json<TopUpRequest>,
) -> Result<(StatusCode, axum::Json<Receipt>)> {
    let key = key(&headers)?;
    let user =
        user(Some(&principal)).ok_or_else(|| crate::error::Error::validation("only people have accounts"))?;
    Ok((StatusCode::CREATED, axum::Json(crate::accounts::top_up(&app, user, req, &key).await?)))
}
