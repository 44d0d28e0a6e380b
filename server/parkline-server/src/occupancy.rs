//! Every way a spot's occupancy changes: sensor readings (HTTP today, MQTT later: one code path), held
//! changes that the debounce releases, and staff closing or reopening a spot.
//!
//! Each change is planned under the facility's writer lock on a copy of the current tracks (pure domain
//! rules), then saved and applied to the live state. Staff and the debounce save first and apply once
//! saved, with the lock held. Sensor readings are applied at once and the locks let go while they are
//! saved, so the next batch plans on them and the group commit saves several batches together; they
//! are answered once saved, and a failed save is put back and the spots read again from the database.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use parkline_domain::sensor::{Outcome, Reading, SensorRules};
use parkline_domain::{SpotIdx, SpotStatus};
use parkline_protocol::{ErrorCode, IngestReport, SensorBatch, SensorReading};

use crate::app::App;
use crate::auth::Reach;
use crate::error::{Error, Result};
use crate::live::{FacilityLive, Live};
use parkline_store::{HistoryEntry, SpotRecord, Store};

/// One spot's status before and after a change, and what caused it.
#[derive(Debug, Clone, Copy)]
struct Change {
    spot: SpotIdx,
    before: SpotStatus,
    after: SpotStatus,
    /// Sensor kind, `debounce` or `staff`.
    source: &'static str,
    confidence: Option<f64>,
    at: Timestamp,
}

/// The changes planned for one facility: spot records to save, history to append, statuses to apply.
#[derive(Debug, Default)]
struct Plan {
    records: Vec<SpotRecord>,
    history: Vec<HistoryEntry>,
    apply: Vec<(SpotIdx, SpotStatus)>,
    /// What the spots were before, to put back should saving fail.
    undo: Vec<(SpotIdx, SpotStatus)>,
}

impl Plan {
    /// Adds a change; it enters the history if the spot's visible state changes.
    fn push(&mut self, live: &FacilityLive, c: Change) {
        let code = &live.facility.spot(c.spot).code;
        if c.before.state() != c.after.state() {
            self.history.push(HistoryEntry {
                spot: code.clone(),
                state: c.after.state().as_str(),
                at: c.at,
                source: c.source,
                confidence: c.confidence,
            });
        }
        self.records.push(SpotRecord { spot: code.clone(), status: c.after });
        self.apply.push((c.spot, c.after));
        self.undo.push((c.spot, c.before));
    }

    async fn commit(self, store: &dyn Store, live: &FacilityLive) -> Result<()> {
        store.queue_spots(&live.facility.id, &self.records, &self.history).await?;
        self.applied(live);
        Ok(())
    }

    /// Applies a saved plan to memory.
    fn applied(self, live: &FacilityLive) {
        metrics::counter!("parkline_spot_changes_total").increment(self.history.len() as u64);
        live.apply(self.apply);
    }
}

/// Applies a batch of readings. The batch is validated whole first: one bad reading rejects all of it,
/// with the reading's index in the message, and nothing changes.
///
/// A reading for a facility out of `reach` (a gateway's own facility, say) is refused as one for a
/// facility that does not exist.
pub async fn ingest(app: &App, batch: SensorBatch, reach: &Reach) -> Result<IngestReport> {
    let (live, store, rules, max_batch, now) =
        (&app.live, app.store.as_ref(), &app.rules, app.max_batch, app.now());
    let n = batch.readings.len();
    if n == 0 {
        return Err(Error::validation("a batch needs at least one reading"));
    }
    if n > max_batch {
        return Err(Error::api(
            ErrorCode::PayloadTooLarge,
            format!("a batch holds at most {} readings; this one has {n}", max_batch),
        ));
    }

    // Resolve and validate everything before touching any state.
    let mut resolved = Vec::with_capacity(n);
    for (i, r) in batch.readings.iter().enumerate() {
        let item =
            resolve(live, rules, r, i, reach, now).map_err(|e| prefix(e, &format!("readings[{i}]: ")))?;
        resolved.push(item);
    }
    let mut outcomes = vec![Outcome::Unchanged; n];
    apply(store, rules, resolved, &mut outcomes, now).await?;
    let mut report = IngestReport::default();
    outcomes.into_iter().for_each(|o| report.push(o));
    Ok(report)
}

/// Applies readings that arrive one by one (MQTT): each is validated on its own, so a bad reading is
/// refused alone. Returns each reading's outcome or why it was refused. The broker admits who may
/// publish where, so every facility is in reach.
pub async fn ingest_each(app: &App, readings: &[SensorReading]) -> Result<Vec<Result<Outcome>>> {
    let (live, store, rules, now) = (&app.live, app.store.as_ref(), &app.rules, app.now());
    let mut results: Vec<Result<Outcome>> = Vec::with_capacity(readings.len());
    let mut resolved = Vec::new();
    for (i, r) in readings.iter().enumerate() {
        match resolve(live, rules, r, i, &Reach::Everywhere, now) {
            Ok(item) => {
                resolved.push(item);
                results.push(Ok(Outcome::Unchanged));
            }
            Err(e) => results.push(Err(e)),
        }
    }
    let mut outcomes = vec![Outcome::Unchanged; readings.len()];
    let applied: Vec<usize> = resolved.iter().map(|(_, item)| item.index).collect();
    apply(store, rules, resolved, &mut outcomes, now).await?;
    for i in applied {
        results[i] = Ok(outcomes[i]);
    }
    Ok(results)
}

