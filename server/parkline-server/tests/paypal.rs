//! The PayPal adapter against a local stand-in that speaks PayPal's REST wire format: an OAuth 2.0
//! client-credentials token, Orders v2 created and captured in one call from a vaulted payment
//! method, capture refunds, `PayPal-Request-Id` replays, and PayPal's error bodies.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use common::lane::{Lane, reason};
use common::{Backend, TestDb, TestServer};
use jiff::SignedDuration;
use parkline_protocol::{DeviceKind, Role};
use serde_json::{Value, json};

const CLIENT: &str = "parkline-client";
const SECRET: &str = "parkline-secret";
const TOKEN: &str = "A21AAtest-access-token";

/// The stand-in's memory.
#[derive(Default)]
struct Stand {
    /// Answers by `PayPal-Request-Id`: PayPal replays them.
    replies: HashMap<String, (u16, Value)>,
    /// Capture id -> (amount in cents, refunded cents).
    captures: HashMap<String, (i64, i64)>,
    /// Every call: path and body.
    requests: Vec<(String, Value)>,
    /// The next call is carried out but its answer is lost (a timeout, a dropped connection).
    lose_next_answer: bool,
}
type Shared = Arc<Mutex<Stand>>;

fn error(status: u16, name: &str, issue: &str, description: &str) -> (u16, Value) {
    (
        status,
        json!({"name": name, "message": description, "debug_id": "f0e1d2c3b4a59",
        "details": [{"issue": issue, "description": description}]}),
    )
}

fn cents(value: &Value) -> Option<i64> {
    let (units, fraction) = value.as_str()?.split_once('.')?;
    (fraction.len() == 2).then_some(())?;
    Some(units.parse::<i64>().ok()? * 100 + fraction.parse::<i64>().ok()?)
}

fn authorised(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

/// Carries out one call (order or refund), replaying a known `PayPal-Request-Id`.
fn call(stand: &Shared, path: String, headers: &HeaderMap, body: Value) -> (StatusCode, axum::Json<Value>) {
    let mut s = stand.lock().unwrap();
    s.requests.push((path.clone(), body.clone()));
    let reply = |(status, body): (u16, Value)| (StatusCode::from_u16(status).unwrap(), axum::Json(body));
    if !authorised(headers) {
        return reply((
            401,
            json!({"error": "invalid_token", "error_description": "Token signature verification failed"}),
        ));
    }
    let Some(id) = headers.get("paypal-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned) else {
        return reply(error(
            400,
            "INVALID_REQUEST",
            "MISSING_REQUIRED_PARAMETER",
            "PayPal-Request-Id is required",
        ));
    };
    let answer = match s.replies.get(&id) {
        Some(done) => done.clone(),
        None => {
            let answer = if path == "/v2/checkout/orders" {
                order(&mut s, &body)
            } else {
                refund(&mut s, &path, &body)
            };
            s.replies.insert(id, answer.clone());
            answer
        }
    };
    if std::mem::take(&mut s.lose_next_answer) {
        return reply((503, json!({"name": "SERVICE_UNAVAILABLE", "message": "lost"})));
    }
    reply(answer)
}

fn order(s: &mut Stand, body: &Value) -> (u16, Value) {
    let unit = &body["purchase_units"][0];
    let (Some(amount), Some(currency)) =
        (cents(&unit["amount"]["value"]), unit["amount"]["currency_code"].as_str())
    else {
        return error(400, "INVALID_REQUEST", "INVALID_PARAMETER_VALUE", "amount");
    };
    if body["intent"] != "CAPTURE" || amount <= 0 {
        return error(422, "UNPROCESSABLE_ENTITY", "INVALID_PARAMETER_VALUE", "intent or amount");
    }
    let order = format!("5O{:08}", s.requests.len());
    match body["payment_source"]["paypal"]["vault_id"].as_str() {
        Some("vault_good") => {
            let capture = format!("3C{:08}", s.captures.len() + 1);
            s.captures.insert(capture.clone(), (amount, 0));
            let value = unit["amount"]["value"].clone();
            (
                201,
                json!({"id": order, "status": "COMPLETED", "intent": "CAPTURE",
                "purchase_units": [{"reference_id": unit["reference_id"], "payments": {"captures": [
                    {"id": capture, "status": "COMPLETED", "amount": {"currency_code": currency, "value": value},
                     "final_capture": true}]}}]}),
            )
        }
        Some("vault_declined") => error(
            422,
            "UNPROCESSABLE_ENTITY",
            "INSTRUMENT_DECLINED",
            "The instrument presented was either declined by the processor or bank, or it can't be used for this payment.",
        ),
        _ => error(422, "UNPROCESSABLE_ENTITY", "PAYMENT_SOURCE_INFO_CANNOT_BE_VERIFIED", "unknown vault id"),
    }
}

fn refund(s: &mut Stand, path: &str, body: &Value) -> (u16, Value) {
    let capture = path.trim_start_matches("/v2/payments/captures/").trim_end_matches("/refund").to_owned();
    let amount = cents(&body["amount"]["value"]).unwrap_or(0);
    match s.captures.get_mut(&capture) {
        Some((paid, refunded)) if amount > 0 && *refunded + amount <= *paid => {
            *refunded += amount;
            (
                201,
                json!({"id": format!("1R{capture}{refunded}"), "status": "COMPLETED", "amount": body["amount"]}),
            )
        }
        Some(_) => error(
            422,
            "UNPROCESSABLE_ENTITY",
            "REFUND_AMOUNT_EXCEEDED",
            "The refund amount exceeds the capture",
        ),
        None => error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "No such capture"),
    }
}

