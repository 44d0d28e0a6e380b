//! Several instances on one PostgreSQL: what one commits, every other one knows, through a change feed
//! that loses nothing when a connection drops, and a gate event that races another instance's commit
//! is decided again rather than refused.

mod common;

use std::time::Duration;

use common::lane::{IN, LOT};
use common::{Backend, TestDb, TestServer, ws};
use parkline_protocol::{DeviceKind, Role};
use parkline_server::Server;
use serde_json::{Value, json};

/// Polls `check` for up to ten seconds.
async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..200 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn get(http: &reqwest::Client, server: &Server, token: Option<&str>, path: &str) -> (u16, Value) {
    let mut req = http.get(format!("{}{path}", server.url()));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    common::split(req.send().await.unwrap()).await
}

/// The other instance's listening connection is cut from the database side, and while it cannot listen
/// again (the database takes no new connections for a moment), one instance changes rates, adds a
/// facility, revokes a partner's key, sees a car park, and tells a driver something. The other instance
/// learns all of it: the feed is read by sequence, so nothing said while it was not listening is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_instance_commits_reaches_another_whose_connection_dropped() {
    let Some(db) = TestDb::new(Backend::Postgres).await else { return };
    let one = TestServer::start(&db.config()).await;
    let other = parkline_server::start_with_clock(&db.config(), one.clock.clone()).await.unwrap();
    let http = common::http();
    let admin = one.login(Role::Admin).await.access_token;
    let driver = one.login(Role::Driver).await.access_token;
    // Signed in before the database stops taking connections: a sign-in may need a new one.
    let manager = one.login(Role::Manager).await.access_token;
    let (_, me) = one.get_as(&driver, "/v1/me").await;
    let driver_id = me["user_id"].as_i64().unwrap();
    let key = json!({"name": "partner", "requests_per_minute": 600, "operator": "seattle-city"});
    let (status, key) = one.post_as(Some(&admin), "/v1/admin/api-keys", &key).await;
    assert_eq!(status, 201, "{key}");
    let (key_id, key) = (key["id"].as_i64().unwrap(), key["token"].as_str().unwrap().to_owned());
    assert_eq!(get(&http, &other, Some(&key), "/v1/facilities").await.0, 200, "the key works on both");
    let mut stream = ws::connect_at(other.addr, &driver).await;

    let disk = parkline_store::testing::Disk::open(&db.url).await;
    db.allow_connections(false).await;
    assert_eq!(disk.terminate_feed_listener(other.app.store.instance()).await, 1, "one listener");

    let (_, mut rates) = one.get(&format!("/v1/facilities/{LOT}/rates")).await;
    rates["hourly"]["sedan"] = json!(777);
    let put = one.http.put(one.url(&format!("/v1/facilities/{LOT}/rates"))).bearer_auth(&admin).json(&rates);
    assert_eq!(put.send().await.unwrap().status(), 204);
    let mut layout: Value = serde_json::to_value(
        parkline_server::facilities::parse_layout(parkline_server::demo::LAYOUTS[4].1, false).unwrap(),
    )
    .unwrap();
    layout["id"] = json!("feed-annex");
    layout["gates"][0]["id"] = json!("feed-in-1");
    layout["gates"][1]["id"] = json!("feed-out-1");
    let (status, body) = one.post_as(Some(&manager), "/v1/facilities", &layout).await;
    assert_eq!(status, 201, "{body}");
    let revoke = one.http.delete(one.url(&format!("/v1/admin/api-keys/{key_id}"))).bearer_auth(&admin);
    assert_eq!(revoke.send().await.unwrap().status(), 204);
    let spot = one.get(&format!("/v1/facilities/{LOT}/layout")).await.1["spots"][0]["code"].clone();
    let spot = spot.as_str().unwrap();
    assert_eq!(one.report(&[(LOT, spot, true, 0.99, 5)]).await.0, 200);
    parkline_server::notices::notify(&one.server.app, driver_id, "feed_test", "subject-1", "Hello".into())
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    db.allow_connections(true).await;

    let rates_path = format!("/v1/facilities/{LOT}/rates");
    assert!(
        eventually(async || get(&http, &other, None, &rates_path).await.1["hourly"]["sedan"] == 777).await,
        "the new rates are in force on the other instance"
    );
    let annex = "/v1/facilities/feed-annex/availability";
    assert!(eventually(async || get(&http, &other, None, annex).await.0 == 200).await, "the new facility");
    assert!(
        eventually(async || get(&http, &other, Some(&key), "/v1/facilities").await.0 == 401).await,
        "the revoked key is refused by the other instance"
    );
    let occupied = async || {
        let (_, a) = get(&http, &other, None, &format!("/v1/facilities/{LOT}/availability")).await;
        a["counts"]["occupied"].as_u64().unwrap_or(0) > 0
    };
    assert!(eventually(occupied).await, "the parked car is seen on the other instance");
    let notice = loop {
        let m = ws::next(&mut stream, Duration::from_secs(10)).await.expect("the notice reaches the stream");
        if m["type"] == "notice" {
            break m["notice"].clone();
        }
    };
    assert_eq!((notice["kind"].as_str(), notice["text"].as_str()), (Some("feed_test"), Some("Hello")));

    disk.close().await;
    other.stop().await;
    one.stop().await;
    db.cleanup().await;
}

