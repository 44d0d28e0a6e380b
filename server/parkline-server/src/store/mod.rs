//! Durable storage behind one trait, with two real backends: embedded SQLite (the default) and PostgreSQL.
//!
//! **Only this module knows SQL.** Callers speak in domain terms; each backend brings its own migrations
//! and connection rules ([`sqlite`], [`postgres`]) and shares the portable queries in [`sql`].
//! The conformance suite in `tests/store.rs` runs the same tests against both.

mod commit;
mod ledger;
mod outbox;
mod postgres;
mod sql;
mod sqlite;

use async_trait::async_trait;
use jiff::Timestamp;
use parkline_domain::permit::Permit;
use parkline_domain::plate::Plate;
use parkline_domain::pricing::RatePlan;
use parkline_domain::reservation::Reservation;
use parkline_domain::{Direction, LayoutFile, SpotStatus, Vehicle};
use parkline_protocol::{DeviceKind, Role};

use crate::error::Result;

pub use commit::CHANNEL as ANNOUNCE_CHANNEL;
pub use sql::SqlStore;

/// Opens the database a URL names (`sqlite://...`, `postgres://...`), creating and migrating it as needed.
/// Plates are sealed with `vault` on the way in and opened on the way out.
pub async fn open(
    url: &str,
    vault: std::sync::Arc<crate::vault::Vault>,
) -> Result<std::sync::Arc<dyn Store>> {
    let store = if url.starts_with("sqlite:") {
        sqlite::open(url, vault).await?
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        postgres::open(url, vault).await?
    } else {
        return Err(
            anyhow::anyhow!("unsupported database URL {url:?}: use sqlite://PATH or postgres://...").into()
        );
    };
    Ok(std::sync::Arc::new(store))
}

/// Resolves once a queued write is on disk.
pub type Durable = std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send>>;

/// The persisted state of one spot.
#[derive(Debug, Clone, PartialEq)]
pub struct SpotRecord {
    pub spot: String,
    pub status: SpotStatus,
}

/// One applied change, for the occupancy history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub spot: String,
    /// `free`, `occupied` or `out_of_service`.
    pub state: &'static str,
    pub at: Timestamp,
    /// Sensor kind, `debounce` for a held change applied later, or `staff`.
    pub source: &'static str,
    pub confidence: Option<f64>,
}

/// A parking session as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub id: String,
    pub facility: String,
    pub ticket: String,
    pub plate: Option<Plate>,
    pub vehicle: Vehicle,
    pub spot: Option<String>,
    pub entry_gate: String,
    pub entry: Timestamp,
    pub occupancy_permille: u16,
    /// The permit the vehicle entered on: its stay is already paid for.
    pub permit: Option<String>,
    /// The reservation the vehicle checked in on.
    pub reservation: Option<String>,
    /// Where the lane keeps the plate image taken at entry.
    pub entry_image: Option<String>,
    pub exit: Option<SessionExit>,
    /// Collected so far, in the facility's currency: payments less refunds in the ledger.
    pub paid_minor: i64,
    /// When the last payment was made: a driver who paid has a few minutes to leave at that price.
    pub last_paid: Option<Timestamp>,
    /// Merchant validations applied, in order: `(code, discount)`.
    pub validations: Vec<(String, parkline_domain::validation::Discount)>,
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionExit {
    pub gate: String,
    pub at: Timestamp,
    /// The fee charged (the ledger's charges for the session).
    pub amount_minor: i64,
    /// Where the lane keeps the plate image taken at exit.
    pub image: Option<String>,
}

/// A gate event and its decision, stored so that a retry gets the same answer.
#[derive(Debug, Clone, PartialEq)]
pub struct GateEventRecord {
    pub gate: String,
    pub key: String,
    pub facility: String,
    pub direction: Direction,
    pub session: Option<String>,
    /// The decision as sent, JSON.
    pub decision: String,
    pub at: Timestamp,
}

/// Everything one gate event changes, written in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct GateWrite {
    pub event: GateEventRecord,
    /// A session opened (at entry) or closed (at exit): the whole record as it now is.
    pub session: Option<SessionRecord>,
    pub spots: Vec<SpotRecord>,
    /// A reservation checked in by this event.
    pub reservation: Option<Reservation>,
    /// Money this event moved: the fee charged at exit, a payment taken at the lane.
    pub ledger: Vec<LedgerEntry>,
}

/// What a ledger row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// Money owed (a stay's fee, a no-show fee, a permit's month).
    Charge,
    /// Money received.
    Payment,
    /// Money given back, against one payment.
    Refund,
    /// Money forgiven (a validation, a goodwill credit).
    Adjustment,
}

