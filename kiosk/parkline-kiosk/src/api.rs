//! The kiosk's own small HTTP API: cameras that read plates themselves push them here, and headless
//! lanes take attendant actions here. Nothing on the lot network is trusted: attendant actions and the
//! full lane view need the kiosk's API secret, a camera's secret pushes plates to its own lane only, and
//! without either `GET /lanes` shows each lane's state without plates.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use parkline_protocol::PlateRead;
use serde::{Deserialize, Serialize};

use crate::lane::{Health, Input, LaneHandle, LaneView};

/// The secrets the API accepts: the kiosk's (attendant actions, the full view) and each plate-reading
/// camera's, by gate.
#[derive(Clone, Default)]
pub struct Secrets {
    pub attendant: String,
    pub cameras: HashMap<String, String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("cameras", &self.cameras.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The shortest secret accepted: anything shorter is guessable on a lot network.
pub const MIN_SECRET_LEN: usize = 16;

#[derive(Clone)]
struct Api {
    lanes: Arc<HashMap<String, LaneHandle>>,
    secrets: Arc<Secrets>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manual {
    plate: Option<String>,
    ticket: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Paid {
    amount_minor: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Override {
    reason: String,
    attendant: String,
}

/// A lane as anyone on the network may see it: its state, no plates, tickets or amounts.
#[derive(Debug, Serialize)]
struct LaneStatus {
    gate: String,
    gate_status: Option<crate::gate::GateStatus>,
    full: bool,
    unreadable: bool,
    frames_total: u64,
    passages_total: u64,
    health: Health,
}

pub fn router(lanes: Vec<LaneHandle>, secrets: Secrets) -> Router {
    let lanes = Arc::new(lanes.into_iter().map(|l| (l.gate.clone(), l)).collect());
    Router::new()
        .route("/lanes", get(views))
        .route("/lanes/{gate}/plates", post(plate))
        .route("/lanes/{gate}/manual", post(manual))
        .route("/lanes/{gate}/paid", post(paid))
        .route("/lanes/{gate}/override", post(override_gate))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(Api { lanes, secrets: Arc::new(secrets) })
}

/// Who presented which secret.
#[derive(Debug, PartialEq)]
enum Caller {
    Attendant,
    Camera(String),
    Nobody,
}

impl Api {
    fn caller(&self, headers: &HeaderMap) -> Caller {
        let Some(presented) = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return Caller::Nobody;
        };
        if same(presented, &self.secrets.attendant) {
            return Caller::Attendant;
        }
        match self.secrets.cameras.iter().find(|(_, secret)| same(presented, secret)) {
            Some((gate, _)) => Caller::Camera(gate.clone()),
            None => Caller::Nobody,
        }
    }

    /// Attendant actions: the kiosk's secret only.
    fn is_attendant(&self, headers: &HeaderMap) -> bool {
        self.caller(headers) == Caller::Attendant
    }
}

/// Compares in time independent of where the strings differ; empty secrets never match.
fn same(presented: &str, secret: &str) -> bool {
    let (a, b) = (presented.as_bytes(), secret.as_bytes());
    !b.is_empty() && a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

fn refused() -> Response {
    (StatusCode::UNAUTHORIZED, "this needs the kiosk's API secret (Authorization: Bearer ...)")
        .into_response()
}

async fn views(State(api): State<Api>, headers: HeaderMap) -> Response {
    let mut views: Vec<LaneView> = api.lanes.values().map(|l| l.view.borrow().clone()).collect();
    views.sort_by(|a, b| a.gate.cmp(&b.gate));
    if api.is_attendant(&headers) {
        return Json(views).into_response();
    }
    let status: Vec<LaneStatus> = views
        .into_iter()
        .map(|v| LaneStatus {
            gate: v.gate,
            gate_status: v.gate_status,
            full: v.full,
            unreadable: v.unreadable,
            frames_total: v.frames_total,
            passages_total: v.passages_total,
            health: v.health,
        })
        .collect();
    Json(status).into_response()
}

async fn send(api: &Api, gate: &str, input: Input) -> Response {
    match api.lanes.get(gate) {
        Some(lane) => {
            lane.send(input).await;
            StatusCode::ACCEPTED.into_response()
        }
        None => (StatusCode::NOT_FOUND, format!("no lane {gate:?} at this kiosk")).into_response(),
    }
}

/// A camera pushes to its own lane; the attendant's secret may push to any (a plate typed in).
async fn plate(
    State(api): State<Api>,
    Path(gate): Path<String>,
    headers: HeaderMap,
    Json(read): Json<PlateRead>,
) -> Response {
    match api.caller(&headers) {
        Caller::Attendant => {}
        Caller::Camera(own) if own == gate => {}
        _ => return refused(),
    }
    if !(0.0..=1.0).contains(&read.confidence) {
        return (StatusCode::UNPROCESSABLE_ENTITY, "confidence must be within 0..=1").into_response();
    }
    send(&api, &gate, Input::Plate(read)).await
}

async fn manual(
    State(api): State<Api>,
    Path(gate): Path<String>,
    headers: HeaderMap,
    Json(m): Json<Manual>,
) -> Response {
    if !api.is_attendant(&headers) {
        return refused();
    }
    send(&api, &gate, Input::Manual { plate: m.plate, ticket: m.ticket }).await
}

async fn paid(
    State(api): State<Api>,
    Path(gate): Path<String>,
    headers: HeaderMap,
    Json(p): Json<Paid>,
) -> Response {
    if !api.is_attendant(&headers) {
        return refused();
    }
    if !(0..=100_000_000).contains(&p.amount_minor) {
        return (StatusCode::UNPROCESSABLE_ENTITY, "amount_minor must be between 0 and 100000000")
            .into_response();
    }
    send(&api, &gate, Input::PaidAtLane { amount_minor: p.amount_minor }).await
}

async fn override_gate(
    State(api): State<Api>,
    Path(gate): Path<String>,
    headers: HeaderMap,
    Json(o): Json<Override>,
) -> Response {
    if !api.is_attendant(&headers) {
        return refused();
    }
    if o.reason.trim().is_empty() || o.attendant.trim().is_empty() {
        return (StatusCode::UNPROCESSABLE_ENTITY, "a name and a reason are needed to open by hand")
            .into_response();
    }
    send(&api, &gate, Input::Override { reason: o.reason, attendant: o.attendant }).await
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn secrets_match_only_themselves() {
        assert!(same("0123456789abcdef", "0123456789abcdef"));
        assert!(!same("0123456789abcdeF", "0123456789abcdef"));
        assert!(!same("0123456789abcde", "0123456789abcdef"));
        assert!(!same("", ""), "an unset secret opens nothing");
    }
}
