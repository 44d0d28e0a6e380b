//! Signing in and presenting tokens as an attacker would try them, over real HTTP: passwords cannot be
//! tried hundreds of times, and made-up device tokens and API keys are limited before any look-up.

#[macro_use]
mod common;

use common::{Backend, TestDb, TestServer};
use serde_json::{Value, json};

async fn login(s: &TestServer, email: &str, password: &str) -> (u16, Value) {
    s.post_as(None, "/v1/auth/login", &json!({"email": email, "password": password})).await
}

/// Five tries per account at a time, then even the right password waits; twenty sign-ins per address
/// a minute, whichever accounts they are for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_cannot_be_tried_again_and_again() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let mut settings = db.settings();
    settings.login_rate_per_minute = Some(20);
    let s = TestServer::start(&settings.resolve().unwrap()).await;
    let driver = "driver@demo.parkline";
    for n in 0..5 {
        let (status, body) = login(&s, driver, &format!("guess-{n}")).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("invalid_credentials")), "{body}");
    }
    let (status, body) = login(&s, driver, "parkline-demo").await;
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")), "{body}");
    assert_eq!(login(&s, "DRIVER@demo.parkline", "parkline-demo").await.0, 429, "the account, however spelt");
    // Other accounts from this address still sign in, until the address has used its minute's quota.
    let (status, body) = login(&s, "manager@demo.parkline", "parkline-demo").await;
    assert_eq!(status, 200, "{body}");
    // Eight sign-ins so far; the twenty-first within the minute is refused.
    let mut passed = 8;
    let limited = loop {
        let (status, body) = login(&s, &format!("nobody{passed}@example.com"), "whatever-it-is").await;
        if status == 429 {
            break body;
        }
        assert_eq!(status, 401, "{body}");
        passed += 1;
        assert!(passed <= 22, "the address is never limited");
    };
    assert_eq!(limited["code"], "rate_limited");
    let (status, body) = login(&s, "admin@demo.parkline", "parkline-demo").await;
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")), "{body}");
    let (status, body) = s
        .post_as(None, "/v1/auth/signup", &json!({"email": "new@example.com", "password": "a-long-password"}))
        .await;
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")), "sign-ups count too: {body}");
    s.stop().await;
}

/// Made-up device tokens and API keys: each unknown one is looked up once and then known as unknown,
/// and an address sending many different ones is limited before the store is asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_tokens_are_limited_before_any_look_up() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let mut settings = db.settings();
    settings.public_rate_per_minute = Some(30);
    let s = TestServer::start(&settings.resolve().unwrap()).await;
    let ask = async |token: &str| s.get_as(token, "/v1/facilities/waterfront-lot/availability").await;
    // The same unknown token again and again: one look-up, then the cache answers.
    for _ in 0..60 {
        let (status, body) = ask("pld_0123456789abcdef").await;
        assert_eq!((status, body["code"].as_str()), (401, Some("unauthenticated")), "{body}");
    }
    let mut answers = Vec::new();
    for n in 0..40 {
        answers.push(ask(&format!("plk_made-up-{n}")).await.0);
    }
    assert!(answers[..25].iter().all(|s| *s == 401), "{answers:?}");
    assert!(answers[30..].iter().all(|s| *s == 429), "different made-up keys are limited: {answers:?}");
    s.stop().await;
}

