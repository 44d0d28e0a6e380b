//! Request and response bodies.

use jiff::Timestamp;
use parkline_domain::sensor::{Outcome, SensorKind};
use parkline_domain::{Direction, Feature, LatLon, SpotState, VehicleClass};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::{IntoParams, ToSchema};

// ----- identity -----------------------------------------------------------------------------------

/// Who a user is to Parkline; each route lists the roles it accepts.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Driver,
    Attendant,
    Manager,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Driver, Role::Attendant, Role::Manager, Role::Admin];
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Driver => "driver",
            Role::Attendant => "attendant",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What a device token lets a machine do.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// Posts occupancy readings.
    SensorGateway,
    /// Runs a gate lane.
    Kiosk,
}

impl DeviceKind {
    pub const ALL: [DeviceKind; 2] = [DeviceKind::SensorGateway, DeviceKind::Kiosk];
    pub const fn as_str(self) -> &'static str {
        match self {
            DeviceKind::SensorGateway => "sensor_gateway",
            DeviceKind::Kiosk => "kiosk",
        }
    }
    pub fn parse(s: &str) -> Option<DeviceKind> {
        DeviceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub password: String,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// The answer to every well-formed sign-up, whether or not the address has an account: a code went to
/// the address (or, if it has an account, a note saying so). Nothing here tells which.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupStarted {
    pub message: String,
}

/// `POST /v1/auth/signup/confirm`: the code mailed to the address finishes the sign-up.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmSignup {
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
    /// Six digits, from the mail.
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub code: String,
}

/// A short-lived access token (JWT) and a single-use refresh token that gets the next one.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until `access_token` expires.
    pub expires_in: u64,
    pub refresh_token: String,
    pub role: Role,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub user_id: i64,
    pub email: String,
    pub role: Role,
    /// The operator a staff member works for (none for drivers and platform admins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// The operator's facilities a staff member is limited to; empty: all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facilities: Vec<String>,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewUser {
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 10, max_length = 1024))]
    pub password: String,
    pub role: Role,
    /// The operator staff work for: a manager's own (the default), or any, named by an admin.
    #[serde(default)]
    pub operator: Option<String>,
    /// Limits staff to these of the operator's facilities; empty: all of them.
    #[serde(default)]
    pub facilities: Vec<String>,
}

/// `PUT /v1/admin/users/{id}/facilities`: the facilities a staff member is limited to (empty: all of
/// the operator's).
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffFacilities {
    pub facilities: Vec<String>,
}

/// A parking operator (a city, a hospital, a private chain): owns facilities, staff, devices, keys.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorView {
    /// Lowercase letters, digits and dashes.
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: String,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewDevice {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: String,
    pub kind: DeviceKind,
    /// The facility it works at: required (a kiosk or a sensor gateway acts at exactly one).
    #[serde(default)]
    pub facility: Option<String>,
}

/// A device as staff see it (its token is never shown again).
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceView {
    pub id: i64,
    pub name: String,
    pub kind: DeviceKind,
    #[serde(default)]
    pub operator: String,
    #[serde(default)]
    pub facility: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(default)]
    pub revoked_at: Option<Timestamp>,
}

/// A partner's API key as staff see it (the key itself is never shown again).
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: i64,
    pub name: String,
    pub operator: String,
    pub scopes: Vec<String>,
    pub requests_per_minute: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(default)]
    pub revoked_at: Option<Timestamp>,
}

/// A staff or driver account as admins see it.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub role: Role,
    /// A staff member's operator (none for drivers and admins).
    #[serde(default)]
    pub operator: Option<String>,
    /// The operator's facilities a staff member is limited to; empty: all of them.
    #[serde(default)]
    pub facilities: Vec<String>,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewApiKey {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: String,
    /// Requests per minute this key may make.
    pub requests_per_minute: u32,
    /// The operator whose data it reads: a manager's own (the default), or any, named by an admin.
    #[serde(default)]
    pub operator: Option<String>,
    /// What it may do: `occupancy`, `rates`, `partner`, `grants` (entries it grants are billed to it);
    /// the first three when left out.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

/// `POST /v1/oauth/token` (RFC 6749 client credentials): an API key's id is its `client_id` and the
/// key its `client_secret`, sent as HTTP Basic or in the form.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthTokenRequest {
    /// `client_credentials`.
    pub grant_type: String,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Space-separated scopes wanted, some of the key's; all of the key's when left out.
    #[serde(default)]
    pub scope: Option<String>,
}

/// An OAuth 2.0 access token for a partner.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthToken {
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds it is valid for.
    pub expires_in: u64,
    /// The scopes it carries, space-separated.
    pub scope: String,
}

