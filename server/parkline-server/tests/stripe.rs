//! The Stripe adapter against a local stand-in that speaks Stripe's wire format: form-encoded
//! PaymentIntents and Refunds with bearer keys and idempotency keys, JSON objects back, 402 card errors.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::lane::{Lane, reason};
use common::{Backend, TestDb, TestServer};
use jiff::SignedDuration;
use parkline_protocol::{DeviceKind, Role};
use serde_json::{Value, json};

const KEY: &str = "sk_test_parkline";

/// The stand-in's memory: answers by idempotency key (Stripe replays them), intents, every request.
#[derive(Default)]
struct Stand {
    replies: HashMap<String, (u16, Value)>,
    intents: HashMap<String, (i64, i64)>, // id -> (amount, refunded)
    requests: Vec<(String, HashMap<String, String>)>,
}
type Shared = Arc<Mutex<Stand>>;

fn card_error(message: &str, decline: &str) -> (u16, Value) {
    (
        402,
        json!({"error": {"type": "card_error", "code": "card_declined", "decline_code": decline, "message": message}}),
    )
}

async fn handle(
    path: &'static str,
    stand: Shared,
    headers: HeaderMap,
    form: HashMap<String, String>,
) -> (StatusCode, axum::Json<Value>) {
    let mut s = stand.lock().unwrap();
    s.requests.push((path.to_owned(), form.clone()));
    let reply = |(status, body): (u16, Value)| (StatusCode::from_u16(status).unwrap(), axum::Json(body));
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {KEY}")) {
        return reply((
            401,
            json!({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}),
        ));
    }
    let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned) else {
        return reply((
            400,
            json!({"error": {"type": "invalid_request_error", "message": "no idempotency key"}}),
        ));
    };
    if let Some(done) = s.replies.get(&key) {
        return reply(done.clone());
    }
    let amount: i64 = form.get("amount").and_then(|a| a.parse().ok()).unwrap_or(0);
    let answer = if path == "/v1/payment_intents" {
        match form.get("payment_method").map(String::as_str) {
            _ if form.get("confirm").map(String::as_str) != Some("true") || amount <= 0 => {
                (400, json!({"error": {"type": "invalid_request_error", "message": "bad intent"}}))
            }
            Some("pm_card_visa") => {
                let id = format!("pi_{}", s.intents.len() + 1);
                s.intents.insert(id.clone(), (amount, 0));
                (
                    200,
                    json!({"id": id, "object": "payment_intent", "amount": amount, "currency": form["currency"], "status": "succeeded"}),
                )
            }
            Some("pm_card_chargeDeclinedInsufficientFunds") => {
                card_error("Your card has insufficient funds.", "insufficient_funds")
            }
            _ => card_error("Your card was declined.", "generic_decline"),
        }
    } else {
        let intent = form.get("payment_intent").cloned().unwrap_or_default();
        match s.intents.get_mut(&intent) {
            Some((paid, refunded)) if *refunded + amount <= *paid && amount > 0 => {
                *refunded += amount;
                (
                    200,
                    json!({"id": format!("re_{intent}_{refunded}"), "object": "refund", "amount": amount, "status": "succeeded"}),
                )
            }
            _ => (400, json!({"error": {"type": "invalid_request_error", "message": "cannot refund that"}})),
        }
    };
    s.replies.insert(key, answer.clone());
    reply(answer)
}

async fn stand_in() -> (String, Shared) {
    let stand: Shared = Arc::default();
    let route = |path: &'static str| {
        axum::routing::post(
            move |State(s): State<Shared>, headers: HeaderMap, Form(form): Form<HashMap<String, String>>| {
                handle(path, s, headers, form)
            },
        )
    };
    let app = axum::Router::new()
        .route("/v1/payment_intents", route("/v1/payment_intents"))
        .route("/v1/refunds", route("/v1/refunds"))
        .with_state(stand.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, stand)
}

