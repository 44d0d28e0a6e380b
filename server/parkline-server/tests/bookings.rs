//! Booking as an attacker would try it, over real HTTP: one free account cannot hold a facility, a
//! booking moved inside the fee window costs what cancelling would, and an account that owes a fee books
//! nothing more. On SQLite and PostgreSQL.

#[macro_use]
mod common;

use common::Backend;
use common::lane::{LOT, Lane};
use jiff::SignedDuration;
use serde_json::{Value, json};

/// A fresh sign-up's token.
async fn sign_up(lane: &Lane, email: &str) -> String {
    let (status, tokens) = lane.s.sign_up(email, "a-long-password").await;
    assert_eq!(status, 201, "{tokens}");
    tokens["access_token"].as_str().unwrap().to_owned()
}

fn request(lane: &Lane, plate: &str, from_now_min: i64, count: u32) -> Value {
    let start = lane.s.server.app.now() + SignedDuration::from_mins(from_now_min);
    json!({"facility": LOT, "plate": plate, "vehicle_class": "sedan", "count": count,
           "start": start.to_string(), "end": (start + SignedDuration::from_hours(1)).to_string()})
}

async fn balance(lane: &Lane, token: &str) -> i64 {
    let (status, body) = lane.s.get_as(token, "/v1/me/account").await;
    assert_eq!(status, 200, "{body}");
    body["balances"].as_array().and_then(|b| b.first()).and_then(|b| b["minor"].as_i64()).unwrap_or(0)
}

async fn top_up(lane: &Lane, token: &str, key: &str, amount_minor: i64) {
    let body = json!({"amount_minor": amount_minor, "currency": "USD", "card_token": "tok_visa"});
    let r = lane.s.http.post(lane.s.url("/v1/me/account/top-ups")).bearer_auth(token);
    let r = r.header("idempotency-key", key).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 201);
}

/// The tester's attack: a fresh sign-up booking most of the lot 1 h 50 min ahead, for nothing. Now a few
/// bookings are free, more need the no-show fees on the account, and no account holds over a quarter of
/// the lot; walk-ins still get in.
async fn one_free_account_cannot_hold_a_facility(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let hoarder = sign_up(&lane, "hoarder@example.com").await;
    let book = async |count: u32| {
        s.post_as(Some(&hoarder), "/v1/reservations", &request(&lane, "HRD 001", 110, count)).await
    };
    let (status, body) = book(50).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("booking_limit")), "{body}");
    let (status, body) = book(4).await;
    assert_eq!(status, 201, "a few bookings are free: {body}");
    let fee = body[0]["quote_minor"].as_i64().unwrap() / 5;
    assert!(fee > 0, "{body}");
    let (status, body) = book(1).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("booking_limit")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("top it up"), "{body}");

    // Money on the account covering every booking's no-show fee opens more, up to a quarter of the lot.
    top_up(&lane, &hoarder, "t1", 10_000).await;
    let (status, body) = book(10).await;
    assert_eq!(status, 201, "covered by the deposit: {body}");
    let (status, body) = book(40).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("booking_limit")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("of this facility's spots"), "{body}");

    // A walk-in arriving now is let in and sent to a spot.
    let d = lane.enter("walk-in-1", "WLK 001").await;
    assert_eq!(d["command"], "open", "{d}");
    let free = s.availability(LOT).await;
    assert!(free["counts"]["free"].as_u64().unwrap() > 100, "{free}");
    assert!(balance(&lane, &hoarder).await >= 14 * fee);
    lane.close().await;
}

