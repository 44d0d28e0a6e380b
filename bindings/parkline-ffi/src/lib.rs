//! `parkline-ffi`: the Parkline SDK for Swift, Kotlin and Python, through UniFFI.
//!
//! The surface is small and flat on purpose: a [`ParklineClient`] object with async methods, plain
//! records, one error with the server's stable code, and live updates delivered to a listener the app
//! implements; the [`Subscription`] returned stops them when cancelled or dropped. Everything runs on one
//! shared Tokio runtime inside the library, so any foreign executor can await it.

use std::sync::{Arc, Mutex, OnceLock};

use parkline_sdk::protocol::StreamMessage;
use parkline_sdk::{Cache, Client, Event, Realtime};

uniffi::setup_scaffolding!();

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("parkline-sdk")
            .enable_all()
            .build()
            .expect("a Tokio runtime")
    })
}

/// Runs a future on the library's runtime, awaitable from any executor.
async fn on_runtime<T: Send + 'static>(
    f: impl Future<Output = Result<T, ParklineError>> + Send + 'static,
) -> Result<T, ParklineError> {
    runtime()
        .spawn(f)
        .await
        .map_err(|e| ParklineError::Failed { code: "internal".into(), reason: e.to_string() })?
}

/// Every failure: `code` is stable (the server's error codes, or `offline`, `not_cached`, `protocol`,
/// `cache`), `reason` is for people. (Not `message`: Kotlin exceptions have one already.)
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ParklineError {
    #[error("{code}: {reason}")]
    Failed { code: String, reason: String },
}

impl From<parkline_sdk::Error> for ParklineError {
    fn from(e: parkline_sdk::Error) -> Self {
        ParklineError::Failed { code: e.code(), reason: e.to_string() }
    }
}

/// A facility with its live counts.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Facility {
    pub id: String,
    pub name: String,
    pub address: String,
    pub lat: f64,
    pub lon: f64,
    pub capacity: u32,
    pub free: u32,
    pub free_sedan: u32,
    pub free_ev_charger: u32,
    /// Metres from the searched point, on nearby searches.
    pub distance_m: Option<f64>,
}

/// A place near a point: the facility with its live counts and the price of the stay asked about
/// (Parkline's shapes, not APDS's).
#[derive(Debug, Clone, uniffi::Record)]
pub struct Place {
    pub facility: Facility,
    /// What the stay costs there, in minor units of `currency`; none where it has no rates.
    pub price_minor: Option<i64>,
    pub currency: Option<String>,
}

/// A partner's grant: one plate let in at one facility for a window (instants in RFC 3339).
#[derive(Debug, Clone, uniffi::Record)]
pub struct Grant {
    pub id: String,
    pub plate: String,
    pub facility: String,
    pub zone: Option<String>,
    pub valid_from: String,
    pub valid_until: String,
}

fn grant(g: parkline_sdk::protocol::GrantView) -> Grant {
    Grant {
        id: g.id,
        plate: g.plate,
        facility: g.facility,
        zone: g.zone,
        valid_from: g.valid_from.to_string(),
        valid_until: g.valid_until.to_string(),
    }
}

fn instant(name: &str, value: &str) -> Result<jiff::Timestamp, ParklineError> {
    value.parse().map_err(|e| ParklineError::Failed {
        code: "validation_failed".into(),
        reason: format!("{name} is not an RFC 3339 instant: {e}"),
    })
}

/// A list read from the server, or from the cache when offline.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Facilities {
    pub facilities: Vec<Facility>,
    /// Seconds since it was fetched.
    pub age_s: i64,
    pub offline: bool,
}

/// What a spot is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SpotState {
    Free,
    Occupied,
    /// Kept for a vehicle that has just entered, or a reservation.
    Held,
    /// Closed by staff.
    OutOfService,
}

impl From<parkline_domain::SpotState> for SpotState {
    fn from(s: parkline_domain::SpotState) -> Self {
        use parkline_domain::SpotState as W;
        match s {
            W::Free => SpotState::Free,
            W::Occupied => SpotState::Occupied,
            W::Held => SpotState::Held,
            W::OutOfService => SpotState::OutOfService,
        }
    }
}

/// A live change at a facility.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SpotUpdate {
    pub facility: String,
    pub seq: u64,
    pub spot: String,
    pub state: SpotState,
    pub free: u32,
    pub occupied: u32,
}

