//! Reports for managers: money taken by local day, facility and payment method; occupancy sampled every
//! five minutes, for charts and the demand forecast.

use std::collections::BTreeMap;

use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use parkline_protocol::{ErrorCode, OccupancyHistory, OccupancySample, RevenueRow};

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

/// How often each facility's occupancy is sampled.
pub const SAMPLE_EVERY_MS: i64 = 5 * 60 * 1000;
/// Longest range one occupancy query covers.
const MAX_OCCUPANCY_RANGE: jiff::SignedDuration = jiff::SignedDuration::from_hours(62 * 24);

/// Every facility's occupancy now, stamped with the start of the current slot.
pub fn sample(app: &App, now: jiff::Timestamp) -> Vec<(String, OccupancySample)> {
    let slot = now.as_millisecond() - now.as_millisecond().rem_euclid(SAMPLE_EVERY_MS);
    let at = jiff::Timestamp::from_millisecond(slot).unwrap_or(now);
    app.live
        .all()
        .iter()
        .map(|f| {
            let t = f.read().occupancy.totals();
            let sample =
                OccupancySample { at, taken: t.occupied + t.held, in_service: t.free + t.occupied + t.held };
            (f.facility.id.clone(), sample)
        })
        .collect()
}

/// A facility's occupancy samples from `from` to `to`.
pub async fn occupancy(
    app: &App,
    facility: &str,
    from: jiff::Timestamp,
    to: jiff::Timestamp,
) -> Result<OccupancyHistory> {
    let f = app.live.get(facility).ok_or_else(|| Error::unknown_facility(facility))?;
    if to < from || to.duration_since(from) > MAX_OCCUPANCY_RANGE {
        return Err(Error::api(ErrorCode::ValidationFailed, "a range of at most 62 days, from <= to"));
    }
    Ok(OccupancyHistory {
        facility: facility.to_owned(),
        time_zone: f.facility.time_zone.clone(),
        samples: app.store.occupancy_samples(facility, from, to).await?,
    })
}
