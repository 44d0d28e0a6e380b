//! Gate lanes and tickets.

use axum::Extension;
use axum::extract::{Path, State};
use parkline_protocol::{ApiError, GateDecision, GateEvent, SessionView};

use crate::app::App;
use crate::auth::Principal;
use crate::error::Result;
use crate::http::extract::{Json, Query};
use crate::{gates, stays};

/// A vehicle at a gate: entry (admit to a held spot, or refuse) or exit (find, price, let out once paid).
/// Retrying with the same `event_id` returns the same decision and changes nothing.
#[utoipa::path(post, path = "/v1/gates/{gate}/events", tag = "gates", security(("bearer" = [])),
    params(("gate" = String, Path, description = "gate id")),
    request_body = GateEvent,
    responses(
        (status = 200, body = GateDecision),
        (status = 404, body = ApiError, description = "unknown_gate"),
        (status = 422, body = ApiError, description = "junk plate, bad event_id or amount"),
    ))]
pub async fn event(
    State(app): State<App>,
    Path(gate): Path<String>,
    Json(event): Json<GateEvent>,
) -> Result<axum::Json<GateDecision>> {
    Ok(axum::Json(gates::handle(&app, &gate, event).await?))
}

/// An active session by its ticket, with what it costs if the vehicle left now. Tickets are
/// unguessable, so holding one is enough to see it.
#[utoipa::path(get, path = "/v1/tickets/{ticket}", tag = "gates",
    params(("ticket" = String, Path, description = "ticket code")),
    responses((status = 200, body = SessionView), (status = 404, body = ApiError)))]
pub async fn ticket(State(app): State<App>, Path(ticket): Path<String>) -> Result<axum::Json<SessionView>> {
    Ok(axum::Json(stays::by_ticket(&app, &ticket).await?))
}

/// The vehicles inside a facility, oldest first, with their fees so far; `overstay=true` lists only
/// those inside past their reservation or the longest stay.
#[utoipa::path(get, path = "/v1/facilities/{id}/sessions", tag = "gates", security(("bearer" = [])),
    params(("id" = String, Path, description = "facility id"), parkline_protocol::SessionQuery),
    responses((status = 200, body = Vec<SessionView>), (status = 404, body = ApiError)))]
pub async fn sessions(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<parkline_protocol::SessionQuery>,
) -> Result<axum::Json<Vec<SessionView>>> {
    Ok(axum::Json(stays::inside(&app, &id, q.overstay)?))
}

/// An attendant's override at a gate: lift the barrier, void a session, or correct a plate. Needs a
/// reason; recorded with who did it. A kiosk may ask only to lift its barrier, naming the attendant.
#[utoipa::path(post, path = "/v1/gates/{gate}/overrides", tag = "gates", security(("bearer" = [])),
    params(("gate" = String, Path, description = "gate id")),
    request_body = parkline_protocol::OverrideRequest,
    responses(
        (status = 200, body = parkline_protocol::OverrideOutcome),
        (status = 403, body = ApiError, description = "a kiosk asked for more than opening its barrier"),
        (status = 404, body = ApiError),
        (status = 422, body = ApiError, description = "no reason, or a missing session or plate"),
    ))]
pub async fn overrides(
    State(app): State<App>,
    Path(gate): Path<String>,
    Extension(principal): Extension<Principal>,
    Json(req): Json<parkline_protocol::OverrideRequest>,
) -> Result<axum::Json<parkline_protocol::OverrideOutcome>> {
    Ok(axum::Json(crate::overrides::apply(&app, &gate, &principal, req).await?))
}
