//! The in-memory picture of every facility that queries are answered from.
//!
//! Each facility holds its validated layout and a [`LiveState`] (occupancy, allocation index, each spot's
//! sensor track). **Memory follows the database**: a change is first saved by the store, then applied
//! here, under the facility's writer lock so plans are made on current state. The exception is a gate
//! event: applied at once, so the next event at the facility plans on it, answered only once saved, and
//! put back if it cannot be; while it is on its way, the spots it changes are not taken from the
//! database ([`FacilityLive::settled`]). Readers take a short read lock and never wait for the database.

use std::collections::HashMap;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock, RwLockReadGuard};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use parkline_domain::claims::Claims;
use parkline_domain::pricing::RatePlan;
use parkline_domain::{Facility, Feature, LayoutFile, Occupancy, SpotIdx, SpotState, SpotStatus};
use parkline_protocol::{
    Availability, FacilitySummary, FloorAvailability, Freshness, GateDecision, GateView, LayoutView,
    SpotView, StreamMessage, ZoneAvailability,
};
use tokio::sync::{broadcast, watch};

use crate::inside::Inside;
use parkline_store::SpotRecord;

/// Updates kept for resuming clients, per facility at most.
pub const REPLAY: usize = 4096;
/// Updates a facility keeps whatever the others keep.
const REPLAY_FLOOR: usize = 16;
/// Updates kept for resuming clients across every facility of the process, and the most it may keep
/// (`--replay-budget`): past it, the facility adding one drops its oldest (down to [`REPLAY_FLOOR`]),
/// so memory is bounded however many facilities are busy. Process-wide, like the metrics recorder.
static REPLAY_KEPT: AtomicUsize = AtomicUsize::new(0);
static REPLAY_BUDGET: AtomicUsize = AtomicUsize::new(200_000);

/// Sets the replay budget (the server's settings).
pub fn set_replay_budget(updates: usize) {
    REPLAY_BUDGET.store(updates.max(1), Ordering::Relaxed);
}
/// Updates a slow subscriber may fall behind by before it gets a snapshot instead.
const LIVE_QUEUE: usize = 1024;

/// A streamed message, serialised once for every subscriber: `text` is its JSON, shared, not copied.
#[derive(Debug)]
pub struct Update {
    pub message: StreamMessage,
    pub text: bytes::Bytes,
}

impl Update {
    pub fn new(message: StreamMessage) -> Arc<Update> {
        let text = serde_json::to_string(&message).unwrap_or_default().into();
        Arc::new(Update { message, text })
    }
}

/// The outcome of a gate event being saved by an earlier attempt: pending (`None`), its decision, or
/// why it could not be saved.
pub type InFlight = watch::Receiver<Option<Result<GateDecision, String>>>;

/// Where a facility's sequence starts in this process: the start time in milliseconds, times 1,024.
/// Numbers then keep growing across restarts (unless a run averaged over 1,024 changes per millisecond),
/// so a client resuming after a restart can never mistake new numbers for ones it has seen.
fn sequence_epoch() -> u64 {
    let ms = u64::try_from(crate::clock::wall().as_millisecond()).unwrap_or(0);
    ms.saturating_mul(1024)
}

/// How a new subscriber starts: `first` (a replay or a snapshot, up to `seq`), then `live`.
#[derive(Debug)]
pub struct Follow {
    pub live: broadcast::Receiver<Arc<Update>>,
    pub first: Vec<Arc<Update>>,
    pub seq: u64,
}

/// A spot's gate writes of this instance that memory shows but the database may not have yet.
#[derive(Debug, Default)]
struct Flight {
    writes: u32,
    /// Another instance changed the spot meanwhile: read it back once the writes have landed.
    overtaken: bool,
}