impl LedgerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerKind::Charge => "charge",
            LedgerKind::Payment => "payment",
            LedgerKind::Refund => "refund",
            LedgerKind::Adjustment => "adjustment",
        }
    }

    pub fn parse(s: &str) -> Option<LedgerKind> {
        [LedgerKind::Charge, LedgerKind::Payment, LedgerKind::Refund, LedgerKind::Adjustment]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One row of the append-only ledger. Amounts are positive; the kind says which way the money went.
/// Field order is the audit record's canonical form.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LedgerEntry {
    /// The idempotency key that created it: a retry finds this row instead of adding another.
    pub key: String,
    pub kind: LedgerKind,
    pub amount_minor: i64,
    pub currency: String,
    /// Where the money was earned; none for a driver's account (a top-up, settling fees).
    pub facility: Option<String>,
    pub session: Option<String>,
    pub reservation: Option<String>,
    pub user: Option<i64>,
    pub method: Option<String>,
    pub provider_ref: Option<String>,
    /// For a refund: the key of the payment it refunds.
    pub refund_of: Option<String>,
    pub memo: Option<String>,
    pub at: Timestamp,
}

/// A merchant's validation code.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ValidationRecord {
    pub code: String,
    pub facility: String,
    pub merchant: String,
    pub discount: parkline_domain::validation::Discount,
    pub max_uses: Option<u32>,
    pub uses: u32,
    pub valid_until: Option<Timestamp>,
}

/// What applying a validation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Now,
    /// This session had it already (a retry): nothing changed.
    Already,
    /// The code has no uses left, or was revoked.
    Exhausted,
}

/// An event for partners' webhooks, queued with the change it announces.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    /// Stable for the change it announces, so receivers can drop repeats.
    pub id: String,
    pub topic: &'static str,
    /// The JSON delivered.
    pub body: String,
    pub at: Timestamp,
}

/// A webhook endpoint as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRecord {
    pub id: String,
    pub url: String,
    /// The signing secret.
    pub secret: String,
    pub topics: Vec<String>,
    pub created: Timestamp,
}

/// An event waiting for delivery to one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub event_id: String,
    pub topic: String,
    pub body: String,
    pub url: String,
    pub secret_sealed: String,
    pub attempts: i64,
    pub next_attempt_ms: i64,
}

/// One link of the audit chain.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub seq: i64,
    pub at: Timestamp,
    /// `ledger` or `override`.
    pub kind: String,
    pub ref_id: String,
    pub body: String,
    pub prev_hash: String,
    pub hash: String,
}

