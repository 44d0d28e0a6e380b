//! The command layer: everything the window can ask for, over `parkline-sdk` only. The Tauri commands in
//! `main.rs` are one-line wrappers around these methods, so they are tested against a real server
//! without a window.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use parkline_sdk::protocol::{
    Acknowledgement, Alert, AuditQuery, AuditRecord, AuditVerification, DeviceView, FacilitySummary,
    IssuedSecret, NewDevice, NewUser, OpenBalance, OperatorView, PermitList, Receipt, RefundRequest,
    RevenueRow, Role, SessionSearch, SessionTimeline, StreamMessage, UserView, ValidationRequest,
};
use parkline_sdk::{Cache, Cached, Client, Credentials, Event, Realtime};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::board::{Board, Change, FacilityCard};
use crate::charts::{self, Chart};
use crate::config;
use crate::demand;
use crate::error::{CommandError, Result};
use crate::floor_map::{self, FloorMap};
use crate::rates::{self, Preview, PreviewRequest};

/// Where the signed-in person's refresh token is kept in the credential store.
const CREDENTIAL_ACCOUNT: &str = "console";
const CHART_SIZE: (u32, u32) = (900, 360);

/// Who is signed in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub email: String,
    pub role: Role,
    pub server: String,
    /// Signed in from the saved credentials while the server could not be reached: cached data only.
    pub offline: bool,
    /// The operator whose facilities the console shows: a manager's own; the one an admin chose
    /// (none: every operator's).
    pub operator: Option<String>,
    /// The facilities a manager is limited to (empty: all of the operator's).
    pub facilities: Vec<String>,
}

/// Who a signed-in person works for, as the server says.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Works {
    #[serde(default)]
    operator: Option<String>,
    #[serde(default)]
    facilities: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    email: String,
    role: Role,
    #[serde(default, flatten)]
    works: Works,
    refresh_token: String,
}

/// A value with when it was fetched, and whether it came from the cache because the server was away.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fetched<T> {
    pub value: T,
    pub fetched_at: Timestamp,
    pub age_seconds: i64,
    pub offline: bool,
}

