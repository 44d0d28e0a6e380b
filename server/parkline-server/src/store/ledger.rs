//! Ledger rows and the audit chain, written inside the transactions of the changes they record.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::sql::{ms, ts};
use super::{AuditRow, LedgerEntry, LedgerKind};
use crate::audit;
use crate::error::Result;

/// Any number; the key of the advisory lock PostgreSQL writers take to extend the chain one at a time.
const AUDIT_LOCK: i64 = 0x7061_726b_6175;

pub(super) const LEDGER_COLUMNS: &str = "id, entry_key, kind, amount_minor, currency, facility_id, session_id, \
     reservation_id, user_id, method, provider_ref, \
     (SELECT r.entry_key FROM ledger r WHERE r.id = ledger.refund_of) AS refund_key, memo, at_ms";

pub(super) fn ledger_record(row: &AnyRow) -> Result<(i64, LedgerEntry)> {
    let kind: String = row.try_get("kind")?;
    Ok((
        row.try_get("id")?,
        LedgerEntry {
            key: row.try_get("entry_key")?,
            kind: LedgerKind::parse(&kind).ok_or_else(|| anyhow::anyhow!("stored ledger kind {kind:?}"))?,
            amount_minor: row.try_get("amount_minor")?,
            currency: row.try_get("currency")?,
            facility: row.try_get("facility_id")?,
            session: row.try_get("session_id")?,
            reservation: row.try_get("reservation_id")?,
            user: row.try_get("user_id")?,
            method: row.try_get("method")?,
            provider_ref: row.try_get("provider_ref")?,
            refund_of: row.try_get("refund_key")?,
            memo: row.try_get("memo")?,
            at: ts(row.try_get("at_ms")?)?,
        },
    ))
}

pub(super) fn audit_record(row: &AnyRow) -> Result<AuditRow> {
    Ok(AuditRow {
        seq: row.try_get("seq")?,
        at: ts(row.try_get("at_ms")?)?,
        kind: row.try_get("kind")?,
        ref_id: row.try_get("ref_id")?,
        body: row.try_get("body")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// Appends ledger entries and their audit records.
pub(super) async fn write_ledger(conn: &mut AnyConnection, pg: bool, entries: &[&LedgerEntry]) -> Result<()> {
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
                return Err(crate::error::Error::api(
                    parkline_protocol::ErrorCode::RefundTooLarge,
                    "the refund is larger than what is left of the payment",
                ));
            }
        }
        if e.kind == LedgerKind::Payment && e.method.as_deref() == Some(crate::accounts::ACCOUNT_METHOD) {
            let user = e.user.ok_or_else(|| anyhow::anyhow!("an account payment without a user"))?;
            let balance: i64 = sqlx::query_scalar(crate::accounts::BALANCE_SQL)
                .bind(user)
                .bind(&e.currency)
                .fetch_one(&mut *conn)
                .await?;
            if balance < e.amount_minor {
                return Err(crate::error::Error::api(
                    parkline_protocol::ErrorCode::PaymentDeclined,
                    format!("the account holds {balance}, not enough to pay {}", e.amount_minor),
                ));
            }
        }
        sqlx::query(
            "INSERT INTO ledger (entry_key, kind, amount_minor, currency, facility_id, session_id, reservation_id, \
             user_id, method, provider_ref, refund_of, memo, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             (SELECT id FROM ledger WHERE entry_key = $11), $12, $13)",
        )
        .bind(&e.key)
        .bind(e.kind.as_str())
        .bind(e.amount_minor)
        .bind(&e.currency)
        .bind(&e.facility)
        .bind(e.session.as_deref())
        .bind(e.reservation.as_deref())
        .bind(e.user)
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
    let events: Vec<_> = entries.iter().filter_map(|e| crate::webhooks::ledger_event(e)).collect();
    super::outbox::enqueue(conn, &events).await
}

/// Extends the audit chain by `records`, in order.
pub(super) async fn append_audit(
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
    let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    let (mut seq, mut prev) = match last {
        Some(row) => (row.try_get::<i64, _>("seq")?, row.try_get::<String, _>("hash")?),
        None => (0, audit::GENESIS.to_owned()),
    };
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
