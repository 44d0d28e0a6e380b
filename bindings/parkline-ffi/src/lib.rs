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

/// What the app implements to hear live changes.
#[uniffi::export(with_foreign)]
pub trait UpdateListener: Send + Sync {
    /// A spot changed.
    fn on_update(&self, update: SpotUpdate);
    /// Connected (`true`) or lost the connection and reconnecting (`false`).
    fn on_connection(&self, connected: bool);
}

/// Live updates for some facilities; cancelled by `cancel()` or when dropped.
#[derive(Debug, uniffi::Object)]
pub struct Subscription {
    realtime: Mutex<Option<Realtime>>,
}

#[uniffi::export]
impl Subscription {
    pub fn cancel(&self) {
        self.realtime.lock().unwrap_or_else(|p| p.into_inner()).take();
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
        runtime().spawn(async move {
            while let Some(event) = events.recv().await {
                match event {
                    Event::Connected => listener.on_connection(true),
                    Event::Disconnected { .. } => listener.on_connection(false),
                    Event::Message(StreamMessage::Spot { facility, seq, spot, state, counts }) => {
                        let (free, occupied) = (counts.free, counts.occupied);
                        listener.on_update(SpotUpdate {
                            facility,
                            seq,
                            spot,
                            state: state.into(),
                            free,
                            occupied,
                        });
                    }
                    Event::Message(_) => {}
                }
            }
        });
        Arc::new(Subscription { realtime: Mutex::new(Some(realtime)) })
    }
}