/// An OAuth 2.0 error (RFC 6749 section 5.2): `error` is the stable code (`invalid_request`,
/// `invalid_client`, `invalid_scope`, `unsupported_grant_type`).
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthError {
    pub error: String,
    pub error_description: String,
}

/// `POST /v1/partner/grants`: a partner lets one plate in at one of the operator's facilities for a
/// window, optionally to one zone; the stay is billed to the partner.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    pub plate: String,
    pub facility: String,
    /// Floor label and zone code (`2A`) its holder parks in while there is room.
    #[serde(default)]
    pub zone: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub valid_from: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub valid_until: Timestamp,
}

/// A partner's grant.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantView {
    pub id: String,
    pub plate: String,
    pub facility: String,
    #[serde(default)]
    pub zone: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub valid_from: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub valid_until: Timestamp,
}

/// One stay a partner paid for on account, or a refund of one to its account.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartnerCharge {
    /// The ledger entry (a payment's id refunds name).
    pub payment: String,
    pub session: String,
    pub facility: String,
    /// Negative for a refund to the partner's account.
    pub amount_minor: i64,
    pub currency: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
}

/// `POST /v1/partner/webhooks`: an endpoint of the partner's own, hearing `session.started` and
/// `session.ended` of the stays its grants let in (and nothing else).
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerWebhookRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 2048))]
    pub url: String,
}

/// A secret shown once, at creation; the server keeps only its hash.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuedSecret {
    pub id: i64,
    pub token: String,
    /// A sensor gateway's MQTT user name (its password is the token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt_username: Option<String>,
}

// ----- sensors ------------------------------------------------------------------------------------

/// One occupancy reading from a spot sensor.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorReading {
    pub facility: String,
    /// Spot code, e.g. `2A-015`.
    pub spot: String,
    /// Sensor or camera id; when given it must watch the spot. Without it, the spot's first sensor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor: Option<String>,
    pub occupied: bool,
    /// 0..=1; readings below the server's threshold (0.85 by default) are ignored.
    pub confidence: f64,
    pub kind: SensorKind,
    /// When the sensor observed it (RFC 3339).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub observed_at: Timestamp,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorBatch {
    pub readings: Vec<SensorReading>,
}

/// Per-spot occupancy from a camera's own analytics, over HTTP
/// (`POST /v1/facilities/{facility}/cameras/{camera}/occupancy`) or MQTT
/// (`parkline/<facility>/gateway-<id>/cameras/<camera>`). Name the regions configured in the camera
/// after the spot codes (the layout's `[[cameras]]` gives each spot's outline in the image). Each spot
/// becomes a reading of kind `camera`, fused with the spot's other sensors.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraReport {
    /// When the frame was taken (RFC 3339).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub observed_at: Timestamp,
    pub spots: Vec<CameraSpot>,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSpot {
    /// Spot code, e.g. `2A-015`.
    pub spot: String,
    pub occupied: bool,
    /// 0..=1, the camera's own confidence.
    pub confidence: f64,
}

impl CameraReport {
    /// The report as one reading per spot, from `camera` at `facility`.
    pub fn readings(&self, facility: &str, camera: &str) -> Vec<SensorReading> {
        self.spots
            .iter()
            .map(|s| SensorReading {
                facility: facility.to_owned(),
                spot: s.spot.clone(),
                sensor: Some(camera.to_owned()),
                occupied: s.occupied,
                confidence: s.confidence,
                kind: SensorKind::Camera,
                observed_at: self.observed_at,
            })
            .collect()
    }
}

/// What each reading of a batch did, in the batch's order, and totals.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IngestReport {
    pub outcomes: Vec<Outcome>,
    pub changed: u32,
    pub unchanged: u32,
    pub held: u32,
    pub ignored: u32,
}

impl IngestReport {
    pub fn push(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Changed => self.changed += 1,
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::Held => self.held += 1,
            Outcome::LowConfidence | Outcome::Duplicate | Outcome::OutOfOrder => self.ignored += 1,
        }
        self.outcomes.push(outcome);
    }
}

// ----- facilities and availability ----------------------------------------------------------------

/// Free spots usable by a plain vehicle of each class (no charger, not accessible).
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeByClass {
    pub motorcycle: u32,
    pub compact: u32,
    pub sedan: u32,
    pub suv: u32,
}

