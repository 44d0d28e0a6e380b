//! Cameras that watch several spots, and several sensors per spot fused into one state: a camera's
//! per-spot report over HTTP and MQTT moves availability and the stream, and is weighed against the
//! spots' ground sensors by kind accuracy, confidence and age, on both backends and across a restart.

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use common::ws::{connect, expect, next, send};
use common::{Backend, TestDb, TestServer};
use jiff::{SignedDuration, Timestamp};
use parkline_protocol::Role;
use serde_json::{Value, json};

const LOT: &str = "waterfront-lot";
/// The demo lot's pole camera over GA-001..GA-004.
const CAMERA: &str = "pole-a-west";

fn ago(now: Timestamp, s: i64) -> String {
    (now - SignedDuration::from_secs(s)).to_string()
}

/// Posts a camera report `(spot, occupied, confidence)` as the lot's sensor gateway.
async fn camera(s: &TestServer, camera: &str, at: String, spots: &[(&str, bool, f64)]) -> (u16, Value) {
    let spots: Vec<Value> = spots
        .iter()
        .map(|(spot, occupied, c)| json!({"spot": spot, "occupied": occupied, "confidence": c}))
        .collect();
    let path = format!("/v1/facilities/{LOT}/cameras/{camera}/occupancy");
    s.post_as(Some(&s.sensors.clone()), &path, &json!({"observed_at": at, "spots": spots})).await
}

/// Posts one ground-sensor reading of `kind` for `spot` as the lot's gateway.
async fn ground(
    s: &TestServer,
    spot: &str,
    kind: &str,
    occupied: bool,
    confidence: f64,
    at: String,
) -> Value {
    let reading = json!({"facility": LOT, "spot": spot, "occupied": occupied, "confidence": confidence,
        "kind": kind, "observed_at": at});
    let (status, body) =
        s.post_as(Some(&s.sensors.clone()), "/v1/sensors/events", &json!({"readings": [reading]})).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn outcomes(report: &Value) -> Vec<&str> {
    report["outcomes"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect()
}

async fn occupied(s: &TestServer) -> u64 {
    s.availability(LOT).await["counts"]["occupied"].as_u64().unwrap()
}

async fn fused_with_ground_sensors(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let s = TestServer::start(&db.config()).await;
    let now = s.server.app.now();
    let driver = s.login(Role::Driver).await.access_token;
    let mut app = connect(&s, &driver).await;
    send(&mut app, json!({"type": "subscribe", "facility": LOT})).await;
    assert_eq!(expect(&mut app).await["type"], "snapshot");
    let before = occupied(&s).await;

    // The camera sees a car in GA-001 and none in GA-002: one change, streamed.
    let (status, report) =
        camera(&s, CAMERA, ago(now, 50), &[("GA-001", true, 0.97), ("GA-002", false, 0.95)]).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(outcomes(&report), ["changed", "unchanged"]);
    let m = expect(&mut app).await;
    assert_eq!((m["spot"].as_str(), m["state"].as_str()), (Some("GA-001"), Some("occupied")), "{m}");
    assert_eq!(occupied(&s).await, before + 1);

    // GA-001's magnetic ground sensor disagrees: it is less accurate (85% against 98%) and no surer,
    // so the spot stays occupied and nothing is streamed.
    let r = ground(&s, "GA-001", "magnetic", false, 0.9, ago(now, 40)).await;
    assert_eq!(outcomes(&r), ["unchanged"]);
    assert_eq!(next(&mut app, Duration::from_millis(300)).await, None);
    assert_eq!(occupied(&s).await, before + 1);

    // The camera then sees the car gone: both agree, the spot is free, with more confidence than the
    // camera alone.
    let (_, report) = camera(&s, CAMERA, ago(now, 30), &[("GA-001", false, 0.97)]).await;
    assert_eq!(outcomes(&report), ["changed"]);
    let m = expect(&mut app).await;
    assert_eq!((m["spot"].as_str(), m["state"].as_str()), (Some("GA-001"), Some("free")), "{m}");
    let history = s.server.app.store.history(LOT, now - SignedDuration::from_secs(70), 10).await.unwrap();
    let last = history.iter().rfind(|h| h.spot == "GA-001").unwrap();
    assert_eq!((last.state, last.source), ("free", "camera"), "{history:?}");
    let confidence = last.confidence.unwrap();
    assert!(confidence > 0.98 * 0.97, "fused confidence {confidence} above the camera's alone");

    // What each sensor last said survives a restart: the magnetic sensor now says occupied, and the
    // camera's "free" of a few minutes ago still outweighs it.
    s.stop().await;
    let s = TestServer::start(&db.config()).await;
    let r = ground(&s, "GA-001", "magnetic", true, 0.9, ago(now, 20)).await;
    assert_eq!(outcomes(&r), ["unchanged"], "the camera's evidence was kept");
    // Once the camera has been silent for the whole window (15 minutes), the ground sensor decides.
    s.clock.advance(SignedDuration::from_mins(16));
    let r = ground(&s, "GA-001", "magnetic", true, 0.9, ago(s.server.app.now(), 0)).await;
    assert_eq!(outcomes(&r), ["changed"], "a silent camera stops counting");

    // Refused whole, nothing changes: a camera not in the layout, a spot the camera does not watch,
    // a camera at a facility out of the gateway's reach, a confidence out of range.
    let at = ago(s.server.app.now(), 1);
    let (status, body) = camera(&s, "no-such-camera", at.clone(), &[("GA-002", true, 0.97)]).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("unknown_sensor")), "{body}");
    let (status, body) =
        camera(&s, CAMERA, at.clone(), &[("GA-002", true, 0.97), ("GA-005", true, 0.97)]).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("unknown_sensor")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("does not watch spot GA-005"), "{body}");
    let (status, body) = camera(&s, CAMERA, at.clone(), &[("GA-002", true, 1.5)]).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{body}");
    let garage = s.gateways["pike-place-garage"].clone();
    let path = format!("/v1/facilities/{LOT}/cameras/{CAMERA}/occupancy");
    let body =
        json!({"observed_at": at, "spots": [{"spot": "GA-002", "occupied": true, "confidence": 0.97}]});
    let (status, body) = s.post_as(Some(&garage), &path, &body).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("unknown_facility")), "{body}");
    assert_eq!(occupied(&s).await, before + 1, "GA-001 occupied again, nothing else");
    s.stop().await;
    db.cleanup().await;
}

