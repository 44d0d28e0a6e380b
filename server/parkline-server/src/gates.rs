//! Gate events: a vehicle at an entry is admitted to a held spot with a ticket, or refused (already inside,
//! full); a vehicle at an exit is found by ticket or plate, priced, and let out once settled.
//!
//! Every event carries an idempotency key. Under the facility's writer lock the server first looks for a
//! decision already given to that key and returns it unchanged; otherwise it decides, applies the
//! decision to memory (so the next event plans on it) and queues the event, the session and the spot for
//! the group commit, one transaction. It answers once that is saved, and puts memory back if it cannot
//! be. So a retried event never opens a second session, and nothing is acknowledged before it is durable.

use std::collections::HashSet;
use std::sync::Arc;

use jiff::Timestamp;
use parkline_domain::gate::{
    self, Admission, Arrival, Departure, Directions, ExitPlan, Leaving, Spot, Verdict,
};
use parkline_domain::permit::Permit;
use parkline_domain::plate::{Plate, PlateMatch};
use parkline_domain::reservation::{Reservation, Status as ReservationStatus};
use parkline_domain::{Currency, Direction, Preferences, SpotIdx, SpotState, Vehicle, VehicleClass};
use parkline_protocol::{ErrorCode, GateCommand, GateDecision, GateEvent, TicketView};
use tokio::sync::watch;

use crate::app::App;
use crate::error::{Error, Result};
use crate::live::{FacilityLive, InFlight};
use crate::occupancy::reload_spots;
use crate::permit_book::Permits;
use crate::reservations;
use parkline_store::{
    GateEventRecord, GateWrite, LedgerEntry, LedgerKind, SessionExit, SessionRecord, SpotRecord, Store,
};

/// Handles one gate event end to end; a reservation's holder hears that their vehicle is in.
/// Decides a vehicle at a gate. Traced as `gate.event` (with `gate.decide`, `allocate`, `exit.price`,
/// `payment` and `commit` inside), continuing the lane's trace when the kiosk sent one.
#[tracing::instrument(name = "gate.event", skip_all,
    fields(gate = gate_id, event = %event.event_id, command = tracing::field::Empty, session = tracing::field::Empty))]
pub async fn handle(app: &App, gate_id: &str, event: GateEvent) -> Result<GateDecision> {
    let decision = decide(app, gate_id, event).await?;
    let span = tracing::Span::current();
    span.record("command", tracing::field::debug(decision.command));
    if let Some(session) = &decision.session {
        span.record("session", session.as_str());
    }
    confirm_entry(app, gate_id, &decision).await;
    Ok(decision)
}

/// Tells the holder of a reservation that their vehicle is in (once, however often the event is retried).
async fn confirm_entry(app: &App, gate: &str, decision: &GateDecision) {
    let (Some(session), Some(facility)) = (&decision.session, app.live.gate(gate)) else { return };
    if decision.reason != parkline_protocol::DecisionReason::Admitted {
        return;
    }
    let reservation = facility.inside().get(session).and_then(|s| s.reservation.clone());
    let owner = reservation.and_then(|id| facility.claims().get(&id).and_then(|r| r.owner));
    if let Some(owner) = owner {
        let text = format!("You are in. {}", decision.display);
        crate::notices::notify(app, owner, "entry_confirmed", session, text).await;
    }
}