/// Counts at a facility, or one of its floors.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Counts {
    pub capacity: u32,
    pub free: u32,
    pub occupied: u32,
    pub held: u32,
    pub out_of_service: u32,
}

/// One floor's counts.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FloorCounts {
    pub label: String,
    pub name: String,
    pub counts: Counts,
}

/// A facility's live availability, per floor.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Availability {
    pub facility: String,
    pub counts: Counts,
    pub free_sedan: u32,
    pub free_ev_charger: u32,
    pub free_accessible: u32,
    pub floors: Vec<FloorCounts>,
    pub age_s: i64,
    pub offline: bool,
}

/// A stay by its ticket, with what it costs now (minor units of `currency`).
#[derive(Debug, Clone, uniffi::Record)]
pub struct Stay {
    pub ticket: String,
    pub facility: String,
    pub spot: Option<String>,
    /// RFC 3339.
    pub entered_at: String,
    pub fee_minor: i64,
    pub paid_minor: i64,
    pub currency: String,
    pub overstay: bool,
}

/// Proof of a payment.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Receipt {
    pub id: String,
    pub amount_minor: i64,
    pub currency: String,
    /// Still due on the stay, if it left now.
    pub balance_due_minor: Option<i64>,
    /// Leave before this (RFC 3339) to pay nothing more.
    pub leave_by: Option<String>,
}

fn counts(c: parkline_sdk::protocol::SpotCounts) -> Counts {
    Counts {
        capacity: c.capacity,
        free: c.free,
        occupied: c.occupied,
        held: c.held,
        out_of_service: c.out_of_service,
    }
}

/// What the app implements to hear live changes. Calls come one at a time, from a thread of the
/// library's.
#[uniffi::export(with_foreign)]
pub trait UpdateListener: Send + Sync {
    /// A spot changed.
    fn on_update(&self, update: SpotUpdate);
    /// Connected (`true`), or lost the connection and reconnecting (`false`, with why).
    fn on_connection(&self, connected: bool, reason: Option<String>);
    /// The server refused the stream for good, with its stable error `code` (`unauthenticated`,
    /// `token_expired`, `forbidden`, ...): no call follows. Sign in (again) and subscribe anew.
    fn on_error(&self, code: String, reason: String);
}

/// Live updates for some facilities; stopped by `cancel()` or when dropped. Once either returns, no
/// call to the listener is running or will come: an app may exit at once.
#[derive(Debug, uniffi::Object)]
pub struct Subscription {
    realtime: Mutex<Option<Realtime>>,
    calls: Arc<Calls>,
}

