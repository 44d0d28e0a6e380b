//! Reports for managers: money taken by local day, facility and payment method.

use std::collections::BTreeMap;

use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use parkline_protocol::{ErrorCode, RevenueRow};

use crate::error::{Error, Result};
use crate::http::App;
use crate::store::LedgerKind;

/// Longest range one revenue report covers, in days.
pub const MAX_REPORT_DAYS: i32 = 366;

/// Payments and refunds of facilities from `from` to `to` (local days of each facility, both included).
/// Account top-ups are deposits, not a facility's takings, and are left out.
pub async fn revenue(app: &App, from: Date, to: Date) -> Result<Vec<RevenueRow>> {
    let days = (to - from).get_days();
    if !(0..MAX_REPORT_DAYS).contains(&days) {
        return Err(Error::api(
            ErrorCode::ValidationFailed,
            format!("a report covers 1 to {MAX_REPORT_DAYS} days, from <= to"),
        ));
    }
    // A day either side covers every time zone's local days; rows are then sorted by local day.
    let edge = |d: Date| d.to_zoned_datetime(TimeZone::UTC).map(|z| z.timestamp());
    let start = edge(from.saturating_sub(1.day())).map_err(|e| Error::Other(e.into()))?;
    let end = edge(to.saturating_add(2.days())).map_err(|e| Error::Other(e.into()))?;
    let mut rows: BTreeMap<(Date, String, String, String), RevenueRow> = BTreeMap::new();
    for entry in app.store.ledger_between(start, end).await? {
        let Some(facility) = entry.facility else { continue };
        if !matches!(entry.kind, LedgerKind::Payment | LedgerKind::Refund) {
            continue;
        }
        let tz = app.live.get(&facility).map_or(TimeZone::UTC, |f| f.tz.clone());
        let date = entry.at.to_zoned_datetime(tz).date();
        if date < from || date > to {
            continue;
        }
        let method = entry.method.unwrap_or_else(|| "other".into());
        let key = (date, facility.clone(), method.clone(), entry.currency.clone());
        let row = rows.entry(key).or_insert_with(|| RevenueRow {
            date,
            facility,
            method,
            currency: entry.currency,
            taken_minor: 0,
            refunded_minor: 0,
            payments: 0,
        });
        if entry.kind == LedgerKind::Payment {
            row.taken_minor += entry.amount_minor;
            row.payments += 1;
        } else {
            row.refunded_minor += entry.amount_minor;
        }
    }
    Ok(rows.into_values().collect())
}
