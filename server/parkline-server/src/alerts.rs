//! Alerts for staff, computed from the live state when asked: sensors silent, facilities near full,
//! vehicles overstaying, busy gates gone idle, plate reads losing confidence, reservations not kept;
//! and from the database: card charges failing (over 2% in the last hour, per facility and provider),
//! plate reads that staff had to correct (under 95% right at a gate over seven days). An alert's id names one occurrence (the silence after a given reading, a
//! session, a local day), so an acknowledgement covers that occurrence and a recurrence is new.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use parkline_protocol::{Acknowledgement, Alert, AlertKind, ErrorCode};

use crate::app::App;
use crate::auth::Reach;
use crate::error::{Error, Result};
use crate::live::demand_permille;

/// A facility this full (taken per thousand spots in service) raises an alert.
pub const CAPACITY_ALERT_PERMILLE: u16 = 950;
/// Card charges looked at for the failure rate, and how many at least before it means anything.
pub const PAYMENT_WINDOW: SignedDuration = SignedDuration::from_hours(1);
pub const PAYMENT_MIN_TRIED: u32 = 10;
/// Failed charges above this share (per mille) raise an alert.
pub const PAYMENT_FAILURE_PERMILLE: u32 = 20;
/// Plate reads looked at per gate for accuracy, and how many at least.
pub const LPR_WINDOW: SignedDuration = SignedDuration::from_hours(24 * 7);
pub const LPR_MIN_READS: u32 = 20;
/// Reads standing below this share (per mille) raise an alert.
pub const LPR_ACCURACY_PERMILLE: u32 = 950;

/// The current alerts of facilities within reach, with their acknowledgements; unacknowledged first,
/// then newest.
pub async fn list(app: &App, reach: &Reach) -> Result<Vec<Alert>> {
    let mut alerts = current(app, app.now()).await?;
    alerts.retain(|a| app.live.get(&a.facility).is_some_and(|f| reach.holds(&f.operator, &a.facility)));
    let acks: HashMap<String, Acknowledgement> = app.store.alert_acks().await?.into_iter().collect();
    for alert in &mut alerts {
        alert.acknowledged = acks.get(&alert.id).cloned();
    }
    alerts.sort_by(|a, b| (a.acknowledged.is_some(), b.since).cmp(&(b.acknowledged.is_some(), a.since)));
    Ok(alerts)
}

/// A current alert, by id.
pub async fn find(app: &App, id: &str) -> Result<Option<Alert>> {
    Ok(current(app, app.now()).await?.into_iter().find(|a| a.id == id))
}

/// Acknowledges a current alert with a note. Acknowledging one already acknowledged returns the first
/// acknowledgement unchanged.
pub async fn acknowledge(app: &App, id: &str, note: &str, user: i64) -> Result<Acknowledgement> {
    let note = note.trim();
    if note.is_empty() || note.chars().count() > 500 {
        return Err(Error::api(ErrorCode::ValidationFailed, "a note of 1 to 500 characters is required"));
    }
    if !current(app, app.now()).await?.iter().any(|a| a.id == id) {
        return Err(Error::api(ErrorCode::NotFound, format!("no current alert {id}")));
    }
    Ok(app.store.acknowledge_alert(id, note, user, app.now()).await?)
}

async fn current(app: &App, now: Timestamp) -> Result<Vec<Alert>> {
    let mut alerts = Vec::new();
    for r in app.store.no_shows_since(now - jiff::SignedDuration::from_hours(24)).await? {
        let tz = app.live.get(&r.facility).map_or(jiff::tz::TimeZone::UTC, |f| f.tz.clone());
        alerts.push(Alert {
            id: format!("no_show:{}", r.id),
            kind: AlertKind::NoShow,
            facility: r.facility.clone(),
            subject: r.id.clone(),
            text: format!(
                "Reservation {} for spot {} at {} was a no-show.",
                r.id,
                r.spot,
                local(&tz, Some(r.start))
            ),
            since: r.start,
            acknowledged: None,
        });
    }
    alerts.extend(payment_failures(app, now).await?);
    alerts.extend(plate_accuracy(app, now).await?);
    for f in app.live.all() {
        let id = &f.facility.id;
        let mut silent = f.silent_sensors();
        if silent.len() > SILENT_ONE_BY_ONE {
            alerts.push(silent_together(&f, &silent, now));
            silent.clear();
        }
        for (spot, last) in silent {
            let last_ms = last.map_or(0, |t| t.as_millisecond());
            alerts.push(Alert {
                id: format!("sensor_offline:{id}:{spot}:{last_ms}"),
                kind: AlertKind::SensorOffline,
                facility: id.clone(),
                subject: spot.clone(),
                text: format!("The sensor of spot {spot} has been silent since {}.", local(&f.tz, last)),
                since: last.unwrap_or(now),
                acknowledged: None,
            });
        }
        let taken = demand_permille(&f.read().occupancy.totals());
        if taken >= CAPACITY_ALERT_PERMILLE {
            let day = now.to_zoned_datetime(f.tz.clone()).date();
            alerts.push(Alert {
                id: format!("capacity_high:{id}:{day}"),
                kind: AlertKind::CapacityHigh,
                facility: id.clone(),
                subject: day.to_string(),
                text: format!("{} is {}% full.", f.facility.name, taken / 10),
                since: now,
                acknowledged: None,
            });
        }
        for (gate, activity) in f.gate_activity() {
            if let Some(last) = activity.idle_since(now, &f.tz) {
                alerts.push(Alert {
                    id: format!("gate_idle:{gate}:{}", last.as_millisecond()),
                    kind: AlertKind::GateIdle,
                    facility: id.clone(),
                    subject: gate.clone(),
                    text: format!(
                        "Gate {gate} was busy but has not opened since {}.",
                        local(&f.tz, Some(last))
                    ),
                    since: last,
                    acknowledged: None,
                });
            }
            if let Some((recent, usual)) = activity.confidence_drop() {
                let day = now.to_zoned_datetime(f.tz.clone()).date();
                alerts.push(Alert {
                    id: format!("lpr_confidence:{gate}:{day}"),
                    kind: AlertKind::LprConfidence,
                    facility: id.clone(),
                    subject: gate.clone(),
                    text: format!(
                        "Plate reads at gate {gate} average {:.0}% confidence, against {:.0}% before: check the camera.",
                        recent * 100.0,
                        usual * 100.0
                    ),
                    since: now,
                    acknowledged: None,
                });
            }
        }
        let sessions: Vec<_> = f.inside().sessions().cloned().collect();
        for s in &sessions {
            let view = crate::stays::view(&f, s, now)?;
            if view.overstay {
                let spot = view.spot.as_deref().unwrap_or("no spot");
                alerts.push(Alert {
                    id: format!("overstay:{}", s.id),
                    kind: AlertKind::Overstay,
                    facility: id.clone(),
                    subject: s.id.clone(),
                    text: format!(
                        "Ticket {} ({spot}) has been inside since {}, past its reservation or the longest stay.",
                        s.ticket,
                        local(&f.tz, Some(s.entry))
                    ),
                    since: s.entry,
                    acknowledged: None,
                });
            }
        }
    }
    Ok(alerts)
}