#[uniffi::export]
impl Subscription {
    pub fn cancel(&self) {
        self.calls.stop();
        self.realtime.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// Calls to a listener, one at a time, until stopped. Stopping waits for a call that is running and
/// lets go of the listener on the stopping thread: no call, and no release of the listener (a call too),
/// reaches a foreign runtime from a thread of ours once stopped (Python aborts a thread that calls
/// into it while it shuts down).
#[derive(Default)]
struct Calls {
    /// The listener, held during each call; `None` once stopped.
    listener: Mutex<Option<Arc<dyn UpdateListener>>>,
    /// Stopped by a listener call, from inside it (it cannot wait for itself).
    stopped_inside: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Calls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Calls")
    }
}

thread_local! {
    /// Whether this thread is inside a listener call.
    static IN_CALL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Calls {
    fn new(listener: Arc<dyn UpdateListener>) -> Calls {
        Calls { listener: Mutex::new(Some(listener)), ..Calls::default() }
    }

    /// Calls the listener unless stopped; `false` once stopped.
    fn make(&self, call: impl FnOnce(&dyn UpdateListener)) -> bool {
        let mut listener = self.listener.lock().unwrap_or_else(|p| p.into_inner());
        let Some(l) = listener.as_deref() else { return false };
        IN_CALL.set(true);
        call(l);
        IN_CALL.set(false);
        if self.stopped_inside.load(std::sync::atomic::Ordering::SeqCst) {
            listener.take();
            return false;
        }
        true
    }

    fn stop(&self) {
        if IN_CALL.get() {
            self.stopped_inside.store(true, std::sync::atomic::Ordering::SeqCst);
            return;
        }
        // Taken under the lock (after any running call), released after it.
        let listener = self.listener.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(listener);
    }
}

/// The Parkline client.
#[derive(Debug, uniffi::Object)]
pub struct ParklineClient {
    client: Client,
}

fn facility(f: parkline_sdk::protocol::FacilitySummary) -> Facility {
    Facility {
        id: f.id,
        name: f.name,
        address: f.address,
        lat: f.location.lat,
        lon: f.location.lon,
        capacity: f.counts.capacity,
        free: f.counts.free,
        free_sedan: f.free_by_class.sedan,
        free_ev_charger: f.free_ev_charger,
        distance_m: f.distance_m,
    }
}

fn facilities(c: parkline_sdk::Cached<Vec<parkline_sdk::protocol::FacilitySummary>>) -> Facilities {
    Facilities {
        age_s: c.age().as_secs(),
        offline: c.offline,
        facilities: c.value.into_iter().map(facility).collect(),
    }
}

#[uniffi::export]
impl ParklineClient {
    /// A client of the server at `base_url`; with `cache_path`, reads work offline and survive restarts.
    #[uniffi::constructor]
    pub fn new(base_url: String, cache_path: Option<String>) -> Result<Arc<Self>, ParklineError> {
        let cache = cache_path.map(Cache::open).transpose()?;
        Ok(Arc::new(ParklineClient { client: Client::new(&base_url, cache)? }))
    }

    /// Signs a person in; later calls act as them.
    pub async fn login(&self, email: String, password: String) -> Result<(), ParklineError> {
        let client = self.client.clone();
        on_runtime(async move { Ok(client.login(&email, &password).await.map(|_| ())?) }).await
    }

    /// Uses a device token or API key instead of a person's sign-in.
    pub fn set_token(&self, token: Option<String>) {
        self.client.set_token(token);
    }

    /// Every facility with live counts.
    pub async fn facilities(&self) -> Result<Facilities, ParklineError> {
        let client = self.client.clone();
        on_runtime(async move { Ok(facilities(client.facilities().await?)) }).await
    }

    /// Facilities within `radius_m` metres of a point, nearest first.
    pub async fn nearby(&self, lat: f64, lon: f64, radius_m: f64) -> Result<Facilities, ParklineError> {
        let client = self.client.clone();
        on_runtime(async move { Ok(facilities(client.nearby(lat, lon, radius_m).await?)) }).await
    }

    /// Places within `radius_m` metres of a point, nearest first, each with its live counts and what a
    /// car's stay of `hours` from now costs there.
    pub async fn places_nearby(
        &self,
        lat: f64,
        lon: f64,
        radius_m: f64,
        hours: u32,
    ) -> Result<Vec<Place>, ParklineError> {
        let client = self.client.clone();
        on_runtime(async move {
            let stay = jiff::SignedDuration::from_hours(i64::from(hours));
            let places = client.places_nearby(lat, lon, radius_m, stay).await?;
            Ok(places
                .into_iter()
                .map(|p| Place {
                    price_minor: p.quote.as_ref().map(|q| q.total.minor),
                    currency: p.quote.as_ref().map(|q| q.total.currency.as_str().to_owned()),
                    facility: facility(p.facility),
                })
                .collect())
        })
        .await
    }

    /// Signs a partner in with OAuth 2.0 client credentials: its API key's id, the key, and optionally
    /// the scopes wanted (`grants`). Later calls act as the partner.
    pub async fn partner_sign_in(
        &self,
        client_id: String,
        client_secret: String,
        scope: Option<String>,
    ) -> Result<(), ParklineError> {
        let client = self.client.clone();
        on_runtime(async move {
            client.partner_sign_in(&client_id, &client_secret, scope.as_deref()).await?;
            Ok(())
        })
        .await
    }

    /// Grants `plate` entry at `facility` (optionally to `zone`, `2A`) from `valid_from` to
    /// `valid_until` (RFC 3339); the stay is billed to the partner.
    pub async fn grant(
        &self,
        plate: String,
        facility: String,
        zone: Option<String>,
        valid_from: String,
        valid_until: String,
    ) -> Result<Grant, ParklineError> {
        let client = self.client.clone();
        on_runtime(async move {
            let request = parkline_sdk::protocol::GrantRequest {
                plate,
                facility,
                zone,
                valid_from: instant("valid_from", &valid_from)?,
                valid_until: instant("valid_until", &valid_until)?,
            };
            Ok(grant(client.grant(&request).await?))
        })
        .await
    }

    /// The partner's grants in force.
    pub async fn grants(&self) -> Result<Vec<Grant>, ParklineError> {
        let client = self.client.clone();
        on_runtime(async move { Ok(client.grants().await?.into_iter().map(grant).collect()) }).await
    }

    /// Revokes one of the partner's grants: its plate is no longer let in on it.
    pub async fn revoke_grant(&self, id: String) -> Result<(), ParklineError> {
        let client = self.client.clone();
        on_runtime(async move { Ok(client.revoke_grant(&id).await?) }).await
    }

    /// A facility's live availability per floor (from the cache when offline, if the client has one).
    pub async fn availability(&self, facility_id: String) -> Result<Availability, ParklineError> {
        let client = self.client.clone();
        on_runtime(async move {
            let a = client.availability(&facility_id).await?;
            let (age_s, offline, v) = (a.age().as_secs(), a.offline, a.value);
            Ok(Availability {
                facility: v.facility,
                counts: counts(v.counts),
                free_sedan: v.free_by_class.sedan,
                free_ev_charger: v.free_ev_charger,
                free_accessible: v.free_accessible,
                floors: v
                    .floors
                    .into_iter()
                    .map(|f| FloorCounts { label: f.label, name: f.name, counts: counts(f.counts) })
                    .collect(),
                age_s,
                offline,
            })
        })
        .await
    }

    /// A stay by its ticket, with what it costs now.
    pub async fn ticket(&self, ticket: String) -> Result<Stay, ParklineError> {
        let client = self.client.clone();
        on_runtime(async move {
            let s = client.ticket(&ticket).await?;
            Ok(Stay {
                ticket: s.ticket,
                facility: s.facility,
                spot: s.spot,
                entered_at: s.entered_at.to_string(),
                fee_minor: s.fee.minor,
                paid_minor: s.paid.minor,
                currency: s.fee.currency.as_str().to_owned(),
                overstay: s.overstay,
            })
        })
        .await
    }

    /// Pays what a ticket owes now with a card token from the payment provider; `idempotency_key`
    /// (make one per payment, keep it across retries) makes retrying safe.
    pub async fn pay(
        &self,
        ticket: String,
        card_token: String,
        idempotency_key: String,
    ) -> Result<Receipt, ParklineError> {
        let client = self.client.clone();
        on_runtime(async move {
            let request = parkline_sdk::protocol::PaymentRequest { card_token, amount_minor: None };
            let r = client.pay(&ticket, &request, &idempotency_key).await?;
            Ok(Receipt {
                id: r.id,
                amount_minor: r.amount.minor,
                currency: r.amount.currency.as_str().to_owned(),
                balance_due_minor: r.balance_due.map(|m| m.minor),
                leave_by: r.leave_by.map(|t| t.to_string()),
            })
        })
        .await
    }

    /// Starts live updates for `facility_ids`, delivered to `listener` until the subscription is
    /// cancelled or dropped. Reconnects by itself and never repeats or skips a change.
    pub fn subscribe(
        &self,
        facility_ids: Vec<String>,
        listener: Arc<dyn UpdateListener>,
    ) -> Arc<Subscription> {
        let _guard = runtime().enter();
        let (realtime, mut events) = Realtime::start(&self.client, &facility_ids);
        let calls = Arc::new(Calls::new(listener));
        let caller = calls.clone();
        // Listener calls run on a thread of their own: a slow listener never holds up the runtime.
        std::thread::Builder::new()
            .name("parkline-listener".into())
            .spawn(move || {
                while let Some(event) = events.blocking_recv() {
                    let go_on = match event {
                        Event::Connected => caller.make(|l| l.on_connection(true, None)),
                        Event::Disconnected { reason } => {
                            caller.make(|l| l.on_connection(false, Some(reason)))
                        }
                        Event::Refused { code, reason } => {
                            caller.make(|l| l.on_error(code, reason));
                            false
                        }
                        Event::Message(StreamMessage::Spot { facility, seq, spot, state, counts }) => {
                            let (free, occupied) = (counts.free, counts.occupied);
                            let update =
                                SpotUpdate { facility, seq, spot, state: state.into(), free, occupied };
                            caller.make(|l| l.on_update(update))
                        }
                        Event::Message(_) => true,
                    };
                    if !go_on {
                        return;
                    }
                }
            })
            .expect("a listener thread");
        Arc::new(Subscription { realtime: Mutex::new(Some(realtime)), calls })
    }
}
