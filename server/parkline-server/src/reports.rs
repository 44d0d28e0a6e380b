//! Reports for managers: money taken by local day, facility and payment method; occupancy sampled every
//! five minutes, for charts and the demand forecast; stays found by plate or ticket with their timeline;
//! the audit chain and its verification.

use std::collections::BTreeMap;

use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use parkline_domain::Money;
use parkline_domain::plate::Plate;
use parkline_protocol::{
    AuditQuery, AuditRecord, AuditVerification, ErrorCode, OccupancyHistory, OccupancySample, RevenueRow,
    SessionSearch, SessionTimeline, TimelineEvent,
};

use crate::app::App;
use crate::auth::Reach;
use crate::error::{Error, Result};
use parkline_store::{LedgerKind, SessionRecord};

/// Longest range one revenue report covers, in days.
pub const MAX_REPORT_DAYS: i32 = 366;

/// Payments and refunds of facilities from `from` to `to` (local days of each facility, both included).
/// Account top-ups are deposits, not a facility's takings, and are left out.
pub async fn revenue(app: &App, reach: &Reach, from: Date, to: Date) -> Result<Vec<RevenueRow>> {
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
        if !within(app, reach, &facility) {
            continue;
        }
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

/// Stays of a plate (by its blind index) or with a ticket, newest first, each with its timeline.
pub async fn find_sessions(app: &App, reach: &Reach, search: &SessionSearch) -> Result<Vec<SessionTimeline>> {
    let plate = match search.plate.as_deref() {
        Some(text) => {
            Some(Plate::parse(text).map_err(|e| Error::api(ErrorCode::ValidationFailed, e.to_string()))?)
        }
        None => None,
    };
    let ticket = search.ticket.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if plate.is_none() == ticket.is_none() {
        return Err(Error::api(ErrorCode::ValidationFailed, "search by a plate or by a ticket"));
    }
    let mut found = Vec::new();
    for s in app.store.find_sessions(plate.as_ref(), ticket, 50).await? {
        if within(app, reach, &s.facility) {
            found.push(timeline(app, s).await?);
        }
    }
    Ok(found)
}

async fn timeline(app: &App, stored: SessionRecord) -> Result<SessionTimeline> {
    let f = app.live.get(&stored.facility).ok_or_else(|| Error::unknown_facility(&stored.facility))?;
    // An active stay as the gates see it now; a finished one as it was charged.
    let live = f.inside().get(&stored.id).cloned();
    let s = live.as_ref().unwrap_or(&stored);
    let mut session = crate::stays::view(&f, s, app.now())?;
    if let Some(exit) = &stored.exit {
        session.fee = Money::new(exit.amount_minor, session.fee.currency);
        session.overstay = false;
    }
    let spot = s.spot.as_deref().map(|spot| format!(", spot {spot}")).unwrap_or_default();
    let mut events = vec![TimelineEvent {
        at: s.entry,
        kind: "entered".into(),
        text: format!("Entered at {}{spot}", s.entry_gate),
        amount_minor: None,
        payment: None,
    }];
    for entry in app.store.session_ledger(&stored.id).await? {
        let kind = entry.kind.as_str().to_owned();
        let how = [entry.method.as_deref(), entry.memo.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        events.push(TimelineEvent {
            at: entry.at,
            text: if how.is_empty() { kind.clone() } else { format!("{kind} ({how})") },
            payment: (entry.kind == LedgerKind::Payment).then(|| entry.key.clone()),
            kind,
            amount_minor: Some(entry.amount_minor),
        });
    }
    for (at, gate, action, reason, who) in app.store.session_overrides(&stored.id).await? {
        let who = who.unwrap_or_else(|| "a device".into());
        events.push(TimelineEvent {
            at,
            kind: "override".into(),
            text: format!("{action} at {gate} by {who}: {reason}"),
            amount_minor: None,
            payment: None,
        });
    }
    if let Some(exit) = &stored.exit {
        events.push(TimelineEvent {
            at: exit.at,
            kind: "left".into(),
            text: format!("Left at {}", exit.gate),
            amount_minor: None,
            payment: None,
        });
    }
    // In time order; what happened in the same instant (an exit's charge and payment) in a fixed order.
    let rank = |kind: &str| {
        ["entered", "charge", "adjustment", "payment", "refund", "override", "left"]
            .iter()
            .position(|k| *k == kind)
    };
    events.sort_by_key(|e| (e.at, rank(&e.kind)));
    Ok(SessionTimeline {
        session,
        entry_gate: s.entry_gate.clone(),
        exit_gate: stored.exit.as_ref().map(|e| e.gate.clone()),
        entry_image: s.entry_image.clone(),
        exit_image: stored.exit.as_ref().and_then(|e| e.image.clone()),
        events,
    })
}

/// Records of the audit chain after `after`, oldest first, or the newest ones, newest first (their content
/// stays here).
/// The chain is one for the platform; each caller sees the records of facilities within reach (a
/// driver's account movements, of no facility, only admins see).
pub async fn audit_page(app: &App, reach: &Reach, q: &AuditQuery) -> Result<Vec<AuditRecord>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) || q.after < 0 {
        return Err(Error::api(ErrorCode::ValidationFailed, "limit is 1 to 500, after at least 0"));
    }
    let visible = |r: &parkline_store::AuditRow| {
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
        match body["facility"].as_str() {
            Some(f) => within(app, reach, f),
            None => *reach == Reach::Everywhere,
        }
    };
    let mut rows = Vec::new();
    if q.newest {
        // The newest records within reach, from a window of the chain's tail.
        let window = if *reach == Reach::Everywhere { limit } else { AUDIT_TAIL_WINDOW };
        rows.extend(app.store.audit_tail(window).await?.into_iter().filter(visible).take(limit as usize));
    } else {
        // Pages of the chain after `after` until `limit` records within reach are found or it ends.
        let mut after = q.after;
        while rows.len() < limit as usize {
            let page = app.store.audit_page(after, limit).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            let full = page.len() == limit as usize;
            rows.extend(page.into_iter().filter(visible));
            if !full {
                break;
            }
        }
        rows.truncate(limit as usize);
    }
    Ok(rows
        .into_iter()
        .map(|r| AuditRecord { seq: r.seq, at: r.at, kind: r.kind, ref_id: r.ref_id, hash: r.hash })
        .collect())
}

/// How far back from the chain's end a newest-first view within reach looks.
const AUDIT_TAIL_WINDOW: u32 = 5_000;

/// Whether the facility `id` is within reach.
fn within(app: &App, reach: &Reach, id: &str) -> bool {
    app.live.get(id).is_some_and(|f| reach.holds(&f.operator, id))
}

/// Walks the whole chain and the ledger, as `parkline-server verify-audit` does.
pub async fn verify_audit(app: &App) -> Result<AuditVerification> {
    let report = parkline_store::audit::verify(app.store.as_ref()).await?;
    Ok(AuditVerification {
        ok: report.ok(),
        records: report.records,
        ledger_entries: report.ledger_entries,
        problems: report.problems,
    })
}
