//! The kiosk's own small HTTP API: cameras that read plates themselves push them here, and headless
//! lanes take attendant actions here. `GET /lanes` shows every lane as the attendant screen does.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use parkline_protocol::PlateRead;
use serde::Deserialize;

use crate::lane::{Input, LaneHandle, LaneView};

type Lanes = Arc<HashMap<String, LaneHandle>>;

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

pub fn router(lanes: Vec<LaneHandle>) -> Router {
    let lanes: Lanes = Arc::new(lanes.into_iter().map(|l| (l.gate.clone(), l)).collect());
    Router::new()
        .route("/lanes", get(views))
        .route("/lanes/{gate}/plates", post(plate))
        .route("/lanes/{gate}/manual", post(manual))
        .route("/lanes/{gate}/paid", post(paid))
        .route("/lanes/{gate}/override", post(override_gate))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(lanes)
}

async fn views(State(lanes): State<Lanes>) -> Json<Vec<LaneView>> {
    let mut views: Vec<LaneView> = lanes.values().map(|l| l.view.borrow().clone()).collect();
    views.sort_by(|a, b| a.gate.cmp(&b.gate));
    Json(views)
}

async fn send(lanes: &Lanes, gate: &str, input: Input) -> (StatusCode, String) {
    match lanes.get(gate) {
        Some(lane) => {
            lane.send(input).await;
            (StatusCode::ACCEPTED, String::new())
        }
        None => (StatusCode::NOT_FOUND, format!("no lane {gate:?} at this kiosk")),
    }
}

async fn plate(
    State(lanes): State<Lanes>,
    Path(gate): Path<String>,
    Json(read): Json<PlateRead>,
) -> (StatusCode, String) {
    if !(0.0..=1.0).contains(&read.confidence) {
        return (StatusCode::UNPROCESSABLE_ENTITY, "confidence must be within 0..=1".into());
    }
    send(&lanes, &gate, Input::Plate(read)).await
}

async fn manual(
    State(lanes): State<Lanes>,
    Path(gate): Path<String>,
    Json(m): Json<Manual>,
) -> (StatusCode, String) {
    send(&lanes, &gate, Input::Manual { plate: m.plate, ticket: m.ticket }).await
}

async fn paid(
    State(lanes): State<Lanes>,
    Path(gate): Path<String>,
    Json(p): Json<Paid>,
) -> (StatusCode, String) {
    if !(0..=100_000_000).contains(&p.amount_minor) {
        return (StatusCode::UNPROCESSABLE_ENTITY, "amount_minor must be between 0 and 100000000".into());
    }
    send(&lanes, &gate, Input::PaidAtLane { amount_minor: p.amount_minor }).await
}

async fn override_gate(
    State(lanes): State<Lanes>,
    Path(gate): Path<String>,
    Json(o): Json<Override>,
) -> (StatusCode, String) {
    if o.reason.trim().is_empty() || o.attendant.trim().is_empty() {
        return (StatusCode::UNPROCESSABLE_ENTITY, "a name and a reason are needed to open by hand".into());
    }
    send(&lanes, &gate, Input::Override { reason: o.reason, attendant: o.attendant }).await
}
