//! Rows as the database returns them (`FromRow`: integers for flags and times, text for enums and JSON),
//! and their conversion into records, checking every stored value on the way.

use parkline_domain::reservation::{Reservation, Status as ReservationStatus};
use parkline_domain::sensor::SensorTrack;
use parkline_domain::validation::Discount;
use parkline_domain::{SpotStatus, Vehicle};
use parkline_protocol::{DeviceKind, Role};

use super::{WriteCtx, from_json, opt_ts, ts};
use crate::error::{Result, corrupt};
use crate::{AuditRow, Delivery, LedgerEntry, LedgerKind, SessionExit, SessionRecord, SpotRecord};

/// The columns [`SpotRow`] reads.
pub(super) const SPOT_COLUMNS: &str = "spot, occupied, out_of_service, held, last_reading_ms, last_change_ms, \
     pending_occupied, pending_since_ms, evidence";

#[derive(Debug, sqlx::FromRow)]
pub(super) struct SpotRow {
    spot: String,
    occupied: i64,
    out_of_service: i64,
    held: i64,
    last_reading_ms: Option<i64>,
    last_change_ms: Option<i64>,
    pending_occupied: Option<i64>,
    pending_since_ms: Option<i64>,
    evidence: Option<String>,
}

/// A spot's row with its facility, for loading every facility at once.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct FacilitySpotRow {
    pub facility_id: String,
    #[sqlx(flatten)]
    pub spot: SpotRow,
}

impl SpotRow {
    pub(super) fn record(self) -> Result<SpotRecord> {
        let pending = match (self.pending_occupied, self.pending_since_ms) {
            (Some(value), Some(since)) => Some((value != 0, ts(since)?)),
            _ => None,
        };
        Ok(SpotRecord {
            spot: self.spot,
            status: SpotStatus {
                out_of_service: self.out_of_service != 0,
                held: self.held != 0,
                sensor: SensorTrack {
                    occupied: self.occupied != 0,
                    last_reading: opt_ts(self.last_reading_ms)?,
                    last_change: opt_ts(self.last_change_ms)?,
                    pending,
                    evidence: match self.evidence {
                        Some(json) => from_json("a spot's sensor evidence", &json)?,
                        None => Default::default(),
                    },
                },
            },
        })
    }
}

pub(super) fn vehicle(class: &str, electric: i64) -> Result<Vehicle> {
    let class = class.parse().map_err(|e| corrupt(format_args!("vehicle class: {e}")))?;
    Ok(Vehicle::new(class, electric != 0))
}

/// A session row with what the ledger says it cost and what was paid (`select_sessions!`).
#[derive(Debug, sqlx::FromRow)]
pub(super) struct SessionRow {
    id: String,
    facility_id: String,
    ticket: String,
    plate_sealed: Option<String>,
    vehicle_class: String,
    electric: i64,
    spot: Option<String>,
    entry_gate: String,
    entry_ms: i64,
    occupancy_permille: i64,
    exit_gate: Option<String>,
    exit_ms: Option<i64>,
    permit_id: Option<String>,
    reservation_id: Option<String>,
    entry_image: Option<String>,
    exit_image: Option<String>,
    partner_key_id: Option<i64>,
    amount_minor: Option<i64>,
    paid_minor: i64,
    last_paid_ms: Option<i64>,
}