/// Signing out ends every token the person holds, on every instance, and so does erasing the account:
/// the old access token books nothing afterwards and the refresh tokens renew nothing. Two instances
/// share one database.
async fn signing_out_or_erasing_ends_every_token_everywhere(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let config = db.settings().resolve().unwrap();
    let one = TestServer::start(&config).await;
    let other = parkline_server::start(&config).await.expect("a second instance starts");
    let elsewhere = |path: &str| format!("{}{path}", other.url());
    let book = async |base: &dyn Fn(&str) -> String, token: &str, hours: i64| {
        let start = one.server.app.now() + jiff::SignedDuration::from_hours(hours);
        let body = json!({"facility": "waterfront-lot", "plate": "OUT 001", "vehicle_class": "sedan",
            "start": start.to_string(), "end": (start + jiff::SignedDuration::from_hours(1)).to_string()});
        let r = one.http.post(base("/v1/reservations")).bearer_auth(token).json(&body).send().await.unwrap();
        common::split(r).await
    };
    let here = |path: &str| one.url(path);

    // Signed in on two phones; one of them signs out.
    let (status, phone) = one.sign_up("leaving@example.com", "a-long-password").await;
    assert_eq!(status, 201, "{phone}");
    let (status, laptop) = login(&one, "leaving@example.com", "a-long-password").await;
    assert_eq!(status, 200, "{laptop}");
    let (phone_token, laptop_token) =
        (phone["access_token"].as_str().unwrap(), laptop["access_token"].as_str().unwrap());
    let seen = one.http.get(elsewhere("/v1/me")).bearer_auth(laptop_token).send().await.unwrap();
    assert_eq!(seen.status(), 200, "the other instance knows the token");
    assert_eq!(book(&here, laptop_token, 30).await.0, 201);
    // The laptop also follows the live stream, on the other instance.
    let mut stream = common::ws::connect_at(other.addr, laptop_token).await;
    common::ws::send(&mut stream, json!({"type": "subscribe", "facility": "waterfront-lot"})).await;
    assert!(common::ws::next(&mut stream, std::time::Duration::from_secs(5)).await.is_some(), "a snapshot");
    let out = one.http.post(here("/v1/auth/logout")).bearer_auth(phone_token).send().await.unwrap();
    assert_eq!(out.status(), 204);
    let closed = common::ws::closed(&mut stream, std::time::Duration::from_secs(10)).await;
    assert_eq!(closed, Some(4401), "the open stream ends too, on the other instance");
    let refused = tokio_tungstenite::connect_async({
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = format!("ws://{}/v1/stream", other.addr).into_client_request().unwrap();
        req.headers_mut().insert("authorization", format!("Bearer {laptop_token}").parse().unwrap());
        req
    })
    .await;
    assert!(refused.is_err(), "and cannot be opened again");
    for token in [phone_token, laptop_token] {
        for base in [&here as &dyn Fn(&str) -> String, &elsewhere] {
            let (status, body) = book(base, token, 40).await;
            assert_eq!((status, body["code"].as_str()), (401, Some("unauthenticated")), "{body}");
        }
    }
    for refresh in [&phone["refresh_token"], &laptop["refresh_token"]] {
        let (status, body) = one.post_as(None, "/v1/auth/refresh", &json!({"refresh_token": refresh})).await;
        assert_eq!(status, 401, "{body}");
    }

    // Signed in again; the account is erased on one instance, and its token works nowhere.
    let (status, again) = login(&one, "leaving@example.com", "a-long-password").await;
    assert_eq!(status, 200, "signing in again works: {again}");
    let token = again["access_token"].as_str().unwrap();
    let (status, reservations) = one.get_as(token, "/v1/me/reservations").await;
    assert_eq!(status, 200, "{reservations}");
    let id = reservations[0]["id"].as_str().unwrap();
    let cancelled =
        one.http.delete(here(&format!("/v1/reservations/{id}"))).bearer_auth(token).send().await.unwrap();
    let (status, body) = common::split(cancelled).await;
    assert!((200..300).contains(&status), "{status} {body}");
    let erased = one.http.delete(here("/v1/me")).bearer_auth(token).send().await.unwrap();
    assert_eq!(erased.status(), 204);
    for base in [&here as &dyn Fn(&str) -> String, &elsewhere] {
        let (status, body) = book(base, token, 50).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("unauthenticated")), "{body}");
    }
    let (status, _) =
        one.post_as(None, "/v1/auth/refresh", &json!({"refresh_token": again["refresh_token"]})).await;
    assert_eq!(status, 401);
    other.stop().await;
    one.stop().await;
    db.cleanup().await;
}

