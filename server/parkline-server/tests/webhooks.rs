//! Webhooks delivered to a real HTTP receiver on loopback: signed, retried while the receiver is down,
//! delivered exactly once when it comes up. On SQLite and PostgreSQL.

#[macro_use]
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use common::lane::{Lane, reason};
use common::{Backend, TestDb, TestServer};
use jiff::SignedDuration;
use parkline_protocol::{DeviceKind, Role};
use parkline_server::config::Settings;
use parkline_store::testing::Disk;
use serde_json::{Value, json};

/// What the receiver got: the signature header, the event id header, the body.
type Received = Arc<Mutex<Vec<(String, String, String)>>>;

async fn receiver(listener: tokio::net::TcpListener, got: Received) {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let got = got.clone();
            async move {
                let header =
                    |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                got.lock().unwrap().push((header("parkline-signature"), header("parkline-event-id"), body));
                "ok"
            }
        }),
    );
    axum::serve(listener, app).await.unwrap();
}

async fn outbox(lane: &Lane) -> Vec<(i64, Option<i64>)> {
    let disk = Disk::open(&lane.db.url).await;
    let rows = disk.outbox_deliveries().await;
    disk.close().await;
    rows
}

async fn events_reach_a_receiver_that_was_down_exactly_once(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let manager = s.login(Role::Manager).await.access_token;
    // A port with nobody listening yet: the receiver is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let (status, hook) =
        s.post_as(Some(&manager), "/v1/webhooks", &json!({"url": url, "topics": ["*"]})).await;
    assert_eq!(status, 201, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let (_, listed) = s.get_as(&manager, "/v1/webhooks").await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0].get("secret").is_none(), "the secret is shown once");

    // A stay: entry, payment in the app, exit.
    let d = lane.enter("in-1", "HOOK01").await;
    let ticket = d["ticket"]["id"].as_str().unwrap();
    s.clock.advance(SignedDuration::from_hours(1));
    let pay = s
        .http
        .post(s.url(&format!("/v1/tickets/{ticket}/payments")))
        .header("idempotency-key", "hook-pay")
        .json(&json!({"card_token": "tok_visa"}))
        .send()
        .await
        .unwrap();
    assert_eq!(pay.status(), 201);
    assert_eq!(reason(&lane.leave("out-1", "HOOK01", None).await).0, "open");

    // While the receiver is down, deliveries fail and wait to be retried.
    let mut tried = false;
    for _ in 0..40 {
        let rows = outbox(&lane).await;
        assert!(rows.iter().all(|(_, delivered)| delivered.is_none()));
        if rows.len() == 3 && rows.iter().all(|(attempts, _)| *attempts >= 1) {
            tried = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(tried, "three events were attempted: {:?}", outbox(&lane).await);

    // The receiver comes up: each event arrives once, signed.
    let got: Received = Arc::default();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let server = tokio::spawn(receiver(listener, got.clone()));
    for _ in 0..200 {
        if got.lock().unwrap().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Time for any duplicate to show up.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "delivered exactly once each: {got:?}");
    let now = jiff::Timestamp::now();
    let tolerance = SignedDuration::from_mins(5);
    let mut types = Vec::new();
    for (signature, id, body) in &got {
        assert!(
            parkline_server::webhooks::verify_signature(&secret, signature, body, now, tolerance),
            "{signature}"
        );
        assert!(!parkline_server::webhooks::verify_signature(
            &secret,
            signature,
            &format!("{body} "),
            now,
            tolerance
        ));
        assert!(!parkline_server::webhooks::verify_signature("whsec_other", signature, body, now, tolerance));
        let event: Value = serde_json::from_str(body).unwrap();
        assert_eq!(event["id"].as_str(), Some(id.as_str()));
        assert!(!body.contains("HOOK01"), "no plate is sent");
        types.push(event["type"].as_str().unwrap().to_owned());
    }
    types.sort();
    assert_eq!(types, ["payment.succeeded", "session.ended", "session.started"]);
    assert!(outbox(&lane).await.iter().all(|(_, delivered)| delivered.is_some()));
    server.abort();
    lane.close().await;
}

async fn webhook_registration_checks_its_input(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let manager = s.login(Role::Manager).await.access_token;
    let driver = s.login(Role::Driver).await.access_token;
    let post = async |token: &str, body: Value| s.post_as(Some(token), "/v1/webhooks", &body).await;
    let ok = json!({"url": "https://partner.example/hooks", "topics": ["session.started"]});
    assert_eq!(post(&driver, ok.clone()).await.0, 403);
    for bad in [
        json!({"url": "ftp://partner.example/x", "topics": ["*"]}),
        json!({"url": "not a url", "topics": ["*"]}),
        json!({"url": "https://partner.example/x", "topics": []}),
        json!({"url": "https://partner.example/x", "topics": ["session.exploded"]}),
    ] {
        let (status, body) = post(&manager, bad.clone()).await;
        assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{bad}: {body}");
    }
    let (status, hook) = post(&manager, ok).await;
    assert_eq!(status, 201);
    let path = format!("/v1/webhooks/{}", hook["id"].as_str().unwrap());
    let delete = async || s.http.delete(s.url(&path)).bearer_auth(&manager).send().await.unwrap().status();
    assert_eq!(delete().await, 204);
    assert_eq!(delete().await, 404);
    lane.close().await;
}

/// Webhooks never reach the server's own network: internal addresses in any spelling are refused when
/// registered, and an endpoint registered while a private range was allowed gets nothing once it is not.
async fn webhooks_never_reach_internal_addresses(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let strict = Settings { webhook_allow_private: None, ..db.settings() }.resolve().unwrap();
    let s = TestServer::start(&strict).await;
    let manager = s.login(Role::Manager).await.access_token;
    for url in [
        "http://127.0.0.1:5432/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.0.1/admin",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://127.1/",
        "http://localhost:5432/",
    ] {
        let (status, body) =
            s.post_as(Some(&manager), "/v1/webhooks", &json!({"url": url, "topics": ["*"]})).await;
        assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{url}: {body}");
        assert!(body["message"].as_str().unwrap().contains("public address"), "{url}: {body}");
    }
    s.stop().await;

    // Registered while loopback was allowed, to a receiver that is up.
    let got: Received = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let receiving = tokio::spawn(receiver(listener, got.clone()));
    let s = TestServer::start(&db.config()).await;
    let manager = s.login(Role::Manager).await.access_token;
    let (status, hook) =
        s.post_as(Some(&manager), "/v1/webhooks", &json!({"url": url, "topics": ["*"]})).await;
    assert_eq!(status, 201, "{hook}");
    s.stop().await;

    // Not allowed any more: every send is checked again, and nothing goes out.
    let s = TestServer::start(&strict).await;
    let kiosk = s.device_token(DeviceKind::Kiosk).await;
    let lane = Lane { s, db, kiosk };
    lane.enter("in-1", "SSRF01").await;
    let mut tried = false;
    for _ in 0..100 {
        let rows = outbox(&lane).await;
        assert!(rows.iter().all(|(_, delivered)| delivered.is_none()), "{rows:?}");
        if !rows.is_empty() && rows.iter().all(|(attempts, _)| *attempts >= 1) {
            tried = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(tried, "the event was tried: {:?}", outbox(&lane).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(got.lock().unwrap().is_empty(), "a webhook reached loopback");
    receiving.abort();
    lane.close().await;
}

on_both_backends!(
    events_reach_a_receiver_that_was_down_exactly_once,
    webhook_registration_checks_its_input,
    webhooks_never_reach_internal_addresses,
);