/// Live state of one facility.
#[derive(Debug)]
pub struct FacilityLive {
    pub facility: Facility,
    pub layout: LayoutFile,
    /// The operator that owns the facility.
    pub operator: String,
    /// When it was added: the version of its layout.
    pub created: Timestamp,
    /// Level number of each floor index, as the allocator wants it.
    pub levels: Vec<i16>,
    /// The facility's time zone, for local rules such as time-of-day prices.
    pub tz: TimeZone,
    /// The current rate plan, if one is set.
    rates: RwLock<Option<Arc<RatePlan>>>,
    /// Active sessions. Changed only with `writer` held.
    inside: Mutex<Inside>,
    /// Reservations still claiming a spot (confirmed or checked in). Changed only with `writer` held.
    claims: Mutex<Claims>,
    /// Recent gate events (being saved, or saved), by gate and key, so that a retry waits for or repeats
    /// the first attempt's outcome without asking the database.
    recent_events: Mutex<HashMap<String, InFlight>>,
    state: RwLock<LiveState>,
    /// What each gate did lately (this instance's traffic), for the idle-gate and read-confidence alerts.
    gates: Mutex<HashMap<String, parkline_domain::gate_health::GateActivity>>,
    /// This instance's gate writes on their way to disk, by spot. Changed only with `writer` held.
    flights: Mutex<HashMap<SpotIdx, Flight>>,
    /// Held by whoever plans, saves and applies a change to this facility.
    pub writer: tokio::sync::Mutex<()>,
    /// Its demand profile by local weekday and hour with the days of history behind it, and when it
    /// was made: drivers' forecasts (`forecast.rs`) make it again once it is an hour old.
    pub demand: Mutex<Option<(Timestamp, Arc<Demand>)>>,
    /// Streamed updates, for subscribers: made when the first one comes (most facilities of a large
    /// city have none at a time, and a channel costs 40 KB).
    updates: OnceLock<broadcast::Sender<Arc<Update>>>,
}

/// A facility's demand profile by local weekday and hour, and the days of history it was made from.
pub type Demand = (parkline_domain::demand::WeekProfile, u32);

/// What changes as sensors and staff report.
#[derive(Debug, Clone)]
pub struct LiveState {
    pub occupancy: Occupancy,
    /// Indexed by spot.
    pub spots: Vec<SpotStatus>,
    /// Spots with a change held by the debounce.
    pub pending: BTreeSet<SpotIdx>,
    pub last_reading: Option<Timestamp>,
    pub last_change: Option<Timestamp>,
    /// Sequence number of the last update streamed to clients.
    pub seq: u64,
    /// Spots whose sensor was announced silent.
    silent: BTreeSet<SpotIdx>,
    /// The latest updates, for clients resuming after a short disconnection.
    recent: VecDeque<Arc<Update>>,
}

impl LiveState {
    /// Replaces one spot's status, keeping occupancy and freshness in step. Returns the spot's state if
    /// it changed.
    pub fn apply(&mut self, spot: SpotIdx, status: SpotStatus) -> Option<SpotState> {
        let before = self.occupancy.state(spot);
        // `spot` comes from the facility's own layout, so it is in range.
        let _ = self.occupancy.set_state(spot, status.state());
        let track = status.sensor;
        if track.pending.is_some() {
            self.pending.insert(spot);
        } else {
            self.pending.remove(&spot);
        }
        self.last_reading = self.last_reading.max(track.last_reading);
        self.last_change = self.last_change.max(track.last_change);
        self.spots[spot as usize] = status;
        let after = self.occupancy.state(spot);
        (after != before).then_some(after)
    }
}

impl FacilityLive {
    /// Builds the live state from a layout, its operator and the stored status of its spots.
    pub fn new(
        layout: LayoutFile,
        operator: String,
        created: Timestamp,
        records: &[SpotRecord],
    ) -> crate::error::Result<FacilityLive> {
        let facility =
            Facility::from_layout(&layout).map_err(|e| crate::error::Error::validation(e.to_string()))?;
        let tz = TimeZone::get(&layout.time_zone).map_err(|_| {
            crate::error::Error::validation(format!(
                "{}: unknown IANA time zone {:?}",
                layout.id, layout.time_zone
            ))
        })?;
        let n = facility.capacity();
        let mut state = LiveState {
            occupancy: Occupancy::new(&facility),
            spots: vec![SpotStatus::default(); n],
            pending: BTreeSet::new(),
            last_reading: None,
            last_change: None,
            seq: sequence_epoch(),
            silent: BTreeSet::new(),
            recent: VecDeque::new(),
        };
        for record in records {
            if let Some(idx) = facility.spot_by_code(&record.spot) {
                state.apply(idx, record.status);
            }
        }
        let levels = facility.floors.iter().map(|f| f.level).collect();
        Ok(FacilityLive {
            facility,
            layout,
            operator,
            created,
            levels,
            tz,
            rates: RwLock::new(None),
            inside: Mutex::default(),
            recent_events: Mutex::default(),
            demand: Mutex::default(),
            gates: Mutex::default(),
            claims: Mutex::default(),
            flights: Mutex::default(),
            state: RwLock::new(state),
            writer: Default::default(),
            updates: OnceLock::new(),
        })
    }