impl From<[u32; 4]> for FreeByClass {
    fn from([motorcycle, compact, sedan, suv]: [u32; 4]) -> Self {
        FreeByClass { motorcycle, compact, sedan, suv }
    }
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpotCounts {
    pub capacity: u32,
    pub free: u32,
    pub occupied: u32,
    /// Set aside for vehicles that have entered, or for reservations.
    pub held: u32,
    pub out_of_service: u32,
}

impl From<parkline_domain::Counts> for SpotCounts {
    fn from(c: parkline_domain::Counts) -> Self {
        SpotCounts {
            capacity: c.capacity(),
            free: c.free,
            occupied: c.occupied,
            held: c.held,
            out_of_service: c.out_of_service,
        }
    }
}

/// How current the numbers are.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freshness {
    /// Last reading accepted from any sensor of the facility.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_reading_at: Option<Timestamp>,
    /// Last change of any spot's state.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_change_at: Option<Timestamp>,
    /// Spots whose sensor has never reported.
    pub spots_never_reported: u32,
    /// Spots whose sensor reported once but has been silent too long (60 s by default): their state may
    /// be out of date.
    pub stale_sensors: u32,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FacilitySummary {
    pub id: String,
    pub name: String,
    /// The operator that runs it.
    #[serde(default)]
    pub operator: String,
    pub address: String,
    pub location: LatLon,
    pub time_zone: String,
    pub counts: SpotCounts,
    pub free_by_class: FreeByClass,
    pub free_ev_charger: u32,
    pub free_accessible: u32,
    pub freshness: Freshness,
    /// Metres from the searched point, on nearby searches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FacilityPage {
    pub facilities: Vec<FacilitySummary>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Query of `GET /v1/facilities`: either a page of all facilities, or those within `radius_m` of a point,
/// nearest first.
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilityQuery {
    /// With `lon` and `radius_m`: facilities within the circle, nearest first.
    #[cfg_attr(feature = "openapi", param(minimum = -90, maximum = 90))]
    pub lat: Option<f64>,
    #[cfg_attr(feature = "openapi", param(minimum = -180, maximum = 180))]
    pub lon: Option<f64>,
    /// Metres, over 0 and at most 50,000.
    #[cfg_attr(feature = "openapi", param(exclusive_minimum = 0, maximum = 50000))]
    pub radius_m: Option<f64>,
    /// Page size, 1..=200 (default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub after: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneAvailability {
    pub code: String,
    pub name: String,
    pub counts: SpotCounts,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloorAvailability {
    pub level: i16,
    pub label: String,
    pub name: String,
    pub counts: SpotCounts,
    pub zones: Vec<ZoneAvailability>,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Availability {
    pub facility: String,
    pub counts: SpotCounts,
    pub free_by_class: FreeByClass,
    pub free_ev_charger: u32,
    pub free_accessible: u32,
    pub floors: Vec<FloorAvailability>,
    pub freshness: Freshness,
}

/// Query of `GET /v1/facilities/{id}/best-spots`.
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BestSpotsQuery {
    pub vehicle_class: VehicleClass,
    #[serde(default)]
    pub electric: bool,
    /// The driver holds an accessible-parking permit.
    #[serde(default)]
    pub accessible: bool,
    /// `auto` (default), `require` or `no`.
    #[serde(default)]
    pub charging: Option<parkline_domain::Charging>,
    #[serde(default)]
    pub covered: bool,
    pub level: Option<i16>,
    /// How many spots, 1..=50 (default 5).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 50))]
    pub n: Option<u32>,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpotView {
    pub code: String,
    pub level: i16,
    pub zone: String,
    pub size: VehicleClass,
    pub features: Vec<Feature>,
    /// Floor-plan position, metres.
    pub x: f64,
    pub y: f64,
    pub distance_m: f64,
    pub state: SpotState,
    /// The spot's sensor has been silent too long: `state` may be out of date (layout views only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestSpots {
    pub facility: String,
    /// Best first.
    pub spots: Vec<SpotView>,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateView {
    pub id: String,
    pub name: String,
    pub direction: Direction,
    pub level: i16,
}

/// A floor of a facility's plan.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloorPlan {
    pub level: i16,
    pub label: String,
    pub name: String,
    /// Where cars arrive on this floor (the ramp's landing), floor-plan metres.
    pub entrance: [f64; 2],
}

/// A facility's floor plan with every spot's current state, for maps.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayoutView {
    pub facility: String,
    /// ISO 3166-1 alpha-2 code of its country, where its layout names one: kiosks read its plates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    pub spots: Vec<SpotView>,
    pub gates: Vec<GateView>,
    /// Each floor, with where cars arrive on it (for directions).
    #[serde(default)]
    pub floors: Vec<FloorPlan>,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpotServiceChange {
    pub out_of_service: bool,
}

// ----- pricing ------------------------------------------------------------------------------------

/// `GET /v1/facilities/{id}`: the facility as the list shows it, with what its history says about
/// the hours ahead.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FacilityDetail {
    pub facility: FacilitySummary,
    pub forecast: Forecast,
}

/// Predicted availability, from the occupancy the server samples every five minutes (the last four
/// weeks, by local weekday and hour). Empty where there is no history yet.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// When the facility usually fills up (95% taken), on weekdays and at weekends, where it does.
    pub usually_full: Vec<UsuallyFull>,
    /// The next twelve hours, from the start of the current one.
    pub hours: Vec<ForecastHour>,
    /// The hour of the `arrival` asked for, if one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_arrival: Option<ForecastHour>,
    /// Days of history the forecast stands on.
    pub history_days: u32,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsuallyFull {
    /// `weekdays` or `weekends`.
    pub days: String,
    /// Local time, `HH:MM`.
    pub by: String,
    /// "Usually full by 09:00 on weekdays".
    pub text: String,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastHour {
    /// Start of the hour.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// Forecast free spots; absent without history for that hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free: Option<u32>,
    /// Forecast share taken, per mille.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occupancy_permille: Option<u16>,
}

/// Query of `GET /v1/facilities/{id}`.
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilityDetailQuery {
    /// Planned arrival (RFC 3339), within the next seven days: the forecast for its hour.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, format = DateTime))]
    #[serde(default)]
    pub arrival: Option<Timestamp>,
}

/// Query of `GET /v1/facilities/{id}/quote`: what a planned stay would cost, line by line.
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteQuery {
    pub vehicle_class: VehicleClass,
    /// Planned arrival (RFC 3339).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[cfg_attr(feature = "openapi", param(value_type = String, format = DateTime))]
    pub from: Timestamp,
    /// Planned departure (RFC 3339).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[cfg_attr(feature = "openapi", param(value_type = String, format = DateTime))]
    pub to: Timestamp,
    /// The vehicle will charge.
    #[serde(default)]
    pub charging: bool,
}

// ----- gates and sessions -------------------------------------------------------------------------

/// What a plate camera read.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlateRead {
    pub text: String,
    /// 0..=1.
    pub confidence: f64,
    /// Other readings, best first; unreadable ones are ignored.
    #[serde(default)]
    pub alternatives: Vec<String>,
    /// Where the lane keeps the image.
    #[serde(default)]
    pub image_ref: Option<String>,
}

/// A vehicle at a gate. The gate's direction (entry or exit) comes from the layout.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateEvent {
    /// Idempotency key chosen by the lane (1-128 characters); a retry sends the same one and gets the same
    /// decision.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 128))]
    pub event_id: String,
    /// The plate read, if the camera read one.
    #[serde(default)]
    pub plate: Option<PlateRead>,
    /// At an exit: the ticket scanned, if any.
    #[serde(default)]
    pub ticket: Option<String>,
    /// At an entry: the vehicle's class if known (sedan otherwise).
    #[serde(default)]
    pub vehicle_class: Option<VehicleClass>,
    #[serde(default)]
    pub electric: bool,
    /// The driver showed an accessible-parking permit.
    #[serde(default)]
    pub accessible: bool,
    /// At an exit: money taken at the lane for this vehicle, in minor units.
    #[serde(default)]
    pub paid_at_gate: Option<i64>,
    /// The lane already let this vehicle through while it could not reach the server, and replays the
    /// passage now: the server records what happened instead of deciding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<LanePassage>,
}

/// A passage a lane decided on its own, with the server out of reach.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanePassage {
    /// When the gate opened (at most 30 days ago).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// At an entry: the ticket the lane printed (4-32 capital letters and digits); the stay keeps it.
    #[serde(default)]
    pub ticket: Option<String>,
}

/// What the barrier does and why: the domain's gate rules decide both.
pub use parkline_domain::gate::{DecisionReason, GateCommand};

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketView {
    pub id: String,
    /// What the printed QR code encodes.
    pub qr: String,
}

/// The answer to a gate event.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateDecision {
    pub event_id: String,
    pub gate: String,
    pub command: GateCommand,
    pub reason: DecisionReason,
    /// What the lane's display shows the driver.
    pub display: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot: Option<SpotView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_due: Option<parkline_domain::Money>,
}

/// A parking session as its ticket holder or staff see it, with the fee so far.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: String,
    pub facility: String,
    pub ticket: String,
    /// Staff see it; the public ticket view (anyone holding the ticket) leaves it out.
    pub plate: Option<String>,
    pub spot: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub entered_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub exited_at: Option<Timestamp>,
    /// What the stay costs if the vehicle left now (or what it cost, once it left).
    pub fee: parkline_domain::Money,
    pub paid: parkline_domain::Money,
    /// Inside past its reservation's end or the facility's longest stay.
    pub overstay: bool,
    /// Entered on a permit: nothing to pay.
    #[serde(default)]
    pub permit: bool,
    /// The vehicle's class, which prices the stay.
    #[serde(default)]
    pub vehicle_class: Option<VehicleClass>,
}

