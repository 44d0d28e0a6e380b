//! Notices for people: entry confirmed, reservation and payment reminders, overstay and no-show alerts.
//!
//! Each is stored once per (person, kind, subject), pushed to the person's open stream connections,
//! and handed to a [`Sender`](crate::hub::Sender) for email or SMS (a logging sender by default). Who to tell is known
//! where a stay is tied to a person: through their reservation.

use jiff::SignedDuration;
use parkline_protocol::Notice;

use crate::app::App;

/// Reminded this long before a reservation starts.
pub const RESERVATION_REMINDER: SignedDuration = SignedDuration::from_mins(30);
/// Reminded to pay this long before a reservation ends, if something is due.
pub const PAYMENT_REMINDER: SignedDuration = SignedDuration::from_mins(15);

/// A person's latest notices, newest first.
pub async fn latest(app: &App, user: i64) -> crate::error::Result<Vec<Notice>> {
    Ok(app.store.notices(user, 100).await?)
}

/// Tells `user` once about `subject`.
pub async fn notify(app: &App, user: i64, kind: &str, subject: &str, text: String) {
    let now = app.now();
    match app.store.insert_notice(user, kind, subject, &text, now).await {
        Ok(Some(id)) => {
            let notice = Notice { id, kind: kind.to_owned(), subject: subject.to_owned(), text, at: now };
            app.notify_sender.send(user, &notice);
            app.hub.publish(user, notice);
            metrics::counter!("parkline_notices_total", "kind" => kind.to_owned()).increment(1);
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, kind, "a notice could not be saved; it will be tried again"),
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
