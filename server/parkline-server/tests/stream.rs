//! The real-time stream over a real WebSocket: updates in order, resumption without gaps or duplicates.

#[macro_use]
mod common;

use std::time::Duration;

use common::{Backend, TestDb, TestServer};
use futures_util::SinkExt;
use jiff::Timestamp;
use parkline_protocol::Role;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use common::ws::{connect, expect, next, send};

const LOT: &str = "waterfront-lot";

/// Readings are kept to the millisecond: two of one spot in the same millisecond are one reading.
/// These are at least a millisecond apart, as a real sensor's are.
fn reading_time() -> Timestamp {
    static LAST: std::sync::Mutex<Option<Timestamp>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().unwrap();
    let next =
        last.map_or(Timestamp::now(), |t| Timestamp::now().max(t + jiff::SignedDuration::from_millis(1)));
    *last = Some(next);
    next
}

async fn occupy(s: &TestServer, spot: &str, occupied: bool) {
    let readings = json!({"readings": [{"facility": LOT, "spot": spot, "occupied": occupied, "confidence": 0.97,
        "kind": "camera", "observed_at": reading_time().to_string()}]});
    let (status, body) = s.post_as(Some(&s.sensors.clone()), "/v1/sensors/events", &readings).await;
    assert_eq!(status, 200, "{body}");
}

async fn updates_arrive_in_order_and_resume_without_gaps(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let s = TestServer::start(&db.config()).await;
    let token = s.login(Role::Driver).await.access_token;

    let mut ws = connect(&s, &token).await;
    send(&mut ws, json!({"type": "subscribe", "facility": LOT})).await;
    let snapshot = expect(&mut ws).await;
    assert_eq!((snapshot["type"].as_str(), snapshot["facility"].as_str()), (Some("snapshot"), Some(LOT)));
    let start = snapshot["seq"].as_u64().unwrap();
    let free = snapshot["availability"]["counts"]["free"].as_u64().unwrap();

    occupy(&s, "GA-001", true).await;
    let update = expect(&mut ws).await;
    assert_eq!(update["type"], "spot");
    assert_eq!(
        (update["seq"].as_u64(), update["spot"].as_str(), update["state"].as_str()),
        (Some(start + 1), Some("GA-001"), Some("occupied"))
    );
    assert_eq!(update["counts"]["free"].as_u64(), Some(free - 1));

    // The client drops; five spots change; it comes back with the last sequence it saw and gets exactly
    // those five, in order, and nothing else.
    drop(ws);
    for spot in ["GA-002", "GA-003", "GB-001", "GB-002", "GC-001"] {
        occupy(&s, spot, true).await;
    }
    let mut ws = connect(&s, &token).await;
    send(&mut ws, json!({"type": "subscribe", "facility": LOT, "since": start + 1})).await;
    let mut seqs = Vec::new();
    for _ in 0..5 {
        let m = expect(&mut ws).await;
        assert_eq!(m["type"], "spot", "{m}");
        seqs.push(m["seq"].as_u64().unwrap());
    }
    assert_eq!(seqs, (start + 2..=start + 6).collect::<Vec<_>>());
    assert_eq!(next(&mut ws, Duration::from_millis(300)).await, None, "no duplicates");

    // Live updates continue after the replay.
    occupy(&s, "GA-001", false).await;
    let m = expect(&mut ws).await;
    assert_eq!((m["seq"].as_u64(), m["state"].as_str()), (Some(start + 7), Some("free")));

    // A sequence the server cannot account for gets a snapshot.
    send(&mut ws, json!({"type": "subscribe", "facility": LOT, "since": start + 1000})).await;
    let m = expect(&mut ws).await;
    assert_eq!((m["type"].as_str(), m["seq"].as_u64()), (Some("snapshot"), Some(start + 7)));
    s.stop().await;
    db.cleanup().await;
}

on_both_backends!(updates_arrive_in_order_and_resume_without_gaps);

#[tokio::test]
async fn bad_requests_get_errors_and_the_stream_stays_open() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let s = TestServer::start(&db.config()).await;
    let token = s.login(Role::Manager).await.access_token;
    let mut ws = connect(&s, &token).await;
    ws.send(Message::Text("{nope".into())).await.unwrap();
    assert_eq!(expect(&mut ws).await["code"], "malformed_request");
    send(&mut ws, json!({"type": "subscribe", "facility": "atlantis"})).await;
    assert_eq!(expect(&mut ws).await["code"], "unknown_facility");
    send(&mut ws, json!({"type": "subscribe", "facility": LOT})).await;
    assert_eq!(expect(&mut ws).await["type"], "snapshot");

    // Without a token there is no stream at all.
    let req = format!("ws://{}/v1/stream", s.server.addr).into_client_request().unwrap();
    assert!(tokio_tungstenite::connect_async(req).await.is_err());
    s.stop().await;
}