/// An attendant's override, with the session and spot changes it makes.
#[derive(Debug, Clone, PartialEq)]
pub struct OverrideWrite {
    pub gate: String,
    pub facility: String,
    /// `open_gate`, `void_session` or `set_plate`.
    pub action: &'static str,
    pub reason: String,
    pub session: Option<SessionRecord>,
    pub plate: Option<String>,
    pub actor: Option<i64>,
    pub at: Timestamp,
    pub spots: Vec<SpotRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRecord {
    pub id: i64,
    pub name: String,
    pub kind: DeviceKind,
    pub facility: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyRecord {
    pub id: i64,
    pub name: String,
    pub requests_per_minute: u32,
}

/// Everything the server persists. Writes that belong together are one call, so each backend can make
/// them one transaction.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// This process's id among the instances sharing the database.
    fn instance(&self) -> &str;
    /// The stored status of some spots of a facility (to catch up with another instance's changes).
    async fn spot_records(&self, facility: &str, spots: &[String]) -> Result<Vec<SpotRecord>>;
    /// Cheap round trip, for readiness checks.
    async fn ping(&self) -> Result<()>;

    /// Stores a new facility and a free, never-reported status row per spot. An existing id is a conflict.
    async fn insert_facility(&self, layout: &LayoutFile, spot_codes: &[String], now: Timestamp)
    -> Result<()>;
    /// Every facility with the status of each of its spots.
    async fn load_facilities(&self) -> Result<Vec<(LayoutFile, Vec<SpotRecord>)>>;
    /// Saves new spot states and appends their history, atomically.
    async fn save_spots(&self, facility: &str, spots: &[SpotRecord], history: &[HistoryEntry]) -> Result<()>;
    /// Queues a gate event with the session and spot changes it decided, to be saved atomically; the
    /// returned future resolves once it is durable. Events queued one after another are saved in that
    /// order. A second event with the same gate and key is a conflict (a retry that raced the first).
    fn queue_gate_event(&self, write: GateWrite) -> Durable;
    /// [`Self::queue_gate_event`], then wait for it.
    async fn save_gate_event(&self, write: &GateWrite) -> Result<()> {
        self.queue_gate_event(write.clone()).await
    }
    /// The decision already given to a gate event, if any.
    async fn gate_event_decision(&self, gate: &str, key: &str) -> Result<Option<String>>;
    /// Records an override and its changes, in order with queued gate events.
    async fn save_override(&self, write: &OverrideWrite) -> Result<()>;
    /// Sessions still active, oldest first.
    async fn active_sessions(&self) -> Result<Vec<SessionRecord>>;
    /// Any session, by id.
    async fn session(&self, id: &str) -> Result<Option<SessionRecord>>;

    /// Queues ledger entries (and their audit records), saved atomically and in order with gate events;
    /// resolves once durable. An entry whose key exists already is a conflict, and nothing is saved.
    fn queue_ledger(&self, entries: Vec<LedgerEntry>) -> Durable;
    /// The entry an idempotency key created.
    async fn ledger_entry(&self, key: &str) -> Result<Option<LedgerEntry>>;
    /// Entries of one session, oldest first.
    async fn session_ledger(&self, session: &str) -> Result<Vec<LedgerEntry>>;
    /// Finished stays that still owe money, oldest exit first (at most `limit`).
    async fn open_balances(&self, limit: u32) -> Result<Vec<parkline_protocol::OpenBalance>>;
    /// Every entry billed to or paid by one user, oldest first.
    async fn user_ledger(&self, user: i64) -> Result<Vec<LedgerEntry>>;
    /// Refunds made against one payment.
    async fn refunds_of(&self, payment_key: &str) -> Result<Vec<LedgerEntry>>;
    /// Ledger entries from position `after` on (positions are the database's row order), at most `limit`.
    async fn ledger_page(&self, after: i64, limit: u32) -> Result<Vec<(i64, LedgerEntry)>>;
    /// The audit chain from `after` on, at most `limit` rows.
    async fn audit_page(&self, after: i64, limit: u32) -> Result<Vec<AuditRow>>;
    /// The last `limit` rows of the audit chain, newest first.
    async fn audit_tail(&self, limit: u32) -> Result<Vec<AuditRow>>;

    /// Seals again, with the current key, every value sealed with an older one (plates, permits, webhook
    /// secrets). Returns how many values moved. Run after adding a new key first in `plate_keys`; the
    /// old key can be dropped once this returns.
    async fn rekey(&self) -> Result<u64>;
    /// Removes plates and plate images from sessions that ended before `before` (and from overrides made
    /// before it). Returns how many rows changed.
    async fn purge_pii(&self, before: Timestamp) -> Result<u64>;
    /// A user's reservations, newest first.
    async fn user_reservations(&self, user: i64) -> Result<Vec<Reservation>>;
    /// Erases a user's personal data: their email and password, sign-in tokens, the plates of their
    /// reservations and of the sessions those began. The ledger keeps its rows (its totals stand).
    async fn erase_user(&self, user: i64) -> Result<()>;

    /// Records a notice for a person; `None` when they had this kind of notice about this subject already.
    async fn insert_notice(
        &self,
        user: i64,
        kind: &str,
        subject: &str,
        text: &str,
        now: Timestamp,
    ) -> Result<Option<i64>>;
    /// A person's latest notices, newest first.
    async fn notices(&self, user: i64, limit: u32) -> Result<Vec<parkline_protocol::Notice>>;

    /// Records a staff member's acknowledgement of an alert; the first one stands, and is returned.
    async fn acknowledge_alert(
        &self,
        alert: &str,
        note: &str,
        user: i64,
        now: Timestamp,
    ) -> Result<parkline_protocol::Acknowledgement>;
    /// Every acknowledgement, with the id of the alert it covers.
    async fn alert_acks(&self) -> Result<Vec<(String, parkline_protocol::Acknowledgement)>>;
    /// Ledger rows written in `[from, to)`, oldest first.
    async fn ledger_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<LedgerEntry>>;
    /// The newest `limit` stays (active or finished) of a plate or with a ticket, newest first.
    async fn find_sessions(
        &self,
        plate: Option<&Plate>,
        ticket: Option<&str>,
        limit: u32,
    ) -> Result<Vec<SessionRecord>>;
    /// The overrides on a session, oldest first: `(at, gate, action, reason, who)`.
    async fn session_overrides(
        &self,
        session: &str,
    ) -> Result<Vec<(Timestamp, String, String, String, Option<String>)>>;
    /// Records occupancy samples `(facility, sample)`; a slot already sampled keeps its first sample.
    async fn save_occupancy_samples(
        &self,
        samples: &[(String, parkline_protocol::OccupancySample)],
    ) -> Result<()>;
    /// A facility's samples in `[from, to)`, oldest first.
    async fn occupancy_samples(
        &self,
        facility: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<parkline_protocol::OccupancySample>>;

    /// Adds a validation code; an existing code is a conflict.
    async fn insert_validation(&self, v: &ValidationRecord, now: Timestamp) -> Result<()>;
    async fn validation(&self, code: &str) -> Result<Option<ValidationRecord>>;
    /// Applies a code to a session, counting the use, atomically.
    async fn apply_validation(&self, session: &str, code: &str, now: Timestamp) -> Result<Applied>;

    /// Adds a webhook endpoint; its secret is stored sealed.
    async fn insert_webhook(&self, webhook: &WebhookRecord) -> Result<()>;
    /// Enabled endpoints, oldest first.
    async fn webhooks(&self) -> Result<Vec<WebhookRecord>>;
    /// Disables an endpoint (its pending deliveries stop); `false` if there is no such enabled one.
    async fn disable_webhook(&self, id: &str, now: Timestamp) -> Result<bool>;
    /// Deliveries due by `now`, oldest first.
    async fn due_deliveries(&self, now: Timestamp, limit: u32) -> Result<Vec<Delivery>>;
    /// Takes a delivery for this instance until `until`; `false` if another took it first.
    async fn claim_delivery(&self, d: &Delivery, until: Timestamp) -> Result<bool>;
    /// Records the outcome of an attempt: delivered, or when to try again and why it failed.
    async fn delivery_attempted(
        &self,
        id: i64,
        now: Timestamp,
        retry_at: Option<(Timestamp, String)>,
    ) -> Result<()>;
    /// Opens a sealed webhook secret.
    fn open_secret(&self, sealed: &str) -> Result<String>;

    /// Stores new reservations, all or none, under the booking request's idempotency key if given; one
    /// that overlaps a claim on its spot, or a key used before, is a conflict.
    async fn insert_reservations(
        &self,
        reservations: &[Reservation],
        now: Timestamp,
        request_key: Option<&str>,
    ) -> Result<()>;
    /// The reservations a booking request with this key made.
    async fn reservations_for_request(&self, request_key: &str) -> Result<Option<Vec<Reservation>>>;
    /// Saves a changed reservation (status, fee, window) with the fee it now owes, if any, in the ledger;
    /// an overlap is a conflict.
    async fn update_reservation(&self, reservation: &Reservation, charges: &[LedgerEntry]) -> Result<()>;
    async fn reservation(&self, id: &str) -> Result<Option<Reservation>>;
    /// Reservations still claiming their spot (confirmed or checked in).
    async fn claiming_reservations(&self) -> Result<Vec<Reservation>>;
    /// Reservations marked no-shows whose start is at or after `since`.
    async fn no_shows_since(&self, since: Timestamp) -> Result<Vec<Reservation>>;

    /// Stores a new permit; an existing id is a conflict.
    async fn insert_permit(&self, permit: &Permit, now: Timestamp) -> Result<()>;
    /// Revokes a permit; `false` if there is no such active permit.
    async fn revoke_permit(&self, id: &str, now: Timestamp) -> Result<bool>;
    /// Every permit not revoked.
    async fn permits(&self) -> Result<Vec<Permit>>;
    /// Creates or resizes a pool.
    async fn save_pool(&self, id: &str, limit: u32) -> Result<()>;
    async fn pools(&self) -> Result<Vec<(String, u32)>>;

    /// Replaces a facility's rate plan.
    async fn save_rate_plan(&self, facility: &str, plan: &RatePlan, now: Timestamp) -> Result<()>;
    /// Every stored rate plan, by facility id.
    async fn rate_plans(&self) -> Result<Vec<(String, RatePlan)>>;
    /// History of a facility from `since`, oldest first.
    async fn history(&self, facility: &str, since: Timestamp, limit: u32) -> Result<Vec<HistoryEntry>>;

    async fn insert_user(&self, email: &str, password_hash: &str, role: Role, now: Timestamp) -> Result<i64>;
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>>;
    async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>>;

    async fn insert_refresh_token(&self, token_hash: &str, user_id: i64, expires: Timestamp) -> Result<()>;
    /// Marks an unused, unexpired refresh token used and returns its user; `None` if it cannot be used.
    async fn consume_refresh_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<i64>>;

    async fn insert_device(
        &self,
        name: &str,
        kind: DeviceKind,
        facility: Option<&str>,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<i64>;
    async fn device_by_token(&self, token_hash: &str) -> Result<Option<DeviceRecord>>;
    /// Every device, newest first.
    async fn devices(&self) -> Result<Vec<parkline_protocol::DeviceView>>;
    /// Revokes a device's token; false when there is no such device or it was revoked already.
    async fn revoke_device(&self, id: i64, now: Timestamp) -> Result<bool>;
    /// Every account, by email.
    async fn users(&self) -> Result<Vec<parkline_protocol::UserView>>;

    async fn insert_api_key(
        &self,
        name: &str,
        key_hash: &str,
        requests_per_minute: u32,
        now: Timestamp,
    ) -> Result<i64>;
    async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>>;
}
