//! The queries both backends share. SQL here is portable between SQLite and PostgreSQL (`$n` parameters,
//! `ON CONFLICT`, `RETURNING`, integer milliseconds for time); what differs lives in the backend modules.

use async_trait::async_trait;
use jiff::Timestamp;
use parkline_domain::permit::Permit;
use parkline_domain::plate::Plate;
use parkline_domain::pricing::RatePlan;
use parkline_domain::reservation::{Reservation, Status as ReservationStatus};
use parkline_domain::sensor::SensorTrack;
use parkline_domain::{Direction, LayoutFile, SpotStatus, Vehicle};
use parkline_protocol::{DeviceKind, Role};
use sqlx::AnyConnection;
use sqlx::AnyPool;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use std::sync::Arc;

use tokio::sync::Mutex;

use super::commit::{GroupCommit, Job};
use super::{
    ApiKeyRecord, AuditRow, Delivery, DeviceRecord, Durable, GateWrite, HistoryEntry, LedgerEntry,
    OverrideWrite, SessionExit, SessionRecord, SpotRecord, Store, UserRecord, ValidationRecord,
    WebhookRecord,
};
use crate::error::{Error, Result};
use crate::vault::Vault;

/// What an erased reservation's plate reads as.
pub const ERASED_PLATE: &str = "ERASED";

/// What writes need besides a connection: the keys that seal plates, and which database this is.
#[derive(Debug)]
pub(crate) struct WriteCtx {
    pub vault: Arc<Vault>,
    /// PostgreSQL: take advisory locks where instances could race.
    pub pg: bool,
}

impl WriteCtx {
    /// A plate sealed for `purpose`, and its blind index.
    fn seal(&self, purpose: &str, plate: &Plate) -> (String, String) {
        (self.vault.seal(purpose, plate.as_str()), self.vault.index(plate.as_str()))
    }

    fn open_plate(&self, purpose: &str, sealed: Option<String>) -> Result<Option<Plate>> {
        let Some(sealed) = sealed else { return Ok(None) };
        let text = self.vault.open(purpose, &sealed).map_err(|e| anyhow::anyhow!("{purpose}: {e}"))?;
        Ok(Some(Plate::parse(&text).map_err(|e| anyhow::anyhow!("stored plate: {e}"))?))
    }
}

/// Rows per multi-row statement: keeps parameter counts well under both databases' limits.
const CHUNK: usize = 500;

#[derive(Debug)]
pub struct SqlStore {
    pool: AnyPool,
    backend: &'static str,
    /// SQLite allows one writer at a time; queueing writers here is fairer and faster than its busy loop.
    write_lock: Option<Arc<Mutex<()>>>,
    /// The hot writes (sensor changes, gate events) share commits.
    committer: GroupCommit,
    /// Statement that opens a write transaction.
    begin_write: &'static str,
    /// Tells this instance's change announcements from other instances'.
    instance: String,
    ctx: Arc<WriteCtx>,
}

impl SqlStore {
    pub(super) fn new(
        pool: AnyPool,
        backend: &'static str,
        serialize_writes: bool,
        begin_write: &'static str,
        vault: Arc<Vault>,
    ) -> Self {
        let write_lock = serialize_writes.then(|| Arc::new(Mutex::new(())));
        let instance = crate::auth::random_token("")[..16].to_owned();
        let announce = (backend == "postgres").then(|| instance.clone());
        let ctx = Arc::new(WriteCtx { vault, pg: backend == "postgres" });
        let committer =
            GroupCommit::start(pool.clone(), write_lock.clone(), begin_write, announce, ctx.clone());
        SqlStore { pool, backend, write_lock, committer, begin_write, instance, ctx }
    }

    /// Merchant validations applied to the sessions matching `condition` (on `s`, the session), in the
    /// order applied, by session id.
    async fn validations_where(
        &self,
        condition: &str,
        bind: Option<&str>,
    ) -> Result<std::collections::HashMap<String, Vec<(String, parkline_domain::validation::Discount)>>> {
        let sql = format!(
            "SELECT sv.session_id, sv.code, v.discount FROM session_validations sv \
             JOIN validations v ON v.code = sv.code JOIN sessions s ON s.id = sv.session_id \
             WHERE {condition} ORDER BY sv.at_ms, sv.code"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(value) = bind {
            q = q.bind(value);
        }
        let mut by_session: std::collections::HashMap<String, Vec<_>> = Default::default();
        for row in q.fetch_all(&self.pool).await? {
            by_session
                .entry(row.try_get("session_id")?)
                .or_default()
                .push((row.try_get("code")?, discount(&row)?));
        }
        Ok(by_session)
    }

    async fn write_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }
}

pub(super) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub(super) fn ts(ms: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(ms)
        .map_err(|e| Error::Other(anyhow::anyhow!("stored time {ms} out of range: {e}")))
}

fn opt_ts(ms: Option<i64>) -> Result<Option<Timestamp>> {
    ms.map(ts).transpose()
}

/// `($1, $2, $3), ($4, $5, $6), ...` for `rows` rows of `cols` columns.
fn placeholders(rows: usize, cols: usize) -> String {
    let row = |r: usize| {
        let cells: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
        format!("({})", cells.join(", "))
    };
    (0..rows).map(row).collect::<Vec<_>>().join(", ")
}

fn spot_record(row: &AnyRow) -> Result<SpotRecord> {
    let pending = match (row.try_get::<Option<i64>, _>("pending_occupied")?, row.try_get("pending_since_ms")?)
    {
        (Some(value), Some(since)) => Some((value != 0, ts(since)?)),
        _ => None,
    };
    Ok(SpotRecord {
        spot: row.try_get("spot")?,
        status: SpotStatus {
            out_of_service: row.try_get::<i64, _>("out_of_service")? != 0,
            held: row.try_get::<i64, _>("held")? != 0,
            sensor: SensorTrack {
                occupied: row.try_get::<i64, _>("occupied")? != 0,
                last_reading: opt_ts(row.try_get("last_reading_ms")?)?,
                last_change: opt_ts(row.try_get("last_change_ms")?)?,
                pending,
            },
        },
    })
}

/// A stored merchant discount.
fn discount(row: &AnyRow) -> Result<parkline_domain::validation::Discount> {
    let json: String = row.try_get("discount")?;
    Ok(serde_json::from_str(&json).map_err(|e| anyhow::anyhow!("stored discount: {e}"))?)
}

fn user_record(row: &AnyRow) -> Result<UserRecord> {
    let role: String = row.try_get("role")?;
    Ok(UserRecord {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        role: Role::parse(&role).ok_or_else(|| anyhow::anyhow!("stored role {role:?} is unknown"))?,
    })
}