/// `POST /v1/tickets/{ticket}/payments`: pay for a stay before leaving. Send an `Idempotency-Key`
/// header; a retry with the same key returns the same receipt and charges nothing more.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    /// A token from the payment provider standing for the card (never card numbers). With the
    /// simulated provider: `tok_visa` succeeds, `tok_chargeDeclined` and
    /// `tok_chargeDeclinedInsufficientFunds` are declined, `tok_processingError` fails.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    pub card_token: String,
    /// How much, in minor units of the facility's currency; by default everything due now. Never more.
    #[serde(default)]
    pub amount_minor: Option<i64>,
}

/// `POST /v1/payments/{key}/refunds`: give money back (staff only), never more than was paid. Send an
/// `Idempotency-Key` header.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    pub amount_minor: i64,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub reason: String,
}

/// Proof of a money movement: a payment or a refund.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// The ledger entry's key: quote it to ask for a refund.
    pub id: String,
    /// `payment` or `refund`.
    pub kind: String,
    /// None for money to or from a driver's account.
    pub facility: Option<String>,
    pub session: Option<String>,
    pub ticket: Option<String>,
    pub amount: parkline_domain::Money,
    /// `card`, `lane`, ...
    pub method: Option<String>,
    /// The payment provider's reference.
    pub provider_ref: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// Still owed on the session right after this, if it left now.
    pub balance_due: Option<parkline_domain::Money>,
    /// Leave before this to pay nothing more.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub leave_by: Option<Timestamp>,
}

