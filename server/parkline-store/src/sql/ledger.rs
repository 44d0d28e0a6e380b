//! The ledger and the audit chain over it. Ledger rows are written inside the transactions of the
//! changes they record (a gate event's fee, a payment, a no-show fee), each with its audit link; the
//! checks that must not race (a refund's remainder, an account's balance) run inside that transaction.

use async_trait::async_trait;
use jiff::Timestamp;
use parkline_protocol::OpenBalance;
use sqlx::{AnyConnection, AssertSqlSafe};

use super::commit::Job;
use super::rows::{AuditLinkRow, LEDGER_COLUMNS, LedgerRow, count};
use super::{SqlStore, ms, ts};
use crate::error::{Error, Result, corrupt};
use crate::{ACCOUNT_METHOD, AuditRow, Durable, Ledger, LedgerEntry, LedgerKind, audit};

/// Any number; the key of the advisory lock PostgreSQL writers take to extend the chain one at a time.
const AUDIT_LOCK: i64 = 0x7061_726b_6175;

/// [`LedgerEntry::account_effect`] summed in SQL, for checks inside a transaction: `$1` user, `$2` currency.
pub(crate) const BALANCE_SQL: &str = "SELECT CAST(COALESCE(SUM(CASE \
     WHEN kind = 'payment' AND method = 'account' THEN -amount_minor \
     WHEN kind = 'payment' AND session_id IS NULL THEN amount_minor \
     WHEN kind = 'refund' AND method = 'account' THEN amount_minor \
     WHEN kind = 'refund' AND session_id IS NULL THEN -amount_minor \
     WHEN kind = 'charge' AND session_id IS NULL THEN -amount_minor \
     WHEN kind = 'adjustment' AND session_id IS NULL THEN amount_minor \
     ELSE 0 END), 0) AS BIGINT) FROM ledger WHERE user_id = $1 AND currency = $2";

/// Appends ledger entries and their audit records.
pub(crate) async fn write_ledger(conn: &mut AnyConnection, pg: bool, entries: &[&LedgerEntry]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    if pg {
        // One ledger writer at a time across instances, so the refund check below cannot race.
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_LOCK).execute(&mut *conn).await?;
    }
    for e in entries {
        if let (LedgerKind::Refund, Some(payment)) = (e.kind, &e.refund_of) {
            let left: Option<i64> = sqlx::query_scalar(
                "SELECT CAST(p.amount_minor - COALESCE((SELECT SUM(r.amount_minor) FROM ledger r \
                 WHERE r.refund_of = p.id), 0) AS BIGINT) FROM ledger p WHERE p.entry_key = $1 AND p.kind = 'payment'",
            )
            .bind(payment)
            .fetch_optional(&mut *conn)
            .await?;
            if left.is_none_or(|left| left < e.amount_minor) {
                return Err(Error::RefundTooLarge);
            }
        }
        if e.kind == LedgerKind::Payment && e.method.as_deref() == Some(ACCOUNT_METHOD) {
            let user = e.user.ok_or_else(|| corrupt("an account payment without a user"))?;
            let balance: i64 =
                sqlx::query_scalar(BALANCE_SQL).bind(user).bind(&e.currency).fetch_one(&mut *conn).await?;
            if balance < e.amount_minor {
                return Err(Error::InsufficientBalance { balance, wanted: e.amount_minor });
            }
        }
        sqlx::query(
            "INSERT INTO ledger (entry_key, kind, amount_minor, currency, facility_id, session_id, reservation_id, \
             user_id, actor_id, method, provider_ref, refund_of, memo, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, (SELECT id FROM ledger WHERE entry_key = $12), $13, $14)",
        )
        .bind(&e.key)
        .bind(e.kind.as_str())
        .bind(e.amount_minor)
        .bind(&e.currency)
        .bind(&e.facility)
        .bind(e.session.as_deref())
        .bind(e.reservation.as_deref())
        .bind(e.user)
        .bind(e.actor)
        .bind(e.method.as_deref())
        .bind(e.provider_ref.as_deref())
        .bind(e.refund_of.as_deref())
        .bind(e.memo.as_deref())
        .bind(ms(e.at))
        .execute(&mut *conn)
        .await?;
    }
    let records: Vec<audit::Record> = entries.iter().map(|e| audit::Record::ledger(e)).collect();
    append_audit(conn, pg, &records).await?;
    let events: Vec<_> = entries.iter().filter_map(|e| crate::events::ledger_event(e)).collect();
    super::outbox::enqueue(conn, &events).await
}

/// Extends the audit chain by `records`, in order.
pub(crate) async fn append_audit(
    conn: &mut AnyConnection,
    pg: bool,
    records: &[audit::Record],
) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    if pg {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_LOCK).execute(&mut *conn).await?;
    }
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let (mut seq, mut prev) = last.unwrap_or_else(|| (0, audit::GENESIS.to_owned()));
    for r in records {
        seq += 1;
        let hash = audit::link_hash(seq, &prev, &r.kind, &r.ref_id, &r.body);
        sqlx::query(
            "INSERT INTO audit_log (seq, at_ms, kind, ref_id, body, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(seq)
        .bind(ms(r.at))
        .bind(&r.kind)
        .bind(&r.ref_id)
        .bind(&r.body)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
        prev = hash;
    }
    Ok(())
}

