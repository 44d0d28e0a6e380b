//! Notices reach the person they are for over the stream, once each: a reservation reminder, entry
//! confirmed, a payment reminder, an overstay alert, a no-show alert. On SQLite and PostgreSQL.

#[macro_use]
mod common;

use std::time::Duration;

use common::lane::{LOT, Lane, reason};
use common::{Backend, ws};
use jiff::SignedDuration;
use parkline_protocol::Role;
use parkline_store::testing::Disk;
use serde_json::{Value, json};

/// The next notice on the stream (other messages are skipped), within a few seconds.
async fn notice(conn: &mut ws::Ws) -> Value {
    loop {
        let m = ws::next(conn, Duration::from_secs(5)).await.expect("a notice arrives");
        if m["type"] == "notice" {
            return m["notice"].clone();
        }
    }
}

async fn reservation_holders_hear_about_their_stay(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let driver = s.login(Role::Driver).await.access_token;
    let mut conn = ws::connect(s, &driver).await;
    // A partner follows overstays and no-shows.
    let manager = s.login(Role::Manager).await.access_token;
    let hook =
        json!({"url": "http://127.0.0.1:9/hook", "topics": ["session.overstay", "reservation.no_show"]});
    let (status, body) = s.post_as(Some(&manager), "/v1/webhooks", &hook).await;
    assert_eq!(status, 201, "{body}");

    // Booked to start in 20 minutes: inside the 30-minute reminder window.
    let start = s.server.app.now() + SignedDuration::from_mins(20);
    let book = |plate: &str, start: jiff::Timestamp| {
        json!({"facility": LOT, "plate": plate, "vehicle_class": "sedan",
            "start": start.to_string(), "end": (start + SignedDuration::from_hours(1)).to_string()})
    };
    let (status, booked) = s.post_as(Some(&driver), "/v1/reservations", &book("NOT001", start)).await;
    assert_eq!(status, 201, "{booked}");
    let reservation = booked[0]["id"].as_str().unwrap().to_owned();
    let n = notice(&mut conn).await;
    assert_eq!(
        (n["kind"].as_str(), n["subject"].as_str()),
        (Some("reservation_reminder"), Some(reservation.as_str()))
    );

    s.clock.advance(SignedDuration::from_mins(20));
    let d = lane.enter("in-1", "NOT001").await;
    assert_eq!(reason(&d), ("open", "admitted"));
    let session = d["session"].as_str().unwrap().to_owned();
    let n = notice(&mut conn).await;
    assert_eq!(
        (n["kind"].as_str(), n["subject"].as_str()),
        (Some("entry_confirmed"), Some(session.as_str()))
    );
    assert!(n["text"].as_str().unwrap().contains("Park at"), "{n}");

    s.clock.advance(SignedDuration::from_mins(50));
    assert_eq!(notice(&mut conn).await["kind"], "payment_reminder");
    s.clock.advance(SignedDuration::from_mins(15));
    assert_eq!(notice(&mut conn).await["kind"], "overstay");

    // A second booking nobody turns up for.
    let later = s.server.app.now() + SignedDuration::from_mins(25);
    let (_, missed) = s.post_as(Some(&driver), "/v1/reservations", &book("NOT002", later)).await;
    let missed = missed[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(notice(&mut conn).await["kind"], "reservation_reminder");
    s.clock.advance(SignedDuration::from_mins(25 + 16));
    let n = notice(&mut conn).await;
    assert_eq!((n["kind"].as_str(), n["subject"].as_str()), (Some("no_show"), Some(missed.as_str())));

    // Each once, however many times the checks ran; all kept for later.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, all) = s.get_as(&driver, "/v1/me/notices").await;
    let mut kinds: Vec<&str> = all.as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        [
            "entry_confirmed",
            "no_show",
            "overstay",
            "payment_reminder",
            "reservation_reminder",
            "reservation_reminder"
        ]
    );
    // Another person hears none of it.
    assert_eq!(s.get_as(&manager, "/v1/me/notices").await.1, json!([]));
    // The partner's outbox holds one event of each.
    let disk = Disk::open(&lane.db.url).await;
    assert_eq!(disk.outbox_topics().await, ["session.overstay", "reservation.no_show"]);
    disk.close().await;
    lane.close().await;
}

on_both_backends!(reservation_holders_hear_about_their_stay);
