//! Two operators on one platform, over real HTTP: one operator's manager attacks the other's objects
//! and is refused each time with nothing changed; webhooks hear only their operator's events; a kiosk
//! opens its barrier for the attendant at its lane, and the stay's timeline says who and why. On
//! SQLite and PostgreSQL.

#[macro_use]
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Backend, TestDb, TestServer};
use jiff::SignedDuration;
use parkline_protocol::Role;
use serde_json::{Value, json};

/// The city's lot (operator A, `manager@`) and Northline's station (operator B, `manager2@`).
const A_LOT: &str = "waterfront-lot";
const B_LOT: &str = "capitol-hill-station";

async fn login(s: &TestServer, email: &str) -> String {
    let body = json!({"email": email, "password": common::PASSWORD});
    let (status, body) = s.post_as(None, "/v1/auth/login", &body).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn entry_gate(s: &TestServer, facility: &str, direction: &str) -> String {
    let layout = s.get(&format!("/v1/facilities/{facility}/layout")).await.1;
    let gates = layout["gates"].as_array().unwrap();
    gates.iter().find(|g| g["direction"] == direction).unwrap()["id"].as_str().unwrap().to_owned()
}

/// A vehicle enters `facility` through a kiosk of its own; returns the entry decision.
async fn enter(s: &TestServer, kiosk: &str, facility: &str, id: &str, plate: &str) -> Value {
    let gate = entry_gate(s, facility, "entry").await;
    let event = json!({"event_id": id, "plate": {"text": plate, "confidence": 0.95}});
    let (status, d) = s.post_as(Some(kiosk), &format!("/v1/gates/{gate}/events"), &event).await;
    assert_eq!(status, 200, "{d}");
    d
}

/// One reading from the facility's own sensor gateway.
pub async fn report_once(s: &TestServer, facility: &str) {
    let spot = s.get(&format!("/v1/facilities/{facility}/layout")).await.1["spots"][0]["code"].clone();
    let reading = json!({"facility": facility, "spot": spot, "occupied": false, "confidence": 0.95,
        "kind": "magnetic", "observed_at": s.server.app.now().to_string()});
    let (status, body) =
        s.post_as(Some(&s.gateways[facility]), "/v1/sensors/events", &json!({"readings": [reading]})).await;
    assert_eq!(status, 200, "{body}");
}

async fn kiosk_at(s: &TestServer, admin: &str, facility: &str) -> String {
    let body = json!({"name": format!("kiosk at {facility}"), "kind": "kiosk", "facility": facility});
    let (status, issued) = s.post_as(Some(admin), "/v1/admin/devices", &body).await;
    assert_eq!(status, 201, "{issued}");
    issued["token"].as_str().unwrap().to_owned()
}

async fn send(s: &TestServer, token: &str, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let req = s.http.request(method, s.url(path)).bearer_auth(token).json(&body);
    common::split(req.send().await.unwrap()).await
}

/// What operator B has, as its own manager sees it: everything an attack might change.
async fn b_as_seen_by_b(s: &TestServer, b: &str, payment: &str) -> Value {
    let mut seen = json!({});
    for path in [
        format!("/v1/facilities/{B_LOT}/rates"),
        format!("/v1/facilities/{B_LOT}/availability"),
        format!("/v1/payments/{payment}"),
        "/v1/admin/devices".into(),
        "/v1/admin/users".into(),
        "/v1/permits".into(),
        "/v1/webhooks".into(),
    ] {
        let (status, mut body) = s.get_as(b, &path).await;
        assert_eq!(status, 200, "{path}: {body}");
        if let Some(o) = body.as_object_mut() {
            o.remove("freshness"); // the time it was read
        }
        seen[path] = body;
    }
    seen
}

async fn a_manager_cannot_touch_another_operators_things(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let s = TestServer::start(&db.config()).await;
    let admin = s.login(Role::Admin).await.access_token;
    let b_kiosk = kiosk_at(&s, &admin, B_LOT).await;

    // B's business: a sensor that reports once and falls silent, and a stay paid by card.
    report_once(&s, B_LOT).await;
    let d = enter(&s, &b_kiosk, B_LOT, "b-in-1", "BEE 123").await;
    let ticket = d["ticket"]["id"].as_str().unwrap().to_owned();
    s.clock.advance(SignedDuration::from_hours(2));
    let a = login(&s, "manager@demo.parkline").await;
    let b = login(&s, "manager2@demo.parkline").await;
    let receipt = s.pay_by_card(&ticket, "b-pay-1", None).await;
    let payment = receipt["id"].as_str().unwrap().to_owned();
    let before = b_as_seen_by_b(&s, &b, &payment).await;

    // A's manager tries B's things with well-formed requests; each is answered as for nothing there.
    use reqwest::Method;
    let rates = s.get(&format!("/v1/facilities/{B_LOT}/rates")).await.1;
    let spot = s.get(&format!("/v1/facilities/{B_LOT}/layout")).await.1["spots"][0]["code"].clone();
    let spot = spot.as_str().unwrap();
    let tries: Vec<(&str, Method, String, Value, &str)> = vec![
        ("change rates", Method::PUT, format!("/v1/facilities/{B_LOT}/rates"), rates, "unknown_facility"),
        (
            "refund",
            Method::POST,
            format!("/v1/payments/{payment}/refunds"),
            json!({"amount_minor": 100, "reason": "goodwill"}),
            "not_found",
        ),
        (
            "issue a device",
            Method::POST,
            "/v1/admin/devices".into(),
            json!({"name": "mine now", "kind": "kiosk", "facility": B_LOT}),
            "unknown_facility",
        ),
        (
            "issue an API key",
            Method::POST,
            "/v1/admin/api-keys".into(),
            json!({"name": "scraper", "requests_per_minute": 60, "operator": "northline"}),
            "unknown_operator",
        ),
        (
            "create a permit",
            Method::POST,
            "/v1/permits".into(),
            json!({"id": "free-for-me", "holder": "A", "kind": "vip", "plates": ["AAA111"], "facilities": [B_LOT],
                "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2036-01-01T00:00:00Z"}),
            "unknown_facility",
        ),
        (
            "create a validation code",
            Method::POST,
            "/v1/validations".into(),
            json!({"code": "STEAL100", "facility": B_LOT, "merchant": "A", "discount": {"percent": 100}}),
            "unknown_facility",
        ),
        (
            "close a spot",
            Method::PUT,
            format!("/v1/facilities/{B_LOT}/spots/{spot}/service"),
            json!({"out_of_service": true}),
            "unknown_facility",
        ),
        (
            "register a webhook for B",
            Method::POST,
            "/v1/webhooks".into(),
            json!({"url": "http://127.0.0.1:9/b", "topics": ["*"], "operator": "northline"}),
            "unknown_operator",
        ),
        (
            "read occupancy history",
            Method::GET,
            format!("/v1/admin/facilities/{B_LOT}/occupancy"),
            json!({}),
            "unknown_facility",
        ),
        (
            "list the stays inside",
            Method::GET,
            format!("/v1/facilities/{B_LOT}/sessions"),
            json!({}),
            "unknown_facility",
        ),
        ("read a receipt", Method::GET, format!("/v1/payments/{payment}"), json!({}), "not_found"),
    ];
    for (what, method, path, body, code) in tries {
        let (status, answer) = send(&s, &a, method, &path, body).await;
        assert_eq!((status, answer["code"].as_str()), (404, Some(code)), "{what}: {answer}");
    }
    // Searches and reports come back without B's records.
    let today = s.server.app.now().to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let revenue =
        format!("/v1/admin/revenue?from={}&to={}", today.yesterday().unwrap(), today.tomorrow().unwrap());
    for (what, path) in [
        ("plate search", "/v1/admin/sessions?plate=BEE123".to_owned()),
        ("stay's timeline by ticket", format!("/v1/admin/sessions?ticket={ticket}")),
        ("revenue", revenue.clone()),
        ("open balances", "/v1/admin/balances".into()),
    ] {
        let (status, found) = s.get_as(&a, &path).await;
        assert_eq!(status, 200, "{what}: {found}");
        assert!(!found.to_string().contains(B_LOT), "{what} shows B's: {found}");
        // B's own manager does see them.
        if what != "open balances" {
            assert!(s.get_as(&b, &path).await.1.to_string().contains(B_LOT), "{what} as B");
        }
    }
    let (_, audit) = s.get_as(&a, "/v1/admin/audit?limit=500").await;
    assert!(!audit.to_string().contains(&payment), "A's audit view holds B's payment: {audit}");
    let (_, audit_b) = s.get_as(&b, "/v1/admin/audit?limit=500").await;
    assert!(audit_b.to_string().contains(&payment), "B's audit view holds its payment");
    let (_, newest) = s.get_as(&a, "/v1/admin/audit?newest=true&limit=50").await;
    assert!(!newest.to_string().contains(&payment));
    // Alerts: B's lot has silent sensors by now; A sees none of them, and cannot acknowledge one.
    let mut b_alerts = Vec::new();
    for _ in 0..50 {
        let (_, all) = s.get_as(&b, "/v1/admin/alerts").await;
        b_alerts = all.as_array().unwrap().iter().filter(|a| a["facility"] == B_LOT).cloned().collect();
        if !b_alerts.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!b_alerts.is_empty(), "B's silent sensor raises an alert");
    let (_, a_alerts) = s.get_as(&a, "/v1/admin/alerts").await;
    assert!(a_alerts.as_array().unwrap().iter().all(|x| x["facility"] != B_LOT));
    let id = b_alerts[0]["id"].as_str().unwrap().replace(':', "%3A");
    let path = format!("/v1/admin/alerts/{id}/acknowledgement");
    let (status, answer) = s.post_as(Some(&a), &path, &json!({"note": "not mine"})).await;
    assert_eq!((status, answer["code"].as_str()), (404, Some("not_found")), "{answer}");

    // Nothing of B's changed.
    assert_eq!(b_as_seen_by_b(&s, &b, &payment).await, before);
    let (_, b_alerts_now) = s.get_as(&b, "/v1/admin/alerts").await;
    assert!(b_alerts_now.as_array().unwrap().iter().all(|x| x["acknowledged"].is_null()));
    s.stop().await;
    db.cleanup().await;
}

/// What a receiver got: event bodies.
type Received = Arc<Mutex<Vec<Value>>>;

async fn receiver() -> (String, Received) {
    let got: Received = Default::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(serde_json::from_str(&body).unwrap());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

async fn webhooks_hear_only_their_operators_events(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let s = TestServer::start(&db.config()).await;
    let admin = s.login(Role::Admin).await.access_token;
    let a = login(&s, "manager@demo.parkline").await;
    let b = login(&s, "manager2@demo.parkline").await;
    let (a_url, a_got) = receiver().await;
    let (b_url, b_got) = receiver().await;
    for (token, url) in [(&a, &a_url), (&b, &b_url)] {
        let (status, hook) =
            s.post_as(Some(token), "/v1/webhooks", &json!({"url": url, "topics": ["*"]})).await;
        assert_eq!(status, 201, "{hook}");
    }
    // Each operator's manager lists only its own endpoint.
    let (_, listed) = s.get_as(&a, "/v1/webhooks").await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["url"], a_url.as_str());

    let a_kiosk = kiosk_at(&s, &admin, A_LOT).await;
    let b_kiosk = kiosk_at(&s, &admin, B_LOT).await;
    enter(&s, &a_kiosk, A_LOT, "a-in", "AAA 001").await;
    enter(&s, &b_kiosk, B_LOT, "b-in", "BBB 001").await;
    let delivered = |got: &Received| got.lock().unwrap().len();
    for _ in 0..100 {
        if delivered(&a_got) >= 1 && delivered(&b_got) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Give a stray delivery time to arrive before looking.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let facilities = |got: &Received| -> Vec<String> {
        got.lock().unwrap().iter().map(|e| e["data"]["facility"].as_str().unwrap_or("").to_owned()).collect()
    };
    assert_eq!(facilities(&a_got), [A_LOT], "A's endpoint hears A's entry only");
    assert_eq!(facilities(&b_got), [B_LOT], "B's endpoint hears B's entry only");
    s.stop().await;
    db.cleanup().await;
}

async fn a_kiosk_opens_its_barrier_for_its_attendant_and_the_timeline_says_who_and_why(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let s = TestServer::start(&db.config()).await;
    let admin = s.login(Role::Admin).await.access_token;
    let kiosk = kiosk_at(&s, &admin, A_LOT).await;
    let d = enter(&s, &kiosk, A_LOT, "k-in", "KSK 001").await;
    let (session, ticket) =
        (d["session"].as_str().unwrap().to_owned(), d["ticket"]["id"].as_str().unwrap().to_owned());
    s.clock.advance(SignedDuration::from_hours(3));

    // The exit asks for money; the driver's card fails and the attendant lets them out with a reason.
    let exit = entry_gate(&s, A_LOT, "exit").await;
    let path = format!("/v1/gates/{exit}/overrides");
    let open = |attendant: Value| json!({"action": "open_gate", "reason": "card reader broken", "session": session, "attendant": attendant});
    let (status, refused) = s.post_as(Some(&kiosk), &path, &open(Value::Null)).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("validation_failed")),
        "a kiosk names the attendant"
    );
    let void = json!({"action": "void_session", "reason": "x", "session": session, "attendant": "Sam"});
    assert_eq!(s.post_as(Some(&kiosk), &path, &void).await.0, 403, "a kiosk only opens");
    let (status, outcome) = s.post_as(Some(&kiosk), &path, &open(json!("Sam Ortiz"))).await;
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["command"], "open");
    // Another facility's gate is none of this kiosk's business.
    let elsewhere = entry_gate(&s, "pike-place-garage", "exit").await;
    let (status, body) =
        s.post_as(Some(&kiosk), &format!("/v1/gates/{elsewhere}/overrides"), &open(json!("Sam Ortiz"))).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("unknown_gate")));

    let manager = login(&s, "manager@demo.parkline").await;
    let (status, found) = s.get_as(&manager, &format!("/v1/admin/sessions?ticket={ticket}")).await;
    assert_eq!(status, 200, "{found}");
    let events = found[0]["events"].as_array().unwrap();
    let opened = events.iter().find(|e| e["kind"] == "override").expect("the opening is on the timeline");
    let text = opened["text"].as_str().unwrap();
    assert!(
        text.contains("Sam Ortiz") && text.contains("card reader broken") && text.contains(&exit),
        "{text}"
    );
    assert!(text.contains("kiosk at waterfront-lot"), "and which kiosk: {text}");
    // It is in the audit chain too.
    let (_, audit) = s.get_as(&manager, "/v1/admin/audit?newest=true&limit=5").await;
    assert!(audit.as_array().unwrap().iter().any(|r| r["kind"] == "override"), "{audit}");
    s.stop().await;
    db.cleanup().await;
}