/// A driver's account: money kept with the operator (positive) or owed to it (negative), per currency.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountView {
    pub balances: Vec<parkline_domain::Money>,
    pub entries: Vec<AccountEntry>,
}

/// One change to an account.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountEntry {
    pub id: String,
    /// The ledger kind: `charge` (a fee), `payment` (a top-up or a stay paid from the account), ...
    pub kind: String,
    /// What it did to the balance.
    pub change: parkline_domain::Money,
    pub method: Option<String>,
    pub facility: Option<String>,
    pub reservation: Option<String>,
    pub session: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
}

/// `GET /v1/me/data`: everything Parkline holds about the signed-in person.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MyData {
    pub user_id: i64,
    pub email: String,
    pub role: Role,
    /// Their reservations, with plates.
    pub reservations: Vec<parkline_domain::reservation::Reservation>,
    pub account: AccountView,
}

/// `POST /v1/me/account/top-ups`: add money to the account by card (send an `Idempotency-Key`).
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopUpRequest {
    pub amount_minor: i64,
    #[cfg_attr(feature = "openapi", schema(min_length = 3, max_length = 3))]
    pub currency: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    pub card_token: String,
}

/// A merchant's validation code, with how often it has been used.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationCode {
    pub code: String,
    pub facility: String,
    pub merchant: String,
    pub discount: parkline_domain::validation::Discount,
    pub max_uses: Option<u32>,
    pub uses: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub valid_until: Option<Timestamp>,
}

/// What `POST /v1/admin/retention/purge` removed: rows whose plates or images were past retention.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purged {
    pub purged: u64,
}

/// What `POST /v1/admin/billing/run` billed: permit months begun and not billed before.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Billed {
    pub billed: u32,
}

/// `POST /v1/validations`: a merchant's validation code for one facility.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationRequest {
    /// What visitors or the merchant enter: 4-32 letters, digits or dashes. Omitted, the server makes a
    /// random one (`XXXX-XXXX-XXXX`), which cannot be guessed the way a short chosen word can.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 4, max_length = 32))]
    pub code: Option<String>,
    pub facility: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub merchant: String,
    /// `{"fixed_minor": 500}`, `{"percent": 50}` or `{"free_hours": 2}`.
    pub discount: parkline_domain::validation::Discount,
    #[serde(default)]
    pub max_uses: Option<u32>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub valid_until: Option<Timestamp>,
}

/// `POST /v1/tickets/{ticket}/validations`: apply a merchant's code to a stay.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyValidation {
    pub code: String,
}