fn state_name(stored: &str) -> &'static str {
    match stored {
        "occupied" => "occupied",
        "held" => "held",
        "out_of_service" => "out_of_service",
        _ => "free",
    }
}

fn source_name(stored: &str) -> &'static str {
    ["ultrasonic", "magnetic", "camera", "infrared", "debounce", "staff", "gate"]
        .into_iter()
        .find(|s| *s == stored)
        .unwrap_or("unknown")
}

/// The columns of `sessions`, in the order `write_sessions` binds them.
macro_rules! session_columns {
    () => {
        "id, facility_id, ticket, plate_sealed, plate_index, vehicle_class, electric, spot, entry_gate, entry_ms, \
         occupancy_permille, status, exit_gate, exit_ms, permit_id, reservation_id, entry_image, exit_image"
    };
}

/// `SELECT` of a session with what the ledger says it cost and what was paid.
macro_rules! select_sessions {
    () => {
        concat!(
            "SELECT ",
            session_columns!(),
            ", (SELECT CAST(COALESCE(SUM(CASE l.kind WHEN 'charge' THEN l.amount_minor \
                WHEN 'adjustment' THEN -l.amount_minor ELSE 0 END), 0) AS BIGINT) \
               FROM ledger l WHERE l.session_id = sessions.id) AS amount_minor, \
             (SELECT CAST(COALESCE(SUM(CASE l.kind WHEN 'payment' THEN l.amount_minor \
                WHEN 'refund' THEN -l.amount_minor ELSE 0 END), 0) AS BIGINT) \
               FROM ledger l WHERE l.session_id = sessions.id) AS paid_minor, \
             (SELECT MAX(l.at_ms) FROM ledger l WHERE l.session_id = sessions.id AND l.kind = 'payment') \
               AS last_paid_ms FROM sessions"
        )
    };
}

fn session_record(ctx: &WriteCtx, row: &AnyRow) -> Result<SessionRecord> {
    let class: String = row.try_get("vehicle_class")?;
    let plate = ctx.open_plate("sessions.plate", row.try_get("plate_sealed")?)?;
    let exit =
        match (row.try_get::<Option<String>, _>("exit_gate")?, row.try_get::<Option<i64>, _>("exit_ms")?) {
            (Some(gate), Some(at)) => Some(SessionExit {
                gate,
                at: ts(at)?,
                amount_minor: row.try_get::<Option<i64>, _>("amount_minor")?.unwrap_or(0),
                image: row.try_get("exit_image")?,
            }),
            _ => None,
        };
    Ok(SessionRecord {
        id: row.try_get("id")?,
        facility: row.try_get("facility_id")?,
        ticket: row.try_get("ticket")?,
        plate,
        vehicle: Vehicle::new(
            class.parse().map_err(|e| anyhow::anyhow!("stored vehicle class: {e}"))?,
            row.try_get::<i64, _>("electric")? != 0,
        ),
        spot: row.try_get("spot")?,
        entry_gate: row.try_get("entry_gate")?,
        entry: ts(row.try_get("entry_ms")?)?,
        occupancy_permille: u16::try_from(row.try_get::<i64, _>("occupancy_permille")?).unwrap_or(0),
        permit: row.try_get("permit_id")?,
        reservation: row.try_get("reservation_id")?,
        entry_image: row.try_get("entry_image")?,
        exit,
        paid_minor: row.try_get("paid_minor")?,
        last_paid: opt_ts(row.try_get("last_paid_ms")?)?,
        validations: Vec::new(),
    })
}

fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::Entry => "entry",
        Direction::Exit => "exit",
    }
}