/// Applies validated readings, each facility's in their order; writes each one's outcome. Every
/// facility the batch touches is locked (in id order, so two batches never wait on each other in a
/// circle) and planned, and all the plans are saved in one commit: a batch spread over hundreds of
/// facilities costs one sync to disk, not hundreds.
async fn apply(
    store: &dyn Store,
    rules: &SensorRules,
    resolved: Vec<(Arc<FacilityLive>, Resolved)>,
    outcomes: &mut [Outcome],
    now: Timestamp,
) -> Result<()> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut by_facility: Vec<(Arc<FacilityLive>, Vec<Resolved>)> = Vec::new();
    for (facility, item) in resolved {
        match index.entry(facility.facility.id.clone()) {
            std::collections::hash_map::Entry::Occupied(e) => by_facility[*e.get()].1.push(item),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(by_facility.len());
                by_facility.push((facility, vec![item]));
            }
        }
    }
    by_facility.sort_by(|a, b| a.0.facility.id.cmp(&b.0.facility.id));
    let mut writers = Vec::with_capacity(by_facility.len());
    for (facility, _) in &by_facility {
        writers.push(facility.writer.lock().await);
    }
    // Each plan is applied to memory at once, so a batch waiting for these locks plans on it, and the
    // locks are let go while the plans are saved: the group commit then saves several batches in one
    // transaction. The spots count as on their way (`take_off`) until then.
    let mut queued = Vec::new();
    for (facility, items) in &by_facility {
        let mut plan = plan(facility, items, rules, outcomes, now);
        if !plan.records.is_empty() {
            let durable = store.queue_spots(&facility.facility.id, &plan.records, &plan.history);
            let undo = std::mem::take(&mut plan.undo);
            let spots: Vec<SpotIdx> = undo.iter().map(|(spot, _)| *spot).collect();
            facility.take_off(&spots);
            plan.applied(facility);
            queued.push((facility, undo, spots, durable));
        }
    }
    drop(writers);
    // Answered once saved. A plan that could not be saved is put back, and its spots read again.
    let mut failed = None;
    for (facility, undo, spots, durable) in queued {
        let saved = durable.await;
        let _writer = facility.writer.lock().await;
        let reread = facility.land(&spots, saved.is_err());
        if let Err(e) = saved {
            facility.apply(undo.into_iter().filter(|(spot, _)| reread.contains(spot)));
            failed = Some(e);
        }
        if let Err(e) = reload_spots(store, facility, &reread).await {
            tracing::warn!(error = %e, facility = %facility.facility.id, "could not read spots back");
        }
    }
    failed.map_or(Ok(()), |e| Err(e.into()))
}

/// Takes `spots` as the database has them. Call with the writer lock held, for spots with no write of
/// this instance on its way ([`FacilityLive::settled`], [`FacilityLive::land`]).
pub async fn reload_spots(store: &dyn Store, f: &FacilityLive, spots: &[SpotIdx]) -> Result<()> {
    if spots.is_empty() {
        return Ok(());
    }
    let codes: Vec<String> = spots.iter().map(|&idx| f.facility.spot(idx).code.clone()).collect();
    let records = store.spot_records(&f.facility.id, &codes).await?;
    f.apply(records.into_iter().filter_map(|r| f.facility.spot_by_code(&r.spot).map(|idx| (idx, r.status))));
    Ok(())
}

/// One facility's readings applied in order to working copies of its spots' statuses: what changes.
fn plan(
    facility: &FacilityLive,
    items: &[Resolved],
    rules: &SensorRules,
    outcomes: &mut [Outcome],
    now: Timestamp,
) -> Plan {
    // Changes in the order their spots first appear, so they apply (and stream) in reading order.
    let mut work: Vec<Change> = Vec::new();
    let mut slot: HashMap<SpotIdx, usize> = HashMap::new();
    {
        let state = facility.read();
        for item in items {
            let i = *slot.entry(item.spot).or_insert_with(|| {
                let status = state.spots[item.spot as usize];
                work.push(Change {
                    spot: item.spot,
                    before: status,
                    after: status,
                    source: "",
                    confidence: None,
                    at: now,
                });
                work.len() - 1
            });
            let change = &mut work[i];
            let outcome = change.after.sensor.observe(&item.reading, rules);
            if outcome == Outcome::Changed {
                // The history keeps what the spot's sensors say together, and how sure that is.
                let belief = change.after.sensor.belief(item.reading.at, rules);
                change.source = item.source;
                change.confidence = Some(belief.map_or(item.reading.confidence, |b| b.confidence));
                change.at = item.reading.at;
            }
            outcomes[item.index] = outcome;
            metrics::counter!("parkline_sensor_readings_total", "outcome" => outcome_label(outcome))
                .increment(1);
        }
    }
    let mut plan = Plan::default();
    for change in work.into_iter().filter(|c| c.after != c.before) {
        plan.push(facility, change);
    }
    plan
}