/// Event types a webhook endpoint can subscribe to.
pub const WEBHOOK_TOPICS: [&str; 6] = [
    "session.started",
    "session.ended",
    "session.overstay",
    "payment.succeeded",
    "payment.refunded",
    "reservation.no_show",
];

/// `POST /v1/webhooks`: where to deliver events, and which (`["*"]` for all).
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// `https://...` (or `http://` for development).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 2048))]
    pub url: String,
    pub topics: Vec<String>,
    /// Whose facilities' events it hears: a manager's own operator (the default), or one an admin names.
    #[serde(default)]
    pub operator: Option<String>,
}

/// A webhook endpoint. `secret` (for checking the `Parkline-Signature` header) is shown once, when it
/// is created.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookView {
    pub id: String,
    #[serde(default)]
    pub operator: String,
    pub url: String,
    pub topics: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Query of `GET /v1/facilities/{id}/sessions`.
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionQuery {
    /// Only overstaying sessions.
    #[serde(default)]
    pub overstay: bool,
}

/// Query of `GET /v1/admin/alerts`: a page of the current alerts, unacknowledged first, then newest.
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// Alerts in the page: 1 to 500 [default: 200].
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    pub limit: Option<u32>,
    /// Alerts skipped before the page [default: 0].
    #[serde(default)]
    pub offset: Option<u32>,
}

/// Body of `PUT /v1/permit-pools/{id}`.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolLimit {
    /// Vehicles of the pool's permits allowed inside one facility at once.
    pub limit: u32,
    /// The operator a new pool belongs to: a manager's own (the default), or one an admin names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

// ----- reservations -------------------------------------------------------------------------------

/// Body of `POST /v1/reservations`: one spot, or `count` spots for a group (all or nothing).
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservationRequest {
    pub facility: String,
    pub plate: String,
    pub vehicle_class: VehicleClass,
    #[serde(default)]
    pub electric: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub start: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub end: Timestamp,
    /// A particular spot; by default the best free one for the window.
    #[serde(default)]
    pub spot: Option<String>,
    /// Book this many spots at once (a group for an event); each gets the same plate until changed.
    #[serde(default)]
    pub count: Option<u32>,
}

/// Body of `PUT /v1/reservations/{id}`: a new window for the same spot.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservationWindow {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub start: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub end: Timestamp,
}

// ----- attendant overrides ------------------------------------------------------------------------

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideAction {
    /// Lift the barrier without a decision (an emergency, a broken reader).
    OpenGate,
    /// End a session without charge, releasing its spot.
    VoidSession,
    /// Correct the plate recorded for a session.
    SetPlate,
}

impl OverrideAction {
    pub const fn as_str(self) -> &'static str {
        match self {
            OverrideAction::OpenGate => "open_gate",
            OverrideAction::VoidSession => "void_session",
            OverrideAction::SetPlate => "set_plate",
        }
    }
}

/// Body of `POST /v1/gates/{gate}/overrides`. Every override needs a reason and is recorded.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideRequest {
    pub action: OverrideAction,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub reason: String,
    /// The session (id or ticket) for `void_session` and `set_plate`.
    #[serde(default)]
    pub session: Option<String>,
    /// The corrected plate for `set_plate`.
    #[serde(default)]
    pub plate: Option<String>,
    /// Who opens, when a kiosk asks on behalf of the attendant at its lane (kiosks may only open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub attendant: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverrideOutcome {
    pub action: OverrideAction,
    pub gate: String,
    /// `open` when the barrier lifts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<GateCommand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

// ----- real-time stream ---------------------------------------------------------------------------

/// What a client sends on `GET /v1/stream`.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum StreamRequest {
    /// Follow a facility. With `since` (the last sequence number seen), the server replays what was
    /// missed, in order, or sends a snapshot when the gap is too old.
    Subscribe {
        facility: String,
        #[serde(default)]
        since: Option<u64>,
        /// Only changes on this level.
        #[serde(default)]
        level: Option<i16>,
        /// Only changes in this zone (its code, as in `2A-015`'s `A`); with `level` for one floor's zone.
        #[serde(default)]
        zone: Option<String>,
        /// Only spots becoming free that a plain vehicle of this class may use: "tell me when a spot
        /// for my car frees up". Sequence numbers then skip the changes left out. A signed-in person
        /// watching is also told, with nearby alternatives, when the facility is nearly full.
        #[serde(default)]
        watch: Option<VehicleClass>,
        /// The signed-in person is driving here in a vehicle of this class: they are told, with nearby
        /// alternatives that fit it, if the facility becomes nearly full (95%).
        #[serde(default)]
        navigating: Option<VehicleClass>,
    },
    Unsubscribe {
        facility: String,
    },
}