/// Records gate events with their session and spot changes, a few statements for the whole lot. The
/// events must be in the order they were decided: where two touch the same session or spot, the later
/// one's record is the one written.
pub(super) async fn write_gate_events(
    conn: &mut AnyConnection,
    ctx: &WriteCtx,
    writes: &[&GateWrite],
) -> Result<()> {
    for chunk in writes.chunks(CHUNK / 4) {
        let sql = format!(
            "INSERT INTO gate_events (gate_id, event_key, facility_id, direction, session_id, decision, at_ms) \
             VALUES {}",
            placeholders(chunk.len(), 7)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for w in chunk {
            let e = &w.event;
            q = q
                .bind(&e.gate)
                .bind(&e.key)
                .bind(&e.facility)
                .bind(direction_name(e.direction))
                .bind(e.session.as_deref())
                .bind(&e.decision)
                .bind(ms(e.at));
        }
        q.execute(&mut *conn).await?;
    }

    let sessions = last_of(writes.iter().filter_map(|w| w.session.as_ref()), |s| s.id.clone());
    write_sessions(conn, ctx, &sessions).await?;
    let ledger: Vec<&LedgerEntry> = writes.iter().flat_map(|w| &w.ledger).collect();
    super::ledger::write_ledger(conn, ctx.pg, &ledger).await?;
    let events: Vec<_> = writes.iter().flat_map(|w| crate::webhooks::gate_events(w)).collect();
    super::outbox::enqueue(conn, &events).await?;

    for reservation in writes.iter().filter_map(|w| w.reservation.as_ref()) {
        update_reservation(conn, reservation).await?;
    }

    let spots = last_of(
        writes.iter().flat_map(|w| w.spots.iter().map(move |s| (w.event.facility.as_str(), s))),
        |(facility, s)| (facility.to_string(), s.spot.clone()),
    );
    let mut facilities: Vec<&str> = spots.iter().map(|(f, _)| *f).collect();
    facilities.sort_unstable();
    facilities.dedup();
    for facility in facilities {
        let of_facility: Vec<SpotRecord> =
            spots.iter().filter(|(f, _)| *f == facility).map(|(_, s)| (*s).clone()).collect();
        write_spots(conn, facility, &of_facility).await?;
    }
    Ok(())
}

/// Records an attendant's override with its session and spot changes.
pub(super) async fn write_override(
    conn: &mut AnyConnection,
    ctx: &WriteCtx,
    w: &OverrideWrite,
) -> Result<()> {
    let plate = w.plate.as_deref().map(|p| ctx.vault.seal("gate_overrides.plate", p));
    sqlx::query(
        "INSERT INTO gate_overrides (gate_id, facility_id, action, reason, session_id, plate_sealed, actor_id, at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&w.gate)
    .bind(&w.facility)
    .bind(w.action)
    .bind(&w.reason)
    .bind(w.session.as_ref().map(|s| s.id.clone()))
    .bind(plate)
    .bind(w.actor)
    .bind(ms(w.at))
    .execute(&mut *conn)
    .await?;
    if let Some(s) = &w.session {
        write_sessions(conn, ctx, &[s]).await?;
    }
    let record = serde_json::json!({
        "gate": w.gate, "facility": w.facility, "action": w.action, "reason": w.reason,
        "session": w.session.as_ref().map(|s| &s.id), "actor": w.actor,
        "plate_index": w.plate.as_deref().map(|p| ctx.vault.index(p)), "at": w.at,
    });
    let record = crate::audit::Record {
        kind: "override".into(),
        ref_id: format!("{}:{}", w.gate, ms(w.at)),
        body: record.to_string(),
        at: w.at,
    };
    super::ledger::append_audit(conn, ctx.pg, &[record]).await?;
    write_spots(conn, &w.facility, &w.spots).await
}

/// Inserts sessions, or updates those that exist (an exit closing one, a corrected plate).
async fn write_sessions(conn: &mut AnyConnection, ctx: &WriteCtx, sessions: &[&SessionRecord]) -> Result<()> {
    for chunk in sessions.chunks(CHUNK / 8) {
        let sql = format!(
            "INSERT INTO sessions ({}) VALUES {} \
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, exit_gate = excluded.exit_gate, \
             exit_ms = excluded.exit_ms, plate_sealed = excluded.plate_sealed, \
             plate_index = excluded.plate_index, exit_image = excluded.exit_image",
            session_columns!(),
            placeholders(chunk.len(), 18)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for s in chunk {
            let exit = s.exit.as_ref();
            let (sealed, index) = s.plate.as_ref().map(|p| ctx.seal("sessions.plate", p)).unzip();
            q = q
                .bind(&s.id)
                .bind(&s.facility)
                .bind(&s.ticket)
                .bind(sealed)
                .bind(index)
                .bind(s.vehicle.class.as_str())
                .bind(i64::from(s.vehicle.electric))
                .bind(s.spot.as_deref())
                .bind(&s.entry_gate)
                .bind(ms(s.entry))
                .bind(i64::from(s.occupancy_permille))
                .bind(if exit.is_some() { "completed" } else { "active" })
                .bind(exit.map(|e| e.gate.clone()))
                .bind(exit.map(|e| ms(e.at)))
                .bind(s.permit.as_deref())
                .bind(s.reservation.as_deref())
                .bind(s.entry_image.as_deref())
                .bind(exit.and_then(|e| e.image.as_deref()));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

macro_rules! reservation_columns {
    () => {
        "id, facility_id, spot, plate_sealed, vehicle_class, electric, start_ms, end_ms, status, quote_minor, fee_minor, \
         owner_id, group_id"
    };
}

fn reservation_record(ctx: &WriteCtx, row: &AnyRow) -> Result<Reservation> {
    let class: String = row.try_get("vehicle_class")?;
    let status: String = row.try_get("status")?;
    let plate = ctx
        .open_plate("reservations.plate", row.try_get("plate_sealed")?)?
        .ok_or_else(|| anyhow::anyhow!("a reservation without a plate"))?;
    Ok(Reservation {
        id: row.try_get("id")?,
        facility: row.try_get("facility_id")?,
        spot: row.try_get("spot")?,
        plate,
        vehicle: Vehicle::new(
            class.parse().map_err(|e| anyhow::anyhow!("stored vehicle class: {e}"))?,
            row.try_get::<i64, _>("electric")? != 0,
        ),
        start: ts(row.try_get("start_ms")?)?,
        end: ts(row.try_get("end_ms")?)?,
        status: ReservationStatus::parse(&status)
            .ok_or_else(|| anyhow::anyhow!("stored status {status:?}"))?,
        quote_minor: row.try_get("quote_minor")?,
        fee_minor: row.try_get("fee_minor")?,
        owner: row.try_get("owner_id")?,
        group: row.try_get("group_id")?,
    })
}

async fn update_reservation(conn: &mut AnyConnection, r: &Reservation) -> Result<()> {
    sqlx::query(
        "UPDATE reservations SET spot = $2, start_ms = $3, end_ms = $4, status = $5, fee_minor = $6 WHERE id = $1",
    )
    .bind(&r.id)
    .bind(&r.spot)
    .bind(ms(r.start))
    .bind(ms(r.end))
    .bind(r.status.as_str())
    .bind(r.fee_minor)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The last item for each key, in the order the keys first appeared.
fn last_of<T, K: std::hash::Hash + Eq>(items: impl Iterator<Item = T>, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut index: std::collections::HashMap<K, usize> = std::collections::HashMap::new();
    let mut out: Vec<T> = Vec::new();
    for item in items {
        match index.entry(key(&item)) {
            std::collections::hash_map::Entry::Occupied(slot) => out[*slot.get()] = item,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(out.len());
                out.push(item);
            }
        }
    }
    out
}

pub(super) async fn write_spots(
    conn: &mut AnyConnection,
    facility: &str,
    spots: &[SpotRecord],
) -> Result<()> {
    for chunk in spots.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO spot_status (facility_id, spot, occupied, out_of_service, held, last_reading_ms, \
             last_change_ms, pending_occupied, pending_since_ms) VALUES {} \
             ON CONFLICT (facility_id, spot) DO UPDATE SET occupied = excluded.occupied, \
             out_of_service = excluded.out_of_service, held = excluded.held, \
             last_reading_ms = excluded.last_reading_ms, last_change_ms = excluded.last_change_ms, \
             pending_occupied = excluded.pending_occupied, pending_since_ms = excluded.pending_since_ms",
            placeholders(chunk.len(), 9)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for s in chunk {
            let t = &s.status.sensor;
            q = q
                .bind(facility)
                .bind(&s.spot)
                .bind(i64::from(t.occupied))
                .bind(i64::from(s.status.out_of_service))
                .bind(i64::from(s.status.held))
                .bind(t.last_reading.map(ms))
                .bind(t.last_change.map(ms))
                .bind(t.pending.map(|(v, _)| i64::from(v)))
                .bind(t.pending.map(|(_, since)| ms(since)));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub(super) async fn write_history(
    conn: &mut AnyConnection,
    facility: &str,
    history: &[HistoryEntry],
) -> Result<()> {
    for chunk in history.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO occupancy_history (facility_id, spot, state, at_ms, source, confidence) VALUES {}",
            placeholders(chunk.len(), 6)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for h in chunk {
            q = q.bind(facility).bind(&h.spot).bind(h.state).bind(ms(h.at)).bind(h.source).bind(h.confidence);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.backend
    }

    fn instance(&self) -> &str {
        &self.instance
    }

    async fn spot_records(&self, facility: &str, spots: &[String]) -> Result<Vec<SpotRecord>> {
        let mut out = Vec::with_capacity(spots.len());
        for chunk in spots.chunks(CHUNK) {
            let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT spot, occupied, out_of_service, held, last_reading_ms, last_change_ms, pending_occupied, \
                 pending_since_ms FROM spot_status WHERE facility_id = $1 AND spot IN ({})",
                list.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(facility);
            for code in chunk {
                q = q.bind(code);
            }
            for row in q.fetch_all(&self.pool).await? {
                out.push(spot_record(&row)?);
            }
        }
        Ok(out)
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_facility(
        &self,
        layout: &LayoutFile,
        spot_codes: &[String],
        now: Timestamp,
    ) -> Result<()> {
        let json = serde_json::to_string(layout).map_err(anyhow::Error::from)?;
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin_with(self.begin_write).await?;
        sqlx::query("INSERT INTO facilities (id, name, layout, created_ms) VALUES ($1, $2, $3, $4)")
            .bind(&layout.id)
            .bind(&layout.name)
            .bind(json)
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
        for chunk in spot_codes.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO spot_status (facility_id, spot) VALUES {}",
                placeholders(chunk.len(), 2)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for code in chunk {
                q = q.bind(&layout.id).bind(code);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn load_facilities(&self) -> Result<Vec<(LayoutFile, Vec<SpotRecord>)>> {
        let rows = sqlx::query("SELECT id, layout FROM facilities ORDER BY id").fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id")?;
            let json: String = row.try_get("layout")?;
            let layout: LayoutFile = serde_json::from_str(&json)
                .map_err(|e| anyhow::anyhow!("stored layout of {id} does not parse: {e}"))?;
            let spots = sqlx::query(
                "SELECT spot, occupied, out_of_service, held, last_reading_ms, last_change_ms, pending_occupied, \
                 pending_since_ms FROM spot_status WHERE facility_id = $1",
            )
            .bind(&id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(spot_record)
            .collect::<Result<Vec<_>>>()?;
            out.push((layout, spots));
        }
        Ok(out)
    }

    async fn save_spots(&self, facility: &str, spots: &[SpotRecord], history: &[HistoryEntry]) -> Result<()> {
        if spots.is_empty() && history.is_empty() {
            return Ok(());
        }
        let job =
            Job::Spots { facility: facility.to_owned(), spots: spots.to_vec(), history: history.to_vec() };
        self.committer.queue(job).await
    }

    fn queue_gate_event(&self, write: GateWrite) -> Durable {
        Box::pin(self.committer.queue(Job::Gate(Box::new(write))))
    }

    async fn gate_event_decision(&self, gate: &str, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT decision FROM gate_events WHERE gate_id = $1 AND event_key = $2")
            .bind(gate)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("decision")).transpose()?)
    }

    async fn save_override(&self, write: &OverrideWrite) -> Result<()> {
        self.committer.queue(Job::Override(Box::new(write.clone()))).await
    }

    async fn active_sessions(&self) -> Result<Vec<SessionRecord>> {
        let mut sessions: Vec<SessionRecord> =
            sqlx::query(concat!(select_sessions!(), " WHERE status = 'active' ORDER BY entry_ms"))
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|row| session_record(&self.ctx, row))
                .collect::<Result<_>>()?;
        let mut by_session = self.validations_where("s.status = 'active'", None).await?;
        for s in &mut sessions {
            s.validations = by_session.remove(&s.id).unwrap_or_default();
        }
        Ok(sessions)
    }

    async fn session(&self, id: &str) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(concat!(select_sessions!(), " WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(mut session) = row.map(|row| session_record(&self.ctx, &row)).transpose()? else {
            return Ok(None);
        };
        session.validations =
            self.validations_where("s.id = $1", Some(id)).await?.remove(id).unwrap_or_default();
        Ok(Some(session))
    }

    async fn rekey(&self) -> Result<u64> {
        // (table, key column, sealed column, purpose)
        const SEALED: [(&str, &str, &str, &str); 5] = [
            ("sessions", "id", "plate_sealed", "sessions.plate"),
            ("reservations", "id", "plate_sealed", "reservations.plate"),
            ("gate_overrides", "id", "plate_sealed", "gate_overrides.plate"),
            ("permits", "id", "body", "permits.body"),
            ("webhook_endpoints", "id", "secret_sealed", "webhook_endpoints.secret"),
        ];
        let vault = &self.ctx.vault;
        let mut moved = 0;
        for (table, key, column, purpose) in SEALED {
            let select = format!(
                "SELECT CAST({key} AS TEXT) AS k, {column} AS v FROM {table} WHERE {column} IS NOT NULL"
            );
            let rows = sqlx::query(AssertSqlSafe(select)).fetch_all(&self.pool).await?;
            let update =
                format!("UPDATE {table} SET {column} = $1 WHERE CAST({key} AS TEXT) = $2 AND {column} = $3");
            for row in rows {
                let (k, sealed): (String, String) = (row.try_get("k")?, row.try_get("v")?);
                if !vault.is_stale(&sealed) {
                    continue;
                }
                let plain = vault.open(purpose, &sealed).map_err(|e| anyhow::anyhow!("{table} {k}: {e}"))?;
                let _guard = self.write_guard().await;
                let done = sqlx::query(AssertSqlSafe(update.clone()))
                    .bind(vault.seal(purpose, &plain))
                    .bind(&k)
                    .bind(&sealed)
                    .execute(&self.pool)
                    .await?;
                moved += done.rows_affected();
            }
        }
        Ok(moved)
    }

    async fn purge_pii(&self, before: Timestamp) -> Result<u64> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin_with(self.begin_write).await?;
        let sessions = sqlx::query(
            "UPDATE sessions SET plate_sealed = NULL, plate_index = NULL, entry_image = NULL, exit_image = NULL \
             WHERE status = 'completed' AND exit_ms < $1 \
             AND (plate_sealed IS NOT NULL OR entry_image IS NOT NULL OR exit_image IS NOT NULL)",
        )
        .bind(ms(before))
        .execute(&mut *tx)
        .await?;
        let overrides = sqlx::query(
            "UPDATE gate_overrides SET plate_sealed = NULL WHERE at_ms < $1 AND plate_sealed IS NOT NULL",
        )
        .bind(ms(before))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(sessions.rows_affected() + overrides.rows_affected())
    }

    async fn user_reservations(&self, user: i64) -> Result<Vec<Reservation>> {
        sqlx::query(concat!(
            "SELECT ",
            reservation_columns!(),
            " FROM reservations WHERE owner_id = $1 ORDER BY start_ms DESC"
        ))
        .bind(user)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| reservation_record(&self.ctx, row))
        .collect()
    }

    async fn erase_user(&self, user: i64) -> Result<()> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin_with(self.begin_write).await?;
        sqlx::query(
            "UPDATE sessions SET plate_sealed = NULL, plate_index = NULL, entry_image = NULL, exit_image = NULL \
             WHERE status = 'completed' AND reservation_id IN (SELECT id FROM reservations WHERE owner_id = $1)",
        )
        .bind(user)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE reservations SET plate_sealed = $2 WHERE owner_id = $1")
            .bind(user)
            .bind(self.ctx.vault.seal("reservations.plate", ERASED_PLATE))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM refresh_tokens WHERE user_id = $1").bind(user).execute(&mut *tx).await?;
        sqlx::query(
            "UPDATE users SET email = 'erased-' || CAST(id AS TEXT) || '@erased.invalid', password_hash = '' WHERE id = $1",
        )
        .bind(user)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_notice(
        &self,
        user: i64,
        kind: &str,
        subject: &str,
        text: &str,
        now: Timestamp,
    ) -> Result<Option<i64>> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin_with(self.begin_write).await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO notices (user_id, kind, subject, body, created_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id, kind, subject) DO NOTHING RETURNING id",
        )
        .bind(user)
        .bind(kind)
        .bind(subject)
        .bind(text)
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await?;
        if id.is_some()
            && let Some(event) = crate::webhooks::notice_event(kind, subject, now)
        {
            super::outbox::enqueue(&mut tx, &[event]).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    async fn notices(&self, user: i64, limit: u32) -> Result<Vec<parkline_protocol::Notice>> {
        let rows = sqlx::query(
            "SELECT id, kind, subject, body, created_ms FROM notices WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(user)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(parkline_protocol::Notice {
                    id: row.try_get("id")?,
                    kind: row.try_get("kind")?,
                    subject: row.try_get("subject")?,
                    text: row.try_get("body")?,
                    at: ts(row.try_get("created_ms")?)?,
                })
            })
            .collect()
    }

    async fn acknowledge_alert(
        &self,
        alert: &str,
        note: &str,
        user: i64,
        now: Timestamp,
    ) -> Result<parkline_protocol::Acknowledgement> {
        {
            let _guard = self.write_guard().await;
            sqlx::query(
                "INSERT INTO alert_acks (alert_id, note, user_id, at_ms) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (alert_id) DO NOTHING",
            )
            .bind(alert)
            .bind(note)
            .bind(user)
            .bind(ms(now))
            .execute(&self.pool)
            .await?;
        }
        let row = sqlx::query(
            "SELECT a.note, u.email, a.at_ms FROM alert_acks a LEFT JOIN users u ON u.id = a.user_id \
             WHERE a.alert_id = $1",
        )
        .bind(alert)
        .fetch_one(&self.pool)
        .await?;
        acknowledgement(&row)
    }

    async fn alert_acks(&self) -> Result<Vec<(String, parkline_protocol::Acknowledgement)>> {
        let rows = sqlx::query(
            "SELECT a.alert_id, a.note, u.email, a.at_ms FROM alert_acks a LEFT JOIN users u ON u.id = a.user_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok((row.try_get("alert_id")?, acknowledgement(row)?))).collect()
    }

    async fn find_sessions(
        &self,
        plate: Option<&Plate>,
        ticket: Option<&str>,
        limit: u32,
    ) -> Result<Vec<SessionRecord>> {
        let (filter, value) = match (plate, ticket) {
            (Some(plate), _) => ("plate_index", self.ctx.vault.index(plate.as_str())),
            (None, Some(ticket)) => ("ticket", ticket.to_owned()),
            (None, None) => return Ok(Vec::new()),
        };
        let sql =
            format!(concat!(select_sessions!(), " WHERE {} = $1 ORDER BY entry_ms DESC LIMIT $2"), filter);
        let rows =
            sqlx::query(AssertSqlSafe(sql)).bind(value).bind(i64::from(limit)).fetch_all(&self.pool).await?;
        rows.iter().map(|row| session_record(&self.ctx, row)).collect()
    }

    async fn session_overrides(
        &self,
        session: &str,
    ) -> Result<Vec<(Timestamp, String, String, String, Option<String>)>> {
        let rows = sqlx::query(
            "SELECT o.at_ms, o.gate_id, o.action, o.reason, u.email FROM gate_overrides o \
             LEFT JOIN users u ON u.id = o.actor_id WHERE o.session_id = $1 ORDER BY o.id",
        )
        .bind(session)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    ts(r.try_get("at_ms")?)?,
                    r.try_get("gate_id")?,
                    r.try_get("action")?,
                    r.try_get("reason")?,
                    r.try_get("email")?,
                ))
            })
            .collect()
    }

    async fn devices(&self) -> Result<Vec<parkline_protocol::DeviceView>> {
        let rows = sqlx::query(
            "SELECT id, name, kind, facility_id, created_ms, revoked_ms FROM devices ORDER BY id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(parkline_protocol::DeviceView {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    kind: DeviceKind::parse(&kind)
                        .ok_or_else(|| anyhow::anyhow!("unknown device kind {kind}"))?,
                    facility: r.try_get("facility_id")?,
                    created_at: ts(r.try_get("created_ms")?)?,
                    revoked_at: r.try_get::<Option<i64>, _>("revoked_ms")?.map(ts).transpose()?,
                })
            })
            .collect()
    }

    async fn revoke_device(&self, id: i64, now: Timestamp) -> Result<bool> {
        let _guard = self.write_guard().await;
        let done = sqlx::query("UPDATE devices SET revoked_ms = $1 WHERE id = $2 AND revoked_ms IS NULL")
            .bind(ms(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn users(&self) -> Result<Vec<parkline_protocol::UserView>> {
        let rows =
            sqlx::query("SELECT id, email, role FROM users ORDER BY email").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get("role")?;
                Ok(parkline_protocol::UserView {
                    id: r.try_get("id")?,
                    email: r.try_get("email")?,
                    role: Role::parse(&role).ok_or_else(|| anyhow::anyhow!("unknown role {role}"))?,
                })
            })
            .collect()
    }

    async fn save_occupancy_samples(
        &self,
        samples: &[(String, parkline_protocol::OccupancySample)],
    ) -> Result<()> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin_with(self.begin_write).await?;
        for (facility, s) in samples {
            sqlx::query(
                "INSERT INTO occupancy_samples (facility_id, at_ms, taken, in_service) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (facility_id, at_ms) DO NOTHING",
            )
            .bind(facility)
            .bind(ms(s.at))
            .bind(i64::from(s.taken))
            .bind(i64::from(s.in_service))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn occupancy_samples(
        &self,
        facility: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<parkline_protocol::OccupancySample>> {
        let rows = sqlx::query(
            "SELECT at_ms, taken, in_service FROM occupancy_samples \
             WHERE facility_id = $1 AND at_ms >= $2 AND at_ms < $3 ORDER BY at_ms",
        )
        .bind(facility)
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.pool)
        .await?;
        let count = |row: &AnyRow, column: &str| -> Result<u32> {
            Ok(u32::try_from(row.try_get::<i64, _>(column)?).unwrap_or(0))
        };
        rows.iter()
            .map(|row| {
                Ok(parkline_protocol::OccupancySample {
                    at: ts(row.try_get("at_ms")?)?,
                    taken: count(row, "taken")?,
                    in_service: count(row, "in_service")?,
                })
            })
            .collect()
    }

    async fn ledger_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<LedgerEntry>> {
        let sql = format!(
            "SELECT {} FROM ledger WHERE at_ms >= $1 AND at_ms < $2 ORDER BY id",
            super::ledger::LEDGER_COLUMNS
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(ms(from)).bind(ms(to)).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(super::ledger::ledger_record(r)?.1)).collect()
    }

    async fn insert_validation(&self, v: &ValidationRecord, now: Timestamp) -> Result<()> {
        let _guard = self.write_guard().await;
        sqlx::query(
            "INSERT INTO validations (code, facility_id, merchant, discount, max_uses, valid_until_ms, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&v.code)
        .bind(&v.facility)
        .bind(&v.merchant)
        .bind(serde_json::to_string(&v.discount).map_err(anyhow::Error::from)?)
        .bind(v.max_uses.map(i64::from))
        .bind(v.valid_until.map(ms))
        .bind(ms(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn validation(&self, code: &str) -> Result<Option<ValidationRecord>> {
        let row = sqlx::query(
            "SELECT code, facility_id, merchant, discount, max_uses, uses, valid_until_ms FROM validations \
             WHERE code = $1 AND revoked_ms IS NULL",
        )
        .bind(code)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ValidationRecord {
            code: row.try_get("code")?,
            facility: row.try_get("facility_id")?,
            merchant: row.try_get("merchant")?,
            discount: discount(&row)?,
            max_uses: row
                .try_get::<Option<i64>, _>("max_uses")?
                .map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
            uses: u32::try_from(row.try_get::<i64, _>("uses")?).unwrap_or(u32::MAX),
            valid_until: opt_ts(row.try_get("valid_until_ms")?)?,
        }))
    }

    async fn apply_validation(&self, session: &str, code: &str, now: Timestamp) -> Result<super::Applied> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin_with(self.begin_write).await?;
        let inserted = sqlx::query(
            "INSERT INTO session_validations (session_id, code, at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (session_id, code) DO NOTHING",
        )
        .bind(session)
        .bind(code)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(super::Applied::Already);
        }
        let counted = sqlx::query(
            "UPDATE validations SET uses = uses + 1 WHERE code = $1 AND revoked_ms IS NULL \
             AND (max_uses IS NULL OR uses < max_uses)",
        )
        .bind(code)
        .execute(&mut *tx)
        .await?;
        if counted.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(super::Applied::Exhausted);
        }
        tx.commit().await?;
        Ok(super::Applied::Now)
    }

    fn queue_ledger(&self, entries: Vec<LedgerEntry>) -> Durable {
        Box::pin(self.committer.queue(Job::Ledger(entries)))
    }

    async fn ledger_entry(&self, key: &str) -> Result<Option<LedgerEntry>> {
        let sql = format!("SELECT {} FROM ledger WHERE entry_key = $1", super::ledger::LEDGER_COLUMNS);
        let row = sqlx::query(AssertSqlSafe(sql)).bind(key).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| super::ledger::ledger_record(&r)).transpose()?.map(|(_, e)| e))
    }

    async fn session_ledger(&self, session: &str) -> Result<Vec<LedgerEntry>> {
        let sql =
            format!("SELECT {} FROM ledger WHERE session_id = $1 ORDER BY id", super::ledger::LEDGER_COLUMNS);
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(session).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(super::ledger::ledger_record(r)?.1)).collect()
    }

    async fn open_balances(&self, limit: u32) -> Result<Vec<parkline_protocol::OpenBalance>> {
        let rows = sqlx::query(
            "SELECT s.id, s.facility_id, s.ticket, s.exit_ms, MIN(l.currency) AS currency, \
                CAST(SUM(CASE l.kind WHEN 'charge' THEN l.amount_minor WHEN 'refund' THEN l.amount_minor \
                    ELSE -l.amount_minor END) AS BIGINT) AS owed \
             FROM sessions s JOIN ledger l ON l.session_id = s.id \
             WHERE s.status = 'completed' \
             GROUP BY s.id, s.facility_id, s.ticket, s.exit_ms \
             HAVING SUM(CASE l.kind WHEN 'charge' THEN l.amount_minor WHEN 'refund' THEN l.amount_minor \
                    ELSE -l.amount_minor END) > 0 \
             ORDER BY s.exit_ms LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(parkline_protocol::OpenBalance {
                    session: r.try_get("id")?,
                    facility: r.try_get("facility_id")?,
                    ticket: r.try_get("ticket")?,
                    currency: r.try_get("currency")?,
                    owed_minor: r.try_get("owed")?,
                    exited_at: ts(r.try_get("exit_ms")?)?,
                })
            })
            .collect()
    }

    async fn user_ledger(&self, user: i64) -> Result<Vec<LedgerEntry>> {
        let sql =
            format!("SELECT {} FROM ledger WHERE user_id = $1 ORDER BY id", super::ledger::LEDGER_COLUMNS);
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(user).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(super::ledger::ledger_record(r)?.1)).collect()
    }

    async fn refunds_of(&self, payment_key: &str) -> Result<Vec<LedgerEntry>> {
        let sql = format!(
            "SELECT {} FROM ledger WHERE refund_of = (SELECT id FROM ledger WHERE entry_key = $1) ORDER BY id",
            super::ledger::LEDGER_COLUMNS
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(payment_key).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(super::ledger::ledger_record(r)?.1)).collect()
    }

    async fn ledger_page(&self, after: i64, limit: u32) -> Result<Vec<(i64, LedgerEntry)>> {
        let sql = format!(
            "SELECT {} FROM ledger WHERE id > $1 ORDER BY id LIMIT $2",
            super::ledger::LEDGER_COLUMNS
        );
        let rows =
            sqlx::query(AssertSqlSafe(sql)).bind(after).bind(i64::from(limit)).fetch_all(&self.pool).await?;
        rows.iter().map(super::ledger::ledger_record).collect()
    }

    async fn audit_page(&self, after: i64, limit: u32) -> Result<Vec<AuditRow>> {
        let rows = sqlx::query(
            "SELECT seq, at_ms, kind, ref_id, body, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(super::ledger::audit_record).collect()
    }

    async fn audit_tail(&self, limit: u32) -> Result<Vec<AuditRow>> {
        let rows = sqlx::query(
            "SELECT seq, at_ms, kind, ref_id, body, prev_hash, hash FROM audit_log ORDER BY seq DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(super::ledger::audit_record).collect()
    }

    async fn insert_webhook(&self, w: &WebhookRecord) -> Result<()> {
        let _guard = self.write_guard().await;
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, url, secret_sealed, topics, created_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&w.id)
        .bind(&w.url)
        .bind(self.ctx.vault.seal("webhook_endpoints.secret", &w.secret))
        .bind(w.topics.join(" "))
        .bind(ms(w.created))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn webhooks(&self) -> Result<Vec<WebhookRecord>> {
        let rows = sqlx::query(
            "SELECT id, url, secret_sealed, topics, created_ms FROM webhook_endpoints \
             WHERE disabled_ms IS NULL ORDER BY created_ms, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let topics: String = row.try_get("topics")?;
                Ok(WebhookRecord {
                    id: row.try_get("id")?,
                    url: row.try_get("url")?,
                    secret: self.open_secret(&row.try_get::<String, _>("secret_sealed")?)?,
                    topics: topics.split_whitespace().map(str::to_owned).collect(),
                    created: ts(row.try_get("created_ms")?)?,
                })
            })
            .collect()
    }

    async fn disable_webhook(&self, id: &str, now: Timestamp) -> Result<bool> {
        let _guard = self.write_guard().await;
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET disabled_ms = $2 WHERE id = $1 AND disabled_ms IS NULL",
        )
        .bind(id)
        .bind(ms(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn due_deliveries(&self, now: Timestamp, limit: u32) -> Result<Vec<Delivery>> {
        let rows = sqlx::query(
            "SELECT o.id, o.event_id, o.topic, o.body, o.attempts, o.next_attempt_ms, w.url, w.secret_sealed \
             FROM outbox o JOIN webhook_endpoints w ON w.id = o.endpoint_id \
             WHERE o.delivered_ms IS NULL AND o.next_attempt_ms <= $1 AND w.disabled_ms IS NULL \
             ORDER BY o.next_attempt_ms, o.id LIMIT $2",
        )
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(super::outbox::delivery).collect()
    }

    async fn claim_delivery(&self, d: &Delivery, until: Timestamp) -> Result<bool> {
        let _guard = self.write_guard().await;
        let done = sqlx::query(
            "UPDATE outbox SET next_attempt_ms = $3 WHERE id = $1 AND next_attempt_ms = $2 AND delivered_ms IS NULL",
        )
        .bind(d.id)
        .bind(d.next_attempt_ms)
        .bind(ms(until))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delivery_attempted(
        &self,
        id: i64,
        now: Timestamp,
        retry_at: Option<(Timestamp, String)>,
    ) -> Result<()> {
        let _guard = self.write_guard().await;
        let q = match retry_at {
            None => sqlx::query("UPDATE outbox SET delivered_ms = $2, attempts = attempts + 1 WHERE id = $1")
                .bind(id)
                .bind(ms(now)),
            Some((at, error)) => sqlx::query(
                "UPDATE outbox SET next_attempt_ms = $2, attempts = attempts + 1, last_error = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(ms(at))
            .bind(error),
        };
        q.execute(&self.pool).await?;
        Ok(())
    }

    fn open_secret(&self, sealed: &str) -> Result<String> {
        Ok(self
            .ctx
            .vault
            .open("webhook_endpoints.secret", sealed)
            .map_err(|e| anyhow::anyhow!("webhook secret: {e}"))?)
    }

    async fn insert_reservations(
        &self,
        reservations: &[Reservation],
        now: Timestamp,
        request_key: Option<&str>,
    ) -> Result<()> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin_with(self.begin_write).await?;
        if let Some(key) = request_key {
            let ids: Vec<&str> = reservations.iter().map(|r| r.id.as_str()).collect();
            sqlx::query("INSERT INTO reservation_requests (request_key, reservation_ids, created_ms) VALUES ($1, $2, $3)")
                .bind(key)
                .bind(serde_json::to_string(&ids).map_err(anyhow::Error::from)?)
                .bind(ms(now))
                .execute(&mut *tx)
                .await?;
        }
        for r in reservations {
            sqlx::query(concat!(
                "INSERT INTO reservations (",
                reservation_columns!(),
                ", created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ))
            .bind(&r.id)
            .bind(&r.facility)
            .bind(&r.spot)
            .bind(self.ctx.vault.seal("reservations.plate", r.plate.as_str()))
            .bind(r.vehicle.class.as_str())
            .bind(i64::from(r.vehicle.electric))
            .bind(ms(r.start))
            .bind(ms(r.end))
            .bind(r.status.as_str())
            .bind(r.quote_minor)
            .bind(r.fee_minor)
            .bind(r.owner)
            .bind(r.group.as_deref())
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn reservations_for_request(&self, request_key: &str) -> Result<Option<Vec<Reservation>>> {
        let ids: Option<String> =
            sqlx::query_scalar("SELECT reservation_ids FROM reservation_requests WHERE request_key = $1")
                .bind(request_key)
                .fetch_optional(&self.pool)
                .await?;
        let Some(ids) = ids else { return Ok(None) };
        let ids: Vec<String> =
            serde_json::from_str(&ids).map_err(|e| anyhow::anyhow!("stored request: {e}"))?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(self.reservation(&id).await?);
        }
        Ok(Some(out))
    }

    async fn update_reservation(&self, reservation: &Reservation, charges: &[LedgerEntry]) -> Result<()> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin_with(self.begin_write).await?;
        update_reservation(&mut tx, reservation).await?;
        super::ledger::write_ledger(&mut tx, self.ctx.pg, &charges.iter().collect::<Vec<_>>()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn reservation(&self, id: &str) -> Result<Option<Reservation>> {
        let row = sqlx::query(concat!("SELECT ", reservation_columns!(), " FROM reservations WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(|row| reservation_record(&self.ctx, row)).transpose()
    }

    async fn no_shows_since(&self, since: Timestamp) -> Result<Vec<Reservation>> {
        sqlx::query(concat!(
            "SELECT ",
            reservation_columns!(),
            " FROM reservations WHERE status = 'no_show' AND start_ms >= $1 ORDER BY start_ms"
        ))
        .bind(ms(since))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| reservation_record(&self.ctx, row))
        .collect()
    }

    async fn claiming_reservations(&self) -> Result<Vec<Reservation>> {
        sqlx::query(concat!(
            "SELECT ",
            reservation_columns!(),
            " FROM reservations WHERE status IN ('confirmed', 'checked_in') ORDER BY start_ms"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| reservation_record(&self.ctx, row))
        .collect()
    }

    async fn insert_permit(&self, permit: &Permit, now: Timestamp) -> Result<()> {
        let body = serde_json::to_string(permit).map_err(anyhow::Error::from)?;
        let body = self.ctx.vault.seal("permits.body", &body);
        let _guard = self.write_guard().await;
        sqlx::query("INSERT INTO permits (id, body, created_ms) VALUES ($1, $2, $3)")
            .bind(&permit.id)
            .bind(body)
            .bind(ms(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn revoke_permit(&self, id: &str, now: Timestamp) -> Result<bool> {
        let _guard = self.write_guard().await;
        let done = sqlx::query("UPDATE permits SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL")
            .bind(id)
            .bind(ms(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn permits(&self) -> Result<Vec<Permit>> {
        sqlx::query("SELECT id, body FROM permits WHERE revoked_ms IS NULL ORDER BY id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                let body: String = row.try_get("body")?;
                let body =
                    self.ctx.vault.open("permits.body", &body).map_err(|e| anyhow::anyhow!("permit: {e}"))?;
                Ok(serde_json::from_str(&body).map_err(|e| anyhow::anyhow!("stored permit: {e}"))?)
            })
            .collect()
    }

    async fn save_pool(&self, id: &str, limit: u32) -> Result<()> {
        let _guard = self.write_guard().await;
        sqlx::query(
            "INSERT INTO permit_pools (id, concurrent_limit) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET concurrent_limit = excluded.concurrent_limit",
        )
        .bind(id)
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn pools(&self) -> Result<Vec<(String, u32)>> {
        sqlx::query("SELECT id, concurrent_limit FROM permit_pools ORDER BY id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                let limit: i64 = row.try_get("concurrent_limit")?;
                Ok((row.try_get("id")?, u32::try_from(limit).unwrap_or(0)))
            })
            .collect()
    }

    async fn save_rate_plan(&self, facility: &str, plan: &RatePlan, now: Timestamp) -> Result<()> {
        let json = serde_json::to_string(plan).map_err(anyhow::Error::from)?;
        let _guard = self.write_guard().await;
        sqlx::query(
            "INSERT INTO rate_plans (facility_id, plan, updated_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (facility_id) DO UPDATE SET plan = excluded.plan, updated_ms = excluded.updated_ms",
        )
        .bind(facility)
        .bind(json)
        .bind(ms(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn rate_plans(&self) -> Result<Vec<(String, RatePlan)>> {
        let rows = sqlx::query("SELECT facility_id, plan FROM rate_plans ORDER BY facility_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("facility_id")?;
                let json: String = row.try_get("plan")?;
                let plan = serde_json::from_str(&json)
                    .map_err(|e| anyhow::anyhow!("stored rate plan of {id} does not parse: {e}"))?;
                Ok((id, plan))
            })
            .collect()
    }

    async fn history(&self, facility: &str, since: Timestamp, limit: u32) -> Result<Vec<HistoryEntry>> {
        sqlx::query(
            "SELECT spot, state, at_ms, source, confidence FROM occupancy_history \
             WHERE facility_id = $1 AND at_ms >= $2 ORDER BY id LIMIT $3",
        )
        .bind(facility)
        .bind(ms(since))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(HistoryEntry {
                spot: row.try_get("spot")?,
                state: state_name(&row.try_get::<String, _>("state")?),
                at: ts(row.try_get("at_ms")?)?,
                source: source_name(&row.try_get::<String, _>("source")?),
                confidence: row.try_get("confidence")?,
            })
        })
        .collect()
    }

    async fn insert_user(&self, email: &str, password_hash: &str, role: Role, now: Timestamp) -> Result<i64> {
        let _guard = self.write_guard().await;
        let row = sqlx::query(
            "INSERT INTO users (email, password_hash, role, created_ms) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(email)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("id")?)
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query("SELECT id, email, password_hash, role FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_record).transpose()
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>> {
        let row = sqlx::query("SELECT id, email, password_hash, role FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_record).transpose()
    }

    async fn insert_refresh_token(&self, token_hash: &str, user_id: i64, expires: Timestamp) -> Result<()> {
        let _guard = self.write_guard().await;
        sqlx::query("INSERT INTO refresh_tokens (token_hash, user_id, expires_ms) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(user_id)
            .bind(ms(expires))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn consume_refresh_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<i64>> {
        let _guard = self.write_guard().await;
        // One statement, so two concurrent refreshes with the same token cannot both succeed.
        let row = sqlx::query(
            "UPDATE refresh_tokens SET used_ms = $2 \
             WHERE token_hash = $1 AND used_ms IS NULL AND expires_ms > $2 RETURNING user_id",
        )
        .bind(token_hash)
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("user_id")).transpose()?)
    }

    async fn insert_device(
        &self,
        name: &str,
        kind: DeviceKind,
        facility: Option<&str>,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<i64> {
        let _guard = self.write_guard().await;
        let row = sqlx::query(
            "INSERT INTO devices (name, kind, facility_id, token_hash, created_ms) VALUES ($1, $2, $3, $4, $5) \
             RETURNING id",
        )
        .bind(name)
        .bind(kind.as_str())
        .bind(facility)
        .bind(token_hash)
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("id")?)
    }

    async fn device_by_token(&self, token_hash: &str) -> Result<Option<DeviceRecord>> {
        let row = sqlx::query(
            "SELECT id, name, kind, facility_id FROM devices WHERE token_hash = $1 AND revoked_ms IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("kind")?;
        Ok(Some(DeviceRecord {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            kind: DeviceKind::parse(&kind).ok_or_else(|| anyhow::anyhow!("stored device kind {kind:?}"))?,
            facility: row.try_get("facility_id")?,
        }))
    }

    async fn insert_api_key(
        &self,
        name: &str,
        key_hash: &str,
        requests_per_minute: u32,
        now: Timestamp,
    ) -> Result<i64> {
        let _guard = self.write_guard().await;
        let row = sqlx::query(
            "INSERT INTO api_keys (name, key_hash, requests_per_minute, created_ms) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(name)
        .bind(key_hash)
        .bind(i64::from(requests_per_minute))
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("id")?)
    }

    async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>> {
        let row = sqlx::query(
            "SELECT id, name, requests_per_minute FROM api_keys WHERE key_hash = $1 AND revoked_ms IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ApiKeyRecord {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            requests_per_minute: u32::try_from(row.try_get::<i64, _>("requests_per_minute")?)
                .unwrap_or(u32::MAX),
        }))
    }
}

fn acknowledgement(row: &AnyRow) -> Result<parkline_protocol::Acknowledgement> {
    Ok(parkline_protocol::Acknowledgement {
        note: row.try_get("note")?,
        // The person may have been erased since; the acknowledgement stays.
        by: row.try_get::<Option<String>, _>("email")?.unwrap_or_else(|| "(erased user)".into()),
        at: ts(row.try_get("at_ms")?)?,
    })
}