    /// Notes what a gate just did (live traffic only).
    pub fn note_gate(&self, gate: &str, at: Timestamp, opened: bool, confidence: Option<f64>) {
        let mut gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        gates.entry(gate.to_owned()).or_default().record(at, opened, confidence);
    }

    /// What each gate did lately.
    pub fn gate_activity(&self) -> Vec<(String, parkline_domain::gate_health::GateActivity)> {
        let gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        gates.iter().map(|(g, a)| (g.clone(), a.clone())).collect()
    }

    pub fn inside(&self) -> MutexGuard<'_, Inside> {
        self.inside.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn claims(&self) -> MutexGuard<'_, Claims> {
        self.claims.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes gate writes to `spots` applied to memory ahead of the database. Call with `writer` held.
    pub fn take_off(&self, spots: &[SpotIdx]) {
        let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
        for spot in spots {
            flights.entry(*spot).or_default().writes += 1;
        }
    }

    /// Notes that gate writes to `spots` were saved, or `failed`, and returns those to read back from
    /// the database: the ones that failed, or that another instance changed meanwhile, once no write of
    /// this instance to them is still on its way. Call with `writer` held.
    pub fn land(&self, spots: &[SpotIdx], failed: bool) -> Vec<SpotIdx> {
        let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
        let mut reread = Vec::new();
        for spot in spots {
            let Some(flight) = flights.get_mut(spot) else { continue };
            flight.writes = flight.writes.saturating_sub(1);
            flight.overtaken |= failed;
            if flight.writes == 0 {
                if flight.overtaken {
                    reread.push(*spot);
                }
                flights.remove(spot);
            }
        }
        reread
    }

    /// Of the spots another instance changed, those whose stored status memory may take now. The
    /// others have a write of this instance on its way that the database's answer predates; they are
    /// read back when it lands. Call with `writer` held.
    pub fn settled(&self, spots: impl IntoIterator<Item = SpotIdx>) -> Vec<SpotIdx> {
        let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
        spots
            .into_iter()
            .filter(|spot| match flights.get_mut(spot) {
                Some(flight) => {
                    flight.overtaken = true;
                    false
                }
                None => true,
            })
            .collect()
    }

    pub fn forget_gate_event(&self, slot: &str) {
        self.recent_events.lock().unwrap_or_else(|p| p.into_inner()).remove(slot);
    }

    pub fn recent_gate_event(&self, slot: &str) -> Option<InFlight> {
        self.recent_events.lock().unwrap_or_else(|p| p.into_inner()).get(slot).cloned()
    }

    /// Remembers a gate event being saved. The memory is bounded: past a few thousand events, those
    /// already settled are forgotten (the database still has them).
    pub fn remember_gate_event(&self, slot: String, outcome: InFlight) {
        const KEEP: usize = 4096;
        let mut map = self.recent_events.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= KEEP {
            map.retain(|_, rx| rx.borrow().is_none());
        }
        map.insert(slot, outcome);
    }

    pub fn rates(&self) -> Option<Arc<RatePlan>> {
        self.rates.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sets the rate plan that the store has already saved.
    pub fn set_rates(&self, plan: RatePlan) {
        *self.rates.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(plan));
    }

    /// Share of the spots in service that are taken (occupied or held), in thousandths, for demand pricing.
    pub fn occupancy_permille(&self) -> u16 {
        demand_permille(&self.read().occupancy.totals())
    }

    /// A consistent view of the state; hold it briefly.
    pub fn read(&self) -> RwLockReadGuard<'_, LiveState> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies changes to memory and streams every change of a spot's state to subscribers, numbered in
    /// the order applied. Call with `writer` held.
    pub fn apply(&self, changes: impl IntoIterator<Item = (SpotIdx, SpotStatus)>) {
        let mut state = self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        for (spot, status) in changes {
            let Some(new) = state.apply(spot, status) else { continue };
            let (code, counts) = (self.facility.spot(spot).code.clone(), state.occupancy.totals().into());
            self.emit(&mut state, |seq| StreamMessage::Spot {
                facility: self.facility.id.clone(),
                seq,
                spot: code,
                state: new,
                counts,
            });
        }
    }

