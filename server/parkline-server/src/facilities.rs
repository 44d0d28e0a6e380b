//! Adding facilities: from files on disk (CLI, demo) or the admin API, through one validation path.

use std::path::Path;

use parkline_domain::LayoutFile;
use parkline_domain::pricing::RatePlan;

use crate::app::App;
use crate::error::{Error, Result};
use crate::live::FacilityLive;

/// Validates a layout (structure and time zone), saves it for `operator` with every spot free, and
/// makes it live.
pub async fn import(app: &App, operator: &str, layout: LayoutFile) -> Result<()> {
    import_all(app, operator, vec![layout]).await
}

/// [`import`] for many layouts at once (the command line's import, a generated city): all are checked
/// first, then saved a few hundred per transaction, then made live.
pub async fn import_all(app: &App, operator: &str, layouts: Vec<LayoutFile>) -> Result<()> {
    let (live, store, now) = (&app.live, app.store.as_ref(), app.now());
    if !store.operators().await?.iter().any(|o| o.id == operator) {
        return Err(Error::unknown_operator(operator));
    }
    let mut ids = std::collections::HashSet::new();
    let mut gates = std::collections::HashSet::new();
    let mut checked = Vec::with_capacity(layouts.len());
    for layout in layouts {
        let facility = FacilityLive::new(layout, operator.to_owned(), now, &[])?;
        let id = &facility.layout.id;
        if live.get(id).is_some() || !ids.insert(id.clone()) {
            return Err(conflict(id));
        }
        for gate in &facility.facility.gates {
            if live.gate(&gate.id).is_some() || !gates.insert(gate.id.clone()) {
                return Err(Error::api(
                    parkline_protocol::ErrorCode::Conflict,
                    format!("gate id {:?} is used by another facility; gate ids are global", gate.id),
                ));
            }
        }
        let codes: Vec<String> = facility.facility.spots.iter().map(|s| s.code.clone()).collect();
        checked.push((facility, codes));
    }
    for chunk in checked.chunks(500) {
        let new: Vec<_> = chunk
            .iter()
            .map(|(f, codes)| parkline_store::NewFacility { layout: &f.layout, operator, spots: codes })
            .collect();
        store.insert_facilities(&new, now).await.map_err(|e| match e {
            parkline_store::Error::Duplicate => Error::api(
                parkline_protocol::ErrorCode::Conflict,
                "a facility with one of these ids exists (added elsewhere meanwhile)",
            ),
            other => other.into(),
        })?;
    }
    for (facility, _) in checked {
        live.insert(facility);
    }
    Ok(())
}

/// Validates a rate plan for a facility, saves it, and puts it in force.
pub async fn set_rate_plan(app: &App, facility: &str, plan: RatePlan) -> Result<()> {
    let facility = app.live.get(facility).ok_or_else(|| Error::unknown_facility(facility))?;
    plan.validate().map_err(|e| Error::validation(e.to_string()))?;
    if plan.currency.as_str() != facility.facility.currency {
        return Err(Error::validation(format!(
            "{} charges in {}, not {}",
            facility.facility.id, facility.facility.currency, plan.currency
        )));
    }
    app.store.save_rate_plan(&facility.facility.id, &plan, app.now()).await?;
    facility.set_rates(plan);
    Ok(())
}

fn conflict(id: &str) -> Error {
    Error::api(parkline_protocol::ErrorCode::Conflict, format!("facility {id:?} already exists"))
}

/// Reads a layout from a `.toml` or `.json` file.
pub fn read_layout(path: &Path) -> anyhow::Result<LayoutFile> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    parse_layout(&text, path.extension().and_then(|e| e.to_str()) == Some("json"))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

pub fn parse_layout(text: &str, json: bool) -> anyhow::Result<LayoutFile> {
    Ok(if json { serde_json::from_str(text)? } else { toml::from_str(text)? })
}

/// Loads one stored facility, with its rates, into memory (one another instance added).
pub async fn load(app: &App, id: &str) -> Result<()> {
    let Some(stored) = app.store.facility(id).await? else { return Ok(()) };
    let facility = FacilityLive::new(stored.layout, stored.operator, stored.created, &stored.spots)?;
    if let Some(plan) = app.store.rate_plan(id).await? {
        facility.set_rates(plan);
    }
    app.live.insert(facility);
    Ok(())
}

/// Loads every stored facility into memory, as the server starts.
pub async fn load_all(app: &App) -> Result<usize> {
    let (live, store) = (&app.live, app.store.as_ref());
    let all = store.load_facilities().await?;
    let n = all.len();
    for stored in all {
        live.insert(FacilityLive::new(stored.layout, stored.operator, stored.created, &stored.spots)?);
    }
    for session in store.active_sessions().await? {
        if let Some(facility) = live.get(&session.facility) {
            facility.inside().insert(session);
        }
    }
    for reservation in store.claiming_reservations().await? {
        if let Some(facility) = live.get(&reservation.facility) {
            facility.claims().insert(reservation);
        }
    }
    for (id, plan) in store.rate_plans().await? {
        if let Some(facility) = live.get(&id) {
            facility.set_rates(plan);
        }
    }
    Ok(n)
}
