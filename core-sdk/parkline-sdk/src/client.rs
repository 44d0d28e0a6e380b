//! The typed API client.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use jiff::Timestamp;
use parkline_domain::VehicleClass;
use parkline_domain::permit::Permit;
use parkline_domain::pricing::{Quote, RatePlan};
use parkline_domain::reservation::Reservation;
use parkline_protocol::{
    AccountView, ApiError, ApplyValidation, Availability, BestSpots, ConfirmSignup, FacilityDetail,
    FacilityPage, FacilitySummary, GateDecision, GateEvent, GrantRequest, GrantView, IssuedSecret,
    LayoutView, LoginRequest, Me, MyData, NewDevice, Notice, OAuthError, OAuthToken, OverrideOutcome,
    OverrideRequest, PartnerCharge, PaymentRequest, Receipt, RefreshRequest, RefundRequest,
    ReservationRequest, ReservationWindow, SessionView, SignupStarted, TokenResponse, TopUpRequest,
    ValidationRequest, WebhookRequest, WebhookView,
};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cache::{Cache, Cached};
use crate::error::{Error, Result};

/// A place near a point as a map or navigation app shows it: the facility with its live counts, and what
/// a stay there would cost. Parkline's own shapes (`FacilitySummary`, `Quote`), not APDS's.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub facility: FacilitySummary,
    /// The price of the stay asked about; none where the facility has no rates or the quote failed.
    pub quote: Option<Quote>,
}

/// Attempts for a call that is safe to repeat.
const ATTEMPTS: u32 = 3;

/// A Parkline API client. Cheap to clone; clones share the token and the cache.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// Headers added to every request, computed at the time of the request (a trace context, say).
pub type HeadersHook = Arc<dyn Fn() -> Vec<(String, String)> + Send + Sync>;

struct Inner {
    http: reqwest::Client,
    base: String,
    token: RwLock<Option<String>>,
    cache: Option<Cache>,
    headers: RwLock<Option<HeadersHook>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base).finish_non_exhaustive()
    }
}

impl Client {
    /// A client of the server at `base_url` (`http://host:port`), with an offline cache if given.
    pub fn new(base_url: &str, cache: Option<Cache>) -> Result<Client> {
        // reqwest is built without a bundled TLS crypto provider: use ring's.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::Protocol(e.to_string()))?;
        let base = base_url.trim_end_matches('/').to_owned();
        let (token, headers) = (RwLock::new(None), RwLock::new(None));
        Ok(Client { inner: Arc::new(Inner { http, base, token, cache, headers }) })
    }

    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// Uses this bearer token (a person's access token, a device token or an API key) from now on.
    pub fn set_token(&self, token: Option<String>) {
        *self.inner.token.write().unwrap_or_else(|p| p.into_inner()) = token;
    }

    /// Adds the headers `hook` gives, asked afresh for each request: the kiosk sends its span's W3C
    /// trace context this way, so the server's spans join the lane's trace.
    pub fn set_headers_hook(&self, hook: Option<HeadersHook>) {
        *self.inner.headers.write().unwrap_or_else(|p| p.into_inner()) = hook;
    }