async fn stand_in() -> (String, Shared) {
    let stand: Shared = Arc::default();
    let token = axum::routing::post(|headers: HeaderMap, body: String| async move {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT}:{SECRET}"));
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
        if auth != Some(&format!("Basic {basic}")) || body != "grant_type=client_credentials" {
            let body =
                json!({"error": "invalid_client", "error_description": "Client Authentication failed"});
            return (StatusCode::UNAUTHORIZED, axum::Json(body));
        }
        let body = json!({"scope": "https://uri.paypal.com/services/payments/payment", "access_token": TOKEN,
            "token_type": "Bearer", "app_id": "APP-80W284485P519543T", "expires_in": 32400, "nonce": "n"});
        (StatusCode::OK, axum::Json(body))
    });
    let orders = axum::routing::post(
        |State(s): State<Shared>, headers: HeaderMap, axum::Json(body): axum::Json<Value>| async move {
            call(&s, "/v2/checkout/orders".into(), &headers, body)
        },
    );
    let refunds = axum::routing::post(
        |State(s): State<Shared>,
         Path(capture): Path<String>,
         headers: HeaderMap,
         axum::Json(body): axum::Json<Value>| async move {
            call(&s, format!("/v2/payments/captures/{capture}/refund"), &headers, body)
        },
    );
    let app = axum::Router::new()
        .route("/v1/oauth2/token", token)
        .route("/v2/checkout/orders", orders)
        .route("/v2/payments/captures/{capture}/refund", refunds)
        .with_state(stand.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, stand)
}

async fn server(url: &str, secret: &str) -> Lane {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let mut settings = db.settings();
    settings.payment_provider = Some("paypal".into());
    settings.paypal_client_id = Some(CLIENT.into());
    settings.paypal_secret = Some(secret.into());
    settings.paypal_api_base = Some(url.into());
    let s = TestServer::start(&settings.resolve().unwrap()).await;
    let kiosk = s.device_token(DeviceKind::Kiosk).await;
    Lane { s, db, kiosk }
}