/// What the server sends on `GET /v1/stream`. Each facility's sequence numbers only grow; a client
/// that applies messages in order never sees a gap or a duplicate.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamMessage {
    /// The whole picture as of `seq`; later messages follow from it.
    Snapshot { facility: String, seq: u64, availability: Availability },
    /// One spot changed state; `counts` are the facility's totals after the change.
    Spot { facility: String, seq: u64, spot: String, state: SpotState, counts: SpotCounts },
    /// A sensor has been silent too long (`silent: true`; the spot's state may be out of date), or
    /// reports again (`silent: false`).
    SensorSilent { facility: String, seq: u64, spot: String, silent: bool },
    /// A notice for the signed-in person (sent to people's connections without subscribing).
    Notice { notice: Notice },
    /// A request could not be served; `facility`, the one a refused subscription named.
    Error {
        code: crate::ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        facility: Option<String>,
    },
}

/// Something a person should know now.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub id: i64,
    /// `entry_confirmed`, `reservation_reminder`, `payment_reminder`, `overstay`, `no_show` or
    /// `nearly_full`.
    pub kind: String,
    /// The reservation or session it is about.
    pub subject: String,
    /// For people: one short sentence.
    pub text: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// For `nearly_full`: nearby places with room for the person's vehicle, nearest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<Alternative>,
}

/// A place to go instead.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alternative {
    pub facility: String,
    pub name: String,
    /// From the full facility, straight line.
    pub distance_m: u32,
    /// Free spots the vehicle fits, when the notice was sent.
    pub free: u32,
}

impl StreamMessage {
    /// The sequence number a message carries, if it belongs to a facility's sequence.
    pub fn seq(&self) -> Option<u64> {
        match self {
            StreamMessage::Snapshot { seq, .. }
            | StreamMessage::Spot { seq, .. }
            | StreamMessage::SensorSilent { seq, .. } => Some(*seq),
            StreamMessage::Notice { .. } | StreamMessage::Error { .. } => None,
        }
    }
}

// ----- the managers' console: alerts and revenue ---------------------------------------------------

/// What an alert is about.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A spot's sensor has been silent too long: its state may be out of date.
    SensorOffline,
    /// A facility is above 95% of its usable spots.
    CapacityHigh,
    /// A vehicle inside past its reservation or the longest stay.
    Overstay,
    /// A busy gate that has not opened for five minutes in business hours.
    GateIdle,
    /// A gate's plate reads are much less confident than usual.
    LprConfidence,
    /// A reservation whose driver did not come (last 24 hours).
    NoShow,
    /// More than 2% of a facility's card charges through one provider failed (declined or the provider
    /// erred) in the last hour, of at least ten.
    PaymentFailures,
    /// Fewer than 95% of a gate's plate reads stood in the last seven days (staff corrected the rest),
    /// of at least twenty.
    LprAccuracy,
}

/// Something staff should look at, computed from the live state. `id` names one occurrence, so an
/// acknowledgement covers it and a recurrence is a new alert.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    pub kind: AlertKind,
    pub facility: String,
    /// The spot, session or day it is about.
    pub subject: String,
    /// One sentence for staff.
    pub text: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub since: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Acknowledgement>,
}

/// Who acknowledged an alert, when, and what they noted.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub note: String,
    /// The staff member's email.
    pub by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
}

/// Body of `POST /v1/admin/alerts/{id}/acknowledgement`.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeAlert {
    /// What was done or why it can wait (1 to 500 characters).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub note: String,
}

/// Query of `POST /v1/facilities`: the operator a new facility belongs to (admins name one; a
/// manager's is their own).
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorQuery {
    #[serde(default)]
    pub operator: Option<String>,
}

/// Query of `GET /v1/admin/revenue`: local calendar days, both ends included (at most 366 days).
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevenueQuery {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    #[cfg_attr(feature = "openapi", param(value_type = String, format = Date))]
    pub from: jiff::civil::Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    #[cfg_attr(feature = "openapi", param(value_type = String, format = Date))]
    pub to: jiff::civil::Date,
}

/// Money taken on one local day at one facility by one payment method.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevenueRow {
    /// The facility's local calendar day.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: jiff::civil::Date,
    pub facility: String,
    /// `card`, `lane`, `wallet`, ...
    pub method: String,
    pub currency: String,
    /// Payments taken, minor units.
    pub taken_minor: i64,
    /// Refunds given back of those payments (on the day of the refund), minor units.
    pub refunded_minor: i64,
    /// How many payments.
    pub payments: u32,
}