    pub fn token(&self) -> Option<String> {
        self.inner.token.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn cache(&self) -> Option<&Cache> {
        self.inner.cache.as_ref()
    }

    /// A fresh idempotency key for a call that changes something.
    pub fn new_key() -> String {
        let bytes: [u8; 16] = rand::random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// One call; `retry` repeats it on transient failures (only for calls that are safe to repeat: reads
    /// and calls with an idempotency key).
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + Sync)>,
        key: Option<&str>,
        retry: bool,
    ) -> Result<T> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.call_once(method.clone(), path, body, key).await {
                Err(e) if retry && e.is_transient() && attempt < ATTEMPTS => {
                    let base = 200u64 << (attempt - 1);
                    tokio::time::sleep(Duration::from_millis(base + rand::random_range(0..base / 2))).await;
                }
                other => return other,
            }
        }
    }

    async fn call_once<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + Sync)>,
        key: Option<&str>,
    ) -> Result<T> {
        let mut req = self.inner.http.request(method, format!("{}{path}", self.inner.base));
        if let Some(token) = self.token() {
            req = req.bearer_auth(token);
        }
        if let Some(key) = key {
            req = req.header("idempotency-key", key);
        }
        let hook = self.inner.headers.read().unwrap_or_else(|p| p.into_inner()).clone();
        for (name, value) in hook.map(|hook| hook()).unwrap_or_default() {
            req = req.header(name, value);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let response = req.send().await.map_err(|e| Error::Offline(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| Error::Offline(e.to_string()))?;
        if !(200..300).contains(&status) {
            return Err(match serde_json::from_slice::<ApiError>(&bytes) {
                Ok(e) => Error::Server { status, code: e.code, message: e.message },
                Err(_) => Error::Protocol(format!("HTTP {status}")),
            });
        }
        let bytes = if bytes.is_empty() { &b"null"[..] } else { &bytes[..] };
        serde_json::from_slice(bytes).map_err(|e| Error::Protocol(e.to_string()))
    }

    /// A read that falls back to the cache when the server cannot be reached.
    async fn cached<T: DeserializeOwned + Serialize>(&self, key: &str, path: &str) -> Result<Cached<T>> {
        match self.call::<T>(Method::GET, path, None::<&()>, None, true).await {
            Ok(value) => {
                let now = Timestamp::now();
                if let Some(cache) = self.cache() {
                    cache.put(key, &value, now)?;
                }
                Ok(Cached { value, fetched_at: now, offline: false })
            }
            Err(e) if e.is_transient() => match self.cache() {
                Some(cache) => cache.get(key)?.ok_or(Error::NotCached),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Signs a person in; the client uses their access token from now on.
    pub async fn login(&self, email: &str, password: &str) -> Result<TokenResponse> {
        let body = LoginRequest { email: email.to_owned(), password: password.to_owned() };
        let tokens: TokenResponse =
            self.call(Method::POST, "/v1/auth/login", Some(&body), None, true).await?;
        self.set_token(Some(tokens.access_token.clone()));
        Ok(tokens)
    }

    /// Starts making a driver's account: the server mails a code to the address (or, if it has an
    /// account, a note saying so; the answer does not tell which). [`Client::confirm_sign_up`] finishes.
    pub async fn sign_up(&self, email: &str, password: &str) -> Result<SignupStarted> {
        let body = LoginRequest { email: email.to_owned(), password: password.to_owned() };
        // Not retried: a second attempt would mail a second code.
        self.call(Method::POST, "/v1/auth/signup", Some(&body), None, false).await
    }

    /// Finishes a sign-up with the code from the mail, and signs the new driver in.
    pub async fn confirm_sign_up(&self, email: &str, code: &str) -> Result<TokenResponse> {
        let body = ConfirmSignup { email: email.to_owned(), code: code.to_owned() };
        let tokens: TokenResponse =
            self.call(Method::POST, "/v1/auth/signup/confirm", Some(&body), None, false).await?;
        self.set_token(Some(tokens.access_token.clone()));
        Ok(tokens)
    }

    /// Every facility with live counts (the first 200), or the cached list when offline.
    pub async fn facilities(&self) -> Result<Cached<Vec<FacilitySummary>>> {
        let page: Cached<FacilityPage> = self.cached("facilities", "/v1/facilities?limit=200").await?;
        Ok(Cached { value: page.value.facilities, fetched_at: page.fetched_at, offline: page.offline })
    }

    /// Facilities within `radius_m` of a point, nearest first: from the server, or computed from the
    /// cached list when offline.
    pub async fn nearby(&self, lat: f64, lon: f64, radius_m: f64) -> Result<Cached<Vec<FacilitySummary>>> {
        let path = format!("/v1/facilities?lat={lat}&lon={lon}&radius_m={radius_m}");
        match self.call::<FacilityPage>(Method::GET, &path, None::<&()>, None, true).await {
            Ok(page) => Ok(Cached { value: page.facilities, fetched_at: Timestamp::now(), offline: false }),
            Err(e) if e.is_transient() => {
                let cache = self.cache().ok_or(e)?;
                let all: Cached<FacilityPage> = cache.get("facilities")?.ok_or(Error::NotCached)?;
                let value = near(all.value.facilities, lat, lon, radius_m);
                Ok(Cached { value, fetched_at: all.fetched_at, offline: true })
            }
            Err(e) => Err(e),
        }
    }

    /// A facility with its live counts and predicted availability (when it usually fills up, the free
    /// spots forecast for the next hours and at `arrival`), or the cached one when offline.
    pub async fn facility(
        &self,
        facility: &str,
        arrival: Option<Timestamp>,
    ) -> Result<Cached<FacilityDetail>> {
        let path = match arrival {
            Some(at) => format!("/v1/facilities/{facility}?arrival={at}"),
            None => format!("/v1/facilities/{facility}"),
        };
        self.cached(&format!("facility:{facility}"), &path).await
    }

    /// A facility's live availability per floor and zone, or the cached one when offline.
    pub async fn availability(&self, facility: &str) -> Result<Cached<Availability>> {
        self.cached(&format!("availability:{facility}"), &format!("/v1/facilities/{facility}/availability"))
            .await
    }

    /// A vehicle at a gate (kiosks). Retried safely: the event id is its idempotency key.
    pub async fn gate_event(&self, gate: &str, event: &GateEvent) -> Result<GateDecision> {
        self.call(Method::POST, &format!("/v1/gates/{gate}/events"), Some(event), None, true).await
    }

    /// An active stay by its ticket, with what it costs now; offline, the last one seen.
    pub async fn ticket(&self, ticket: &str) -> Result<SessionView> {
        Ok(self.ticket_cached(ticket).await?.value)
    }

    /// [`Client::ticket`], saying whether it came from the cache and how old it is.
    pub async fn ticket_cached(&self, ticket: &str) -> Result<Cached<SessionView>> {
        self.cached(&format!("ticket:{ticket}"), &format!("/v1/tickets/{ticket}")).await
    }

    /// Pays for a stay; `key` makes retries safe (use [`Client::new_key`] once per payment).
    pub async fn pay(&self, ticket: &str, payment: &PaymentRequest, key: &str) -> Result<Receipt> {
        self.call(Method::POST, &format!("/v1/tickets/{ticket}/payments"), Some(payment), Some(key), true)
            .await
    }

    /// Books a spot (or several). With a `key` ([`Client::new_key`], kept across retries) a retry
    /// returns the reservations the first attempt made, and the call is retried on transient failures.
    pub async fn book(&self, request: &ReservationRequest, key: Option<&str>) -> Result<Vec<Reservation>> {
        self.call(Method::POST, "/v1/reservations", Some(request), key, key.is_some()).await
    }

    /// The signed-in person's account.
    pub async fn account(&self) -> Result<AccountView> {
        self.call(Method::GET, "/v1/me/account", None::<&()>, None, true).await
    }

    /// Swaps a refresh token for new tokens (and uses the new access token).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenResponse> {
        let body = RefreshRequest { refresh_token: refresh_token.to_owned() };
        let tokens: TokenResponse =
            self.call(Method::POST, "/v1/auth/refresh", Some(&body), None, false).await?;
        self.set_token(Some(tokens.access_token.clone()));
        Ok(tokens)
    }

    /// Who the token belongs to.
    pub async fn me(&self) -> Result<Me> {
        self.call(Method::GET, "/v1/me", None::<&()>, None, true).await
    }

    /// A facility's layout (floors, zones, spots with coordinates), cached for offline use.
    pub async fn layout(&self, facility: &str) -> Result<Cached<LayoutView>> {
        self.cached(&format!("layout:{facility}"), &format!("/v1/facilities/{facility}/layout")).await
    }

    /// The best free spots for a vehicle now.
    pub async fn best_spots(&self, facility: &str, class: VehicleClass, electric: bool) -> Result<BestSpots> {
        let path = format!(
            "/v1/facilities/{facility}/best-spots?vehicle_class={}&electric={electric}",
            class.as_str()
        );
        self.call(Method::GET, &path, None::<&()>, None, true).await
    }

    /// Places within `radius_m` of a point, nearest first, each with what a car's (a sedan's) stay of
    /// `stay` from now costs there: one call for the places, then their quotes side by side.
    pub async fn places_nearby(
        &self,
        lat: f64,
        lon: f64,
        radius_m: f64,
        stay: jiff::SignedDuration,
    ) -> Result<Vec<Place>> {
        let near = self.nearby(lat, lon, radius_m).await?.value;
        let from = Timestamp::now();
        let to = from + stay;
        let quotes = near.iter().map(|f| self.quote(&f.id, VehicleClass::Sedan, from, to));
        let quotes = futures_util::future::join_all(quotes).await;
        Ok(near
            .into_iter()
            .zip(quotes)
            .map(|(facility, quote)| Place { facility, quote: quote.ok() })
            .collect())
    }

    /// Signs a partner in with OAuth 2.0 client credentials (its API key's id and the key, optionally
    /// narrowed to `scope`); the client uses the access token from now on.
    pub async fn partner_sign_in(
        &self,
        client_id: &str,
        secret: &str,
        scope: Option<&str>,
    ) -> Result<OAuthToken> {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend(scope.map(|s| ("scope", s)));
        let url = format!("{}/v1/oauth/token", self.inner.base);
        let req = self.inner.http.post(url).basic_auth(client_id, Some(secret)).form(&form);
        let response = req.send().await.map_err(|e| Error::Offline(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| Error::Offline(e.to_string()))?;
        if !(200..300).contains(&status) {
            let e = serde_json::from_slice::<OAuthError>(&bytes)
                .map_err(|_| Error::Protocol(format!("HTTP {status}")))?;
            let code = match e.error.as_str() {
                "invalid_client" => parkline_protocol::ErrorCode::Unauthenticated,
                _ => parkline_protocol::ErrorCode::ValidationFailed,
            };
            return Err(Error::Server {
                status,
                code,
                message: format!("{}: {}", e.error, e.error_description),
            });
        }
        let token: OAuthToken = serde_json::from_slice(&bytes).map_err(|e| Error::Protocol(e.to_string()))?;
        self.set_token(Some(token.access_token.clone()));
        Ok(token)
    }

    /// Grants a plate entry (partners with the `grants` scope): the stay is billed to the partner.
    pub async fn grant(&self, request: &GrantRequest) -> Result<GrantView> {
        self.call(Method::POST, "/v1/partner/grants", Some(request), None, false).await
    }

    /// The partner's grants in force.
    pub async fn grants(&self) -> Result<Vec<GrantView>> {
        self.call(Method::GET, "/v1/partner/grants", None::<&()>, None, true).await
    }

    /// Revokes one of the partner's grants.
    pub async fn revoke_grant(&self, id: &str) -> Result<()> {
        self.call(Method::DELETE, &format!("/v1/partner/grants/{id}"), None::<&()>, None, true).await
    }

    /// The stays the partner's grants let in, as billed to it.
    pub async fn partner_charges(&self) -> Result<Vec<PartnerCharge>> {
        self.call(Method::GET, "/v1/partner/charges", None::<&()>, None, true).await
    }

    /// An itemised price for a planned stay.
    pub async fn quote(
        &self,
        facility: &str,
        class: VehicleClass,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Quote> {
        let path =
            format!("/v1/facilities/{facility}/quote?vehicle_class={}&from={from}&to={to}", class.as_str());
        self.call(Method::GET, &path, None::<&()>, None, true).await
    }

    /// A facility's rate plan.
    pub async fn rates(&self, facility: &str) -> Result<RatePlan> {
        self.call(Method::GET, &format!("/v1/facilities/{facility}/rates"), None::<&()>, None, true).await
    }

    /// Replaces a facility's rate plan (managers).
    pub async fn set_rates(&self, facility: &str, plan: &RatePlan) -> Result<()> {
        self.call(Method::PUT, &format!("/v1/facilities/{facility}/rates"), Some(plan), None, true).await
    }

    /// The vehicles inside a facility (staff).
    pub async fn sessions(&self, facility: &str, overstay_only: bool) -> Result<Vec<SessionView>> {
        let path = format!("/v1/facilities/{facility}/sessions?overstay={overstay_only}");
        self.call(Method::GET, &path, None::<&()>, None, true).await
    }

    /// An attendant's override at a gate, with its reason.
    pub async fn override_gate(&self, gate: &str, request: &OverrideRequest) -> Result<OverrideOutcome> {
        self.call(Method::POST, &format!("/v1/gates/{gate}/overrides"), Some(request), None, false).await
    }

    /// A reservation (the person's own, or any for staff); offline, the last one seen.
    pub async fn reservation(&self, id: &str) -> Result<Cached<Reservation>> {
        self.cached(&format!("reservation:{id}"), &format!("/v1/reservations/{id}")).await
    }

    /// The signed-in person's reservations, newest first; offline, the last list seen.
    pub async fn my_reservations(&self) -> Result<Cached<Vec<Reservation>>> {
        self.cached("my-reservations", "/v1/me/reservations").await
    }

    /// A permit (staff); offline, the last one seen.
    pub async fn permit(&self, id: &str) -> Result<Cached<Permit>> {
        self.cached(&format!("permit:{id}"), &format!("/v1/permits/{id}")).await
    }

    /// The signed-in person's account; offline, the last one seen.
    pub async fn account_cached(&self) -> Result<Cached<AccountView>> {
        self.cached("account", "/v1/me/account").await
    }

    /// Moves a reservation to a new window.
    pub async fn modify_reservation(&self, id: &str, window: &ReservationWindow) -> Result<Reservation> {
        self.call(Method::PUT, &format!("/v1/reservations/{id}"), Some(window), None, true).await
    }

    /// Cancels a reservation (a late cancellation owes the fee).
    pub async fn cancel_reservation(&self, id: &str) -> Result<Reservation> {
        self.call(Method::DELETE, &format!("/v1/reservations/{id}"), None::<&()>, None, true).await
    }

    /// Applies a merchant's validation code to a ticket.
    pub async fn validate_ticket(&self, ticket: &str, code: &str) -> Result<SessionView> {
        let body = ApplyValidation { code: code.to_owned() };
        self.call(Method::POST, &format!("/v1/tickets/{ticket}/validations"), Some(&body), None, true).await
    }

    /// Creates a merchant validation code (managers).
    pub async fn create_validation(
        &self,
        request: &ValidationRequest,
    ) -> Result<parkline_protocol::ValidationCode> {
        self.call(Method::POST, "/v1/validations", Some(request), None, false).await
    }

    /// A receipt by payment or refund id.
    pub async fn receipt(&self, id: &str) -> Result<Receipt> {
        self.call(Method::GET, &format!("/v1/payments/{id}"), None::<&()>, None, true).await
    }

    /// Refunds part of a payment (managers); `key` makes retries safe.
    pub async fn refund(&self, payment: &str, request: &RefundRequest, key: &str) -> Result<Receipt> {
        self.call(Method::POST, &format!("/v1/payments/{payment}/refunds"), Some(request), Some(key), true)
            .await
    }

    /// Adds money to the signed-in person's account; `key` makes retries safe.
    pub async fn top_up(&self, request: &TopUpRequest, key: &str) -> Result<Receipt> {
        self.call(Method::POST, "/v1/me/account/top-ups", Some(request), Some(key), true).await
    }

    /// Everything the server holds about the signed-in person.
    pub async fn my_data(&self) -> Result<MyData> {
        self.call(Method::GET, "/v1/me/data", None::<&()>, None, true).await
    }

    /// Issues a permit (managers).
    pub async fn create_permit(&self, permit: &Permit) -> Result<()> {
        self.call(Method::POST, "/v1/permits", Some(permit), None, false).await
    }

    /// Revokes a permit (managers).
    pub async fn revoke_permit(&self, id: &str) -> Result<()> {
        self.call(Method::DELETE, &format!("/v1/permits/{id}"), None::<&()>, None, true).await
    }

    /// Issues a device token (a kiosk, a sensor gateway), shown once.
    pub async fn create_device(&self, device: &NewDevice) -> Result<IssuedSecret> {
        self.call(Method::POST, "/v1/admin/devices", Some(device), None, false).await
    }

    /// Registers a webhook endpoint (partners, through managers); its secret is in the answer, once.
    pub async fn create_webhook(&self, request: &WebhookRequest) -> Result<WebhookView> {
        self.call(Method::POST, "/v1/webhooks", Some(request), None, false).await
    }

    pub async fn webhooks(&self) -> Result<Vec<WebhookView>> {
        self.call(Method::GET, "/v1/webhooks", None::<&()>, None, true).await
    }

    /// The signed-in person's latest notices.
    pub async fn notices(&self) -> Result<Vec<Notice>> {
        self.call(Method::GET, "/v1/me/notices", None::<&()>, None, true).await
    }

    /// Current alerts across facilities (managers), or the cached ones when offline.
    pub async fn alerts(&self) -> Result<Cached<Vec<parkline_protocol::Alert>>> {
        self.cached("alerts", "/v1/admin/alerts").await
    }

    /// Acknowledges an alert with a note (managers). Safe to repeat: the first acknowledgement stands.
    pub async fn acknowledge_alert(
        &self,
        id: &str,
        note: &str,
    ) -> Result<parkline_protocol::Acknowledgement> {
        let body = parkline_protocol::AcknowledgeAlert { note: note.to_owned() };
        let path = format!("/v1/admin/alerts/{}/acknowledgement", encode(id));
        self.call(Method::POST, &path, Some(&body), None, true).await
    }

    /// Money taken per local day, facility and method from `from` to `to` (managers), or the cached
    /// report when offline.
    pub async fn revenue(
        &self,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<Cached<Vec<parkline_protocol::RevenueRow>>> {
        self.cached(&format!("revenue:{from}:{to}"), &format!("/v1/admin/revenue?from={from}&to={to}")).await
    }

    /// A facility's occupancy samples from `from` to `to` (managers), or the last ones fetched when offline.
    pub async fn occupancy(
        &self,
        facility: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Cached<parkline_protocol::OccupancyHistory>> {
        let path = format!("/v1/admin/facilities/{facility}/occupancy?from={from}&to={to}");
        self.cached(&format!("occupancy:{facility}"), &path).await
    }

    /// Stays of a plate or with a ticket, newest first, with their timelines (managers).
    pub async fn find_sessions(
        &self,
        search: &parkline_protocol::SessionSearch,
    ) -> Result<Vec<parkline_protocol::SessionTimeline>> {
        let mut query = Vec::new();
        if let Some(plate) = &search.plate {
            query.push(format!("plate={}", encode(plate)));
        }
        if let Some(ticket) = &search.ticket {
            query.push(format!("ticket={}", encode(ticket)));
        }
        self.call(Method::GET, &format!("/v1/admin/sessions?{}", query.join("&")), None::<&()>, None, true)
            .await
    }

    /// Records of the audit chain after `after`, or the newest ones (managers).
    pub async fn audit(
        &self,
        q: &parkline_protocol::AuditQuery,
    ) -> Result<Vec<parkline_protocol::AuditRecord>> {
        let limit = q.limit.map(|l| format!("&limit={l}")).unwrap_or_default();
        let path = format!("/v1/admin/audit?after={}&newest={}{limit}", q.after, q.newest);
        self.call(Method::GET, &path, None::<&()>, None, true).await
    }

    /// Checks the whole audit chain against itself and the ledger (managers).
    pub async fn verify_audit(&self) -> Result<parkline_protocol::AuditVerification> {
        self.call(Method::POST, "/v1/admin/audit/verification", None::<&()>, None, true).await
    }

    /// Every device, newest first (managers).
    pub async fn devices(&self) -> Result<Vec<parkline_protocol::DeviceView>> {
        self.call(Method::GET, "/v1/admin/devices", None::<&()>, None, true).await
    }

    /// Revokes a device's token (managers).
    pub async fn revoke_device(&self, id: i64) -> Result<()> {
        self.call(Method::DELETE, &format!("/v1/admin/devices/{id}"), None::<&()>, None, true).await
    }

    /// The accounts within the caller's reach: all for admins, the operator's staff for its managers.
    pub async fn users(&self) -> Result<Vec<parkline_protocol::UserView>> {
        self.call(Method::GET, "/v1/admin/users", None::<&()>, None, true).await
    }

    /// Creates an account (staff for the manager's operator, or any account by admins); returns its id.
    pub async fn create_user(&self, user: &parkline_protocol::NewUser) -> Result<i64> {
        self.call(Method::POST, "/v1/admin/users", Some(user), None, false).await
    }

    /// Limits a staff member to some of the operator's facilities (empty: all of them).
    pub async fn set_staff_facilities(&self, user: i64, facilities: &[String]) -> Result<()> {
        let body = parkline_protocol::StaffFacilities { facilities: facilities.to_vec() };
        self.call(Method::PUT, &format!("/v1/admin/users/{user}/facilities"), Some(&body), None, true).await
    }

    /// The operators the caller works within: every one for admins, their own for staff.
    pub async fn operators(&self) -> Result<Vec<parkline_protocol::OperatorView>> {
        self.call(Method::GET, "/v1/admin/operators", None::<&()>, None, true).await
    }

    /// Every permit and the pools' sizes (managers).
    pub async fn permits(&self) -> Result<parkline_protocol::PermitList> {
        self.call(Method::GET, "/v1/permits", None::<&()>, None, true).await
    }

    /// Creates or resizes a permit pool (managers).
    pub async fn set_pool(&self, id: &str, limit: u32) -> Result<()> {
        let path = format!("/v1/permit-pools/{}", encode(id));
        self.call(
            Method::PUT,
            &path,
            Some(&parkline_protocol::PoolLimit { limit, operator: None }),
            None,
            true,
        )
        .await
    }

    /// Imports a facility layout (managers).
    pub async fn import_facility(
        &self,
        layout: &parkline_domain::LayoutFile,
        operator: Option<&str>,
    ) -> Result<()> {
        let path = match operator {
            Some(op) => format!("/v1/facilities?operator={}", encode(op)),
            None => "/v1/facilities".to_owned(),
        };
        self.call(Method::POST, &path, Some(layout), None, false).await
    }

    /// A batch of sensor readings (sensor gateways): all applied, or none when one is invalid.
    pub async fn report_sensors(
        &self,
        batch: &parkline_protocol::SensorBatch,
    ) -> Result<parkline_protocol::IngestReport> {
        // Retrying is safe: a reading seen twice is a duplicate, and changes nothing.
        self.call(Method::POST, "/v1/sensors/events", Some(batch), None, true).await
    }

    /// Finished stays that still owe money (managers).
    pub async fn open_balances(&self) -> Result<Vec<parkline_protocol::OpenBalance>> {
        self.call(Method::GET, "/v1/admin/balances", None::<&()>, None, true).await
    }

    /// Closes a spot (out of service) or reopens it (managers).
    pub async fn set_spot_service(&self, facility: &str, spot: &str, out_of_service: bool) -> Result<()> {
        let body = parkline_protocol::SpotServiceChange { out_of_service };
        let path = format!("/v1/facilities/{facility}/spots/{}/service", encode(spot));
        self.call(Method::PUT, &path, Some(&body), None, true).await
    }
}

/// Percent-encodes a path segment or query value (ids may hold `:`, plates spaces): nothing breaks out.
fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The facilities within `radius_m` of a point, nearest first, with their distance (great circle).
fn near(all: Vec<FacilitySummary>, lat: f64, lon: f64, radius_m: f64) -> Vec<FacilitySummary> {
    use geo::{Distance, Haversine, Point};
    let here = Point::new(lon, lat);
    let mut found: Vec<FacilitySummary> = all
        .into_iter()
        .map(|mut f| {
            f.distance_m = Some(Haversine.distance(here, Point::new(f.location.lon, f.location.lat)));
            f
        })
        .filter(|f| f.distance_m.is_some_and(|d| d <= radius_m))
        .collect();
    found.sort_by(|a, b| a.distance_m.partial_cmp(&b.distance_m).unwrap_or(std::cmp::Ordering::Equal));
    found
}