impl SqlStore {
    async fn ledger_where(&self, condition: &str, bind: impl ToString) -> Result<Vec<LedgerEntry>> {
        let sql = format!("SELECT {LEDGER_COLUMNS} FROM ledger WHERE {condition} ORDER BY id");
        let rows: Vec<LedgerRow> =
            sqlx::query_as(AssertSqlSafe(sql)).bind(bind.to_string()).fetch_all(&self.pool).await?;
        rows.into_iter().map(LedgerRow::entry).collect()
    }
}

#[async_trait]
impl Ledger for SqlStore {
    async fn record_payment_attempt(
        &self,
        facility: &str,
        provider: &str,
        outcome: &str,
        at: Timestamp,
    ) -> Result<()> {
        let _guard = self.write_guard().await;
        sqlx::query(
            "INSERT INTO payment_attempts (facility_id, provider, outcome, at_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(facility)
        .bind(provider)
        .bind(outcome)
        .bind(ms(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn payment_attempts_since(&self, since: Timestamp) -> Result<Vec<(String, String, u32, u32)>> {
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT facility_id, provider, COUNT(*), SUM(CASE WHEN outcome = 'succeeded' THEN 0 ELSE 1 END) \
             FROM payment_attempts WHERE at_ms >= $1 GROUP BY facility_id, provider ORDER BY facility_id, provider",
        )
        .bind(ms(since))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(f, p, tried, failed)| (f, p, count(tried), count(failed))).collect())
    }

    fn queue_ledger(&self, entries: Vec<LedgerEntry>) -> Durable {
        Box::pin(self.committer.queue(Job::Ledger(entries)))
    }

    async fn ledger_entry(&self, key: &str) -> Result<Option<LedgerEntry>> {
        Ok(self.ledger_where("entry_key = $1", key).await?.pop())
    }

    async fn session_ledger(&self, session: &str) -> Result<Vec<LedgerEntry>> {
        self.ledger_where("session_id = $1", session).await
    }

    async fn user_ledger(&self, user: i64) -> Result<Vec<LedgerEntry>> {
        let sql = format!("SELECT {LEDGER_COLUMNS} FROM ledger WHERE user_id = $1 ORDER BY id");
        let rows: Vec<LedgerRow> =
            sqlx::query_as(AssertSqlSafe(sql)).bind(user).fetch_all(&self.pool).await?;
        rows.into_iter().map(LedgerRow::entry).collect()
    }

    async fn partner_ledger(&self, partner: i64) -> Result<Vec<LedgerEntry>> {
        self.ledger_where("method = 'partner' AND provider_ref = $1", &format!("partner:{partner}")).await
    }

    async fn refunds_of(&self, payment_key: &str) -> Result<Vec<LedgerEntry>> {
        self.ledger_where("refund_of = (SELECT id FROM ledger WHERE entry_key = $1)", payment_key).await
    }

    async fn ledger_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<LedgerEntry>> {
        let sql = format!("SELECT {LEDGER_COLUMNS} FROM ledger WHERE at_ms >= $1 AND at_ms < $2 ORDER BY id");
        let rows: Vec<LedgerRow> =
            sqlx::query_as(AssertSqlSafe(sql)).bind(ms(from)).bind(ms(to)).fetch_all(&self.pool).await?;
        rows.into_iter().map(LedgerRow::entry).collect()
    }

    async fn open_balances(&self, limit: u32) -> Result<Vec<OpenBalance>> {
        let rows: Vec<(String, String, String, i64, String, i64)> = sqlx::query_as(
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
        rows.into_iter()
            .map(|(session, facility, ticket, exit_ms, currency, owed_minor)| {
                Ok(OpenBalance { session, facility, ticket, currency, owed_minor, exited_at: ts(exit_ms)? })
            })
            .collect()
    }

    async fn ledger_page(&self, after: i64, limit: u32) -> Result<Vec<(i64, LedgerEntry)>> {
        let sql = format!("SELECT {LEDGER_COLUMNS} FROM ledger WHERE id > $1 ORDER BY id LIMIT $2");
        let rows: Vec<LedgerRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(LedgerRow::record).collect()
    }

    async fn audit_page(&self, after: i64, limit: u32) -> Result<Vec<AuditRow>> {
        let rows: Vec<AuditLinkRow> = sqlx::query_as(
            "SELECT seq, at_ms, kind, ref_id, body, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(AuditLinkRow::record).collect()
    }

    async fn audit_tail(&self, limit: u32) -> Result<Vec<AuditRow>> {
        let rows: Vec<AuditLinkRow> = sqlx::query_as(
            "SELECT seq, at_ms, kind, ref_id, body, prev_hash, hash FROM audit_log ORDER BY seq DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(AuditLinkRow::record).collect()
    }
}
