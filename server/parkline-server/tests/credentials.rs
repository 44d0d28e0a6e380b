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
