//! Notices for people: entry confirmed, reservation and payment reminders, overstay and no-show alerts,
//! and "nearly full" with nearby places that fit the person's vehicle.
//!
//! Each is stored once per (person, kind, subject), pushed to the person's open stream connections,
//! and handed to a [`Sender`](crate::hub::Sender) for email or SMS (a logging sender by default). Who to tell is known
//! where a stay is tied to a person: through their reservation.

use jiff::SignedDuration;
use parkline_domain::VehicleClass;
use parkline_protocol::{Alternative, Notice};

use crate::alerts::CAPACITY_ALERT_PERMILLE;
use crate::app::App;
use crate::live::FacilityLive;

/// Reminded this long before a reservation starts.
pub const RESERVATION_REMINDER: SignedDuration = SignedDuration::from_mins(30);
/// Reminded to pay this long before a reservation ends, if something is due.
pub const PAYMENT_REMINDER: SignedDuration = SignedDuration::from_mins(15);

/// A person's latest notices, newest first.
pub async fn latest(app: &App, user: i64) -> crate::error::Result<Vec<Notice>> {
    Ok(app.store.notices(user, 100).await?)
}

/// Drivers whose booking starts within this are told when their facility is nearly full.
pub const BOOKED_SOON: SignedDuration = SignedDuration::from_hours(2);
/// How far alternatives may be from a nearly full facility.
pub const ALTERNATIVES_WITHIN_M: f64 = 3_000.0;

/// Tells `user` once about `subject`.
pub async fn notify(app: &App, user: i64, kind: &str, subject: &str, text: String) {
    notify_with(app, user, kind, subject, text, Vec::new()).await;
}

/// Tells `user` once about `subject`, naming places to go instead. Whether the person has had it now
/// (told now, or before); `false` when it could not be saved, to be tried again.
pub async fn notify_with(
    app: &App,
    user: i64,
    kind: &str,
    subject: &str,
    text: String,
    alternatives: Vec<Alternative>,
) -> bool {
    let now = app.now();
    match app.store.insert_notice(user, kind, subject, &text, &alternatives, now).await {
        Ok(Some(id)) => {
            let (kind, subject) = (kind.to_owned(), subject.to_owned());
            let notice = Notice { id, kind, subject, text, at: now, alternatives };
            app.notify_sender.send(user, &notice);
            app.hub.publish(user, notice.clone());
            metrics::counter!("parkline_notices_total", "kind" => notice.kind.clone()).increment(1);
            true
        }
        Ok(None) => true,
        Err(e) => {
            tracing::warn!(error = %e, kind, "a notice could not be saved; it will be tried again");
            false
        }
    }
}

/// Reminders and alerts that come due with time: reservations starting soon, stays on a reservation
/// near their end with money due, and stays past it.
pub async fn check(app: &App) {
    let now = app.now();
    let mut due = Vec::new();
    for f in app.live.all() {
        let claims: Vec<_> = f.claims().iter().filter(|r| r.owner.is_some()).cloned().collect();
        for r in &claims {
            let owner = r.owner.unwrap_or_default();
            let status = r.status;
            if status == parkline_domain::reservation::Status::Confirmed
                && r.start - RESERVATION_REMINDER <= now
                && now < r.start
            {
                let from = r.start.to_zoned_datetime(f.tz.clone()).strftime("%H:%M").to_string();
                let text = format!("Your spot {} at {} is ready from {from}.", r.spot, f.facility.name);
                due.push((owner, "reservation_reminder", r.id.clone(), text));
            }
        }
        let inside: Vec<_> = f.inside().sessions().filter(|s| s.reservation.is_some()).cloned().collect();
        for s in inside {
            let Some(r) = claims.iter().find(|r| Some(&r.id) == s.reservation.as_ref()) else { continue };
            let owner = r.owner.unwrap_or_default();
            if now > r.end {
                let text =
                    format!("Your reservation at {} ended; you are now paying by the hour.", f.facility.name);
                due.push((owner, "overstay", s.id.clone(), text));
            } else if r.end - PAYMENT_REMINDER <= now {
                let owed = crate::stays::fee(&f, &s, now).unwrap_or(0) - s.paid_minor;
                if owed > 0 {
                    let text =
                        format!("Pay for your stay at {} before leaving to skip the queue.", f.facility.name);
                    due.push((owner, "payment_reminder", s.id.clone(), text));
                }
            }
        }
    }
    for (user, kind, subject, text) in due {
        notify(app, user, kind, &subject, text).await;
    }
}