async fn a_partner_key_does_only_what_its_scopes_say(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let s = TestServer::start(&db.config()).await;
    let a = login(&s, "manager@demo.parkline").await;
    let key = |scopes: Value| json!({"name": "partner", "requests_per_minute": 600, "scopes": scopes});
    let (status, body) = s.post_as(Some(&a), "/v1/admin/api-keys", &key(json!(["teleport"]))).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{body}");
    let (status, rates_only) = s.post_as(Some(&a), "/v1/admin/api-keys", &key(json!(["rates"]))).await;
    assert_eq!(status, 201, "{rates_only}");
    let (status, partner) = s.post_as(Some(&a), "/v1/admin/api-keys", &key(json!(["partner"]))).await;
    assert_eq!(status, 201, "{partner}");
    let token = |k: &Value| k["token"].as_str().unwrap().to_owned();

    // A payment at the city's lot, by a kiosk there.
    let admin = s.login(Role::Admin).await.access_token;
    let kiosk = kiosk_at(&s, &admin, A_LOT).await;
    let ticket =
        enter(&s, &kiosk, A_LOT, "p-in", "PRT 001").await["ticket"]["id"].as_str().unwrap().to_owned();
    s.clock.advance(SignedDuration::from_hours(2));
    let receipt = s.pay_by_card(&ticket, "p-pay", None).await;
    let path = format!("/v1/payments/{}", receipt["id"].as_str().unwrap());
    let (status, body) = s.get_as(&token(&rates_only), &path).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "a rates key reads no receipts: {body}"
    );
    assert_eq!(s.get_as(&token(&partner), &path).await.0, 200, "a partner key of the operator does");
    s.stop().await;
    db.cleanup().await;
}

on_both_backends!(
    a_partner_key_does_only_what_its_scopes_say,
    a_manager_cannot_touch_another_operators_things,
    webhooks_hear_only_their_operators_events,
    a_kiosk_opens_its_barrier_for_its_attendant_and_the_timeline_says_who_and_why,
);