/// Two server processes' worth of instances on one PostgreSQL: a reading ingested by one reaches a
/// client of the other, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reading_at_one_instance_reaches_clients_of_another() {
    let Some(db) = TestDb::new(Backend::Postgres).await else { return };
    let a = TestServer::start(&db.config()).await;
    let b = TestServer::start(&db.config()).await;
    let token = b.login(Role::Driver).await.access_token;
    let mut ws = connect(&b, &token).await;
    send(&mut ws, json!({"type": "subscribe", "facility": LOT})).await;
    assert_eq!(expect(&mut ws).await["type"], "snapshot");

    let spots = ["GA-001", "GA-002", "GB-001"];
    for spot in spots {
        occupy(&a, spot, true).await;
    }
    let mut got = Vec::new();
    let mut seqs = Vec::new();
    for _ in spots {
        let m = expect(&mut ws).await;
        assert_eq!((m["type"].as_str(), m["state"].as_str()), (Some("spot"), Some("occupied")), "{m}");
        got.push(m["spot"].as_str().unwrap().to_owned());
        seqs.push(m["seq"].as_u64().unwrap());
    }
    assert_eq!(got, spots);
    assert!(seqs.windows(2).all(|w| w[0] + 1 == w[1]), "{seqs:?}");
    // And B's own view agrees.
    assert_eq!(b.availability(LOT).await["counts"], a.availability(LOT).await["counts"]);
    a.stop().await;
    b.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn subscriptions_can_follow_one_zone_or_watch_for_a_spot_that_fits() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    // No debounce here: each reading below is a change, in the order sent.
    let mut settings = db.settings();
    settings.debounce_ms = Some(0);
    let s = TestServer::start(&settings.resolve().unwrap()).await;
    let token = s.login(Role::Driver).await.access_token;

    let mut zone_b = connect(&s, &token).await;
    send(&mut zone_b, json!({"type": "subscribe", "facility": LOT, "level": 0, "zone": "B"})).await;
    assert_eq!(expect(&mut zone_b).await["type"], "snapshot");
    let mut sedan_watch = connect(&s, &token).await;
    send(&mut sedan_watch, json!({"type": "subscribe", "facility": LOT, "watch": "sedan"})).await;
    assert_eq!(expect(&mut sedan_watch).await["type"], "snapshot");

    // GB-035 is a motorcycle spot: zone B hears of it, a sedan driver does not.
    for (spot, occupied) in
        [("GA-001", true), ("GB-001", true), ("GB-035", true), ("GB-035", false), ("GB-001", false)]
    {
        occupy(&s, spot, occupied).await;
    }
    let mut heard = Vec::new();
    while let Some(m) = next(&mut zone_b, Duration::from_millis(500)).await {
        heard.push((m["spot"].as_str().unwrap().to_owned(), m["state"].as_str().unwrap().to_owned()));
    }
    let expected = [("GB-001", "occupied"), ("GB-035", "occupied"), ("GB-035", "free"), ("GB-001", "free")];
    assert_eq!(heard, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
    let m = expect(&mut sedan_watch).await;
    assert_eq!((m["spot"].as_str(), m["state"].as_str()), (Some("GB-001"), Some("free")));
    assert_eq!(next(&mut sedan_watch, Duration::from_millis(300)).await, None);
    s.stop().await;
}

#[tokio::test]
async fn a_silent_sensor_raises_an_alert_and_its_return_clears_it() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let s = TestServer::start(&db.config()).await;
    let token = s.login(Role::Manager).await.access_token;
    let at = |s: &TestServer| s.server.app.now().to_string();
    let report = json!({"readings": [{"facility": LOT, "spot": "GA-001", "occupied": false, "confidence": 0.97,
        "kind": "magnetic", "observed_at": at(&s)}]});
    s.post_as(Some(&s.sensors.clone()), "/v1/sensors/events", &report).await;
    let mut ws = connect(&s, &token).await;
    send(&mut ws, json!({"type": "subscribe", "facility": LOT})).await;
    assert_eq!(expect(&mut ws).await["type"], "snapshot");

    s.clock.advance(jiff::SignedDuration::from_secs(61));
    let alert = expect(&mut ws).await;
    assert_eq!(
        (alert["type"].as_str(), alert["spot"].as_str(), alert["silent"].as_bool()),
        (Some("sensor_silent"), Some("GA-001"), Some(true)),
        "{alert}"
    );

    // A heartbeat (the same state, reported again) clears it.
    let heartbeat = json!({"readings": [{"facility": LOT, "spot": "GA-001", "occupied": false, "confidence": 0.97,
        "kind": "magnetic", "observed_at": at(&s)}]});
    s.post_as(Some(&s.sensors.clone()), "/v1/sensors/events", &heartbeat).await;
    let back = expect(&mut ws).await;
    assert_eq!(
        (back["type"].as_str(), back["silent"].as_bool()),
        (Some("sensor_silent"), Some(false)),
        "{back}"
    );
    assert_eq!(back["seq"].as_u64(), alert["seq"].as_u64().map(|s| s + 1));
    s.stop().await;
}
