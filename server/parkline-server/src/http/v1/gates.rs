//! Gate lanes and tickets.

use axum::Extension;
use axum::extract::{Path, State};
use parkline_protocol::{ApiError, ErrorCode, GateDecision, GateEvent, SessionView};

use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::gates;
use crate::http::App;
use crate::http::extract::{Json, Query};

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
    Extension(principal): Extension<Principal>,
    Json(event): Json<GateEvent>,
) -> Result<axum::Json<GateDecision>> {
    let decision =
        gates::handle(&app.live, &app.permits, &app.store, &gate, &principal, event, app.now()).await?;
    confirm_entry(&app, &gate, &decision).await;
    Ok(axum::Json(decision))
}

/// Tells the holder of a reservation that their vehicle is in (once, however often the event is retried).
async fn confirm_entry(app: &App, gate: &str, decision: &GateDecision) {
    let (Some(session), Some(facility)) = (&decision.session, app.live.gate(gate)) else { return };
    if decision.reason != parkline_protocol::DecisionReason::Admitted {
        return;
    }
    let reservation = facility.inside().get(session).and_then(|s| s.reservation.clone());
    let owner =
        reservation.and_then(|id| facility.claims().iter().find(|r| r.id == id).and_then(|r| r.owner));
    if let Some(owner) = owner {
        let text = format!("You are in. {}", decision.display);
        crate::notices::notify(app, owner, "entry_confirmed", session, text).await;
    }
}

/// An active session by its ticket, with what it costs if the vehicle left now. Tickets are
/// unguessable, so holding one is enough to see it.
#[utoipa::path(get, path = "/v1/tickets/{ticket}", tag = "gates",
    params(("ticket" = String, Path, description = "ticket code")),
    responses((status = 200, body = SessionView), (status = 404, body = ApiError)))]
pub async fn ticket(State(app): State<App>, Path(ticket): Path<String>) -> Result<axum::Json<SessionView>> {
    let (facility, session) = app
        .live
        .by_ticket(&ticket)
        .ok_or_else(|| Error::api(ErrorCode::NotFound, "no active session has this ticket"))?;
    Ok(axum::Json(gates::view(&facility, &session, app.now())?))
}

/// The vehicles inside a facility, oldest first, with their fees so far; `overstay=true` lists only
/// those inside past their reservation or the longest stay.
#[utoipa::path(get, path = "/v1/facilities/{id}/sessions", tag = "gates", security(("bearer" = [])),
    params(("id" = String, Path, description = "facility id"), parkline_protocol::SessionQuery),
    responses((status = 200, body = Vec<SessionView>), (status = 404, body = ApiError)))]
pub async fn sessions(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    Query(q): Query<parkline_protocol::SessionQuery>,
) -> Result<axum::Json<Vec<SessionView>>> {
    let facility = app.live.get(&id).ok_or_else(|| Error::unknown_facility(&id))?;
    // A kiosk keeps its own facility's stays for deciding offline, and sees no other.
    if let Principal::Device { facility: Some(own), .. } = &principal
        && *own != id
    {
        return Err(Error::api(ErrorCode::Forbidden, format!("this device is not at {id}")));
    }
    let now = app.now();
    let mut inside: Vec<_> = facility.inside().sessions().cloned().collect();
    inside.sort_by_key(|s| s.entry);
    let mut views = Vec::with_capacity(inside.len());
    for s in &inside {
        let v = gates::view(&facility, s, now)?;
        if v.overstay || !q.overstay {
            views.push(v);
        }
    }
    Ok(axum::Json(views))
}

/// An attendant's override at a gate: lift the barrier, void a session, or correct a plate. Needs a
/// reason; recorded with who did it.
#[utoipa::path(post, path = "/v1/gates/{gate}/overrides", tag = "gates", security(("bearer" = [])),
    params(("gate" = String, Path, description = "gate id")),
    request_body = parkline_protocol::OverrideRequest,
    responses(
        (status = 200, body = parkline_protocol::OverrideOutcome),
        (status = 404, body = ApiError),
        (status = 422, body = ApiError, description = "no reason, or a missing session or plate"),
    ))]
pub async fn overrides(
    State(app): State<App>,
    Path(gate): Path<String>,
    Extension(principal): Extension<Principal>,
    Json(req): Json<parkline_protocol::OverrideRequest>,
) -> Result<axum::Json<parkline_protocol::OverrideOutcome>> {
    let outcome =
        crate::overrides::apply(&app.live, app.store.as_ref(), &gate, &principal, req, app.now()).await?;
    Ok(axum::Json(outcome))
}
