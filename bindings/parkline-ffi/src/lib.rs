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

/// A live change at a facility.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SpotUpdate {
    pub facility: String,
    pub seq: u64,
    pub spot: String,
    /// `free`, `occupied`, `held` or `out_of_service`.
    pub state: String,
    pub free: u32,
    pub occupied: u32,
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
                        let state = serde_json::to_value(state)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default();
                        listener.on_update(SpotUpdate {
                            facility,
                            seq,
                            spot,
                            state,
                            free: counts.free,
                            occupied: counts.occupied,
                        });
                    }
                    Event::Message(_) => {}
                }
            }
        });
        Arc::new(Subscription { realtime: Mutex::new(Some(realtime)) })
    }
}