/// Another instance parks a car in the spot this instance would give next, and this instance has not
/// heard of it yet. The entry is planned again on the spot as the database has it: the driver gets
/// another spot, not an error, and the database holds one car per spot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_that_loses_a_race_for_a_spot_gets_another_spot() {
    let Some(db) = TestDb::new(Backend::Postgres).await else { return };
    let s = TestServer::start(&db.config()).await;
    let kiosk = s.device_token(DeviceKind::Kiosk).await;
    let (_, best) = s.get(&format!("/v1/facilities/{LOT}/best-spots?vehicle_class=sedan&n=1")).await;
    let wanted = best["spots"][0]["code"].as_str().expect("a best spot").to_owned();

    let disk = parkline_store::testing::Disk::open(&db.url).await;
    let held = disk.held_spots().await;
    disk.park_unannounced(LOT, &wanted, "ELSEWHERE1").await;
    let event = json!({"event_id": "race-1", "plate": {"text": "RACE 01", "confidence": 0.97}});
    let r = s.http.post(s.url(&format!("/v1/gates/{IN}/events"))).bearer_auth(&kiosk).json(&event);
    let (status, d) = common::split(r.send().await.unwrap()).await;
    assert_eq!((status, d["command"].as_str()), (200, Some("open")), "{d}");
    let given = d["spot"]["code"].as_str().expect("a spot");
    assert_ne!(given, wanted, "not the spot the other instance took");
    assert_eq!(disk.held_spots().await, held + 2, "both cars hold a spot of their own");

    disk.close().await;
    s.stop().await;
    db.cleanup().await;
}

/// Cars enter through one instance and leave at once through another, before the other has heard of
/// them: the exit finds each stay in the database and frees its spot, while the entry's change is still
/// on its way. Reading the entry's spot back from the database while the exit is still being saved
/// would put the spot back as held on the exit's instance for good. Afterwards both instances, and the
/// database, agree on every count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spot_freed_while_its_entry_is_still_on_the_feed_stays_free() {
    let Some(db) = TestDb::new(Backend::Postgres).await else { return };
    let one = TestServer::start(&db.config()).await;
    let other = parkline_server::start_with_clock(&db.config(), one.clock.clone()).await.unwrap();
    let http = common::http();
    let kiosk = one.device_token(DeviceKind::Kiosk).await;
    let disk = parkline_store::testing::Disk::open(&db.url).await;
    let held = disk.held_spots().await;
    let gate = async |server: &str, gate: &str, id: String, plate: &str| {
        let event = json!({"event_id": id, "plate": {"text": plate, "confidence": 0.95}});
        let r = http.post(format!("{server}/v1/gates/{gate}/events")).bearer_auth(&kiosk).json(&event);
        let (status, d) = common::split(r.send().await.unwrap()).await;
        assert_eq!((status, d["command"].as_str()), (200, Some("open")), "{d}");
    };
    for i in 0..20 {
        let plate = format!("QUICK {i:02}");
        gate(&one.url(""), IN, format!("quick-in-{i}"), &plate).await;
        gate(&other.url(), common::lane::OUT, format!("quick-out-{i}"), &plate).await;
    }
    assert_eq!(disk.held_spots().await, held, "every spot given was freed on disk");
    let counts = async |server: &str| {
        let r = http.get(format!("{server}/v1/facilities/{LOT}/availability")).send().await.unwrap();
        r.json::<Value>().await.unwrap()["counts"].clone()
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (first, second) = (counts(&one.url("")).await, counts(&other.url()).await);
    assert_eq!(first, second, "both instances count the same");
    assert_eq!(second["held"].as_i64(), Some(held), "and as the database does: {second}");

    disk.close().await;
    other.stop().await;
    one.stop().await;
    db.cleanup().await;
}