/// A validated reading, tied to its spot and its place in the batch.
#[derive(Debug)]
struct Resolved {
    index: usize,
    spot: SpotIdx,
    reading: Reading,
    source: &'static str,
}

fn resolve(
    live: &Live,
    rules: &SensorRules,
    r: &SensorReading,
    index: usize,
    reach: &Reach,
    now: Timestamp,
) -> Result<(Arc<FacilityLive>, Resolved)> {
    let facility = live
        .get(&r.facility)
        .filter(|f| reach.holds(&f.operator, &r.facility))
        .ok_or_else(|| Error::unknown_facility(&r.facility))?;
    let spot = facility.facility.spot_by_code(&r.spot).ok_or_else(|| {
        Error::api(ErrorCode::UnknownSpot, format!("no spot {:?} in {}", r.spot, r.facility))
    })?;
    // Without a sensor id, a reading is the spot's first sensor's.
    let slot = match &r.sensor {
        None => 0,
        Some(sensor) => match facility.facility.sensor_slot(spot, sensor) {
            Some(slot) => slot,
            None if facility.facility.has_sensor(sensor) => {
                return Err(Error::api(
                    ErrorCode::UnknownSensor,
                    format!("sensor {sensor:?} does not watch spot {}", r.spot),
                ));
            }
            None => {
                return Err(Error::api(
                    ErrorCode::UnknownSensor,
                    format!("no sensor {sensor:?} in {}", r.facility),
                ));
            }
        },
    };
    // Stored times are milliseconds; truncating here keeps memory and database in exact agreement, so a
    // resent reading is still a duplicate after a restart.
    let at = Timestamp::from_millisecond(r.observed_at.as_millisecond()).unwrap_or(r.observed_at);
    let reading = Reading { occupied: r.occupied, confidence: r.confidence, at, kind: r.kind, slot };
    reading.validate(now, rules).map_err(|e| Error::validation(e.to_string()))?;
    Ok((facility, Resolved { index, spot, reading, source: r.kind.as_str() }))
}

fn prefix(e: Error, p: &str) -> Error {
    match e {
        Error::Api { code, message, retry_after_s } => {
            Error::Api { code, message: format!("{p}{message}"), retry_after_s }
        }
        other => other,
    }
}

fn outcome_label(o: Outcome) -> &'static str {
    match o {
        Outcome::Changed => "changed",
        Outcome::Unchanged => "unchanged",
        Outcome::Held => "held",
        Outcome::LowConfidence => "low_confidence",
        Outcome::Duplicate => "duplicate",
        Outcome::OutOfOrder => "out_of_order",
    }
}

/// Applies held changes whose debounce window has passed. Returns how many spots changed.
pub async fn settle(app: &App) -> Result<usize> {
    let (live, store, rules, now) = (&app.live, app.store.as_ref(), &app.rules, app.now());
    let mut changed = 0;
    for facility in live.all() {
        if facility.read().pending.is_empty() {
            continue;
        }
        let _writer = facility.writer.lock().await;
        let mut plan = Plan::default();
        {
            let state = facility.read();
            for &spot in &state.pending {
                let before = state.spots[spot as usize];
                let mut after = before;
                if after.sensor.settle(now, rules).is_some() {
                    let at = after.sensor.last_change.unwrap_or(now);
                    plan.push(
                        &facility,
                        Change { spot, before, after, source: "debounce", confidence: None, at },
                    );
                }
            }
        }
        changed += plan.apply.len();
        plan.commit(store, &facility).await?;
    }
    Ok(changed)
}

/// Staff close a spot (repairs, an event) or reopen it. Closing an occupied spot is allowed: the car
/// leaves, the spot stays closed until reopened.
pub async fn set_out_of_service(app: &App, facility: &str, code: &str, out_of_service: bool) -> Result<()> {
    let live = app.live.get(facility).ok_or_else(|| Error::unknown_facility(facility))?;
    let live = live.as_ref();
    let (store, now) = (app.store.as_ref(), app.now());
    let spot = live.facility.spot_by_code(code).ok_or_else(|| {
        Error::api(ErrorCode::UnknownSpot, format!("no spot {code:?} in {}", live.facility.id))
    })?;
    let _writer = live.writer.lock().await;
    let before = live.read().spots[spot as usize];
    let after = SpotStatus { out_of_service, ..before };
    let mut plan = Plan::default();
    plan.push(live, Change { spot, before, after, source: "staff", confidence: None, at: now });
    plan.commit(store, live).await
}