async fn pay(s: &TestServer, ticket: &str, key: &str, token: &str) -> (u16, Value) {
    s.pay_as(None, ticket, key, &json!({"card_token": token})).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_and_refunds_go_through_paypal_orders_exactly_once() {
    let (url, stand) = stand_in().await;
    let lane = server(&url, SECRET).await;
    let s = &lane.s;
    let d = lane.enter("in-1", "PPL 001").await;
    let ticket = d["ticket"]["id"].as_str().unwrap().to_owned();
    s.clock.advance(SignedDuration::from_hours(2));

    let (status, body) = pay(s, &ticket, "k1", "vault_declined").await;
    assert_eq!((status, body["code"].as_str()), (402, Some("payment_declined")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("declined by the processor"), "{body}");

    // PayPal captures, but its answer is lost: the payment is not recorded and the driver is told
    // to try again. The retry sends the same PayPal-Request-Id, so PayPal answers with the first
    // capture instead of taking the money twice.
    stand.lock().unwrap().lose_next_answer = true;
    let (status, body) = pay(s, &ticket, "k2", "vault_good").await;
    assert_eq!((status, body["code"].as_str()), (502, Some("payment_provider_error")), "{body}");
    let (status, receipt) = pay(s, &ticket, "k2", "vault_good").await;
    assert_eq!(status, 201, "{receipt}");
    let capture = receipt["provider_ref"].as_str().unwrap().to_owned();
    let due = receipt["amount"]["minor"].as_i64().unwrap();
    {
        let stand = stand.lock().unwrap();
        assert_eq!(stand.captures.len(), 1, "one capture for two attempts");
        assert_eq!(stand.captures[&capture], (due, 0));
        let (path, body) = stand.requests.last().unwrap();
        assert_eq!(path, "/v2/checkout/orders");
        assert_eq!(body["intent"], "CAPTURE");
        assert_eq!(body["purchase_units"][0]["amount"]["currency_code"], "USD");
        assert_eq!(cents(&body["purchase_units"][0]["amount"]["value"]), Some(due));
    }
    // Once recorded, a retry is answered from the ledger: PayPal is not asked again.
    let asked = stand.lock().unwrap().requests.len();
    assert_eq!(pay(s, &ticket, "k2", "vault_good").await, (201, receipt.clone()));
    assert_eq!(stand.lock().unwrap().requests.len(), asked);
    assert_eq!(reason(&lane.leave("out-1", "PPL001", None).await), ("open", "paid"));

    // A refund goes back to the capture; a lost answer and a retry refund once.
    let manager = s.login(Role::Manager).await.access_token;
    let refund = async |key: &str, amount: i64| {
        let r = s
            .http
            .post(s.url(&format!("/v1/payments/{}/refunds", receipt["id"].as_str().unwrap())))
            .bearer_auth(&manager)
            .header("idempotency-key", key)
            .json(&json!({"amount_minor": amount, "reason": "barrier fault"}))
            .send()
            .await
            .unwrap();
        common::split(r).await
    };
    stand.lock().unwrap().lose_next_answer = true;
    let (status, body) = refund("r1", 150).await;
    assert_eq!((status, body["code"].as_str()), (502, Some("payment_provider_error")), "{body}");
    let (status, body) = refund("r1", 150).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["amount"]["minor"], 150);
    assert_eq!(stand.lock().unwrap().captures[&capture], (due, 150), "refunded once");
    let (path, sent) = stand.lock().unwrap().requests.last().cloned().unwrap();
    assert_eq!(path, format!("/v2/payments/captures/{capture}/refund"));
    assert_eq!(sent["amount"], json!({"currency_code": "USD", "value": "1.50"}));
    // More than is left is refused by Parkline before PayPal is asked.
    let (status, body) = refund("r2", due).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("refund_too_large")), "{body}");
    lane.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_or_an_unreachable_paypal_is_a_provider_error_and_records_nothing() {
    let (url, _stand) = stand_in().await;
    for (secret, base) in [("wrong-secret", url.as_str()), (SECRET, "http://127.0.0.1:9")] {
        let lane = server(base, secret).await;
        let d = lane.enter("in-1", "PPL 002").await;
        lane.s.clock.advance(SignedDuration::from_hours(2));
        let (status, body) = pay(&lane.s, d["ticket"]["id"].as_str().unwrap(), "k", "vault_good").await;
        assert_eq!((status, body["code"].as_str()), (502, Some("payment_provider_error")), "{body}");
        assert_eq!(reason(&lane.leave("out-1", "PPL002", None).await), ("deny", "payment_required"));
        lane.close().await;
    }
}