/// Facilities whose card charges through a provider failed more than 2% of the time in the last hour.
/// One occurrence per local day and provider.
async fn payment_failures(app: &App, now: Timestamp) -> Result<Vec<Alert>> {
    let mut alerts = Vec::new();
    for (facility, provider, tried, failed) in app.store.payment_attempts_since(now - PAYMENT_WINDOW).await? {
        if tried < PAYMENT_MIN_TRIED || failed * 1000 <= tried * PAYMENT_FAILURE_PERMILLE {
            continue;
        }
        let Some(f) = app.live.get(&facility) else { continue };
        let day = now.to_zoned_datetime(f.tz.clone()).date();
        alerts.push(Alert {
            id: format!("payment_failures:{facility}:{provider}:{day}"),
            kind: AlertKind::PaymentFailures,
            facility: facility.clone(),
            subject: provider.clone(),
            text: format!(
                "{failed} of {tried} card payments at {} through {provider} failed in the last hour ({:.1}%).",
                f.facility.name,
                f64::from(failed) * 100.0 / f64::from(tried)
            ),
            since: now,
            acknowledged: None,
        });
    }
    Ok(alerts)
}

/// Entry gates whose plate reads staff corrected more than 5% of the time over seven days (an
/// attendant's `set_plate`). One occurrence per local day and gate.
async fn plate_accuracy(app: &App, now: Timestamp) -> Result<Vec<Alert>> {
    let mut alerts = Vec::new();
    for (facility, gate, read, corrected) in app.store.plate_corrections_since(now - LPR_WINDOW).await? {
        let right = read - corrected.min(read);
        if read < LPR_MIN_READS || right * 1000 >= read * LPR_ACCURACY_PERMILLE {
            continue;
        }
        let Some(f) = app.live.get(&facility) else { continue };
        let day = now.to_zoned_datetime(f.tz.clone()).date();
        alerts.push(Alert {
            id: format!("lpr_accuracy:{gate}:{day}"),
            kind: AlertKind::LprAccuracy,
            facility: facility.clone(),
            subject: gate.clone(),
            text: format!(
                "Gate {gate} read {:.1}% of plates right in the last 7 days: staff corrected {corrected} of {read}.",
                f64::from(right) * 100.0 / f64::from(read)
            ),
            since: now,
            acknowledged: None,
        });
    }
    Ok(alerts)
}

/// A facility with more silent sensors than this has one alert for them all: a restart, a gateway or
/// a network down silences many at once, and staff need one alert, not one per spot.
const SILENT_ONE_BY_ONE: usize = 3;

/// One alert for a facility's many silent sensors, named by the earliest of their last readings (so
/// an acknowledgement holds while that silence lasts).
fn silent_together(
    f: &crate::live::FacilityLive,
    silent: &[(String, Option<Timestamp>)],
    now: Timestamp,
) -> Alert {
    let since = silent.iter().filter_map(|(_, last)| *last).min();
    let spots: Vec<&str> = silent.iter().take(3).map(|(spot, _)| spot.as_str()).collect();
    Alert {
        id: format!("sensor_offline:{}:many:{}", f.facility.id, since.map_or(0, |t| t.as_millisecond())),
        kind: AlertKind::SensorOffline,
        facility: f.facility.id.clone(),
        subject: format!("{} sensors", silent.len()),
        text: format!(
            "{} sensors have been silent since {} (spots {} and {} more).",
            silent.len(),
            local(&f.tz, since),
            spots.join(", "),
            silent.len() - spots.len()
        ),
        since: since.unwrap_or(now),
        acknowledged: None,
    }
}

fn local(tz: &jiff::tz::TimeZone, at: Option<Timestamp>) -> String {
    at.map_or_else(
        || "it was installed".into(),
        |t| t.to_zoned_datetime(tz.clone()).strftime("%a %d %b %H:%M").to_string(),
    )
}
