//! Parkline's durable storage, with two real backends behind one set of traits: embedded SQLite (the
//! default) and PostgreSQL (several server instances on one database).
//!
//! **Only this crate knows SQL.** Callers speak in domain terms ([`records`]); each backend brings its
//! own migrations and connection rules ([`sqlite`], [`postgres`]) and shares the portable queries in
//! `sql`. What the store can do is split by concern, one trait each; [`Store`] is all of them. The
//! conformance suite (`tests/conformance.rs`) runs the same tests against both backends.
//!
//! Writes that belong together are one call, so each backend makes them one transaction. Plates are
//! sealed by the [`Vault`] on their way in and opened on the way out; money rows extend the [`audit`]
//! chain and queue partner [`events`] in the transaction that writes them; on PostgreSQL every commit
//! appends what it changed to a change feed the other instances follow ([`Store::changes`]).

pub mod audit;
mod error;
pub mod events;
mod feed;
mod postgres;
pub mod records;
mod sql;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
mod vault;

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use parkline_domain::LayoutFile;
use parkline_domain::permit::Permit;
use parkline_domain::plate::Plate;
use parkline_domain::pricing::RatePlan;
use parkline_domain::reservation::Reservation;
use parkline_protocol::{DeviceKind, Role};

pub use error::{Error, Result};
pub use records::*;
pub use vault::Vault;

/// Opens the database a URL names (`sqlite://...`, `postgres://...`), creating and migrating it as needed.
/// Plates are sealed with `vault` on the way in and opened on the way out.
pub async fn open(url: &str, vault: Arc<Vault>) -> Result<Arc<dyn Store>> {
    let store = if url.starts_with("sqlite:") {
        sqlite::open(url, vault).await?
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        postgres::open(url, vault).await?
    } else {
        return Err(Error::Unsupported(format!("database URL {url:?}: use sqlite://PATH or postgres://...")));
    };
    Ok(Arc::new(store))
}

/// Resolves once a queued write is on disk.
pub type Durable = std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send>>;

/// Everything the server persists: every concern's trait, on one backend.
#[async_trait]
pub trait Store:
    Spots + Sessions + Ledger + Bookings + Identity + Outbox + Privacy + Send + Sync + std::fmt::Debug + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// This process's id among the instances sharing the database.
    fn instance(&self) -> &str;
    /// Cheap round trip, for readiness checks.
    async fn ping(&self) -> Result<()>;
    /// Every change any instance commits from this call on (this instance's too), in commit order,
    /// once each, until the receiver is dropped; `None` where no other instance can share the database
    /// (SQLite). Call it before loading state, so nothing committed meanwhile is missed. Survives
    /// dropped connections; closes only if the database is out of reach for longer than it keeps
    /// changes (15 minutes).
    async fn changes(&self) -> Result<Option<tokio::sync::mpsc::Receiver<Change>>>;
}

