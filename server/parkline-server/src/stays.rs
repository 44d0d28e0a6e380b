//! Stays (sessions) as their holders and staff see them: what one costs if it ended now, whether it
//! overstays, and the look-ups by ticket and by facility.

use std::sync::Arc;

use jiff::Timestamp;
use parkline_domain::gate;
use parkline_domain::{Currency, Money};
use parkline_protocol::{ErrorCode, SessionView};
use parkline_store::SessionRecord;

use crate::app::App;
use crate::error::{Error, Result};
use crate::live::FacilityLive;

/// An active stay by its ticket, with what it costs if the vehicle left now. Tickets are unguessable,
/// so holding one is enough to see it; the plate is left out (a ticket found on the ground must not
/// name a car; the driver's own app knows its plate).
pub async fn by_ticket(app: &App, ticket: &str) -> Result<SessionView> {
    let (facility, session) = with_ticket(app, ticket).await?;
    view(&facility, &session, app.now()).map(public)
}

/// The vehicle inside holding `ticket`, and its facility. Memory answers; a ticket it does not know is
/// looked up in the database, since another instance may have let the vehicle in a moment ago (the
/// stay is then loaded here, as the change feed would a moment later).
pub async fn with_ticket(app: &App, ticket: &str) -> Result<(Arc<FacilityLive>, SessionRecord)> {
    let missing = || Error::api(ErrorCode::NotFound, "no active session has this ticket");
    if let Some(found) = app.live.by_ticket(ticket) {
        return Ok(found);
    }
    let ticket = ticket.trim();
    if !(4..=32).contains(&ticket.len()) || !ticket.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(missing());
    }
    let stored = app.store.find_sessions(None, Some(ticket), 1).await?.into_iter().next();
    let Some((stored, facility)) =
        stored.filter(|s| s.exit.is_none()).and_then(|s| app.live.get(&s.facility).map(|f| (s, f)))
    else {
        return Err(missing());
    };
    // Read it under the writer lock, as the change feed applies changes: a departure applied
    // meanwhile is then seen, and the stay is not brought back.
    let _writer = facility.writer.lock().await;
    let Some(session) = app.store.session(&stored.id).await? else { return Err(missing()) };
    let mut inside = facility.inside();
    inside.learn(session);
    let found = inside.get(&stored.id).cloned().ok_or_else(missing);
    drop(inside);
    let session = found?;
    Ok((facility.clone(), session))
}

/// A stay as anyone holding its ticket sees it: without the plate.
pub fn public(view: SessionView) -> SessionView {
    SessionView { plate: None, ..view }
}

/// The vehicles inside a facility, oldest first, with their fees so far (only those overstaying, if
/// asked). A kiosk keeps its own facility's stays for deciding offline.
pub fn inside(app: &App, facility: &str, overstay_only: bool) -> Result<Vec<SessionView>> {
    let f = app.live.get(facility).ok_or_else(|| Error::unknown_facility(facility))?;
    let now = app.now();
    let mut inside: Vec<_> = f.inside().sessions().cloned().collect();
    inside.sort_by_key(|s| s.entry);
    let mut views = Vec::with_capacity(inside.len());
    for s in &inside {
        let v = view(&f, s, now)?;
        if v.overstay || !overstay_only {
            views.push(v);
        }
    }
    Ok(views)
}

/// What a session costs if it ended at `now`: nothing on a permit or without a rate plan, else its price
/// from entry to `now` at the demand it entered on. A driver who paid is charged up to the payment if
/// they leave within [`parkline_domain::gate::LEAVE_AFTER_PAYING`].
pub fn fee(f: &FacilityLive, s: &SessionRecord, now: Timestamp) -> Result<i64> {
    let (full, off) = fee_parts(f, s, now)?;
    Ok(full - off.iter().sum::<i64>())
}

/// [`fee`] before merchant validations, and what each of the session's validations takes off it
/// (`parkline_domain::gate::fee`, at the demand it entered on).
pub fn fee_parts(f: &FacilityLive, s: &SessionRecord, now: Timestamp) -> Result<(i64, Vec<i64>)> {
    gate::fee(&stay(s), f.rates().as_deref(), &f.tz, now).map_err(|e| Error::validation(e.to_string()))
}

/// A session as the gate rules price it.
fn stay(s: &SessionRecord) -> gate::Stay {
    gate::Stay {
        class: s.vehicle.class,
        entered_at: s.entry,
        // A partner's grant is paid for by the partner, at the price of any stay.
        permit: s.permit.is_some() && s.partner.is_none(),
        last_paid: s.last_paid,
        occupancy_permille: Some(s.occupancy_permille),
        discounts: s.validations.iter().map(|(_, d)| *d).collect(),
    }
}

/// A session as its ticket holder or staff see it: the fee if it left now, and whether it overstays.
pub fn view(f: &FacilityLive, s: &SessionRecord, now: Timestamp) -> Result<SessionView> {
    let currency = Currency::new(&f.facility.currency).unwrap_or(Currency::USD);
    let plan = f.rates();
    let fee = fee(f, s, now)?;
    let reservation_over =
        s.reservation.as_deref().and_then(|id| f.claims().get(id).map(|r| now > r.end)).unwrap_or(false);
    let too_long = plan
        .and_then(|p| p.max_stay_hours)
        .is_some_and(|h| now.duration_since(s.entry) > jiff::SignedDuration::from_hours(i64::from(h)));
    Ok(SessionView {
        id: s.id.clone(),
        facility: s.facility.clone(),
        ticket: s.ticket.clone(),
        plate: s.plate.as_ref().map(|p| p.as_str().to_owned()),
        spot: s.spot.clone(),
        entered_at: s.entry,
        exited_at: s.exit.as_ref().map(|e| e.at),
        fee: Money::new(fee, currency),
        paid: Money::new(s.paid_minor, currency),
        overstay: reservation_over || too_long,
        permit: s.permit.is_some(),
        vehicle_class: Some(s.vehicle.class),
    })
}
