//! Attendant overrides at a gate: lift the barrier, void a session, correct a plate. Each needs a
//! reason, is recorded with who did it, and is saved in order with the lane's gate events.

use parkline_domain::SpotStatus;
use parkline_domain::plate::Plate;
use parkline_protocol::{ErrorCode, GateCommand, OverrideAction, OverrideOutcome, OverrideRequest};

use crate::app::App;
use crate::auth::Principal;
use crate::error::{Error, Result};
use parkline_store::{OverrideWrite, SessionExit, SpotRecord};

pub async fn apply(
    app: &App,
    gate_id: &str,
    principal: &Principal,
    req: OverrideRequest,
) -> Result<OverrideOutcome> {
    let (live, store, now) = (&app.live, app.store.as_ref(), app.now());
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(Error::validation("an override needs a reason (1-500 characters)"));
    }
    let f = live
        .gate(gate_id)
        .ok_or_else(|| Error::api(ErrorCode::UnknownGate, format!("no gate {gate_id:?}")))?;
    // Staff act as themselves; a kiosk only opens its barrier, for the attendant it names.
    let (actor, device, attendant) = match principal {
        Principal::User { id, .. } => (Some(*id), None, None),
        Principal::Device { id, .. } if req.action == OverrideAction::OpenGate => {
            let name = req.attendant.as_deref().map(str::trim).unwrap_or_default();
            if name.is_empty() || name.chars().count() > 100 {
                return Err(Error::validation("a kiosk names the attendant who opens (1-100 characters)"));
            }
            (None, Some(*id), Some(name.to_owned()))
        }
        _ => return Err(Error::api(ErrorCode::Forbidden, "a kiosk may only open its barrier")),
    };
    let plate =
        req.plate.as_deref().map(Plate::parse).transpose().map_err(|e| Error::validation(e.to_string()))?;

    let _writer = f.writer.lock().await;
    let session =
        match req.session.as_deref() {
            None => None,
            Some(key) => {
                let inside = f.inside();
                let found = inside.get(key).or_else(|| inside.by_ticket(key)).cloned();
                Some(found.ok_or_else(|| {
                    Error::api(ErrorCode::NotFound, "no active session with that id or ticket")
                })?)
            }
        };
    let mut write = OverrideWrite {
        gate: gate_id.to_owned(),
        facility: f.facility.id.clone(),
        action: req.action.as_str(),
        reason: reason.to_owned(),
        session: None,
        plate: plate.as_ref().map(|p| p.as_str().to_owned()),
        actor,
        device,
        attendant,
        at: now,
        spots: vec![],
    };
    let mut released = None;
    let command = match req.action {
        OverrideAction::OpenGate => {
            write.session = session;
            Some(GateCommand::Open)
        }
        OverrideAction::VoidSession => {
            let mut s = session.ok_or_else(|| Error::validation("void_session needs a session"))?;
            s.exit = Some(SessionExit { gate: gate_id.to_owned(), at: now, amount_minor: 0, image: None });
            if let Some(idx) = s.spot.as_deref().and_then(|code| f.facility.spot_by_code(code)) {
                let status = SpotStatus { held: false, ..f.read().spots[idx as usize] };
                write.spots.push(SpotRecord { spot: f.facility.spot(idx).code.clone(), status });
                released = Some((idx, status));
            }
            write.session = Some(s);
            Some(GateCommand::Open)
        }
        OverrideAction::SetPlate => {
            let mut s = session.ok_or_else(|| Error::validation("set_plate needs a session"))?;
            let plate = plate.ok_or_else(|| Error::validation("set_plate needs a plate"))?;
            if f.inside().has_plate(&plate) {
                return Err(Error::api(
                    ErrorCode::Conflict,
                    format!("{plate} is already inside on another session"),
                ));
            }
            s.plate = Some(plate);
            write.session = Some(s);
            None
        }
    };
    store.save_override(&write).await?;

    // Saved: now memory.
    if let Some((idx, status)) = released {
        f.apply([(idx, status)]);
    }
    let session_id = write.session.as_ref().map(|s| s.id.clone());
    if let Some(s) = write.session.filter(|_| req.action != OverrideAction::OpenGate) {
        let mut inside = f.inside();
        inside.remove(&s.id);
        if s.exit.is_none() {
            inside.insert(s);
        }
    }
    tracing::info!(gate = gate_id, action = req.action.as_str(), reason, ?actor, "gate override");
    Ok(OverrideOutcome { action: req.action, gate: gate_id.to_owned(), command, session: session_id })
}