/// Sign-up answers the same for an address with an account and one without: the difference is only in
/// the mail, which only the address's holder reads. A code works once, for half an hour, five tries.
async fn sign_up_tells_no_one_which_addresses_have_accounts(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let s = TestServer::start(&db.config()).await;
    let password = json!("a long enough password");
    let sign_up = async |email: &str| {
        s.post_as(None, "/v1/auth/signup", &json!({"email": email, "password": password})).await
    };
    let confirm = async |email: &str, code: &str| {
        s.post_as(None, "/v1/auth/signup/confirm", &json!({"email": email, "code": code})).await
    };
    let taken = sign_up("Driver@demo.parkline").await;
    let fresh = sign_up("fresh@example.com").await;
    assert_eq!(taken.0, 202, "{}", taken.1);
    assert_eq!(taken, fresh, "the same answer, whoever has an account");

    let note = s.mail_to("driver@demo.parkline", 1).await;
    assert!(note.code().is_none() && note.text.contains("It has one already"), "{}", note.text);
    let code = s.mail_to("fresh@example.com", 1).await.code().expect("a code");
    assert_eq!(code.len(), 6);
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let refused = confirm("fresh@example.com", wrong).await;
    assert_eq!((refused.0, refused.1["code"].as_str()), (401, Some("invalid_credentials")), "{}", refused.1);
    assert_eq!(confirm("driver@demo.parkline", &code).await, refused, "an account's address: the same");
    assert_eq!(confirm("nobody@example.com", &code).await, refused, "no sign-up: the same");
    for _ in 0..4 {
        assert_eq!(confirm("fresh@example.com", wrong).await, refused);
    }
    assert_eq!(
        confirm("fresh@example.com", &code).await,
        refused,
        "five tries, then not even the right code"
    );
    assert_eq!(login(&s, "fresh@example.com", "a long enough password").await.0, 401, "no account yet");

    // A new sign-up mails a new code; it makes the account once.
    assert_eq!(sign_up("fresh@example.com").await, fresh);
    let code = s.mail_to("fresh@example.com", 2).await.code().expect("a code");
    let (status, tokens) = confirm(" Fresh@Example.com ", &code).await;
    assert_eq!(status, 201, "{tokens}");
    let (status, me) = s.get_as(tokens["access_token"].as_str().unwrap(), "/v1/me").await;
    assert_eq!(
        (status, me["email"].as_str(), me["role"].as_str()),
        (200, Some("fresh@example.com"), Some("driver"))
    );
    assert_eq!(confirm("fresh@example.com", &code).await, refused, "used");
    assert_eq!(login(&s, "fresh@example.com", "a long enough password").await.0, 200);

    // Half an hour, then the code is dead.
    sign_up("late@example.com").await;
    let code = s.mail_to("late@example.com", 1).await.code().expect("a code");
    s.clock.advance(jiff::SignedDuration::from_mins(31));
    assert_eq!(confirm("late@example.com", &code).await, refused, "expired");
    s.stop().await;
    db.cleanup().await;
}

/// A server that sends no mail cannot take sign-ups (it would have no way to check the address).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_mail_channel_sign_up_is_closed() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let clock = std::sync::Arc::new(parkline_server::clock::ShiftedClock::default());
    let server = parkline_server::start_with_clock(&db.config(), clock).await.unwrap();
    let body = json!({"email": "someone@example.com", "password": "a long enough password"});
    let r = common::http().post(format!("{}/v1/auth/signup", server.url())).json(&body).send().await.unwrap();
    let (status, body) = common::split(r).await;
    assert_eq!((status, body["code"].as_str()), (503, Some("unavailable")), "{body}");
    server.stop().await;
}

/// Two instances on one PostgreSQL: a kiosk revoked through one is refused by the other as soon as it
/// hears of it (within 5 s here), not after its 30-second credential cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_revoked_on_one_instance_is_refused_on_another() {
    let Some(db) = TestDb::new(Backend::Postgres).await else { return };
    let one = TestServer::start(&db.config()).await;
    let other = parkline_server::start(&db.config()).await.expect("a second instance starts");
    let admin = one.login(parkline_protocol::Role::Admin).await.access_token;
    let device = json!({"name": "north lane", "kind": "kiosk", "facility": "waterfront-lot"});
    let (status, issued) = one.post_as(Some(&admin), "/v1/admin/devices", &device).await;
    assert_eq!(status, 201, "{issued}");
    let token = issued["token"].as_str().unwrap().to_owned();
    let read = async || {
        let r = one
            .http
            .get(format!("{}/v1/facilities/waterfront-lot/sessions", other.url()))
            .bearer_auth(&token);
        r.send().await.unwrap().status().as_u16()
    };
    assert_eq!(read().await, 200, "the other instance knows the kiosk (and caches it)");
    let id = issued["id"].as_i64().unwrap();
    let revoked = one
        .http
        .delete(one.url(&format!("/v1/admin/devices/{id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success(), "{}", revoked.status());
    let started = std::time::Instant::now();
    while read().await != 401 {
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "still accepted after 5 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    other.stop().await;
    one.stop().await;
    db.cleanup().await;
}

on_both_backends!(
    signing_out_or_erasing_ends_every_token_everywhere,
    sign_up_tells_no_one_which_addresses_have_accounts
);
