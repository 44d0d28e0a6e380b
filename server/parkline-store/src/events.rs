//! The events partners' webhooks receive, made from the writes that cause them: each is queued in the
//! outbox in the same transaction as its change, so an event is sent if and only if the change is stored.
//! Ids are derived from what caused them, so a retried write announces the same event. Plates are
//! personal data and are never sent.

use jiff::Timestamp;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{GateWrite, LedgerEntry, LedgerKind, OutboxEvent};

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn event(
    topic: &'static str,
    source: &str,
    facility: Option<&str>,
    at: Timestamp,
    data: serde_json::Value,
) -> OutboxEvent {
    let id = format!("evt_{}", &sha256_hex(&format!("{topic}\u{0}{source}"))[..24]);
    let body = json!({"id": id, "type": topic, "created": at, "data": data}).to_string();
    OutboxEvent { id, topic, body, at, facility: facility.map(str::to_owned), partner: None }
}

/// Events a gate event announces: a session started or ended. Plates are personal data and are not
/// sent.
pub fn gate_events(w: &GateWrite) -> Vec<OutboxEvent> {
    let Some(s) = &w.session else { return Vec::new() };
    let source = format!("{}\u{0}{}", w.event.gate, w.event.key);
    let mut data = json!({
        "session": s.id, "facility": s.facility, "ticket": s.ticket, "spot": s.spot,
        "vehicle_class": s.vehicle.class.as_str(), "entered_at": s.entry,
        "permit": s.permit, "reservation": s.reservation,
    });
    let announced = match &s.exit {
        Some(exit) => {
            data["exited_at"] = json!(exit.at);
            data["amount_minor"] = json!(exit.amount_minor);
            event("session.ended", &source, Some(&s.facility), w.event.at, data)
        }
        None if w.event.direction == parkline_domain::Direction::Entry => {
            event("session.started", &source, Some(&s.facility), w.event.at, data)
        }
        None => return Vec::new(),
    };
    vec![OutboxEvent { partner: s.partner, ..announced }]
}

/// The event a ledger entry announces, for payments and refunds.
pub fn ledger_event(e: &LedgerEntry) -> Option<OutboxEvent> {
    let topic = match e.kind {
        LedgerKind::Payment => "payment.succeeded",
        LedgerKind::Refund => "payment.refunded",
        LedgerKind::Charge | LedgerKind::Adjustment => return None,
    };
    let data = json!({
        "id": e.key, "facility": e.facility, "session": e.session, "amount_minor": e.amount_minor,
        "currency": e.currency, "method": e.method, "refund_of": e.refund_of,
    });
    Some(event(topic, &e.key, e.facility.as_deref(), e.at, data))
}

/// The event a notice to a person announces to partners, for the kinds partners act on, at the
/// facility of the stay or booking it is about.
pub fn notice_event(kind: &str, subject: &str, facility: Option<&str>, at: Timestamp) -> Option<OutboxEvent> {
    let (topic, field) = match kind {
        "overstay" => ("session.overstay", "session"),
        "no_show" => ("reservation.no_show", "reservation"),
        _ => return None,
    };
    Some(event(topic, subject, facility, at, json!({ field: subject })))
}