    /// Numbers a message, keeps it for resuming clients and broadcasts it. Call with the state locked.
    fn emit(&self, state: &mut LiveState, message: impl FnOnce(u64) -> StreamMessage) {
        state.seq += 1;
        let update = Update::new(message(state.seq));
        state.recent.push_back(update.clone());
        let kept = REPLAY_KEPT.fetch_add(1, Ordering::Relaxed) + 1;
        let over_budget = kept > REPLAY_BUDGET.load(Ordering::Relaxed);
        if state.recent.len() > REPLAY || (over_budget && state.recent.len() > REPLAY_FLOOR) {
            state.recent.pop_front();
            REPLAY_KEPT.fetch_sub(1, Ordering::Relaxed);
        }
        // Nobody listening is fine; slow listeners lag and get a snapshot instead.
        if let Some(updates) = self.updates.get() {
            let _ = updates.send(update);
        }
    }

    /// Announces sensors that fell silent before `stale_before`, and those that report again. Returns how
    /// many changed.
    pub fn check_silent_sensors(&self, stale_before: Timestamp) -> usize {
        let find = |state: &LiveState| -> Vec<(SpotIdx, bool)> {
            state
                .spots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    let silent = s.sensor.last_reading.is_some_and(|t| t < stale_before);
                    (silent != state.silent.contains(&(i as SpotIdx))).then_some((i as SpotIdx, silent))
                })
                .collect()
        };
        // Usually nothing changed: look under the read lock, and block readers only when something did.
        if find(&self.read()).is_empty() {
            return 0;
        }
        let mut state = self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let flips = find(&state);
        for &(spot, silent) in &flips {
            if silent {
                state.silent.insert(spot);
            } else {
                state.silent.remove(&spot);
            }
            let code = self.facility.spot(spot).code.clone();
            self.emit(&mut state, |seq| StreamMessage::SensorSilent {
                facility: self.facility.id.clone(),
                seq,
                spot: code,
                silent,
            });
        }
        flips.len()
    }

    /// Spots announced silent (see [`FacilityLive::check_silent_sensors`]), with their sensor's last reading.
    pub fn silent_sensors(&self) -> Vec<(String, Option<Timestamp>)> {
        let state = self.read();
        state
            .silent
            .iter()
            .map(|&i| (self.facility.spot(i).code.clone(), state.spots[i as usize].sensor.last_reading))
            .collect()
    }

    /// Starts following this facility: a receiver of live updates, and what to send first so that
    /// nothing is missed or repeated: the updates after `since` if they are still kept, or else a snapshot.
    pub fn follow(&self, since: Option<u64>, stale_before: Timestamp) -> Follow {
        let state = self.read();
        // Subscribing under the read lock: no update can be sent between this and reading `seq`.
        let live = self.updates.get_or_init(|| broadcast::channel(LIVE_QUEUE).0).subscribe();
        let oldest_kept = state.recent.front().and_then(|u| u.message.seq()).unwrap_or(state.seq + 1);
        let first = match since {
            Some(seen) if seen == state.seq => Vec::new(),
            Some(seen) if seen < state.seq && seen + 1 >= oldest_kept => {
                state.recent.iter().filter(|u| u.message.seq().is_some_and(|s| s > seen)).cloned().collect()
            }
            _ => vec![Update::new(StreamMessage::Snapshot {
                facility: self.facility.id.clone(),
                seq: state.seq,
                availability: self.availability_of(&state, stale_before),
            })],
        };
        Follow { live, first, seq: state.seq }
    }

    /// `stale_before`: a sensor whose last reading is older is stale.
    pub fn summary(&self, distance_m: Option<f64>, stale_before: Timestamp) -> FacilitySummary {
        let f = &self.facility;
        let s = self.read();
        FacilitySummary {
            id: f.id.clone(),
            name: f.name.clone(),
            operator: self.operator.clone(),
            address: f.address.clone(),
            location: f.location,
            time_zone: f.time_zone.clone(),
            counts: s.occupancy.totals().into(),
            free_by_class: s.occupancy.free_by_class().into(),
            free_ev_charger: s.occupancy.free_with(Feature::EvCharger),
            free_accessible: s.occupancy.free_with(Feature::Accessible),
            freshness: freshness(&s, stale_before),
            distance_m,
        }
    }

    pub fn availability(&self, stale_before: Timestamp) -> Availability {
        self.availability_of(&self.read(), stale_before)
    }

    fn availability_of(&self, s: &LiveState, stale_before: Timestamp) -> Availability {
        let f = &self.facility;
        let floors = f
            .floors
            .iter()
            .enumerate()
            .map(|(fi, floor)| FloorAvailability {
                level: floor.level,
                label: floor.label.clone(),
                name: floor.name.clone(),
                counts: s.occupancy.floor_counts(fi as u16).into(),
                zones: f
                    .zones
                    .iter()
                    .enumerate()
                    .filter(|(_, z)| usize::from(z.floor) == fi)
                    .map(|(zi, z)| ZoneAvailability {
                        code: z.code.clone(),
                        name: z.name.clone(),
                        counts: s.occupancy.zone_counts(zi as u16).into(),
                    })
                    .collect(),
            })
            .collect();
        Availability {
            facility: f.id.clone(),
            counts: s.occupancy.totals().into(),
            free_by_class: s.occupancy.free_by_class().into(),
            free_ev_charger: s.occupancy.free_with(Feature::EvCharger),
            free_accessible: s.occupancy.free_with(Feature::Accessible),
            floors,
            freshness: freshness(s, stale_before),
        }
    }

    pub fn spot_view(&self, spot: SpotIdx, state: SpotState) -> SpotView {
        let f = &self.facility;
        let s = f.spot(spot);
        SpotView {
            code: s.code.clone(),
            level: f.floors[usize::from(s.floor)].level,
            zone: f.zones[usize::from(s.zone)].code.clone(),
            size: s.size,
            features: s.features.list(),
            x: s.x,
            y: s.y,
            distance_m: f64::from(s.distance_cm) / 100.0,
            state,
            stale: false,
        }
    }

    pub fn layout_view(&self) -> LayoutView {
        let states: Vec<(SpotState, bool)> = {
            let s = self.read();
            (0..self.facility.capacity() as SpotIdx)
                .map(|i| (s.occupancy.state(i), s.silent.contains(&i)))
                .collect()
        };
        LayoutView {
            facility: self.facility.id.clone(),
            country: self.layout.country.clone(),
            spots: states
                .into_iter()
                .enumerate()
                .map(|(i, (state, stale))| SpotView { stale, ..self.spot_view(i as SpotIdx, state) })
                .collect(),
            gates: self
                .facility
                .gates
                .iter()
                .map(|g| GateView {
                    id: g.id.clone(),
                    name: g.name.clone(),
                    direction: g.direction,
                    level: g.level,
                })
                .collect(),
            floors: self
                .facility
                .floors
                .iter()
                .map(|f| parkline_protocol::FloorPlan {
                    level: f.level,
                    label: f.label.clone(),
                    name: f.name.clone(),
                    entrance: f.entrance,
                })
                .collect(),
        }
    }
}