/// Decides a gate event, makes it durable, and only then answers.
async fn decide(app: &App, gate_id: &str, event: GateEvent) -> Result<GateDecision> {
    let (live, now) = (&app.live, app.now());
    let key = event.event_id.trim();
    if key.is_empty() || key.len() > 128 || key.chars().any(char::is_control) {
        return Err(Error::validation("event_id must be 1-128 printable characters"));
    }
    let facility = live
        .gate(gate_id)
        .ok_or_else(|| Error::api(ErrorCode::UnknownGate, format!("no gate {gate_id:?}")))?;
    let gate = facility
        .facility
        .gate(gate_id)
        .cloned()
        .ok_or_else(|| Error::api(ErrorCode::UnknownGate, format!("no gate {gate_id:?}")))?;
    let plates = plates(&event)?;
    if event.paid_at_gate.is_some_and(|p| !(0..=100_000_000).contains(&p)) {
        return Err(Error::validation("paid_at_gate must be between 0 and 1,000,000.00"));
    }
    // A passage a lane let through offline happened when it says, within reason.
    let now = match &event.offline {
        None => now,
        Some(passage) => {
            if passage.at > now + jiff::SignedDuration::from_mins(5)
                || passage.at < now - jiff::SignedDuration::from_hours(24 * 30)
            {
                return Err(Error::validation("offline.at must be within the last 30 days"));
            }
            if let Some(t) = &passage.ticket
                && (!(4..=32).contains(&t.len())
                    || !t.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
            {
                return Err(Error::validation("offline.ticket must be 4-32 capital letters and digits"));
            }
            passage.at
        }
    };

    let slot = format!("{gate_id}\u{0}{key}");
    let attempt = Attempt {
        app: app.clone(),
        facility: facility.clone(),
        gate: gate_id.to_owned(),
        direction: gate.direction,
        key: key.to_owned(),
        event,
        plates,
        now,
    };
    let (queued, done) = {
        let _writer = facility.writer.lock().await;
        // A retry of a recent event, or of one still being saved, waits for the first attempt's outcome.
        // An older retry is decided again, and the database refuses to save it twice (below): the
        // decision saved first is the answer. So new events never wait for a lookup.
        if let Some(first) = facility.recent_gate_event(&slot) {
            drop(_writer);
            return wait_for(first).await;
        }
        let queued = attempt.queue().await?;
        let (done, first) = watch::channel(None);
        facility.remember_gate_event(slot.clone(), first);
        (queued, done)
    };

    // Finish in a task of its own, so a client that hangs up cannot leave memory half-updated.
    let span = tracing::Span::current();
    let finish = tokio::spawn(tracing::Instrument::instrument(
        async move {
            let result = attempt.finish(queued).await;
            if result.is_err() {
                // Let a retry try afresh rather than repeat this failure.
                attempt.facility.forget_gate_event(&slot);
            }
            done.send_replace(Some(result.as_ref().map(Clone::clone).map_err(ToString::to_string)));
            // Live traffic (not a lane's offline backlog) feeds the gate's health: opens and read confidence.
            if let Ok(decision) = &result
                && attempt.event.offline.is_none()
            {
                let confidence = attempt.event.plate.as_ref().map(|p| p.confidence);
                let open = decision.command == GateCommand::Open;
                attempt.facility.note_gate(&attempt.gate, attempt.now, open, confidence);
            }
            result
        },
        span,
    ));
    let decision = finish.await.map_err(|e| anyhow::anyhow!("gate event task: {e}"))??;
    metrics::counter!("parkline_gate_decisions_total", "reason" => format!("{:?}", decision.reason))
        .increment(1);
    Ok(decision)
}

/// Times a gate event is planned again after losing a race to another instance's commit.
const REPLANS: u32 = 3;

/// One gate event being decided, with what it takes to decide it again.
struct Attempt {
    app: App,
    facility: Arc<FacilityLive>,
    gate: String,
    direction: Direction,
    key: String,
    event: GateEvent,
    plates: Vec<Plate>,
    now: Timestamp,
}

/// A decision applied to memory and on its way to disk, with what memory was before it.
struct Queued {
    decision: GateDecision,
    durable: parkline_store::Durable,
    undo: Undo,
    /// The spots it changes.
    spots: Vec<SpotIdx>,
}

impl Attempt {
    /// Decides against memory, applies the decision to memory (so the next event at this facility
    /// plans on it) and queues it to be saved. Called with the facility's writer lock held. An exit
    /// memory would refuse is first checked against the database: another instance may have let the
    /// vehicle in, or taken its payment or validation, a moment ago.
    async fn queue(&self) -> Result<Queued> {
        let facility = &self.facility;
        let ctx =
            Ctx { facility, permits: &self.app.permits, gate: &self.gate, key: &self.key, now: self.now };
        let decide = tracing::info_span!("gate.decide", direction = ?self.direction);
        let (mut decision, mut session, mut spots, checked_in, mut ledger) =
            decide.in_scope(|| match self.direction {
                Direction::Entry => {
                    let (d, s, spots, r) = ctx.entry(&self.event, self.plates.clone());
                    Ok::<_, Error>((d, s, spots, r, Vec::new()))
                }
                Direction::Exit => {
                    let (d, s, spots, ledger) = ctx.exit(&self.event, &self.plates)?;
                    Ok((d, s, spots, None, ledger))
                }
            })?;
        if self.direction == Direction::Exit
            && decision.command == GateCommand::Deny
            && recheck_leaving(&self.app, facility, &self.event, &self.plates).await?
        {
            (decision, session, spots, ledger) = ctx.exit(&self.event, &self.plates)?;
        }
        let write = GateWrite {
            event: GateEventRecord {
                gate: self.gate.clone(),
                key: self.key.clone(),
                facility: facility.facility.id.clone(),
                direction: self.direction,
                session: decision.session.clone(),
                decision: serde_json::to_string(&decision).map_err(anyhow::Error::from)?,
                at: self.now,
            },
            session: session.clone(),
            spots: spots.iter().map(|(_, r)| r.clone()).collect(),
            reservation: checked_in.clone(),
            ledger,
        };
        let undo = Undo::capture(facility, session.as_ref(), &spots, checked_in.as_ref());
        let changed: Vec<SpotIdx> = spots.iter().map(|(idx, _)| *idx).collect();
        facility.take_off(&changed);
        apply(facility, session, spots, checked_in);
        Ok(Queued { decision, durable: self.app.store.queue_gate_event(write), undo, spots: changed })
    }

    /// Waits for the decision to be saved; should the save fail, memory is put back. An event saved
    /// before (an older retry) is answered with the decision saved first. One whose plan lost a race
    /// to another instance's commit (it took the spot, or let the plate in, first) is planned again
    /// on the facility as the database has it, so the driver gets another spot, not an error.
    async fn finish(&self, mut queued: Queued) -> Result<GateDecision> {
        let mut replans = 0;
        loop {
            let Queued { decision, durable, undo, spots } = queued;
            let saved = tracing::Instrument::instrument(durable, tracing::info_span!("commit")).await;
            let _writer = self.facility.writer.lock().await;
            let reread = self.facility.land(&spots, saved.is_err());
            let e = match saved {
                Ok(()) => {
                    // Another instance changed these spots while this write was on its way.
                    if let Err(e) = reload_spots(self.app.store.as_ref(), &self.facility, &reread).await {
                        tracing::warn!(error = %e, "could not reload spots another instance changed");
                    }
                    return Ok(decision);
                }
                Err(e) => e,
            };
            let session = undo.session.as_ref().map(|(id, _)| id.clone());
            let reservation = undo.reservation.as_ref().map(|r| r.id.clone());
            undo.restore(&self.facility);
            // What memory was before may be older than what the change feed applied meanwhile (the
            // commit that won the race, say): read what was touched back from the database.
            let reloaded = async {
                refresh(&self.app, &self.facility, &reread, session.as_deref()).await?;
                if let Some(r) = reservation.as_deref()
                    && let Some(r) = self.app.store.reservation(r).await?
                {
                    reservations::reload_claim(&self.facility, r);
                }
                Ok::<(), Error>(())
            };
            if let Err(e) = reloaded.await {
                tracing::warn!(error = %e, "could not reload what a failed gate event touched");
            }
            if !matches!(e, parkline_store::Error::Duplicate) {
                return Err(e.into());
            }
            if let Some(first) = stored_decision(self.app.store.as_ref(), &self.gate, &self.key).await? {
                return Ok(first);
            }
            if replans == REPLANS {
                return Err(e.into());
            }
            replans += 1;
            metrics::counter!("parkline_gate_replans_total").increment(1);
            queued = self.queue().await?;
        }
    }
}

/// Reloads from the database the stays an exit may be for (by its ticket and plates), where the
/// database knows more than memory: a stay begun elsewhere, or paid or validated elsewhere. Whether
/// anything changed, so the exit is worth deciding again. Called with the writer lock held.
async fn recheck_leaving(app: &App, f: &FacilityLive, event: &GateEvent, plates: &[Plate]) -> Result<bool> {
    let mut found = Vec::new();
    if let Some(ticket) = event.ticket.as_deref() {
        found.extend(app.store.find_sessions(None, Some(ticket.trim()), 1).await?);
    }
    for plate in plates.iter().take(3) {
        found.extend(app.store.find_sessions(Some(plate), None, 1).await?);
    }
    let mut changed = false;
    for stored in found.into_iter().filter(|s| s.exit.is_none() && s.facility == f.facility.id) {
        let Some(session) = app.store.session(&stored.id).await? else { continue };
        let mut inside = f.inside();
        let newer = !inside.ended_lately(&session.id)
            && inside.get(&session.id).is_none_or(|known| {
                session.paid_minor > known.paid_minor || session.validations.len() > known.validations.len()
            });
        if newer {
            inside.reload(session);
            changed = true;
        }
    }
    Ok(changed)
}

/// Catches up with what another instance committed first, as the database has it: the spots and the
/// stay a failed plan touched, and the vehicles inside that this instance has not heard of yet. Only
/// those: this instance's own changes still on their way to disk stay as memory has them. Called with
/// the writer lock held; the change feed brings the same a moment later, harmlessly.
async fn refresh(app: &App, f: &FacilityLive, spots: &[SpotIdx], session: Option<&str>) -> Result<()> {
    reload_spots(app.store.as_ref(), f, spots).await?;
    if let Some(s) = match session {
        Some(id) => app.store.session(id).await?,
        None => None,
    } {
        f.inside().reload(s);
    }
    let sessions = app.store.active_sessions_at(&f.facility.id).await?;
    let mut inside = f.inside();
    for session in sessions {
        inside.learn(session);
    }
    Ok(())
}

async fn stored_decision(store: &dyn Store, gate: &str, key: &str) -> Result<Option<GateDecision>> {
    let Some(json) = store.gate_event_decision(gate, key).await? else { return Ok(None) };
    Ok(Some(serde_json::from_str(&json).map_err(|e| anyhow::anyhow!("stored decision: {e}"))?))
}

async fn wait_for(mut first: InFlight) -> Result<GateDecision> {
    let outcome = first
        .wait_for(Option::is_some)
        .await
        .map(|v| v.clone())
        .map_err(|_| Error::api(ErrorCode::Unavailable, "the first attempt was interrupted; retry"))?;
    match outcome {
        Some(Ok(decision)) => Ok(decision),
        _ => Err(Error::api(ErrorCode::Unavailable, "the first attempt could not be saved; retry")),
    }
}

/// Applies a decided change to memory.
fn apply(
    facility: &FacilityLive,
    session: Option<SessionRecord>,
    spots: Vec<SpotChange>,
    checked_in: Option<Reservation>,
) {
    facility.apply(spots.into_iter().map(|(idx, r)| (idx, r.status)));
    if let Some(r) = checked_in {
        facility.claims().update(r);
    }
    if let Some(s) = session {
        let mut inside = facility.inside();
        inside.remove(&s.id);
        match s.exit {
            None => inside.insert(s),
            Some(_) => inside.end(&s.id),
        }
    }
}

/// What memory looked like before a change, to put back if the change cannot be saved.
#[derive(Debug)]
struct Undo {
    spots: Vec<(u32, parkline_domain::SpotStatus)>,
    session: Option<(String, Option<SessionRecord>)>,
    reservation: Option<Reservation>,
}

impl Undo {
    fn capture(
        facility: &FacilityLive,
        session: Option<&SessionRecord>,
        spots: &[SpotChange],
        checked_in: Option<&Reservation>,
    ) -> Undo {
        let session = session.map(|s| (s.id.clone(), facility.inside().get(&s.id).cloned()));
        let reservation = checked_in.and_then(|r| facility.claims().get(&r.id).cloned());
        let state = facility.read();
        Undo {
            spots: spots.iter().map(|(idx, _)| (*idx, state.spots[*idx as usize])).collect(),
            session,
            reservation,
        }
    }

    fn restore(self, facility: &FacilityLive) {
        facility.apply(self.spots);
        if let Some(r) = self.reservation {
            facility.claims().update(r);
        }
        if let Some((id, before)) = self.session {
            let mut inside = facility.inside();
            inside.remove(&id);
            if let Some(s) = before {
                inside.insert(s);
            }
        }
    }
}

/// The plate read and its alternatives, normalised. An unreadable main read is an error; unreadable
/// alternatives are dropped, since cameras offer odd guesses.
fn plates(event: &GateEvent) -> Result<Vec<Plate>> {
    let Some(read) = &event.plate else { return Ok(Vec::new()) };
    if !(0.0..=1.0).contains(&read.confidence) {
        return Err(Error::validation("plate confidence must be within 0..=1"));
    }
    let main = Plate::parse(&read.text).map_err(|e| Error::validation(e.to_string()))?;
    let mut out = vec![main];
    for alt in read.alternatives.iter().take(10) {
        if let Ok(p) = Plate::parse(alt)
            && !out.contains(&p)
        {
            out.push(p);
        }
    }
    Ok(out)
}

/// A spot change with its index, as saved and then applied.
type SpotChange = (u32, SpotRecord);

/// What an entry decided: the answer, a new session, spots to hold, a reservation checked in.
type Planned = (GateDecision, Option<SessionRecord>, Vec<SpotChange>, Option<Reservation>);

/// What an exit decided: the answer, the session as it now is, spots released, money moved.
type Exit = (GateDecision, Option<SessionRecord>, Vec<SpotChange>, Vec<LedgerEntry>);

struct Ctx<'a> {
    facility: &'a Arc<FacilityLive>,
    permits: &'a Permits,
    gate: &'a str,
    key: &'a str,
    now: Timestamp,
}

