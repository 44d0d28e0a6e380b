//! A partner over real HTTP: an event venue's API key gets an OAuth 2.0 token (client credentials),
//! grants a plate entry at the city's lot, the car enters and leaves through the lanes without paying,
//! the venue's own webhook endpoint hears both and nothing else, and the stay is billed to the venue. A
//! revoked grant no longer lets its plate in free; a key without the `grants` scope grants nothing. On
//! SQLite and PostgreSQL.

#[macro_use]
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::lane::{LOT, Lane, reason};
use common::{Backend, split};
use jiff::SignedDuration;
use parkline_protocol::Role;
use serde_json::{Value, json};

type Received = Arc<Mutex<Vec<Value>>>;

/// A webhook receiver on loopback; returns its URL.
async fn receiver(got: Received) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/venue-hook", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/venue-hook",
        axum::routing::post(move |body: String| {
            let got = got.clone();
            async move {
                got.lock().unwrap().push(serde_json::from_str::<Value>(&body).unwrap());
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// An API key of the city (the lot's operator) with `scopes`: (client id, secret).
async fn key(lane: &Lane, manager: &str, name: &str, scopes: Value) -> (String, String) {
    let body = json!({"name": name, "requests_per_minute": 600, "scopes": scopes});
    let (status, key) = lane.s.post_as(Some(manager), "/v1/admin/api-keys", &body).await;
    assert_eq!(status, 201, "{key}");
    (key["id"].as_i64().unwrap().to_string(), key["token"].as_str().unwrap().to_owned())
}

/// `POST /v1/oauth/token` with HTTP Basic client authentication: (status, body).
async fn token(lane: &Lane, client: &(String, String), scope: Option<&str>) -> (u16, Value) {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let req =
        lane.s.http.post(lane.s.url("/v1/oauth/token")).basic_auth(&client.0, Some(&client.1)).form(&form);
    split(req.send().await.unwrap()).await
}

async fn send(
    lane: &Lane,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = lane.s.http.request(method, lane.s.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    split(req.send().await.unwrap()).await
}

fn grant_for(lane: &Lane, plate: &str) -> Value {
    let now = lane.s.server.app.now();
    json!({"plate": plate, "facility": LOT, "valid_from": (now - SignedDuration::from_mins(5)).to_string(),
        "valid_until": (now + SignedDuration::from_hours(6)).to_string()})
}

async fn a_partner_grants_an_entry_and_pays_for_the_stay(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let manager = lane.s.login(Role::Manager).await.access_token;
    let venue = key(&lane, &manager, "Arena events", json!(["grants", "occupancy"])).await;

    // Client credentials: a wrong secret and a scope the key lacks are refused the OAuth way.
    let (status, body) = token(&lane, &(venue.0.clone(), "plk_wrong".into()), None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    let (status, body) = token(&lane, &venue, Some("grants rates")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");
    let (status, issued) = token(&lane, &venue, Some("grants")).await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!((issued["token_type"].as_str(), issued["scope"].as_str()), (Some("Bearer"), Some("grants")));
    let access = issued["access_token"].as_str().unwrap().to_owned();
    // The token carries only the scope asked for.
    let (status, _) = send(&lane, &access, reqwest::Method::GET, "/v1/partner/grants", None).await;
    assert_eq!(status, 200);

    // The venue's own endpoint, and the operator's, which hears everything of its facilities.
    let heard: Received = Arc::default();
    let url = receiver(heard.clone()).await;
    let (status, hook) =
        send(&lane, &access, reqwest::Method::POST, "/v1/partner/webhooks", Some(json!({"url": url}))).await;
    assert_eq!(status, 201, "{hook}");

    // The grant, then the car: in free of charge, out without paying.
    let (status, grant) =
        send(&lane, &access, reqwest::Method::POST, "/v1/partner/grants", Some(grant_for(&lane, "VIP 777")))
            .await;
    assert_eq!(status, 201, "{grant}");
    assert_eq!(grant["plate"], "VIP777");
    let (status, again) =
        send(&lane, &access, reqwest::Method::POST, "/v1/partner/grants", Some(grant_for(&lane, "VIP777")))
            .await;
    assert_eq!((status, again["code"].as_str()), (409, Some("conflict")), "the same plate, the same time");
    let entered = lane.enter("vip-in", "VIP777").await;
    assert_eq!(reason(&entered), ("open", "admitted"));
    assert!(entered["display"].as_str().unwrap().starts_with("Welcome, Arena events"), "{entered}");
    let session = entered["session"].as_str().unwrap().to_owned();
    // A stranger's stay at the same lot, at the same time.
    let other = lane.enter("other-in", "OTH 123").await;
    lane.s.clock.advance(SignedDuration::from_hours(3));
    let left = lane.leave("vip-out", "VIP777", None).await;
    assert_eq!(reason(&left), ("open", "paid"), "{left}");

    // The venue hears its stay start and end, and nothing of the stranger's.
    for _ in 0..100 {
        if heard.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // anything else would have come by now
    // Deliveries may arrive in any order; each event says when it happened.
    let mut events = heard.lock().unwrap().clone();
    events.sort_by_key(|e| e["created"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap());
    let topics: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["data"]["session"].as_str().unwrap()))
        .collect();
    assert_eq!(topics, [("session.started", session.as_str()), ("session.ended", session.as_str())]);
    assert!(!events.iter().any(|e| e["data"]["session"] == other["session"]));

    // Billed to the venue: the stay's whole fee, as the end of the stay announced it.
    let fee = events[1]["data"]["amount_minor"].as_i64().unwrap();
    assert!(fee > 0, "three hours are not free: {}", events[1]);
    let (status, charges) = send(&lane, &access, reqwest::Method::GET, "/v1/partner/charges", None).await;
    assert_eq!(status, 200, "{charges}");
    let charges = charges.as_array().unwrap();
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert_eq!(
        (charges[0]["session"].as_str(), charges[0]["amount_minor"].as_i64()),
        (Some(session.as_str()), Some(fee))
    );
    // A refund goes back to the venue's account, where the money came from.
    let payment = charges[0]["payment"].as_str().unwrap().to_owned();
    let refund = json!({"amount_minor": 100, "reason": "late start"});
    let req = lane.s.http.post(lane.s.url(&format!("/v1/payments/{payment}/refunds"))).bearer_auth(&manager);
    let (status, body) =
        split(req.header("idempotency-key", "venue-refund").json(&refund).send().await.unwrap()).await;
    assert_eq!(status, 201, "{body}");
    let (_, charges) = send(&lane, &access, reqwest::Method::GET, "/v1/partner/charges", None).await;
    let amounts: Vec<i64> =
        charges.as_array().unwrap().iter().map(|c| c["amount_minor"].as_i64().unwrap()).collect();
    assert_eq!(amounts, [fee, -100]);
    let admin = lane.s.login(Role::Admin).await.access_token;
    let (status, check) = lane.s.get_as(&admin, "/v1/admin/balances/check").await;
    assert_eq!((status, &check["problems"]), (200, &json!([])), "{check}");

    // A grant to one zone: its car is sent there (the lot gives a plain car a nearer zone), and a zone
    // the lot does not have is refused.
    let mut zoned = grant_for(&lane, "VIP 999");
    zoned["zone"] = json!("GD");
    let (status, body) =
        send(&lane, &access, reqwest::Method::POST, "/v1/partner/grants", Some(zoned.clone())).await;
    assert_eq!(status, 201, "{body}");
    let plain = lane.enter("plain-in", "PLN 100").await;
    let inside = lane.enter("zoned-in", "VIP999").await;
    assert_ne!(plain["spot"]["zone"], "D", "{plain}");
    assert_eq!(inside["spot"]["zone"], "D", "{inside}");
    zoned["plate"] = json!("VIP 998");
    zoned["zone"] = json!("GZ");
    let (status, body) = send(&lane, &access, reqwest::Method::POST, "/v1/partner/grants", Some(zoned)).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{body}");

    // Revoked: the plate comes in as any visitor and pays at the exit.
    let (_, second) =
        send(&lane, &access, reqwest::Method::POST, "/v1/partner/grants", Some(grant_for(&lane, "VIP 888")))
            .await;
    let id = second["id"].as_str().unwrap();
    let (status, _) =
        send(&lane, &access, reqwest::Method::DELETE, &format!("/v1/partner/grants/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, _) =
        send(&lane, &access, reqwest::Method::DELETE, &format!("/v1/partner/grants/{id}"), None).await;
    assert_eq!(status, 404, "revoked once");
    let visitor = lane.enter("rev-in", "VIP888").await;
    assert_eq!(visitor["display"].as_str().unwrap().split('.').next(), Some("Welcome"), "{visitor}");
    lane.s.clock.advance(SignedDuration::from_hours(2));
    let refused = lane.leave("rev-out", "VIP888", None).await;
    assert_eq!(reason(&refused), ("deny", "payment_required"), "{refused}");
    let (_, charges) = send(&lane, &access, reqwest::Method::GET, "/v1/partner/charges", None).await;
    assert_eq!(charges.as_array().unwrap().len(), 2, "nothing more billed to the venue");

    // A key without the grants scope, and a person, grant nothing.
    let reader = key(&lane, &manager, "Map app", json!(["occupancy"])).await;
    let (status, issued) = token(&lane, &reader, None).await;
    assert_eq!(status, 200, "{issued}");
    let reader_access = issued["access_token"].as_str().unwrap();
    for bearer in [reader_access, reader.1.as_str(), manager.as_str()] {
        let (status, body) = send(
            &lane,
            bearer,
            reqwest::Method::POST,
            "/v1/partner/grants",
            Some(grant_for(&lane, "SNK 001")),
        )
        .await;
        assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{body}");
    }

    // Revoking the key ends its tokens.
    let path = format!("/v1/admin/api-keys/{}", venue.0);
    let (status, _) = send(&lane, &manager, reqwest::Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    let (status, body) = send(&lane, &access, reqwest::Method::GET, "/v1/partner/grants", None).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthenticated")), "{body}");
    let (status, body) = token(&lane, &venue, None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    lane.close().await;
}

on_both_backends!(a_partner_grants_an_entry_and_pays_for_the_stay);