/// Taken (occupied or held) spots per thousand spots in service.
pub fn demand_permille(t: &parkline_domain::Counts) -> u16 {
    let in_service = (t.free + t.occupied + t.held).max(1);
    (u64::from(t.occupied + t.held) * 1000 / u64::from(in_service)) as u16
}

fn freshness(s: &LiveState, stale_before: Timestamp) -> Freshness {
    Freshness {
        last_reading_at: s.last_reading,
        last_change_at: s.last_change,
        spots_never_reported: s.spots.iter().filter(|s| s.sensor.last_reading.is_none()).count() as u32,
        stale_sensors: s
            .spots
            .iter()
            .filter(|s| s.sensor.last_reading.is_some_and(|t| t < stale_before))
            .count() as u32,
    }
}

/// All facilities, by id; which facility each gate belongs to; where each facility is; and which
/// facility each ticket inside is at: so no look-up walks every facility.
#[derive(Debug, Default)]
pub struct Live {
    facilities: RwLock<BTreeMap<String, Arc<FacilityLive>>>,
    gates: RwLock<HashMap<String, String>>,
    places: RwLock<rstar::RTree<Place>>,
    tickets: Arc<crate::inside::Tickets>,
}

/// A facility in the spatial index, at its place on the Earth's surface in metres from the centre:
/// the straight line between two such points grows with the distance along the surface, so the
/// index's nearest neighbours are the nearest facilities, anywhere on the globe.
type Place = rstar::primitives::GeomWithData<[f64; 3], Arc<FacilityLive>>;