impl Ctx<'_> {
    fn decision(&self, verdict: Verdict) -> GateDecision {
        GateDecision {
            event_id: self.key.to_owned(),
            gate: self.gate.to_owned(),
            command: verdict.command,
            reason: verdict.reason,
            display: verdict.display,
            session: None,
            ticket: None,
            spot: None,
            amount_due: verdict.amount_due,
        }
    }

    fn currency(&self) -> Currency {
        Currency::new(&self.facility.facility.currency).unwrap_or(Currency::USD)
    }

    /// Entry, in order: anti-passback, permit, reservation check-in, capacity, then a held spot.
    fn entry(&self, event: &GateEvent, plates: Vec<Plate>) -> Planned {
        let f = self.facility;
        let plate = plates.into_iter().next();
        let replay = event.offline.is_some();
        if plate.as_ref().is_some_and(|p| f.inside().has_plate(p)) {
            let arrival =
                Arrival { already_inside: true, admission: Admission::Visitor, spot: Spot::Unknown, replay };
            return (self.decision(gate::entry(&arrival)), None, vec![], None);
        }
        let permit = plate.as_ref().and_then(|p| self.permit_for(p));
        let reservation = match (&permit, &plate) {
            (None, Some(p)) => reservations::for_check_in(f, p, self.now),
            _ => None,
        };
        let class = event.vehicle_class.unwrap_or(VehicleClass::Sedan);
        let vehicle = reservation.as_ref().map_or(Vehicle::new(class, event.electric), |r| r.vehicle);
        let prefs = Preferences { accessible: event.accessible, ..Preferences::default() };
        // Spots whose reservation starts soon are kept for it.
        let kept: HashSet<String> = f.claims().kept_for_arrivals(self.now).map(str::to_owned).collect();
        let (best, occupancy_permille, before) = {
            let state = f.read();
            let reserved = reservation
                .as_ref()
                .and_then(|r| f.facility.spot_by_code(&r.spot))
                .filter(|&idx| state.occupancy.state(idx) == SpotState::Free);
            let zones = permit.as_ref().map_or(&[][..], |p| &p.zones[..]);
            let in_zone = |idx: SpotIdx| {
                let spot = f.facility.spot(idx);
                let key = format!(
                    "{}{}",
                    f.facility.floors[usize::from(spot.floor)].label,
                    f.facility.zones[usize::from(spot.zone)].code
                );
                zones.contains(&key)
            };
            let best = reserved.or_else(|| {
                let _allocate = tracing::info_span!("allocate", class = ?vehicle.class).entered();
                // Enough candidates to step over kept spots and, for a zoned permit, to find its zone.
                let wanted = kept.len() + if zones.is_empty() { 1 } else { 64 };
                let candidates: Vec<SpotIdx> = state
                    .occupancy
                    .best_spots(vehicle, &prefs, &f.levels, wanted)
                    .into_iter()
                    .map(|c| c.spot)
                    .filter(|&idx| !kept.contains(&f.facility.spot(idx).code))
                    .collect();
                let zoned = candidates.iter().copied().find(|&idx| in_zone(idx));
                zoned.or_else(|| candidates.first().copied())
            });
            let before = best.map(|spot| state.spots[spot as usize]);
            (best, crate::live::demand_permille(&state.occupancy.totals()), before)
        };
        let held = best.zip(before);
        let admission = match (&permit, &reservation) {
            (Some(p), _) => Admission::Permit { holder: &p.holder },
            (None, Some(_)) => Admission::Reservation,
            (None, None) => Admission::Visitor,
        };
        let view = held.map(|(spot, _)| f.spot_view(spot, SpotState::Held));
        let floor = held.map(|(spot, _)| &f.facility.floors[usize::from(f.facility.spot(spot).floor)]);
        let spot = match (&view, floor) {
            (Some(v), Some(floor)) => Spot::Held(Directions {
                spot: &v.code,
                floor: &floor.name,
                level: &floor.label,
                zone: &v.zone,
            }),
            _ => Spot::NoneFree,
        };
        let verdict = gate::entry(&Arrival { already_inside: false, admission, spot, replay });
        if verdict.command == GateCommand::Deny {
            return (self.decision(verdict), None, vec![], None);
        }
        // A lane that let the vehicle in offline gave it the ticket it printed.
        let ticket = event.offline.as_ref().and_then(|o| o.ticket.clone()).unwrap_or_else(ticket_code);
        let session = SessionRecord {
            id: crate::auth::random_token("ses_")[..24].to_owned(),
            facility: f.facility.id.clone(),
            ticket,
            plate,
            vehicle,
            spot: held.map(|(spot, _)| f.facility.spot(spot).code.clone()),
            entry_gate: self.gate.to_owned(),
            entry: self.now,
            occupancy_permille,
            permit: permit.as_ref().map(|p| p.id.clone()),
            partner: permit.as_ref().and_then(|p| p.partner),
            reservation: reservation.as_ref().map(|r| r.id.clone()),
            entry_image: event.plate.as_ref().and_then(|p| p.image_ref.clone()),
            exit: None,
            paid_minor: 0,
            last_paid: None,
            validations: Vec::new(),
        };
        let mut decision = self.decision(verdict);
        decision.session = Some(session.id.clone());
        decision.ticket = Some(TicketView {
            id: session.ticket.clone(),
            qr: format!("PARKLINE1:{}:{}", f.facility.id, session.ticket),
        });
        let mut changes = Vec::new();
        if let Some((spot, before)) = held {
            let code = f.facility.spot(spot).code.clone();
            decision.spot = view;
            let status = parkline_domain::SpotStatus { held: true, ..before };
            changes.push((spot, SpotRecord { spot: code, status }));
        }
        let checked_in = reservation.map(|r| Reservation { status: ReservationStatus::CheckedIn, ..r });
        (decision, Some(session), changes, checked_in)
    }

    /// A ledger entry for money this event moved; `what` makes its key unique within the event.
    fn entry_for(&self, what: &str, kind: LedgerKind, amount: i64, session: Option<&str>) -> LedgerEntry {
        LedgerEntry {
            key: format!("gate:{}:{}:{what}", self.gate, self.key),
            kind,
            amount_minor: amount,
            currency: self.currency().as_str().to_owned(),
            facility: Some(self.facility.facility.id.clone()),
            session: session.map(str::to_owned),
            reservation: None,
            user: None,
            actor: None,
            method: (kind == LedgerKind::Payment).then(|| "lane".to_owned()),
            provider_ref: None,
            refund_of: None,
            memo: None,
            at: self.now,
        }
    }

    fn exit(&self, event: &GateEvent, plates: &[Plate]) -> Result<Exit> {
        let f = self.facility;
        let paid_now = event.paid_at_gate.unwrap_or(0);
        let found = {
            let inside = f.inside();
            let by_ticket = event.ticket.as_deref().and_then(|t| inside.by_ticket(t.trim()).cloned());
            match by_ticket {
                Some(s) => PlateMatch::Exact(s),
                None => {
                    let record = |id: &String| inside.get(id).cloned();
                    match inside.match_plates(plates) {
                        PlateMatch::Exact(id) => record(&id).map_or(PlateMatch::NoMatch, PlateMatch::Exact),
                        PlateMatch::Confusable(id) => {
                            record(&id).map_or(PlateMatch::NoMatch, PlateMatch::Confusable)
                        }
                        PlateMatch::Ambiguous(ids) => {
                            PlateMatch::Ambiguous(ids.iter().filter_map(record).collect())
                        }
                        PlateMatch::NoMatch => PlateMatch::NoMatch,
                    }
                }
            }
        };
        let departure = |leaving| Departure {
            leaving,
            paid_now,
            currency: self.currency(),
            replay: event.offline.is_some(),
        };
        let mut session = match found {
            PlateMatch::Exact(s) | PlateMatch::Confusable(s) => s,
            PlateMatch::Ambiguous(_) => {
                let plan = gate::exit(&departure(Leaving::Ambiguous));
                return Ok((self.decision(plan.verdict), None, vec![], vec![]));
            }
            PlateMatch::NoMatch => {
                let price = self.facility.rates().map_or(0, |p| p.lost_ticket);
                return Ok(
                    self.lost_ticket(price, gate::exit(&departure(Leaving::Unknown { lost_ticket: price })))
                );
            }
        };

        let _price = tracing::info_span!("exit.price", session = %session.id).entered();
        let (full, validated) = crate::stays::fee_parts(self.facility, &session, self.now)?;
        let fee = full - validated.iter().sum::<i64>();
        let mut ledger = Vec::new();
        // A partner's grant let the vehicle in: the partner pays what is left, on account.
        if let Some(partner) = session.partner
            && fee > session.paid_minor
        {
            let owed = fee - session.paid_minor;
            let mut entry = self.entry_for("partner", LedgerKind::Payment, owed, Some(&session.id));
            entry.method = Some("partner".into());
            entry.provider_ref = Some(format!("partner:{partner}"));
            ledger.push(entry);
            session.paid_minor += owed;
            session.last_paid = Some(self.now);
        }
        // A vehicle that entered on a permit has paid already.
        let permit = session.permit.is_some() && session.partner.is_none();
        let leaving = Leaving::Stay { fee, paid_minor: session.paid_minor, permit };
        let ExitPlan { verdict, taken } = gate::exit(&departure(leaving));
        if taken > 0 {
            let _payment = tracing::info_span!("payment", method = "lane", amount_minor = taken).entered();
            ledger.push(self.entry_for("lane", LedgerKind::Payment, taken, Some(&session.id)));
            session.paid_minor += taken;
            session.last_paid = Some(self.now);
        }
        if verdict.command == GateCommand::Deny {
            let mut d = self.decision(verdict);
            d.session = Some(session.id.clone());
            // Money taken at the lane is recorded even when it does not cover the fee.
            let record = (taken > 0).then_some(session);
            return Ok((d, record, vec![], ledger));
        }
        if full > 0 {
            ledger.push(self.entry_for("charge", LedgerKind::Charge, full, Some(&session.id)));
        }
        for ((code, _), off) in session.validations.iter().zip(validated).filter(|(_, off)| *off > 0) {
            let mut entry =
                self.entry_for(&format!("validation:{code}"), LedgerKind::Adjustment, off, Some(&session.id));
            entry.method = Some("validation".into());
            entry.memo = Some(code.clone());
            ledger.push(entry);
        }
        let mut d = self.decision(verdict);
        d.session = Some(session.id.clone());
        session.exit = Some(SessionExit {
            gate: self.gate.to_owned(),
            at: self.now,
            amount_minor: fee,
            image: event.plate.as_ref().and_then(|p| p.image_ref.clone()),
        });
        // Release the spot the session held.
        let mut spots = Vec::new();
        if let Some(idx) = session.spot.as_deref().and_then(|code| f.facility.spot_by_code(code)) {
            let before = f.read().spots[idx as usize];
            let released = parkline_domain::SpotStatus { held: false, ..before };
            spots.push((idx, SpotRecord { spot: f.facility.spot(idx).code.clone(), status: released }));
        }
        Ok((d, Some(session), spots, ledger))
    }

    /// The permit this plate may enter on here and now: valid at this facility and hour, with room in its
    /// pool. Without one the vehicle enters as a paying visitor.
    fn permit_for(&self, plate: &Plate) -> Option<Arc<Permit>> {
        let book = self.permits.read();
        let f = self.facility;
        let permit = book
            .by_plate(&f.operator, plate)
            .iter()
            .find(|p| p.admits(&f.operator, &f.facility.id, self.now, &f.tz).is_ok())?
            .clone();
        if let Some(pool) = &permit.pool {
            let limit = book.pool_limit(pool).unwrap_or(0);
            let inside = self.facility.inside();
            let in_pool = inside
                .permits()
                .filter(|id| book.get(id).is_some_and(|p| p.pool.as_ref() == Some(pool)))
                .count();
            if in_pool >= limit as usize {
                return None;
            }
        }
        Some(permit)
    }

    /// No session matches: the vehicle leaves once the lost-ticket `price` is paid at the lane (or, let
    /// out offline, is charged the price and credited what the lane took).
    fn lost_ticket(&self, price: i64, plan: ExitPlan) -> Exit {
        let mut ledger = Vec::new();
        if plan.verdict.command == GateCommand::Open {
            if price > 0 {
                ledger.push(self.entry_for("charge", LedgerKind::Charge, price, None));
            }
            if plan.taken > 0 {
                ledger.push(self.entry_for("lane", LedgerKind::Payment, plan.taken, None));
            }
        }
        (self.decision(plan.verdict), None, vec![], ledger)
    }
}

/// A ticket code people can read out: 10 characters without look-alikes (no 0/O, 1/I, 2/Z, 5/S, 8/B).
fn ticket_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ACDEFGHJKLMNPQRTUVWXY34679";
    let mut rng = rand::rng();
    (0..10).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}