/// Moving a booking inside the fee window is charged like a cancellation, so "move it far out, then
/// cancel for free" costs the fee; with a fee owed the account books nothing until it is settled.
async fn a_late_move_costs_a_cancellation_and_a_debt_blocks_booking(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let driver = sign_up(&lane, "mover@example.com").await;
    let (status, booked) =
        s.post_as(Some(&driver), "/v1/reservations", &request(&lane, "MOV 001", 110, 1)).await;
    assert_eq!(status, 201, "{booked}");
    let id = booked[0]["id"].as_str().unwrap().to_owned();
    let fee = booked[0]["quote_minor"].as_i64().unwrap() / 5;

    // 55 minutes before the start, inside the fee window, the driver moves it five days out.
    s.clock.advance(SignedDuration::from_mins(55));
    let later = s.server.app.now() + SignedDuration::from_hours(5 * 24);
    let window =
        json!({"start": later.to_string(), "end": (later + SignedDuration::from_hours(1)).to_string()});
    let r = s
        .http
        .put(s.url(&format!("/v1/reservations/{id}")))
        .bearer_auth(&driver)
        .json(&window)
        .send()
        .await
        .unwrap();
    let (status, moved) = common::split(r).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["fee_minor"].as_i64(), Some(fee), "{moved}");
    let r =
        s.http.delete(s.url(&format!("/v1/reservations/{id}"))).bearer_auth(&driver).send().await.unwrap();
    let (status, cancelled) = common::split(r).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(balance(&lane, &driver).await, -fee, "the move cost the fee; cancelling far ahead is free");

    // Owing it, the driver cannot book again until it is paid.
    let (status, body) =
        s.post_as(Some(&driver), "/v1/reservations", &request(&lane, "MOV 001", 600, 1)).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("booking_limit")), "{body}");
    top_up(&lane, &driver, "settle", fee.max(100)).await;
    let (status, body) =
        s.post_as(Some(&driver), "/v1/reservations", &request(&lane, "MOV 001", 600, 1)).await;
    assert_eq!(status, 201, "settled: {body}");

    // A spot held for minutes is refused.
    let mut short = request(&lane, "MOV 001", 900, 1);
    let start = s.server.app.now() + SignedDuration::from_mins(900);
    short["end"] = json!((start + SignedDuration::from_mins(20)).to_string());
    let (status, body) = s.post_as(Some(&driver), "/v1/reservations", &short).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{body}");
    lane.close().await;
}

/// Waits (up to 5 s) until `holds` says yes of `f`'s claims.
async fn until_claims(
    app: &parkline_server::app::App,
    holds: impl Fn(&parkline_domain::claims::Claims) -> bool,
) -> bool {
    let f = app.live.get(LOT).unwrap();
    for _ in 0..100 {
        if holds(&f.claims()) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

/// Two instances on one PostgreSQL: a booking made through one is honoured at the other's gate, the
/// check-in there is not overwritten by the first's no-show tick, and a booking can be cancelled through
/// either instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_made_on_one_instance_holds_on_every_instance() {
    let Some(db) = common::TestDb::new(Backend::Postgres).await else { return };
    let one = common::TestServer::start(&db.config()).await;
    let other = parkline_server::start_with_clock(&db.config(), one.clock.clone()).await.unwrap();
    let kiosk = one.device_token(parkline_protocol::DeviceKind::Kiosk).await;
    let driver = one.login(parkline_protocol::Role::Driver).await.access_token;
    let book = async |plate: &str, from_now_min: i64| {
        let start = one.server.app.now() + SignedDuration::from_mins(from_now_min);
        let body = json!({"facility": LOT, "plate": plate, "vehicle_class": "sedan",
            "start": start.to_string(), "end": (start + SignedDuration::from_hours(1)).to_string()});
        let (status, booked) = one.post_as(Some(&driver), "/v1/reservations", &body).await;
        assert_eq!(status, 201, "{booked}");
        booked[0]["id"].as_str().unwrap().to_owned()
    };

    // Booked through the first; the second's gate knows it, and checks the car in.
    let arriving = book("TWO 001", 5).await;
    assert!(
        until_claims(&other.app, |c| c.get(&arriving).is_some()).await,
        "the booking reached the other instance"
    );
    one.clock.advance(SignedDuration::from_mins(5));
    let event = json!({"event_id": "two-1", "plate": {"text": "TWO 001", "confidence": 0.95}});
    let r = one.http.post(format!("{}/v1/gates/{}/events", other.url(), common::lane::IN));
    let (status, d) = common::split(r.bearer_auth(&kiosk).json(&event).send().await.unwrap()).await;
    assert_eq!((status, d["command"].as_str()), (200, Some("open")), "{d}");
    let stored = one.server.app.store.reservation(&arriving).await.unwrap().unwrap();
    assert_eq!(stored.status, parkline_domain::reservation::Status::CheckedIn);

    // Long past its start: the first instance's no-show tick leaves the car that came alone.
    one.clock.advance(SignedDuration::from_hours(2));
    parkline_server::reservations::release_no_shows(&one.server.app).await.unwrap();
    let stored = one.server.app.store.reservation(&arriving).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.fee_minor), (parkline_domain::reservation::Status::CheckedIn, 0));

    // Booked through the first, cancelled through the second; the first lets the spot go.
    let later = book("TWO 002", 180).await;
    let r = one.http.delete(format!("{}/v1/reservations/{later}", other.url())).bearer_auth(&driver);
    let (status, body) = common::split(r.send().await.unwrap()).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("cancelled")), "{body}");
    assert!(until_claims(&one.server.app, |c| c.get(&later).is_none()).await, "the first instance let it go");
    other.stop().await;
    one.stop().await;
    db.cleanup().await;
}

on_both_backends!(
    one_free_account_cannot_hold_a_facility,
    a_late_move_costs_a_cancellation_and_a_debt_blocks_booking
);
