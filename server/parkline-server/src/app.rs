//! The application context: the store, the live model and the parts every service shares. Services
//! take `&App`; the HTTP layer, the MQTT listener, background tasks and the command line call them.
//! It is built from the settings in `setup.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use jiff::{SignedDuration, Timestamp};
use metrics_exporter_prometheus::PrometheusHandle;
use parkline_domain::sensor::SensorRules;
use parkline_store::Store;

use crate::auth::{Auth, Reach};
use crate::clock::Clock;
use crate::hub::{Hub, Sender};
use crate::live::{FacilityLive, Live};
use crate::permit_book::Permits;
use crate::provider::Provider;
use crate::ratelimit::RateLimits;

/// Everything a service may need; cheap to clone.
#[derive(Debug, Clone)]
pub struct App(Arc<AppInner>);

#[derive(Debug)]
pub struct AppInner {
    pub store: Arc<dyn Store>,
    pub live: Live,
    pub auth: Auth,
    pub limits: RateLimits,
    pub rules: SensorRules,
    /// Most readings one sensor batch may hold.
    pub max_batch: usize,
    pub metrics: PrometheusHandle,
    pub clock: Arc<dyn Clock>,
    pub permits: Permits,
    /// Plates and images of finished stays are removed after this many days.
    pub pii_retention_days: u32,
    /// People's stream connections, for notices.
    pub hub: Hub,
    /// Where notices go besides the stream (email, SMS).
    pub notify_sender: Arc<dyn Sender>,
    /// The card processor.
    pub payments: Arc<dyn Provider>,
    /// Where mail (sign-up codes) goes.
    pub mailer: Arc<crate::mail::Mailer>,
    /// A sensor silent for longer is stale.
    pub stale_after: SignedDuration,
    /// Where the server's own requests (webhooks) may go.
    pub outbound: crate::outbound::Outbound,
    /// The MQTT broker's password and ACL files, if the server keeps them.
    pub broker: Option<crate::broker::BrokerFiles>,
    pub ready: AtomicBool,
}

impl std::ops::Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl App {
    pub fn new(inner: AppInner) -> App {
        App(Arc::new(inner))
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
    /// Sensors whose last reading is older than this are stale.
    /// The facility `id` if `reach` holds it; one out of reach is answered as one that does not exist.
    pub fn facility_in(&self, reach: &Reach, id: &str) -> crate::error::Result<Arc<FacilityLive>> {
        self.live
            .get(id)
            .filter(|f| reach.holds(&f.operator, id))
            .ok_or_else(|| crate::error::Error::unknown_facility(id))
    }

    /// The operator what a caller of `reach` makes belongs to ([`Reach::home`]), checked to exist.
    pub async fn home_operator(&self, reach: &Reach, named: Option<&str>) -> crate::error::Result<String> {
        let operator = reach.home(named)?;
        if !self.store.operators().await?.iter().any(|o| o.id == operator) {
            return Err(crate::error::Error::unknown_operator(&operator));
        }
        Ok(operator)
    }

    pub fn stale_before(&self) -> Timestamp {
        self.now() - self.stale_after
    }
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }
    /// Ready to serve: started, and the database answers.
    pub async fn readiness(&self) -> crate::error::Result<()> {
        use parkline_protocol::ErrorCode::Unavailable;
        if !self.ready.load(Ordering::SeqCst) {
            return Err(crate::error::Error::api(Unavailable, "starting up"));
        }
        self.store.ping().await.map_err(|_| crate::error::Error::api(Unavailable, "database unreachable"))
    }
}