impl<T> From<Cached<T>> for Fetched<T> {
    fn from(c: Cached<T>) -> Fetched<T> {
        Fetched {
            age_seconds: c.age().as_secs(),
            value: c.value,
            fetched_at: c.fetched_at,
            offline: c.offline,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevenueReport {
    pub from: Date,
    pub to: Date,
    pub rows: Vec<RevenueRow>,
    /// Taken, net of refunds, per facility over the whole range, in minor units.
    pub by_facility: Vec<(String, i64)>,
    /// Taken, net of refunds, per payment method over the whole range, in minor units.
    pub by_method: Vec<(String, i64)>,
    pub currency: String,
    pub chart_svg: String,
    /// Finished stays that still owe money.
    pub open_balances: Vec<OpenBalance>,
}

/// The demand page of one facility.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DemandView {
    pub facility: String,
    pub samples: usize,
    pub today_svg: String,
    pub heat_map_svg: String,
    pub forecast_svg: String,
    /// The busiest hour of the next 24 by the forecast: local time and percent taken.
    pub next_peak: Option<(String, u16)>,
}

/// A chart on screen, kept for exporting it; tables come with their CSV.
#[derive(Debug, Clone)]
struct Shown {
    chart: Option<Chart>,
    csv: Option<String>,
}

/// What can be exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Svg,
    Png,
}

/// The console's state: one server connection, its cache, the live board.
#[derive(Debug)]
pub struct Console {
    client: Client,
    credentials: Credentials,
    exports: PathBuf,
    board: Mutex<Board>,
    realtime: Mutex<Option<Realtime>>,
    session: Mutex<Option<Session>>,
    shown: Mutex<HashMap<String, Shown>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Console {
    /// A console for `server`, caching in `data_dir`, keeping the sign-in in `credentials`; exports are
    /// written to `exports`.
    pub fn open(
        server: &str,
        data_dir: &Path,
        credentials: Credentials,
        exports: PathBuf,
    ) -> Result<Console> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| CommandError::new("data_dir", format!("{}: {e}", data_dir.display())))?;
        // Sealed: stays and plates the console caches are on disk only encrypted.
        let seal = parkline_sdk::Seal::load_or_create(&data_dir.join("console.key"))?;
        let cache = Cache::open_sealed(data_dir.join("console.sqlite"), seal)?;
        Ok(Console {
            client: Client::new(server, Some(cache))?,
            credentials,
            exports,
            board: Mutex::new(Board::default()),
            realtime: Mutex::new(None),
            session: Mutex::new(None),
            shown: Mutex::new(HashMap::new()),
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn session(&self) -> Option<Session> {
        lock(&self.session).clone()
    }

    /// Signs a manager or admin in and keeps the sign-in in the credential store.
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<Session> {
        let tokens = self.client.login(email.trim(), password).await?;
        if !matches!(tokens.role, Role::Manager | Role::Admin) {
            self.client.set_token(None);
            return Err(CommandError::new("forbidden", "The console is for managers and admins."));
        }
        let works = self.works().await?;
        self.keep(email.trim(), tokens.role, &works, &tokens.refresh_token)?;
        Ok(self.signed_in(email.trim(), tokens.role, works, false))
    }

    async fn works(&self) -> Result<Works> {
        let me = self.client.me().await?;
        Ok(Works { operator: me.operator, facilities: me.facilities })
    }

    /// The operators an admin may look at (a manager: their own).
    pub async fn operators(&self) -> Result<Vec<OperatorView>> {
        self.authed(|| self.client.operators()).await
    }

    /// An admin looks at one operator's facilities (none: every operator's); managers see their own.
    pub fn choose_operator(&self, operator: Option<String>) -> Result<Session> {
        let mut session = lock(&self.session);
        let s = session.as_mut().ok_or_else(|| CommandError::new("signed_out", "Sign in again."))?;
        if s.role != Role::Admin {
            return Err(CommandError::new("forbidden", "A manager sees their own operator's facilities."));
        }
        s.operator = operator;
        Ok(s.clone())
    }

    /// Whether the console shows this facility: the chosen operator's, within a manager's list.
    fn shows(&self, f: &FacilitySummary) -> bool {
        lock(&self.session).as_ref().is_none_or(|s| {
            s.operator.as_ref().is_none_or(|op| &f.operator == op)
                && (s.facilities.is_empty() || s.facilities.contains(&f.id))
        })
    }

    /// Signs in again from the credential store, if a sign-in is kept there. When the server cannot be
    /// reached the console opens offline on cached data.
    pub async fn restore(&self) -> Result<Option<Session>> {
        let Some(saved) = self.saved()? else { return Ok(None) };
        match self.client.refresh(&saved.refresh_token).await {
            Ok(tokens) => {
                let works = self.works().await?;
                self.keep(&saved.email, tokens.role, &works, &tokens.refresh_token)?;
                Ok(Some(self.signed_in(&saved.email, tokens.role, works, false)))
            }
            Err(e) if e.is_transient() => {
                Ok(Some(self.signed_in(&saved.email, saved.role, saved.works, true)))
            }
            Err(_) => {
                // Revoked or expired: forget it, and ask again.
                self.credentials.delete(CREDENTIAL_ACCOUNT)?;
                Ok(None)
            }
        }
    }

    pub fn sign_out(&self) -> Result<()> {
        self.client.set_token(None);
        *lock(&self.realtime) = None;
        *lock(&self.session) = None;
        self.credentials.delete(CREDENTIAL_ACCOUNT)?;
        Ok(())
    }

    fn saved(&self) -> Result<Option<Saved>> {
        let Some(text) = self.credentials.load(CREDENTIAL_ACCOUNT)? else { return Ok(None) };
        Ok(serde_json::from_str(&text).ok())
    }

    fn keep(&self, email: &str, role: Role, works: &Works, refresh_token: &str) -> Result<()> {
        let saved = Saved {
            email: email.to_owned(),
            role,
            works: works.clone(),
            refresh_token: refresh_token.to_owned(),
        };
        let text =
            serde_json::to_string(&saved).map_err(|e| CommandError::new("credentials", e.to_string()))?;
        Ok(self.credentials.save(CREDENTIAL_ACCOUNT, &text)?)
    }

    fn signed_in(&self, email: &str, role: Role, works: Works, offline: bool) -> Session {
        let session = Session {
            email: email.to_owned(),
            role,
            server: self.client.base_url().to_owned(),
            offline,
            operator: works.operator,
            facilities: works.facilities,
        };
        *lock(&self.session) = Some(session.clone());
        session
    }

    /// Swaps the kept refresh token for fresh tokens, so a console left open stays signed in.
    pub async fn renew(&self) -> Result<()> {
        let saved = self.saved()?.ok_or_else(|| CommandError::new("signed_out", "Sign in again."))?;
        let tokens = self.client.refresh(&saved.refresh_token).await?;
        self.keep(&saved.email, tokens.role, &saved.works, &tokens.refresh_token)
    }

    /// Runs a call; if the access token has expired, renews it from the kept sign-in and runs it again.
    async fn authed<T, F, Fut>(&self, call: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = parkline_sdk::Result<T>>,
    {
        match call().await {
            Err(parkline_sdk::Error::Server { status: 401, .. }) => {
                self.renew().await?;
                Ok(call().await?)
            }
            other => Ok(other?),
        }
    }

    /// The facilities shown (the operator's), with their counts per floor and zone (cached when
    /// offline).
    pub async fn overview(&self) -> Result<Fetched<Vec<FacilityCard>>> {
        let mut list = self.client.facilities().await?;
        list.value.retain(|f| self.shows(f));
        let mut floors = Vec::with_capacity(list.value.len());
        let mut oldest = (list.fetched_at, list.offline);
        for f in &list.value {
            if let Ok(a) = self.client.availability(&f.id).await {
                oldest = (oldest.0.min(a.fetched_at), oldest.1 || a.offline);
                floors.push(a.value);
            }
        }
        let board = Board::new(&list.value, &floors);
        let cards = board.cards();
        *lock(&self.board) = board;
        Ok(Cached { value: cards, fetched_at: oldest.0, offline: oldest.1 }.into())
    }

    /// One floor of a facility, drawn from its layout with each spot's state.
    pub async fn floor_map(&self, facility: &str, level: Option<i16>) -> Result<Fetched<FloorMap>> {
        let layout = self.client.layout(facility).await?;
        let map = floor_map::draw(&layout.value, level);
        Ok(Cached { value: map, fetched_at: layout.fetched_at, offline: layout.offline }.into())
    }

    /// A facility's rate plan as editable text.
    pub async fn rate_plan(&self, facility: &str) -> Result<String> {
        rates::to_text(&self.client.rates(facility).await?)
    }

    /// What the draft plan would charge for a planned stay, in the facility's time zone.
    pub async fn preview_quote(&self, facility: &str, draft: &str, stay: &PreviewRequest) -> Result<Preview> {
        let plan = rates::parse(draft)?;
        rates::preview(&plan, &self.time_zone(facility).await?, stay)
    }

    /// Checks and saves a draft plan; the server prices from it at once.
    pub async fn save_rate_plan(&self, facility: &str, draft: &str) -> Result<()> {
        let plan = rates::parse(draft)?;
        self.authed(|| self.client.set_rates(facility, &plan)).await
    }

    async fn time_zone(&self, facility: &str) -> Result<TimeZone> {
        let known = lock(&self.board).card(facility).map(|c| c.time_zone.clone());
        let name = match known {
            Some(name) => name,
            None => {
                let list = self.client.facilities().await?;
                let found = list.value.into_iter().find(|f| f.id == facility);
                found
                    .map(|f| f.time_zone)
                    .ok_or_else(|| CommandError::new("not_found", format!("no facility {facility}")))?
            }
        };
        TimeZone::get(&name).map_err(|e| CommandError::new("time_zone", e.to_string()))
    }

    /// Current alerts, unacknowledged first.
    pub async fn alerts(&self) -> Result<Fetched<Vec<Alert>>> {
        let alerts = self.authed(|| self.client.alerts()).await?;
        let rows = alerts.value.iter().map(|a| {
            let ack = a.acknowledged.as_ref();
            vec![
                a.id.clone(),
                serde_json::to_value(a.kind)
                    .ok()
                    .and_then(|k| k.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                a.facility.clone(),
                a.subject.clone(),
                a.since.to_string(),
                a.text.clone(),
                ack.map(|k| k.by.clone()).unwrap_or_default(),
                ack.map(|k| k.at.to_string()).unwrap_or_default(),
                ack.map(|k| k.note.clone()).unwrap_or_default(),
            ]
        });
        let header = [
            "id",
            "kind",
            "facility",
            "subject",
            "since",
            "text",
            "acknowledged_by",
            "acknowledged_at",
            "note",
        ];
        self.keep_shown("alerts", None, Some(csv(&header, rows)));
        Ok(alerts.into())
    }

    pub async fn acknowledge_alert(&self, id: &str, note: &str) -> Result<Acknowledgement> {
        self.authed(|| self.client.acknowledge_alert(id, note)).await
    }

    /// Money taken from `from` to `to` (local days), with totals and the trend chart (exportable as
    /// `revenue`).
    pub async fn revenue(&self, from: Date, to: Date) -> Result<Fetched<RevenueReport>> {
        let rows = self.authed(|| self.client.revenue(from, to)).await?;
        let chart = Chart::Line(charts::revenue_trend(&rows.value, from, to));
        let mut report = report(from, to, rows.value.clone(), chart.svg(CHART_SIZE)?);
        // Balances are current, not cached: offline they are left empty.
        report.open_balances = match self.authed(|| self.client.open_balances()).await {
            Err(e) if e.code == "offline" => Vec::new(),
            other => other?,
        };
        self.keep_shown("revenue", Some(chart), Some(revenue_csv(&rows.value)));
        Ok(Cached { value: report, fetched_at: rows.fetched_at, offline: rows.offline }.into())
    }

    /// A facility's demand charts from the last four weeks of occupancy (exportable as
    /// `occupancy-today`, `utilisation` and `forecast`).
    pub async fn demand(&self, facility: &str) -> Result<Fetched<DemandView>> {
        let now = Timestamp::now();
        let from = now - jiff::SignedDuration::from_hours(24 * demand::HISTORY_DAYS);
        let history = self.authed(|| self.client.occupancy(facility, from, now)).await?;
        let c = demand::charts(&history.value, now)?;
        let (today, heat_map, forecast) =
            (Chart::Line(c.today), Chart::Heat(c.heat_map), Chart::Line(c.forecast));
        let view = DemandView {
            facility: facility.to_owned(),
            samples: history.value.samples.len(),
            today_svg: today.svg(CHART_SIZE)?,
            heat_map_svg: heat_map.svg(CHART_SIZE)?,
            forecast_svg: forecast.svg(CHART_SIZE)?,
            next_peak: c.next_peak,
        };
        self.keep_shown("occupancy-today", Some(today), None);
        self.keep_shown("utilisation", Some(heat_map), None);
        self.keep_shown("forecast", Some(forecast), None);
        Ok(Cached { value: view, fetched_at: history.fetched_at, offline: history.offline }.into())
    }

    fn keep_shown(&self, name: &str, chart: Option<Chart>, csv: Option<String>) {
        lock(&self.shown).insert(name.to_owned(), Shown { chart, csv });
    }

    /// Writes a chart last shown (`revenue`, `occupancy-today`, `utilisation`, `forecast`) as SVG or PNG,
    /// or a table last shown (`revenue`, `alerts`, `sessions`, `audit`) as CSV, to the exports folder;
    /// returns the file.
    pub fn export(&self, name: &str, format: ExportFormat) -> Result<PathBuf> {
        let shown = lock(&self.shown)
            .get(name)
            .cloned()
            .ok_or_else(|| CommandError::new("not_found", format!("nothing named {name} is shown")))?;
        let fail = |e: std::io::Error| CommandError::new("export_failed", e.to_string());
        std::fs::create_dir_all(&self.exports).map_err(fail)?;
        let stamp = Timestamp::now().strftime("%Y%m%d-%H%M%S");
        let path = |ext: &str| self.exports.join(format!("parkline-{name}-{stamp}.{ext}"));
        match format {
            ExportFormat::Csv => {
                let csv = shown
                    .csv
                    .ok_or_else(|| CommandError::new("not_found", format!("{name} has no table")))?;
                let path = path("csv");
                std::fs::write(&path, csv).map_err(fail)?;
                Ok(path)
            }
            ExportFormat::Svg | ExportFormat::Png => {
                let chart = shown
                    .chart
                    .ok_or_else(|| CommandError::new("not_found", format!("{name} has no chart")))?;
                if format == ExportFormat::Svg {
                    let path = path("svg");
                    std::fs::write(&path, chart.svg(CHART_SIZE)?).map_err(fail)?;
                    Ok(path)
                } else {
                    let path = path("png");
                    chart.png(&path, CHART_SIZE)?;
                    Ok(path)
                }
            }
        }
    }

    /// Stays of a plate (`by = plate`) or with a ticket (`by = ticket`), newest first, with timelines.
    pub async fn find_sessions(&self, by: &str, value: &str) -> Result<Vec<SessionTimeline>> {
        let value = Some(value.trim().to_owned());
        let search = match by {
            "plate" => SessionSearch { plate: value, ticket: None },
            "ticket" => SessionSearch { plate: None, ticket: value },
            other => {
                return Err(CommandError::new(
                    "validation_failed",
                    format!("search by plate or ticket, not {other}"),
                ));
            }
        };
        let found = self.authed(|| self.client.find_sessions(&search)).await?;
        let rows = found.iter().map(|t| {
            let s = &t.session;
            vec![
                s.ticket.clone(),
                s.plate.clone().unwrap_or_default(),
                s.facility.clone(),
                s.entered_at.to_string(),
                s.exited_at.map(|t| t.to_string()).unwrap_or_default(),
                s.fee.minor.to_string(),
                s.paid.minor.to_string(),
                s.fee.currency.to_string(),
            ]
        });
        let header =
            ["ticket", "plate", "facility", "entered_at", "exited_at", "fee_minor", "paid_minor", "currency"];
        self.keep_shown("sessions", None, Some(csv(&header, rows)));
        Ok(found)
    }

    /// Gives back part or all of a payment, with a reason. `key` makes a retry the same refund.
    pub async fn refund(&self, payment: &str, amount_minor: i64, reason: &str, key: &str) -> Result<Receipt> {
        let request = RefundRequest { amount_minor, reason: reason.to_owned() };
        self.authed(|| self.client.refund(payment, &request, key)).await
    }

    /// A payment's or refund's receipt.
    pub async fn receipt(&self, id: &str) -> Result<Receipt> {
        self.authed(|| self.client.receipt(id)).await
    }

    /// Closes a spot (out of service) or reopens it.
    pub async fn set_spot_service(&self, facility: &str, spot: &str, out_of_service: bool) -> Result<()> {
        self.authed(|| self.client.set_spot_service(facility, spot, out_of_service)).await
    }

    /// The newest records of the audit chain (up to 200), newest first.
    pub async fn audit(&self) -> Result<Vec<AuditRecord>> {
        let newest = AuditQuery { limit: Some(200), newest: true, ..AuditQuery::default() };
        let records = self.authed(|| self.client.audit(&newest)).await?;
        let rows = records.iter().map(|r| {
            vec![r.seq.to_string(), r.at.to_string(), r.kind.clone(), r.ref_id.clone(), r.hash.clone()]
        });
        self.keep_shown("audit", None, Some(csv(&["seq", "at", "kind", "record", "hash"], rows)));
        Ok(records)
    }

    /// Checks the whole audit chain against itself and the ledger, on the server.
    pub async fn verify_audit(&self) -> Result<AuditVerification> {
        self.authed(|| self.client.verify_audit()).await
    }

    pub async fn devices(&self) -> Result<Vec<DeviceView>> {
        self.authed(|| self.client.devices()).await
    }

    /// Issues a device token (shown once).
    pub async fn create_device(&self, device: &NewDevice) -> Result<IssuedSecret> {
        self.authed(|| self.client.create_device(device)).await
    }

    pub async fn revoke_device(&self, id: i64) -> Result<()> {
        self.authed(|| self.client.revoke_device(id)).await
    }

    /// Every account (admins only: managers get `forbidden`).
    pub async fn users(&self) -> Result<Vec<UserView>> {
        self.authed(|| self.client.users()).await
    }

    pub async fn create_user(&self, user: &NewUser) -> Result<i64> {
        self.authed(|| self.client.create_user(user)).await
    }

    /// Limits a staff member to some of the operator's facilities (empty: all of them).
    pub async fn set_staff_facilities(&self, user: i64, facilities: &[String]) -> Result<()> {
        self.authed(|| self.client.set_staff_facilities(user, facilities)).await
    }

    pub async fn permits(&self) -> Result<PermitList> {
        self.authed(|| self.client.permits()).await
    }

    /// Creates a permit from its TOML text.
    pub async fn create_permit(&self, draft: &str) -> Result<()> {
        let permit = config::parse_permit(draft)?;
        self.authed(|| self.client.create_permit(&permit)).await
    }

    pub async fn revoke_permit(&self, id: &str) -> Result<()> {
        self.authed(|| self.client.revoke_permit(id)).await
    }

    /// Creates or resizes a permit pool.
    pub async fn set_pool(&self, id: &str, limit: u32) -> Result<()> {
        self.authed(|| self.client.set_pool(id, limit)).await
    }

    /// Creates a merchant validation code; returns the code (the server's random one if none was given).
    pub async fn create_validation(&self, request: &ValidationRequest) -> Result<String> {
        Ok(self.authed(|| self.client.create_validation(request)).await?.code)
    }

    /// Imports a facility from its layout's TOML text; returns its id.
    pub async fn import_layout(&self, draft: &str) -> Result<String> {
        let layout = config::parse_layout(draft)?;
        // An admin adds it to the operator they are looking at; a manager to their own.
        let operator = self.session().and_then(|s| s.operator.filter(|_| s.role == Role::Admin));
        self.authed(|| self.client.import_facility(&layout, operator.as_deref())).await?;
        Ok(layout.id)
    }

    /// Starts following every facility on the board; the receiver yields the stream's events.
    pub fn follow(&self) -> mpsc::Receiver<Event> {
        let ids: Vec<String> = lock(&self.board).cards().into_iter().map(|c| c.id).collect();
        let (realtime, events) = Realtime::start(&self.client, &ids);
        *lock(&self.realtime) = Some(realtime);
        events
    }

    /// Applies one stream message to the board: what the window must redraw.
    pub fn apply(&self, message: &StreamMessage) -> Vec<Change> {
        lock(&self.board).apply(message)
    }

    /// Fetches the floors of facilities whose totals changed since the last call.
    pub async fn refresh_floors(&self) -> Vec<Change> {
        let behind = lock(&self.board).take_floors_behind();
        let mut changes = Vec::new();
        for id in behind {
            if let Ok(a) = self.client.availability(&id).await
                && let Some(card) = lock(&self.board).set_availability(&a.value)
            {
                changes.push(Change::Card { card });
            }
        }
        changes
    }
}

fn report(from: Date, to: Date, rows: Vec<RevenueRow>, chart_svg: String) -> RevenueReport {
    let total = |key: &dyn Fn(&RevenueRow) -> String| {
        let mut sums: std::collections::BTreeMap<String, i64> = Default::default();
        for r in &rows {
            *sums.entry(key(r)).or_default() += r.taken_minor - r.refunded_minor;
        }
        sums.into_iter().collect::<Vec<_>>()
    };
    RevenueReport {
        from,
        to,
        by_facility: total(&|r| r.facility.clone()),
        by_method: total(&|r| r.method.clone()),
        currency: rows.first().map_or_else(|| "USD".to_owned(), |r| r.currency.clone()),
        chart_svg,
        rows,
        open_balances: Vec::new(),
    }
}

/// The revenue table as CSV (amounts in minor units, as the ledger keeps them).
pub fn revenue_csv(rows: &[RevenueRow]) -> String {
    let header = ["date", "facility", "method", "currency", "payments", "taken_minor", "refunded_minor"];
    csv(
        &header,
        rows.iter().map(|r| {
            vec![
                r.date.to_string(),
                r.facility.clone(),
                r.method.clone(),
                r.currency.clone(),
                r.payments.to_string(),
                r.taken_minor.to_string(),
                r.refunded_minor.to_string(),
            ]
        }),
    )
}

/// A CSV document (RFC 4180: fields with commas, quotes or line breaks are quoted).
pub fn csv(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    let mut out = header.join(",") + "\n";
    for row in rows {
        out.push_str(&row.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}