/// How full a facility was in one five-minute slot.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OccupancySample {
    /// Start of the slot.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// Occupied and held spots.
    pub taken: u32,
    /// Free, occupied and held spots (closed ones left out).
    pub in_service: u32,
}

impl OccupancySample {
    /// Taken spots per thousand in service.
    pub fn permille(&self) -> u16 {
        (u64::from(self.taken) * 1000).checked_div(u64::from(self.in_service)).unwrap_or(0).min(1000) as u16
    }
}

/// Query of `GET /v1/admin/facilities/{id}/occupancy`: at most 62 days.
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OccupancyQuery {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[cfg_attr(feature = "openapi", param(value_type = String, format = DateTime))]
    pub from: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[cfg_attr(feature = "openapi", param(value_type = String, format = DateTime))]
    pub to: Timestamp,
}

/// A facility's occupancy samples, oldest first.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OccupancyHistory {
    pub facility: String,
    pub time_zone: String,
    pub samples: Vec<OccupancySample>,
}

/// Query of `GET /v1/admin/sessions`: a plate (matched by its blind index, never stored in the clear) or a
/// ticket; the newest 50 stays, active or finished.
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSearch {
    pub plate: Option<String>,
    pub ticket: Option<String>,
}

/// One stay from entry to exit, with every money movement and attendant override on it, in order.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionTimeline {
    pub session: SessionView,
    pub entry_gate: String,
    #[serde(default)]
    pub exit_gate: Option<String>,
    /// Where the lane keeps the plate images (references, not images).
    #[serde(default)]
    pub entry_image: Option<String>,
    #[serde(default)]
    pub exit_image: Option<String>,
    pub events: Vec<TimelineEvent>,
}

#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEvent {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// `entered`, `charge`, `payment`, `refund`, `adjustment`, `override`, `left`.
    pub kind: String,
    pub text: String,
    #[serde(default)]
    pub amount_minor: Option<i64>,
    /// For a payment: its id, to refund it or fetch its receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<String>,
}

/// Query of `GET /v1/admin/audit`: records after `after` (a sequence number), oldest first; or with
/// `newest`, the latest records, newest first.
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default)]
    pub after: i64,
    /// 1..=500 (default 100).
    pub limit: Option<u32>,
    #[serde(default)]
    pub newest: bool,
}

/// One link of the audit chain (its content stays on the server).
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// `ledger` or `override`.
    pub kind: String,
    /// The ledger entry's key or the override's id.
    pub ref_id: String,
    pub hash: String,
}

/// The whole chain checked against itself and against the ledger.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerification {
    pub ok: bool,
    pub records: u64,
    pub ledger_entries: u64,
    /// Every problem found, by position.
    pub problems: Vec<String>,
}

/// Every permit, and each pool's size (`(pool, places)`).
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermitList {
    pub permits: Vec<parkline_domain::permit::Permit>,
    pub pools: Vec<PoolView>,
}

/// A permit pool: how many of its permits' vehicles may be inside at once.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolView {
    pub id: String,
    pub limit: u32,
}

/// The ledger read end to end: what each account holds, and what in it should not be there.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceCheck {
    /// How many ledger entries were read.
    pub entries: u64,
    /// Every account holding money or owing it, by user and currency.
    pub accounts: Vec<AccountBalance>,
    /// Empty when the books are right.
    pub problems: Vec<BalanceProblem>,
}

/// One person's account in one currency: positive they hold money, negative they owe it.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountBalance {
    pub user: i64,
    /// None for an account no longer on record.
    pub role: Option<Role>,
    pub currency: String,
    pub minor: i64,
}

/// Something the ledger holds that the payment rules never write.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceProblem {
    /// Stable: `staff_account` (staff or an admin hold money; accounts are drivers'),
    /// `refund_to_someone_else` (a refund credits someone other than the payer),
    /// `refund_beyond_payment`, `refund_without_payment`, `refund_in_another_currency`.
    pub code: String,
    /// The ledger entry (its key) the problem is in, if it is one entry's.
    pub entry: Option<String>,
    pub user: Option<i64>,
    pub message: String,
}

/// A finished stay that left without paying all it owed (a lane let it out offline, or an attendant did).
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenBalance {
    pub session: String,
    pub facility: String,
    pub ticket: String,
    pub currency: String,
    /// Charged, less payments, validations and adjustments, plus refunds: what is still owed.
    pub owed_minor: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub exited_at: Timestamp,
}