/// Facilities at 95% or more: the people watching them or driving to them (on this instance's streams)
/// and those whose booking there starts within two hours are told, once an hour at most, with the
/// nearest places that have room for their vehicle.
pub async fn nearly_full(app: &App) {
    let now = app.now();
    let mut due = Vec::new();
    for f in app.live.all() {
        if f.occupancy_permille() < CAPACITY_ALERT_PERMILLE {
            continue;
        }
        let mut people = app.hub.coming_to(&f.facility.id);
        let booked: Vec<(i64, VehicleClass)> = f
            .claims()
            .iter()
            .filter(|r| {
                r.status == parkline_domain::reservation::Status::Confirmed && r.start <= now + BOOKED_SOON
            })
            .filter_map(|r| Some((r.owner?, r.vehicle.class)))
            .collect();
        let booked_users: Vec<i64> = booked.iter().map(|(user, _)| *user).collect();
        people.extend(booked);
        // One notice a person, for the largest vehicle they named: its alternatives fit the others.
        people.sort_by_key(|(user, class)| (*user, std::cmp::Reverse(class.index())));
        people.dedup_by_key(|(user, _)| *user);
        // One occurrence per local hour: told again if it is still full an hour later.
        let hour = now.to_zoned_datetime(f.tz.clone()).strftime("%Y-%m-%dT%H").to_string();
        let subject = format!("{}@{hour}", f.facility.id);
        for (user, class) in people.into_iter().filter(|(user, _)| !app.hub.told(*user, &subject)) {
            let alternatives = alternatives(app, &f, class);
            let kept = if booked_users.contains(&user) { " Your booked spot is kept for you." } else { "" };
            let text = match alternatives.first() {
                Some(a) => format!(
                    "{} is nearly full.{kept} Nearest with room for a {}: {} ({} free, {} m).",
                    f.facility.name,
                    class.as_str(),
                    a.name,
                    a.free,
                    a.distance_m
                ),
                None => format!(
                    "{} is nearly full.{kept} Nothing nearby has room for a {} now.",
                    f.facility.name,
                    class.as_str()
                ),
            };
            due.push((user, subject.clone(), text, alternatives));
        }
    }
    for (user, subject, text, alternatives) in due {
        if notify_with(app, user, "nearly_full", &subject, text, alternatives).await {
            app.hub.mark_told(user, &subject);
        }
    }
}

/// Up to three places within [`ALTERNATIVES_WITHIN_M`] of `full`, nearest first, that are not nearly
/// full themselves and have a free spot a plain vehicle of `class` may use.
pub fn alternatives(app: &App, full: &FacilityLive, class: VehicleClass) -> Vec<Alternative> {
    let at = full.facility.location;
    app.live
        .nearest(at.lat, at.lon, ALTERNATIVES_WITHIN_M, 50)
        .into_iter()
        .filter(|(_, f)| {
            f.facility.id != full.facility.id && f.occupancy_permille() < CAPACITY_ALERT_PERMILLE
        })
        .filter_map(|(distance, f)| {
            let free = f.read().occupancy.free_by_class()[class.index()];
            (free > 0).then(|| Alternative {
                facility: f.facility.id.clone(),
                name: f.facility.name.clone(),
                distance_m: distance.round() as u32,
                free,
            })
        })
        .take(3)
        .collect()
}