impl SessionRow {
    /// The record, its plate opened; validations are read separately.
    pub(super) fn record(self, ctx: &WriteCtx) -> Result<SessionRecord> {
        let exit = match (self.exit_gate, self.exit_ms) {
            (Some(gate), Some(at)) => Some(SessionExit {
                gate,
                at: ts(at)?,
                amount_minor: self.amount_minor.unwrap_or(0),
                image: self.exit_image,
            }),
            _ => None,
        };
        Ok(SessionRecord {
            plate: ctx.open_plate("sessions.plate", self.plate_sealed)?,
            vehicle: vehicle(&self.vehicle_class, self.electric)?,
            id: self.id,
            facility: self.facility_id,
            ticket: self.ticket,
            spot: self.spot,
            entry_gate: self.entry_gate,
            entry: ts(self.entry_ms)?,
            occupancy_permille: u16::try_from(self.occupancy_permille).unwrap_or(0),
            permit: self.permit_id,
            partner: self.partner_key_id,
            reservation: self.reservation_id,
            entry_image: self.entry_image,
            exit,
            paid_minor: self.paid_minor,
            last_paid: opt_ts(self.last_paid_ms)?,
            validations: Vec::new(),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct ReservationRow {
    id: String,
    facility_id: String,
    spot: String,
    plate_sealed: Option<String>,
    vehicle_class: String,
    electric: i64,
    start_ms: i64,
    end_ms: i64,
    status: String,
    quote_minor: i64,
    fee_minor: i64,
    owner_id: Option<i64>,
    group_id: Option<String>,
}

impl ReservationRow {
    pub(super) fn record(self, ctx: &WriteCtx) -> Result<Reservation> {
        Ok(Reservation {
            plate: ctx
                .open_plate("reservations.plate", self.plate_sealed)?
                .ok_or_else(|| corrupt("a reservation without a plate"))?,
            vehicle: vehicle(&self.vehicle_class, self.electric)?,
            status: ReservationStatus::parse(&self.status)
                .ok_or_else(|| corrupt(format_args!("reservation status {:?}", self.status)))?,
            id: self.id,
            facility: self.facility_id,
            spot: self.spot,
            start: ts(self.start_ms)?,
            end: ts(self.end_ms)?,
            quote_minor: self.quote_minor,
            fee_minor: self.fee_minor,
            owner: self.owner_id,
            group: self.group_id,
        })
    }
}

/// The columns [`LedgerRow`] reads (with the key of the payment a refund is against).
pub(super) const LEDGER_COLUMNS: &str = "id, entry_key, kind, amount_minor, currency, facility_id, session_id, \
     reservation_id, user_id, actor_id, method, provider_ref, \
     (SELECT r.entry_key FROM ledger r WHERE r.id = ledger.refund_of) AS refund_key, memo, at_ms";

#[derive(Debug, sqlx::FromRow)]
pub(super) struct LedgerRow {
    id: i64,
    entry_key: String,
    kind: String,
    amount_minor: i64,
    currency: String,
    facility_id: Option<String>,
    session_id: Option<String>,
    reservation_id: Option<String>,
    user_id: Option<i64>,
    actor_id: Option<i64>,
    method: Option<String>,
    provider_ref: Option<String>,
    refund_key: Option<String>,
    memo: Option<String>,
    at_ms: i64,
}

impl LedgerRow {
    /// The entry with its position in the ledger.
    pub(super) fn record(self) -> Result<(i64, LedgerEntry)> {
        let entry = LedgerEntry {
            kind: LedgerKind::parse(&self.kind)
                .ok_or_else(|| corrupt(format_args!("ledger kind {:?}", self.kind)))?,
            key: self.entry_key,
            amount_minor: self.amount_minor,
            currency: self.currency,
            facility: self.facility_id,
            session: self.session_id,
            reservation: self.reservation_id,
            user: self.user_id,
            actor: self.actor_id,
            method: self.method,
            provider_ref: self.provider_ref,
            refund_of: self.refund_key,
            memo: self.memo,
            at: ts(self.at_ms)?,
        };
        Ok((self.id, entry))
    }

    pub(super) fn entry(self) -> Result<LedgerEntry> {
        Ok(self.record()?.1)
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct AuditLinkRow {
    seq: i64,
    at_ms: i64,
    kind: String,
    ref_id: String,
    body: String,
    prev_hash: String,
    hash: String,
}

impl AuditLinkRow {
    pub(super) fn record(self) -> Result<AuditRow> {
        Ok(AuditRow {
            seq: self.seq,
            at: ts(self.at_ms)?,
            kind: self.kind,
            ref_id: self.ref_id,
            body: self.body,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct DeliveryRow {
    id: i64,
    event_id: String,
    topic: String,
    body: String,
    url: String,
    secret_sealed: String,
    attempts: i64,
    next_attempt_ms: i64,
}

impl From<DeliveryRow> for Delivery {
    fn from(r: DeliveryRow) -> Delivery {
        Delivery {
            id: r.id,
            event_id: r.event_id,
            topic: r.topic,
            body: r.body,
            url: r.url,
            secret_sealed: r.secret_sealed,
            attempts: r.attempts,
            next_attempt_ms: r.next_attempt_ms,
        }
    }
}

pub(super) fn role(stored: &str) -> Result<Role> {
    Role::parse(stored).ok_or_else(|| corrupt(format_args!("role {stored:?}")))
}

pub(super) fn device_kind(stored: &str) -> Result<DeviceKind> {
    DeviceKind::parse(stored).ok_or_else(|| corrupt(format_args!("device kind {stored:?}")))
}

pub(super) fn discount(json: &str) -> Result<Discount> {
    from_json("discount", json)
}

/// A count kept as a database integer.
pub(super) fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(if n < 0 { 0 } else { u32::MAX })
}
