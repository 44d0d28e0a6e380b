//! What the store keeps, in the shapes callers speak: records of spots, sessions, gate events, money,
//! bookings, partners and people. Backends map them to rows; nothing here knows SQL.

use jiff::Timestamp;
use parkline_domain::plate::Plate;
use parkline_domain::reservation::Reservation;
use parkline_domain::{Direction, LayoutFile, SpotStatus, Vehicle};
use parkline_protocol::{DeviceKind, Role};

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
    /// The permit the vehicle entered on: its stay is already paid for (unless the permit is a
    /// partner's grant: see `partner`).
    pub permit: Option<String>,
    /// The partner (its API key) whose grant let the vehicle in: the stay is billed to it.
    pub partner: Option<i64>,
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
    /// Whose money it is: the account a top-up or an account payment moves, the payer a refund goes back to.
    pub user: Option<i64>,
    /// The staff member who made the entry when it is not the payer (a refund); kept out of the audit
    /// record when empty, so records written before it existed still verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<i64>,
    pub method: Option<String>,
    pub provider_ref: Option<String>,
    /// For a refund: the key of the payment it refunds.
    pub refund_of: Option<String>,
    pub memo: Option<String>,
    pub at: Timestamp,
}

/// The `method` of a payment made from a driver's account instead of by card.
pub const ACCOUNT_METHOD: &str = "account";

impl LedgerEntry {
    /// What this entry does to its user's account balance (credit positive): top-ups and account-level
    /// fees move it, a stay paid from the account draws on it; a stay's own charges and card payments
    /// do not. `sql::ledger::BALANCE_SQL` is the same rule in SQL, for checks inside a transaction.
    pub fn account_effect(&self) -> i64 {
        let account_level = self.session.is_none();
        let from_account = self.method.as_deref() == Some(ACCOUNT_METHOD);
        match self.kind {
            LedgerKind::Payment if from_account => -self.amount_minor,
            LedgerKind::Payment if account_level => self.amount_minor,
            LedgerKind::Refund if from_account => self.amount_minor,
            LedgerKind::Refund if account_level => -self.amount_minor,
            LedgerKind::Charge if account_level => -self.amount_minor,
            LedgerKind::Adjustment if account_level => self.amount_minor,
            _ => 0,
        }
    }
}

/// A merchant's validation code: as the API shows it.
pub use parkline_protocol::ValidationCode as ValidationRecord;

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
    /// The facility it happened at: only endpoints of that facility's operator hear it.
    pub facility: Option<String>,
    /// The partner whose grant it concerns: besides the operator's endpoints, that partner's own hear it
    /// (a partner's endpoints hear nothing else).
    pub partner: Option<i64>,
}

/// A webhook endpoint as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRecord {
    pub id: String,
    /// Whose facilities' events it hears.
    pub operator: String,
    /// A partner's own endpoint (its API key): it hears only the events of that partner's grants.
    pub partner: Option<i64>,
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
    /// The staff member who did it, signed in.
    pub actor: Option<i64>,
    /// The kiosk that asked, for an attendant at its lane, and the name that attendant gave.
    pub device: Option<i64>,
    pub attendant: Option<String>,
    pub at: Timestamp,
    pub spots: Vec<SpotRecord>,
}

/// A sign-up waiting for the code mailed to its address.
#[derive(Clone, PartialEq)]
pub struct PendingSignup {
    pub email: String,
    pub password_hash: String,
    pub code_hash: String,
    pub expires: Timestamp,
}

/// Leaves the hashes out of logs.
impl std::fmt::Debug for PendingSignup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignup").field("email", &self.email).field("expires", &self.expires).finish()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    /// The operator a staff member works for; `None` for drivers and platform admins.
    pub operator: Option<String>,
    /// The operator's facilities a staff member is limited to; empty: all of them.
    pub facilities: Vec<String>,
    /// Access tokens issued before the latest sign-out carry an older epoch and are refused.
    pub token_epoch: i64,
}

/// A permit pool: one operator's cap on how many of a group's vehicles are inside at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolRecord {
    pub id: String,
    pub operator: String,
    /// Vehicles of the pool's permits allowed inside one facility at once.
    pub limit: u32,
}

/// A parking operator: owns facilities, staff, devices and API keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRecord {
    pub id: String,
    pub name: String,
}

/// The operator every facility, staff member, device and key made before operators belongs to.
pub const DEFAULT_OPERATOR: &str = "default";

/// A facility to add: its layout, its operator, its spots' codes (every spot starts free).
#[derive(Debug, Clone, Copy)]
pub struct NewFacility<'a> {
    pub layout: &'a LayoutFile,
    pub operator: &'a str,
    pub spots: &'a [String],
}

/// A stored facility: its layout, its operator, and the status of each of its spots.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFacility {
    pub layout: LayoutFile,
    pub operator: String,
    /// When it was added (layouts are never changed in place, so this dates the layout too).
    pub created: Timestamp,
    pub spots: Vec<SpotRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRecord {
    pub id: i64,
    pub name: String,
    pub kind: DeviceKind,
    pub operator: String,
    pub facility: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyRecord {
    pub id: i64,
    pub name: String,
    pub requests_per_minute: u32,
    pub operator: String,
    /// What the key may do (`occupancy`, `rates`, `partner`).
    pub scopes: Vec<String>,
}

/// What one commit changed that other instances hold in memory, as it appended it to the change feed:
/// what to reload, of one facility (spots, sessions, reservations, its layout or rates) or of all
/// (permits, devices, keys, notices).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    /// The instance that made the change ([`crate::Store::instance`]).
    pub origin: String,
    pub facility: String,
    pub spots: Vec<String>,
    #[serde(default)]
    pub sessions: Vec<String>,
    /// Reservations made, changed or checked in.
    #[serde(default)]
    pub reservations: Vec<String>,
    /// Permits or permit pools changed (any operator's): reload them all.
    #[serde(default)]
    pub permits: bool,
    /// Devices revoked: forget any credential cached for them.
    #[serde(default)]
    pub devices: Vec<i64>,
    /// API keys revoked: forget any credential cached for them.
    #[serde(default)]
    pub api_keys: Vec<i64>,
    /// The facility was added: load it.
    #[serde(default)]
    pub added: bool,
    /// The facility's rate plan was replaced: load it.
    #[serde(default)]
    pub rates: bool,
    /// Notices saved: push them to their person's connections, wherever those are.
    #[serde(default)]
    pub notices: Vec<i64>,
}