async fn pay(s: &TestServer, ticket: &str, key: &str, token: &str) -> (u16, Value) {
    s.pay_as(None, ticket, key, &json!({"card_token": token})).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_and_refunds_go_through_stripe_payment_intents() {
    let (stripe_url, stand) = stand_in().await;
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let mut settings = db.settings();
    settings.payment_provider = Some("stripe".into());
    settings.stripe_secret_key = Some(KEY.into());
    settings.stripe_api_base = Some(stripe_url);
    let s = TestServer::start(&settings.resolve().unwrap()).await;
    let kiosk = s.device_token(DeviceKind::Kiosk).await;
    let lane = Lane { s, db, kiosk };
    let s = &lane.s;

    let d = lane.enter("in-1", "STR 001").await;
    let ticket = d["ticket"]["id"].as_str().unwrap().to_owned();
    s.clock.advance(SignedDuration::from_hours(2));
    let (status, body) = pay(s, &ticket, "k1", "pm_card_chargeDeclinedInsufficientFunds").await;
    assert_eq!((status, body["code"].as_str()), (402, Some("payment_declined")), "{body}");
    assert_eq!(body["message"], "Your card has insufficient funds.");

    let (status, receipt) = pay(s, &ticket, "k2", "pm_card_visa").await;
    assert_eq!(status, 201, "{receipt}");
    assert_eq!(receipt["provider_ref"], "pi_1");
    let due = receipt["amount"]["minor"].as_i64().unwrap();
    {
        let stand = stand.lock().unwrap();
        let (path, form) = stand.requests.last().unwrap();
        assert_eq!(path, "/v1/payment_intents");
        assert_eq!(form["amount"], due.to_string());
        assert_eq!(form["currency"], "usd");
        assert_eq!(form["confirm"], "true");
    }
    // A retry of the same payment is answered from the ledger: Stripe is not asked again.
    assert_eq!(pay(s, &ticket, "k2", "pm_card_visa").await, (201, receipt.clone()));
    assert_eq!(stand.lock().unwrap().requests.len(), 2);
    assert_eq!(reason(&lane.leave("out-1", "STR001", None).await), ("open", "paid"));

    let manager = s.login(Role::Manager).await.access_token;
    let refund = async |key: &str, amount: i64| {
        let r = s
            .http
            .post(s.url(&format!("/v1/payments/{}/refunds", receipt["id"].as_str().unwrap())))
            .bearer_auth(&manager)
            .header("idempotency-key", key)
            .json(&json!({"amount_minor": amount, "reason": "test"}))
            .send()
            .await
            .unwrap();
        common::split(r).await
    };
    let (status, body) = refund("r1", 100).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["provider_ref"], "re_pi_1_100");
    let (path, form) = stand.lock().unwrap().requests.last().cloned().unwrap();
    assert_eq!(
        (path.as_str(), form["payment_intent"].as_str(), form["amount"].as_str()),
        ("/v1/refunds", "pi_1", "100")
    );
    lane.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_or_an_unreachable_stripe_is_a_provider_error_and_records_nothing() {
    let (stripe_url, _stand) = stand_in().await;
    for (key, base) in [("sk_test_wrong", stripe_url.as_str()), (KEY, "http://127.0.0.1:9")] {
        let db = TestDb::new(Backend::Sqlite).await.unwrap();
        let mut settings = db.settings();
        settings.payment_provider = Some("stripe".into());
        settings.stripe_secret_key = Some(key.into());
        settings.stripe_api_base = Some(base.into());
        let s = TestServer::start(&settings.resolve().unwrap()).await;
        let kiosk = s.device_token(DeviceKind::Kiosk).await;
        let lane = Lane { s, db, kiosk };
        let d = lane.enter("in-1", "STR 002").await;
        lane.s.clock.advance(SignedDuration::from_hours(2));
        let (status, body) = pay(&lane.s, d["ticket"]["id"].as_str().unwrap(), "k", "pm_card_visa").await;
        assert_eq!((status, body["code"].as_str()), (502, Some("payment_provider_error")), "{body}");
        assert_eq!(reason(&lane.leave("out-1", "STR002", None).await), ("deny", "payment_required"));
        lane.close().await;
    }
}
