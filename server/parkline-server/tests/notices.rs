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

/// Spot codes of `facility` whose size is `size` (any, if `None`).
async fn spots(s: &common::TestServer, facility: &str, size: Option<&str>) -> Vec<String> {
    let (status, layout) = s.get(&format!("/v1/facilities/{facility}/layout")).await;
    assert_eq!(status, 200, "{layout}");
    layout["spots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|spot| size.is_none_or(|size| spot["size"] == size))
        .map(|spot| spot["code"].as_str().unwrap().to_owned())
        .collect()
}

/// Marks `codes` of `facility` occupied, as its sensor gateway.
async fn occupy(s: &common::TestServer, facility: &str, codes: &[String]) {
    let now = s.server.app.now();
    let readings: Vec<Value> = codes
        .iter()
        .map(|spot| {
            json!({"facility": facility, "spot": spot, "occupied": true, "confidence": 0.97,
                "kind": "ultrasonic", "observed_at": now.to_string()})
        })
        .collect();
    let token = s.gateways[facility].clone();
    let (status, body) =
        s.post_as(Some(&token), "/v1/sensors/events", &json!({ "readings": readings })).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drivers_coming_to_a_nearly_full_facility_hear_of_alternatives_that_fit() {
    let Some(lane) = Lane::open(Backend::Sqlite).await else { return };
    let s = &lane.s;
    // An SUV driver navigating to the lot; a sedan driver who asked to be told of a free spot there;
    // a driver booked there in an hour; a driver following the lot without asking for anything.
    let (suv, sedan, booked, idle) = (
        s.login(Role::Driver).await.access_token,
        s.sign_up("sedan@example.com", "correct horse battery").await.1["access_token"]
            .as_str()
            .unwrap()
            .to_owned(),
        s.sign_up("booked@example.com", "correct horse battery").await.1["access_token"]
            .as_str()
            .unwrap()
            .to_owned(),
        s.sign_up("idle@example.com", "correct horse battery").await.1["access_token"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let mut conns = Vec::new();
    for (token, subscribe) in [
        (&suv, json!({"type": "subscribe", "facility": LOT, "navigating": "suv"})),
        (&sedan, json!({"type": "subscribe", "facility": LOT, "watch": "sedan"})),
        (&booked, json!({"type": "subscribe", "facility": "pike-place-garage"})),
        (&idle, json!({"type": "subscribe", "facility": LOT})),
    ] {
        let mut conn = ws::connect(s, token).await;
        ws::send(&mut conn, subscribe).await;
        conns.push(conn);
    }
    let start = s.server.app.now() + SignedDuration::from_hours(1);
    let booking = json!({"facility": LOT, "plate": "FUL001", "vehicle_class": "compact",
        "start": start.to_string(), "end": (start + SignedDuration::from_hours(1)).to_string()});
    let (status, body) = s.post_as(Some(&booked), "/v1/reservations", &booking).await;
    assert_eq!(status, 201, "{body}");

    // The nearest garage has no SUV spot left; then the lot fills to 96%.
    occupy(s, "pike-place-garage", &spots(s, "pike-place-garage", Some("suv")).await).await;
    let lot = spots(s, LOT, None).await;
    let keep_free = lot.len() * 4 / 100;
    occupy(s, LOT, &lot[..lot.len() - keep_free]).await;

    let mut heard = Vec::new();
    for conn in conns.iter_mut().take(3) {
        heard.push(notice(conn).await);
    }
    for n in &heard {
        assert_eq!(n["kind"], "nearly_full", "{n}");
        assert!(n["text"].as_str().unwrap().starts_with("Waterfront Surface Lot is nearly full."), "{n}");
        let distances: Vec<u64> =
            n["alternatives"].as_array().unwrap().iter().map(|a| a["distance_m"].as_u64().unwrap()).collect();
        assert!(!distances.is_empty() && distances.is_sorted(), "nearest first: {n}");
    }
    let places = |n: &Value| -> Vec<String> {
        n["alternatives"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["facility"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(!places(&heard[0]).contains(&"pike-place-garage".to_owned()), "no SUV room there: {}", heard[0]);
    assert!(places(&heard[1]).contains(&"pike-place-garage".to_owned()), "room for a sedan: {}", heard[1]);
    assert!(heard[0]["text"].as_str().unwrap().contains("room for a suv"), "{}", heard[0]);
    assert!(heard[2]["text"].as_str().unwrap().contains("Your booked spot is kept"), "{}", heard[2]);
    // Each SUV alternative really has SUV room.
    for place in places(&heard[0]) {
        let (_, f) = s.get(&format!("/v1/facilities/{place}")).await;
        assert!(f["facility"]["free_by_class"]["suv"].as_u64().unwrap() > 0, "{f}");
    }
    // Told once, and the one who asked for nothing hears nothing.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for conn in conns.iter_mut() {
        while let Some(m) = ws::next(conn, Duration::from_millis(100)).await {
            assert_ne!(m["type"], "notice", "{m}");
        }
    }
    // Also in the person's notices, with the alternatives.
    let (status, mine) = s.get_as(&suv, "/v1/me/notices").await;
    assert_eq!(status, 200, "{mine}");
    let stored = mine.as_array().unwrap().iter().find(|n| n["kind"] == "nearly_full").expect("stored");
    assert_eq!(stored["alternatives"], heard[0]["alternatives"]);
    lane.close().await;
}
