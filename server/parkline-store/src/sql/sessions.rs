//! Sessions, the gate events and overrides that write them, merchant validations applied to them.

use std::collections::HashMap;

use async_trait::async_trait;
use jiff::Timestamp;
use parkline_domain::Direction;
use parkline_domain::plate::Plate;
use parkline_domain::validation::Discount;
use sqlx::{AnyConnection, AssertSqlSafe};

use super::commit::Job;
use super::rows::{SessionRow, count, discount};
use super::{CHUNK, SqlStore, WriteCtx, last_of, ms, opt_ts, placeholders, to_json, ts};
use crate::error::Result;
use crate::{
    Applied, Durable, GateWrite, LedgerEntry, OverrideWrite, SessionRecord, Sessions, SpotRecord,
    ValidationRecord, audit,
};

/// The columns of `sessions`, in the order `write_sessions` binds them.
macro_rules! session_columns {
    () => {
        "id, facility_id, ticket, plate_sealed, plate_index, vehicle_class, electric, spot, entry_gate, entry_ms, \
         occupancy_permille, status, exit_gate, exit_ms, permit_id, reservation_id, entry_image, exit_image, partner_key_id"
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
    let events: Vec<_> = writes.iter().flat_map(|w| crate::events::gate_events(w)).collect();
    super::outbox::enqueue(conn, &events).await?;

    // A check-in applies only to a booking still confirmed: one another instance marked a no-show or
    // cancelled stays so (the car enters all the same).
    for reservation in writes.iter().filter_map(|w| w.reservation.as_ref()) {
        let from = parkline_domain::reservation::Status::Confirmed;
        super::bookings::update_reservation(conn, reservation, from).await?;
    }

    let spots: Vec<(&str, &SpotRecord)> =
        writes.iter().flat_map(|w| w.spots.iter().map(move |s| (w.event.facility.as_str(), s))).collect();
    super::spots::write_spots(conn, &spots).await
}

/// Records an attendant's override with its session and spot changes, and its link in the audit chain.
pub(super) async fn write_override(
    conn: &mut AnyConnection,
    ctx: &WriteCtx,
    w: &OverrideWrite,
) -> Result<()> {
    let plate = w.plate.as_deref().map(|p| ctx.vault.seal("gate_overrides.plate", p));
    sqlx::query(
        "INSERT INTO gate_overrides \
         (gate_id, facility_id, action, reason, session_id, plate_sealed, actor_id, device_id, attendant, at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&w.gate)
    .bind(&w.facility)
    .bind(w.action)
    .bind(&w.reason)
    .bind(w.session.as_ref().map(|s| s.id.clone()))
    .bind(plate)
    .bind(w.actor)
    .bind(w.device)
    .bind(&w.attendant)
    .bind(ms(w.at))
    .execute(&mut *conn)
    .await?;
    if let Some(s) = &w.session {
        write_sessions(conn, ctx, &[s]).await?;
    }
    let record = serde_json::json!({
        "gate": w.gate, "facility": w.facility, "action": w.action, "reason": w.reason,
        "session": w.session.as_ref().map(|s| &s.id), "actor": w.actor,
        "device": w.device, "attendant": w.attendant,
        "plate_index": w.plate.as_deref().map(|p| ctx.vault.index(p)), "at": w.at,
    });
    let record = audit::Record {
        kind: "override".into(),
        ref_id: format!("{}:{}", w.gate, ms(w.at)),
        body: record.to_string(),
        at: w.at,
    };
    super::ledger::append_audit(conn, ctx.pg, &[record]).await?;
    let spots: Vec<(&str, &SpotRecord)> = w.spots.iter().map(|s| (w.facility.as_str(), s)).collect();
    super::spots::write_spots(conn, &spots).await
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
            placeholders(chunk.len(), 19)
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
                .bind(exit.and_then(|e| e.image.as_deref()))
                .bind(s.partner);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

impl SqlStore {
    /// Merchant validations applied to the sessions matching `condition` (on `s`, the session), in the
    /// order applied, by session id.
    async fn validations_where(
        &self,
        condition: &str,
        bind: Option<&str>,
    ) -> Result<HashMap<String, Vec<(String, Discount)>>> {
        let sql = format!(
            "SELECT sv.session_id, sv.code, v.discount FROM session_validations sv \
             JOIN validations v ON v.code = sv.code JOIN sessions s ON s.id = sv.session_id \
             WHERE {condition} ORDER BY sv.at_ms, sv.code"
        );
        let mut q = sqlx::query_as::<_, (String, String, String)>(AssertSqlSafe(sql));
        if let Some(value) = bind {
            q = q.bind(value);
        }
        let mut by_session: HashMap<String, Vec<_>> = HashMap::new();
        for (session, code, json) in q.fetch_all(&self.pool).await? {
            by_session.entry(session).or_default().push((code, discount(&json)?));
        }
        Ok(by_session)
    }

    fn sessions(&self, rows: Vec<SessionRow>) -> Result<Vec<SessionRecord>> {
        rows.into_iter().map(|row| row.record(&self.ctx)).collect()
    }
}

#[async_trait]
impl Sessions for SqlStore {
    async fn plate_corrections_since(&self, since: Timestamp) -> Result<Vec<(String, String, u32, u32)>> {
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT s.facility_id, s.entry_gate, COUNT(DISTINCT s.id), COUNT(DISTINCT o.session_id) \
             FROM sessions s LEFT JOIN gate_overrides o ON o.session_id = s.id AND o.action = 'set_plate' \
             WHERE s.entry_ms >= $1 AND s.plate_index IS NOT NULL \
             GROUP BY s.facility_id, s.entry_gate ORDER BY s.facility_id, s.entry_gate",
        )
        .bind(ms(since))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(f, g, read, corrected)| (f, g, count(read), count(corrected))).collect())
    }

    fn queue_gate_event(&self, write: GateWrite) -> Durable {
        Box::pin(self.committer.queue(Job::Gate(Box::new(write))))
    }

    async fn gate_event_decision(&self, gate: &str, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT decision FROM gate_events WHERE gate_id = $1 AND event_key = $2")
            .bind(gate)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn save_override(&self, write: &OverrideWrite) -> Result<()> {
        self.committer.queue(Job::Override(Box::new(write.clone()))).await
    }

    async fn active_sessions(&self) -> Result<Vec<SessionRecord>> {
        let rows = sqlx::query_as(concat!(select_sessions!(), " WHERE status = 'active' ORDER BY entry_ms"))
            .fetch_all(&self.pool)
            .await?;
        let mut sessions = self.sessions(rows)?;
        let mut by_session = self.validations_where("s.status = 'active'", None).await?;
        for s in &mut sessions {
            s.validations = by_session.remove(&s.id).unwrap_or_default();
        }
        Ok(sessions)
    }

    async fn active_sessions_at(&self, facility: &str) -> Result<Vec<SessionRecord>> {
        let rows = sqlx::query_as(concat!(
            select_sessions!(),
            " WHERE status = 'active' AND facility_id = $1 ORDER BY entry_ms"
        ))
        .bind(facility)
        .fetch_all(&self.pool)
        .await?;
        let mut sessions = self.sessions(rows)?;
        let condition = "s.status = 'active' AND s.facility_id = $1";
        let mut by_session = self.validations_where(condition, Some(facility)).await?;
        for s in &mut sessions {
            s.validations = by_session.remove(&s.id).unwrap_or_default();
        }
        Ok(sessions)
    }

    async fn session(&self, id: &str) -> Result<Option<SessionRecord>> {
        let row: Option<SessionRow> = sqlx::query_as(concat!(select_sessions!(), " WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(mut session) = row.map(|row| row.record(&self.ctx)).transpose()? else {
            return Ok(None);
        };
        session.validations =
            self.validations_where("s.id = $1", Some(id)).await?.remove(id).unwrap_or_default();
        Ok(Some(session))
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
        let rows = sqlx::query_as(AssertSqlSafe(sql))
            .bind(value)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        self.sessions(rows)
    }

    async fn session_overrides(
        &self,
        session: &str,
    ) -> Result<Vec<(Timestamp, String, String, String, Option<String>)>> {
        type Row = (i64, String, String, String, Option<String>, Option<String>, Option<String>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT o.at_ms, o.gate_id, o.action, o.reason, u.email, o.attendant, d.name FROM gate_overrides o \
             LEFT JOIN users u ON u.id = o.actor_id LEFT JOIN devices d ON d.id = o.device_id \
             WHERE o.session_id = $1 ORDER BY o.id",
        )
        .bind(session)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(at, gate, action, reason, email, attendant, kiosk)| {
                let at_kiosk = attendant.map(|a| format!("{a} at kiosk {}", kiosk.unwrap_or_default()));
                Ok((ts(at)?, gate, action, reason, email.or(at_kiosk)))
            })
            .collect()
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
        .bind(to_json(&v.discount)?)
        .bind(v.max_uses.map(i64::from))
        .bind(v.valid_until.map(ms))
        .bind(ms(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn validation(&self, code: &str) -> Result<Option<ValidationRecord>> {
        type Row = (String, String, String, String, Option<i64>, i64, Option<i64>);
        let row: Option<Row> = sqlx::query_as(
            "SELECT code, facility_id, merchant, discount, max_uses, uses, valid_until_ms FROM validations \
             WHERE code = $1 AND revoked_ms IS NULL",
        )
        .bind(code)
        .fetch_optional(&self.pool)
        .await?;
        let Some((code, facility, merchant, json, max_uses, uses, valid_until)) = row else {
            return Ok(None);
        };
        Ok(Some(ValidationRecord {
            code,
            facility,
            merchant,
            discount: discount(&json)?,
            max_uses: max_uses.map(count),
            uses: count(uses),
            valid_until: opt_ts(valid_until)?,
        }))
    }

    async fn apply_validation(&self, session: &str, code: &str, now: Timestamp) -> Result<Applied> {
        let (_guard, mut tx) = self.begin().await?;
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
            return Ok(Applied::Already);
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
            return Ok(Applied::Exhausted);
        }
        let facility: String = sqlx::query_scalar("SELECT facility_id FROM sessions WHERE id = $1")
            .bind(session)
            .fetch_one(&mut *tx)
            .await?;
        let sessions = vec![session.to_owned()];
        self.announce(&mut tx, crate::Change { facility, sessions, ..self.change() }).await?;
        tx.commit().await?;
        Ok(Applied::Now)
    }
}