/// The mean Earth radius, as `geo::Haversine` uses it.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

fn on_sphere(lat: f64, lon: f64) -> [f64; 3] {
    let (lat, lon) = (lat.to_radians(), lon.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()].map(|c| c * EARTH_RADIUS_M)
}

impl Live {
    pub fn get(&self, id: &str) -> Option<Arc<FacilityLive>> {
        self.facilities.read().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    /// Makes a facility live, unless it already is (loaded meanwhile from another instance's
    /// announcement): the one in place keeps its state.
    pub fn insert(&self, facility: FacilityLive) {
        let mut gates = self.gates.write().unwrap_or_else(|p| p.into_inner());
        let mut map = self.facilities.write().unwrap_or_else(|p| p.into_inner());
        if map.contains_key(&facility.facility.id) {
            return;
        }
        for gate in &facility.facility.gates {
            gates.insert(gate.id.clone(), facility.facility.id.clone());
        }
        let id = facility.facility.id.clone();
        facility.inside().index_tickets(self.tickets.clone(), &id);
        let facility = Arc::new(facility);
        let at = facility.facility.location;
        let place = Place::new(on_sphere(at.lat, at.lon), facility.clone());
        self.places.write().unwrap_or_else(|p| p.into_inner()).insert(place);
        map.insert(id, facility);
    }

    /// The `limit` facilities nearest to (`lat`, `lon`) within `radius_m`, nearest first, with their
    /// distance along the surface: read from the spatial index in order, so the cost follows what is
    /// returned, not how many facilities there are or how many the circle holds.
    pub fn nearest(&self, lat: f64, lon: f64, radius_m: f64, limit: usize) -> Vec<(f64, Arc<FacilityLive>)> {
        let here = geo::Point::new(lon, lat);
        let places = self.places.read().unwrap_or_else(|p| p.into_inner());
        let mut near = Vec::with_capacity(limit);
        for (place, chord2) in places.nearest_neighbor_iter_with_distance_2(&on_sphere(lat, lon)) {
            // The arc the straight line spans; a metre of slack for rounding, the exact measure below.
            let arc = 2.0 * EARTH_RADIUS_M * (chord2.sqrt() / (2.0 * EARTH_RADIUS_M)).min(1.0).asin();
            if near.len() == limit || arc > radius_m + 1.0 {
                break;
            }
            let at = place.data.facility.location;
            let d = geo::Distance::distance(&geo::Haversine, here, geo::Point::new(at.lon, at.lat));
            if d <= radius_m {
                near.push((d, place.data.clone()));
            }
        }
        near
    }

    /// The facility a gate belongs to.
    pub fn gate(&self, gate: &str) -> Option<Arc<FacilityLive>> {
        let facility = self.gates.read().unwrap_or_else(|p| p.into_inner()).get(gate).cloned()?;
        self.get(&facility)
    }

    /// The vehicle inside holding `ticket`, and its facility.
    pub fn by_ticket(&self, ticket: &str) -> Option<(Arc<FacilityLive>, parkline_store::SessionRecord)> {
        let ticket = ticket.trim();
        let f = self.get(&self.tickets.facility(ticket)?)?;
        let session = f.inside().by_ticket(ticket).cloned();
        session.map(|s| (f, s))
    }

    /// Every facility, ordered by id.
    pub fn all(&self) -> Vec<Arc<FacilityLive>> {
        self.facilities.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    /// Up to `limit` facilities with ids after `after`, and whether more follow.
    pub fn page(&self, after: Option<&str>, limit: usize) -> (Vec<Arc<FacilityLive>>, bool) {
        use std::ops::Bound;
        let map = self.facilities.read().unwrap_or_else(|p| p.into_inner());
        let lower = after.map_or(Bound::Unbounded, |a| Bound::Excluded(a.to_owned()));
        let mut iter = map.range((lower, Bound::Unbounded)).map(|(_, f)| f.clone());
        let page: Vec<_> = iter.by_ref().take(limit).collect();
        let more = iter.next().is_some();
        (page, more)
    }
}