/// Facilities, their spots' states and history, rate plans, occupancy samples.
#[async_trait]
pub trait Spots: Send + Sync {
    /// Stores a new facility and a free, never-reported status row per spot. An existing id is a
    /// [`Error::Duplicate`].
    async fn insert_facility(
        &self,
        layout: &LayoutFile,
        operator: &str,
        spot_codes: &[String],
        now: Timestamp,
    ) -> Result<()> {
        self.insert_facilities(&[NewFacility { layout, operator, spots: spot_codes }], now).await
    }
    /// Stores new facilities, all or none, in one transaction (an import).
    async fn insert_facilities(&self, facilities: &[NewFacility<'_>], now: Timestamp) -> Result<()>;
    /// Every facility with its operator and the status of each of its spots.
    async fn load_facilities(&self) -> Result<Vec<StoredFacility>>;
    /// One facility with its spots' states (one another instance added).
    async fn facility(&self, id: &str) -> Result<Option<StoredFacility>>;
    /// The stored status of some spots of a facility (to catch up with another instance's changes).
    async fn spot_records(&self, facility: &str, spots: &[String]) -> Result<Vec<SpotRecord>>;
    /// Saves new spot states and appends their history, atomically.
    async fn save_spots(&self, facility: &str, spots: &[SpotRecord], history: &[HistoryEntry]) -> Result<()> {
        self.queue_spots(facility, spots, history).await
    }
    /// [`Spots::save_spots`], queued now: spot changes of many facilities queued together are saved
    /// in one commit. The returned future resolves once they are on disk.
    fn queue_spots(&self, facility: &str, spots: &[SpotRecord], history: &[HistoryEntry]) -> Durable;
    /// History of a facility from `since`, oldest first.
    async fn history(&self, facility: &str, since: Timestamp, limit: u32) -> Result<Vec<HistoryEntry>>;
    /// Replaces a facility's rate plan.
    async fn save_rate_plan(&self, facility: &str, plan: &RatePlan, now: Timestamp) -> Result<()>;
    /// A facility's rate plan, if it has one.
    async fn rate_plan(&self, facility: &str) -> Result<Option<RatePlan>>;
    /// Every stored rate plan, by facility id.
    async fn rate_plans(&self) -> Result<Vec<(String, RatePlan)>>;
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
}

/// Parking sessions, the gate events and overrides that open and close them, merchant validations.
#[async_trait]
pub trait Sessions: Send + Sync {
    /// Queues a gate event with the session and spot changes it decided, to be saved atomically; the
    /// returned future resolves once it is durable. Events queued one after another are saved in that
    /// order. A second event with the same gate and key is a [`Error::Duplicate`] (a retry that raced
    /// the first).
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
    /// One facility's active sessions.
    async fn active_sessions_at(&self, facility: &str) -> Result<Vec<SessionRecord>>;
    /// Any session, by id.
    async fn session(&self, id: &str) -> Result<Option<SessionRecord>>;
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
    /// Adds a validation code; an existing code is a [`Error::Duplicate`].
    async fn insert_validation(&self, v: &ValidationRecord, now: Timestamp) -> Result<()>;
    async fn validation(&self, code: &str) -> Result<Option<ValidationRecord>>;
    /// Applies a code to a session, counting the use, atomically.
    async fn apply_validation(&self, session: &str, code: &str, now: Timestamp) -> Result<Applied>;
    /// Plates read at each entry gate since `since`, and how many of those stays staff corrected the
    /// plate of (`set_plate`): `(facility, gate, read, corrected)`.
    async fn plate_corrections_since(&self, since: Timestamp) -> Result<Vec<(String, String, u32, u32)>>;
}

/// The append-only ledger, balances derived from it, and the audit chain over it.
#[async_trait]
pub trait Ledger: Send + Sync {
    /// Queues ledger entries (and their audit records), saved atomically and in order with gate events;
    /// resolves once durable. An entry whose key exists already is a [`Error::Duplicate`], and nothing
    /// is saved; a refund beyond its payment or an account payment beyond the balance is refused.
    fn queue_ledger(&self, entries: Vec<LedgerEntry>) -> Durable;
    /// The entry an idempotency key created.
    async fn ledger_entry(&self, key: &str) -> Result<Option<LedgerEntry>>;
    /// Entries of one session, oldest first.
    async fn session_ledger(&self, session: &str) -> Result<Vec<LedgerEntry>>;
    /// Every entry billed to or paid by one user, oldest first.
    async fn user_ledger(&self, user: i64) -> Result<Vec<LedgerEntry>>;
    /// Stays a partner paid for on account (`method` `partner`, `provider_ref` `partner:<key id>`) and
    /// refunds to that account, oldest first.
    async fn partner_ledger(&self, partner: i64) -> Result<Vec<LedgerEntry>>;
    /// Refunds made against one payment.
    async fn refunds_of(&self, payment_key: &str) -> Result<Vec<LedgerEntry>>;
    /// Ledger rows written in `[from, to)`, oldest first.
    async fn ledger_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<LedgerEntry>>;
    /// Finished stays that still owe money, oldest exit first (at most `limit`).
    async fn open_balances(&self, limit: u32) -> Result<Vec<parkline_protocol::OpenBalance>>;
    /// Ledger entries from position `after` on (positions are the database's row order), at most `limit`.
    async fn ledger_page(&self, after: i64, limit: u32) -> Result<Vec<(i64, LedgerEntry)>>;
    /// The audit chain from `after` on, at most `limit` rows.
    async fn audit_page(&self, after: i64, limit: u32) -> Result<Vec<AuditRow>>;
    /// The last `limit` rows of the audit chain, newest first.
    async fn audit_tail(&self, limit: u32) -> Result<Vec<AuditRow>>;
    /// Records how a card charge at `facility` through `provider` ended: `succeeded`, `declined` or
    /// `error`.
    async fn record_payment_attempt(
        &self,
        facility: &str,
        provider: &str,
        outcome: &str,
        at: Timestamp,
    ) -> Result<()>;
    /// Card charges since `since` per facility and provider: `(facility, provider, tried, failed)`.
    async fn payment_attempts_since(&self, since: Timestamp) -> Result<Vec<(String, String, u32, u32)>>;
}

/// Reservations, permits and permit pools.
#[async_trait]
pub trait Bookings: Send + Sync {
    /// Stores new reservations, all or none, under the booking request's idempotency key if given; one
    /// that overlaps a claim on its spot is a [`Error::Conflict`], a key or id used before a
    /// [`Error::Duplicate`].
    async fn insert_reservations(
        &self,
        reservations: &[Reservation],
        now: Timestamp,
        request_key: Option<&str>,
    ) -> Result<()>;
    /// The reservations a booking request with this key made.
    async fn reservations_for_request(&self, request_key: &str) -> Result<Option<Vec<Reservation>>>;
    /// Saves a changed reservation (status, fee, window) with the fee it now owes, if any, in the ledger;
    /// an overlap is a [`Error::Conflict`].
    /// Writes a reservation's new state and its charges, if it is still `from` in the database; else
    /// [`Error::Conflict`] and nothing is written (another instance moved it on first).
    async fn update_reservation(
        &self,
        reservation: &Reservation,
        from: parkline_domain::reservation::Status,
        charges: &[LedgerEntry],
    ) -> Result<()>;
    async fn reservation(&self, id: &str) -> Result<Option<Reservation>>;
    /// Reservations still claiming their spot (confirmed or checked in).
    async fn claiming_reservations(&self) -> Result<Vec<Reservation>>;
    /// One facility's reservations still claiming their spot.
    async fn claiming_reservations_at(&self, facility: &str) -> Result<Vec<Reservation>>;
    /// Reservations marked no-shows whose start is at or after `since`.
    async fn no_shows_since(&self, since: Timestamp) -> Result<Vec<Reservation>>;
    /// A user's reservations, newest first.
    async fn user_reservations(&self, user: i64) -> Result<Vec<Reservation>>;
    /// Stores a new permit; an existing id is a [`Error::Duplicate`].
    async fn insert_permit(&self, permit: &Permit, now: Timestamp) -> Result<()>;
    /// Revokes a permit; `false` if there is no such active permit.
    async fn revoke_permit(&self, id: &str, now: Timestamp) -> Result<bool>;
    /// Every permit not revoked.
    async fn permits(&self) -> Result<Vec<Permit>>;
    /// Creates a pool for `operator` or resizes its own; `false` (and nothing changes) if the id is
    /// another operator's pool.
    async fn save_pool(&self, id: &str, operator: &str, limit: u32) -> Result<bool>;
    async fn pools(&self) -> Result<Vec<PoolRecord>>;
}

/// People, their sign-in tokens, devices and API keys. Secrets arrive hashed.
#[async_trait]
pub trait Identity: Send + Sync {
    /// A new operator; a taken id is a [`Error::Duplicate`].
    async fn insert_operator(&self, id: &str, name: &str, now: Timestamp) -> Result<()>;
    /// Every operator, by id.
    async fn operators(&self) -> Result<Vec<OperatorRecord>>;
    /// A new user's id; a taken email is a [`Error::Duplicate`]. Staff name their operator.
    async fn insert_user(
        &self,
        email: &str,
        password_hash: &str,
        role: Role,
        operator: Option<&str>,
        now: Timestamp,
    ) -> Result<i64>;
    /// Stores a sign-up waiting for its code, replacing one for the same address; drops expired ones.
    async fn put_signup(&self, signup: &PendingSignup, now: Timestamp) -> Result<()>;
    /// Counts one attempt at a sign-up's code and returns the sign-up, if it has not expired and has
    /// attempts left (five in all), atomically: however many instances are asked, five is the most.
    async fn try_signup(&self, email: &str, now: Timestamp) -> Result<Option<PendingSignup>>;
    /// Makes a driver's account from a confirmed sign-up and removes the sign-up, in one transaction; a
    /// taken email is a [`Error::Duplicate`].
    async fn finish_signup(&self, signup: &PendingSignup, now: Timestamp) -> Result<i64>;
    /// Limits a staff member to some of their operator's facilities (none: all of them).
    async fn set_staff_facilities(&self, user: i64, facilities: &[String]) -> Result<()>;
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>>;
    async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>>;
    /// Every account, by email.
    async fn users(&self) -> Result<Vec<parkline_protocol::UserView>>;
    /// The epoch a user's access tokens must carry; `None` for no such user.
    async fn token_epoch(&self, user: i64) -> Result<Option<i64>>;
    /// Ends every token the user holds: later epoch, refresh tokens deleted.
    async fn sign_out_everywhere(&self, user: i64) -> Result<()>;
    async fn insert_refresh_token(&self, token_hash: &str, user_id: i64, expires: Timestamp) -> Result<()>;
    /// Marks an unused, unexpired refresh token used and returns its user; `None` if it cannot be used.
    async fn consume_refresh_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<i64>>;
    async fn insert_device(
        &self,
        name: &str,
        kind: DeviceKind,
        operator: &str,
        facility: Option<&str>,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<i64>;
    /// Keeps the broker's password hash of a sensor gateway's token (Mosquitto's format).
    async fn set_device_mqtt_hash(&self, device: i64, hash: &str) -> Result<()>;
    /// Active sensor gateways: id, facility and broker password hash (none for gateways issued before).
    async fn mqtt_gateways(&self) -> Result<Vec<(i64, String, Option<String>)>>;
    async fn device_by_token(&self, token_hash: &str) -> Result<Option<DeviceRecord>>;
    /// Every device, newest first.
    async fn devices(&self) -> Result<Vec<parkline_protocol::DeviceView>>;
    /// Binds a device made without a facility (before operators) to one.
    async fn bind_device(&self, id: i64, facility: &str) -> Result<()>;
    /// Revokes a device's token; false when there is no such device or it was revoked already.
    async fn revoke_device(&self, id: i64, now: Timestamp) -> Result<bool>;
    async fn insert_api_key(
        &self,
        name: &str,
        key_hash: &str,
        requests_per_minute: u32,
        operator: &str,
        scopes: &[String],
        now: Timestamp,
    ) -> Result<i64>;
    async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>>;
    /// An active API key by its id (a partner's OAuth client id).
    async fn api_key(&self, id: i64) -> Result<Option<ApiKeyRecord>>;
    /// Every API key, newest first.
    async fn api_keys(&self) -> Result<Vec<parkline_protocol::ApiKeyView>>;
    /// Revokes an API key; `false` if it is unknown or already revoked. Other instances hear of it.
    async fn revoke_api_key(&self, id: i64, now: Timestamp) -> Result<bool>;
}

/// What goes out to people and partners: notices, webhook endpoints and their deliveries, and staff's
/// acknowledgements of alerts.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Records a notice for a person, with any places it suggests instead; `None` when they had this
    /// kind of notice about this subject already.
    async fn insert_notice(
        &self,
        user: i64,
        kind: &str,
        subject: &str,
        text: &str,
        alternatives: &[parkline_protocol::Alternative],
        now: Timestamp,
    ) -> Result<Option<i64>>;
    /// A person's latest notices, newest first.
    async fn notices(&self, user: i64, limit: u32) -> Result<Vec<parkline_protocol::Notice>>;
    /// One notice and whom it is for.
    async fn notice(&self, id: i64) -> Result<Option<(i64, parkline_protocol::Notice)>>;
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
}

/// Personal data: retention, erasure, key rotation.
#[async_trait]
pub trait Privacy: Send + Sync {
    /// Removes plates and plate images from sessions that ended before `before` (and from overrides made
    /// before it). Returns how many rows changed.
    async fn purge_pii(&self, before: Timestamp) -> Result<u64>;
    /// Erases a user's personal data: their email and password, sign-in tokens, the plates of their
    /// reservations and of the sessions those began. The ledger keeps its rows (its totals stand).
    async fn erase_user(&self, user: i64) -> Result<()>;
    /// Seals again, with the current key, every value sealed with an older one (plates, permits, webhook
    /// secrets). Returns how many values moved. Run after adding a new key first in `plate_keys`; the
    /// old key can be dropped once this returns.
    async fn rekey(&self) -> Result<u64>;
}