on_both_backends!(fused_with_ground_sensors);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_report_over_mqtt_moves_each_spot_it_names() {
    let Ok(url) = std::env::var("PARKLINE_TEST_MQTT_URL") else {
        assert!(std::env::var_os("PARKLINE_REQUIRE_SERVICES").is_none(), "PARKLINE_TEST_MQTT_URL is not set");
        eprintln!("\n*** SKIPPED: PARKLINE_TEST_MQTT_URL is not set; run ./tests/run for Mosquitto ***\n");
        return;
    };
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let mut settings = db.settings();
    settings.mqtt_url = Some(url.clone().into());
    let s = TestServer::start(&settings.resolve().unwrap()).await;
    let admin = s.login(Role::Admin).await.access_token;
    let device = json!({"name": "camera gateway", "kind": "sensor_gateway", "facility": LOT});
    let (status, body) = s.post_as(Some(&admin), "/v1/admin/devices", &device).await;
    assert_eq!(status, 201, "{body}");
    let gateway = body["mqtt_username"].as_str().unwrap().to_owned();
    let before = occupied(&s).await;

    let opts = parkline_server::mqtt::options(&url, &format!("camera-{}", std::process::id())).unwrap();
    let (client, mut events) = rumqttc::AsyncClient::new(opts, 16);
    tokio::spawn(async move { while events.poll().await.is_ok() {} });
    let report =
        |spots: Value| json!({"observed_at": Timestamp::now().to_string(), "spots": spots}).to_string();
    let topic = |camera: &str| format!("parkline/{LOT}/{gateway}/cameras/{camera}");
    let qos = rumqttc::QoS::AtLeastOnce;
    // Refused: not a report; a camera the lot does not have.
    client.publish(topic(CAMERA), qos, false, "{\"spots\": 3}").await.unwrap();
    let two = json!([{"spot": "GA-003", "occupied": true, "confidence": 0.96},
        {"spot": "GA-004", "occupied": true, "confidence": 0.96}]);
    client.publish(topic("pole-z"), qos, false, report(two.clone())).await.unwrap();
    // Applied: both spots of the report.
    client.publish(topic(CAMERA), qos, false, report(two)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while occupied(&s).await < before + 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(occupied(&s).await, before + 2, "the camera's two spots, nothing from the refused ones");
    let history =
        s.server.app.store.history(LOT, Timestamp::now() - SignedDuration::from_secs(30), 10).await.unwrap();
    let spots: Vec<&str> = history.iter().map(|h| h.spot.as_str()).collect();
    assert_eq!(spots, ["GA-003", "GA-004"], "{history:?}");
    assert!(history.iter().all(|h| h.source == "camera"));
    s.stop().await;
}
