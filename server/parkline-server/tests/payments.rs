//! Money and records over HTTP: paying a ticket in the app opens the exit, retries never charge twice,
//! refunds never exceed the payment, the audit chain verifies and finds tampering, and no plate is ever
//! in the database in the clear. On SQLite and PostgreSQL.

#[macro_use]
mod common;

use common::lane::{IN, Lane, reason};
use common::{Backend, TestServer};
use jiff::SignedDuration;
use parkline_protocol::Role;
use parkline_server::clock::Clock;
use parkline_store::testing::Disk;
use serde_json::{Value, json};

/// Pays a ticket with an idempotency key.
async fn pay(s: &TestServer, ticket: &str, key: &str, body: Value) -> (u16, Value) {
    post_keyed(s, None, &format!("/v1/tickets/{ticket}/payments"), key, body).await
}

async fn post_keyed(s: &TestServer, token: Option<&str>, path: &str, key: &str, body: Value) -> (u16, Value) {
    let mut req = s.http.post(s.url(path)).header("idempotency-key", key).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    common::split(req.send().await.unwrap()).await
}

async fn drivers_pay_from_their_account_and_never_overdraw_it(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let driver = s.login(Role::Driver).await.access_token;
    let top_up = async |key: &str, body: Value| {
        post_keyed(s, Some(&driver), "/v1/me/account/top-ups", key, body).await
    };
    let (status, r) =
        top_up("t1", json!({"amount_minor": 1000, "currency": "USD", "card_token": "tok_visa"})).await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(
        top_up("t1", json!({"amount_minor": 1000, "currency": "USD", "card_token": "tok_visa"})).await.1,
        r,
        "a retry tops up once"
    );
    let (status, body) =
        top_up("t2", json!({"amount_minor": 5000, "currency": "USD", "card_token": "tok_chargeDeclined"}))
            .await;
    assert_eq!((status, body["code"].as_str()), (402, Some("payment_declined")));
    let (status, body) =
        top_up("t3", json!({"amount_minor": -5, "currency": "USD", "card_token": "tok_visa"})).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")));
    for made_up in ["ABC", "QQQ", "XTS"] {
        let body = json!({"amount_minor": 500, "currency": made_up, "card_token": "tok_visa"});
        let (status, body) = top_up(&format!("t-{made_up}"), body).await;
        assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{made_up}: {body}");
    }
    let balance = async || s.get_as(&driver, "/v1/me/account").await.1["balances"][0]["minor"].as_i64();
    assert_eq!(balance().await, Some(1000));

    // Two stays: the first fits in the balance, the second does not.
    let a = lane.enter("in-a", "ACC001").await["ticket"]["id"].as_str().unwrap().to_owned();
    let b = lane.enter("in-b", "ACC002").await["ticket"]["id"].as_str().unwrap().to_owned();
    s.clock.advance(SignedDuration::from_hours(1));
    let (status, body) = pay(s, &a, "anon", json!({"card_token": "account"})).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthenticated")), "{body}");
    let pay_as = async |ticket: &str, key: &str| {
        post_keyed(
            s,
            Some(&driver),
            &format!("/v1/tickets/{ticket}/payments"),
            key,
            json!({"card_token": "account"}),
        )
        .await
    };
    let (status, receipt) = pay_as(&a, "a1").await;
    assert_eq!((status, receipt["method"].as_str()), (201, Some("account")), "{receipt}");
    let spent = receipt["amount"]["minor"].as_i64().unwrap();
    assert_eq!(balance().await, Some(1000 - spent));
    s.clock.advance(SignedDuration::from_hours(2));
    let (status, body) = pay_as(&b, "b1").await;
    assert_eq!((status, body["code"].as_str()), (402, Some("payment_declined")), "{body}");
    assert_eq!(balance().await, Some(1000 - spent), "nothing taken");
    assert_eq!(reason(&lane.leave("out-b", "ACC002", None).await), ("deny", "payment_required"));
    lane.close().await;
}

async fn refund(s: &TestServer, token: &str, payment: &str, key: &str, body: Value) -> (u16, Value) {
    let r = s
        .http
        .post(s.url(&format!("/v1/payments/{payment}/refunds")))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    common::split(r).await
}

/// A refund goes back to whoever paid (their card or their account), never to the staff member who
/// refunds; the ledger names that staff member separately.
async fn refunds_go_back_to_whoever_paid(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let driver = s.login(Role::Driver).await.access_token;
    let manager = s.login(Role::Manager).await.access_token;
    let balance = async |token: &str| {
        let (status, body) = s.get_as(token, "/v1/me/account").await;
        assert_eq!(status, 200, "{body}");
        body["balances"].as_array().and_then(|b| b.first()).and_then(|b| b["minor"].as_i64()).unwrap_or(0)
    };
    let card = json!({"amount_minor": 2000, "currency": "USD", "card_token": "tok_visa"});
    let (status, top_up) = post_keyed(s, Some(&driver), "/v1/me/account/top-ups", "t1", card).await;
    assert_eq!(status, 201, "{top_up}");
    let top_up = top_up["id"].as_str().unwrap().to_owned();
    // A top-up belongs to no facility: only an admin refunds it.
    let admin = s.login(Role::Admin).await.access_token;
    let (status, body) =
        refund(s, &admin, &top_up, "r1", json!({"amount_minor": 500, "reason": "asked back"})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(balance(&driver).await, 1500, "the driver's top-up is smaller by the refund");
    assert_eq!(balance(&admin).await, 0, "the admin's account is untouched");

    // A stay paid from the account: its refund goes back into that account.
    let ticket = lane.enter("in-1", "BAK 001").await["ticket"]["id"].as_str().unwrap().to_owned();
    s.clock.advance(SignedDuration::from_hours(1));
    let path = format!("/v1/tickets/{ticket}/payments");
    let (status, paid) = post_keyed(s, Some(&driver), &path, "p1", json!({"card_token": "account"})).await;
    assert_eq!(status, 201, "{paid}");
    let spent = paid["amount"]["minor"].as_i64().unwrap();
    assert_eq!(balance(&driver).await, 1500 - spent);
    let id = paid["id"].as_str().unwrap().to_owned();
    let (status, body) =
        refund(s, &manager, &id, "r2", json!({"amount_minor": spent, "reason": "fault"})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(balance(&driver).await, 1500, "the stay's refund is back in the driver's account");
    assert_eq!(balance(&manager).await, 0, "and not in the manager's");
    lane.close().await;
}

/// The admins' balance check reads the whole ledger: a clean one shows each account and no problem; a
/// refund written the way the old code wrote it (credited to the refunding manager) is found.
async fn the_balance_check_finds_money_in_the_wrong_account(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let driver = s.login(Role::Driver).await.access_token;
    let manager = s.login(Role::Manager).await.access_token;
    let admin = s.login(Role::Admin).await.access_token;
    let card = json!({"amount_minor": 2000, "currency": "USD", "card_token": "tok_visa"});
    let (status, top_up) = post_keyed(s, Some(&driver), "/v1/me/account/top-ups", "t1", card).await;
    assert_eq!(status, 201, "{top_up}");
    let top_up = top_up["id"].as_str().unwrap().to_owned();
    let (status, body) =
        refund(s, &admin, &top_up, "r1", json!({"amount_minor": 500, "reason": "asked"})).await;
    assert_eq!(status, 201, "{body}");

    let (status, body) = s.get_as(&manager, "/v1/admin/balances/check").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "accounts are no operator's: {body}"
    );
    let (status, check) = s.get_as(&admin, "/v1/admin/balances/check").await;
    assert_eq!(status, 200, "{check}");
    assert_eq!(check["problems"], json!([]), "{check}");
    let driver_id = s.get_as(&driver, "/v1/me").await.1["user_id"].as_i64().unwrap();
    assert_eq!(
        check["accounts"],
        json!([{"user": driver_id, "role": "driver", "currency": "USD", "minor": 1500}]),
        "{check}"
    );

    // What the old `payments::refund` wrote: the refund in the refunding manager's name.
    let manager_id = s.get_as(&manager, "/v1/me").await.1["user_id"].as_i64().unwrap();
    let paid = s.server.app.store.ledger_entry(&top_up).await.unwrap().unwrap();
    let wrong = parkline_store::LedgerEntry {
        key: "refund:old-code".into(),
        kind: parkline_store::LedgerKind::Refund,
        amount_minor: 500,
        user: Some(manager_id),
        refund_of: Some(top_up.clone()),
        provider_ref: None,
        memo: None,
        at: s.clock.now(),
        ..paid
    };
    s.server.app.store.queue_ledger(vec![wrong]).await.unwrap();
    let (status, check) = s.get_as(&admin, "/v1/admin/balances/check").await;
    assert_eq!(status, 200, "{check}");
    let found: Vec<(&str, Option<&str>, Option<i64>)> = check["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["code"].as_str().unwrap(), p["entry"].as_str(), p["user"].as_i64()))
        .collect();
    assert_eq!(
        found,
        [
            ("refund_to_someone_else", Some("refund:old-code"), Some(manager_id)),
            ("staff_account", None, Some(manager_id)),
        ],
        "{check}"
    );
    assert_eq!(check["entries"], 3, "{check}");
    lane.close().await;
}

async fn ledger_rows(lane: &Lane) -> i64 {
    let disk = Disk::open(&lane.db.url).await;
    let n = disk.ledger_entries().await;
    disk.close().await;
    n
}

async fn paying_in_the_app_opens_the_exit_once(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let d = lane.enter("in-1", "PAY 001").await;
    let ticket = d["ticket"]["id"].as_str().unwrap().to_owned();
    let s = &lane.s;

    // Inside the free period there is nothing to pay.
    let (status, body) = pay(s, &ticket, "k0", json!({"card_token": "tok_visa"})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("nothing_due")), "{body}");

    s.clock.advance(SignedDuration::from_hours(2));
    let due = s.get(&format!("/v1/tickets/{ticket}")).await.1["fee"]["minor"].as_i64().unwrap();
    assert!(due > 0);

    // Declined and failed cards charge nothing and record nothing.
    let (status, body) = pay(s, &ticket, "k1", json!({"card_token": "tok_chargeDeclined"})).await;
    assert_eq!((status, body["code"].as_str()), (402, Some("payment_declined")), "{body}");
    let (status, body) = pay(s, &ticket, "k2", json!({"card_token": "tok_processingError"})).await;
    assert_eq!((status, body["code"].as_str()), (502, Some("payment_provider_error")), "{body}");
    // Absurd amounts, missing keys, unknown tickets: clear errors.
    for amount in [0, -5, due + 1, i64::MAX] {
        let (status, body) =
            pay(s, &ticket, "k3", json!({"card_token": "tok_visa", "amount_minor": amount})).await;
        assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{amount}: {body}");
    }
    let (status, body) = pay(s, "NOSUCHTICKET", "k4", json!({"card_token": "tok_visa"})).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "{body}");
    let no_key = s.http.post(s.url(&format!("/v1/tickets/{ticket}/payments")));
    let (status, body) =
        common::split(no_key.json(&json!({"card_token": "tok_visa"})).send().await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{body}");
    assert_eq!(ledger_rows(&lane).await, 0);

    // Pay everything due; a retry with the same key returns the same receipt and charges nothing more.
    let (status, receipt) = pay(s, &ticket, "k5", json!({"card_token": "tok_visa"})).await;
    assert_eq!(status, 201, "{receipt}");
    assert_eq!(receipt["amount"], json!({"minor": due, "currency": "USD"}));
    assert_eq!(receipt["balance_due"]["minor"], 0);
    assert_eq!(receipt["method"], "card");
    let (status, again) = pay(s, &ticket, "k5", json!({"card_token": "tok_visa"})).await;
    assert_eq!((status, &again), (201, &receipt));
    assert_eq!(ledger_rows(&lane).await, 1);
    let (status, body) = pay(s, &ticket, "k6", json!({"card_token": "tok_visa"})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("nothing_due")), "paid up: {body}");

    // Ten minutes later the exit opens with nothing more to pay, and charges the fee once.
    s.clock.advance(SignedDuration::from_mins(10));
    let out = lane.leave("out-1", "PAY001", None).await;
    assert_eq!(reason(&out), ("open", "paid"), "{out}");
    assert_eq!(ledger_rows(&lane).await, 2, "the payment and the charge");

    // A payment for a session that has ended is refused.
    let (status, body) = pay(s, &ticket, "k7", json!({"card_token": "tok_visa"})).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "{body}");

    // The receipt stays available to the lot's staff; a driver who did not pay it is told of none.
    let manager = s.login(Role::Manager).await.access_token;
    let id = receipt["id"].as_str().unwrap();
    let (status, body) = s.get_as(&manager, &format!("/v1/payments/{id}")).await;
    assert_eq!((status, body["amount"]["minor"].as_i64()), (200, Some(due)), "{body}");
    let driver = s.login(Role::Driver).await.access_token;
    let (status, other) = s.get_as(&driver, &format!("/v1/payments/{id}")).await;
    assert_eq!((status, other["code"].as_str()), (404, Some("not_found")), "{other}");
    assert_eq!(body["ticket"].as_str(), Some(ticket.as_str()));
    lane.close().await;
}

async fn refunds_never_exceed_the_payment(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let d = lane.enter("in-1", "REF 001").await;
    let ticket = d["ticket"]["id"].as_str().unwrap().to_owned();
    s.clock.advance(SignedDuration::from_hours(3));
    let (_, receipt) = pay(s, &ticket, "p", json!({"card_token": "tok_visa"})).await;
    let paid = receipt["amount"]["minor"].as_i64().unwrap();
    let id = receipt["id"].as_str().unwrap().to_owned();

    let driver = s.login(Role::Driver).await.access_token;
    let manager = s.login(Role::Manager).await.access_token;
    let (status, _) = refund(s, &driver, &id, "r0", json!({"amount_minor": 1, "reason": "x"})).await;
    assert_eq!(status, 403, "drivers do not refund themselves");
    let (status, body) = refund(s, &manager, &id, "r1", json!({"amount_minor": 100, "reason": " "})).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "a reason is required");
    let (status, first) =
        refund(s, &manager, &id, "r1", json!({"amount_minor": 100, "reason": "barrier fault"})).await;
    assert_eq!((status, first["kind"].as_str()), (201, Some("refund")), "{first}");
    // Replayed: the same refund, not a second one.
    let (status, again) =
        refund(s, &manager, &id, "r1", json!({"amount_minor": 100, "reason": "barrier fault"})).await;
    assert_eq!((status, &again), (201, &first));
    let (status, body) =
        refund(s, &manager, &id, "r2", json!({"amount_minor": paid, "reason": "all of it"})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("refund_too_large")), "{body}");
    let (status, _) =
        refund(s, &manager, &id, "r3", json!({"amount_minor": paid - 100, "reason": "the rest"})).await;
    assert_eq!(status, 201);
    let (status, body) = refund(s, &manager, &id, "r4", json!({"amount_minor": 1, "reason": "more"})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("refund_too_large")), "{body}");
    let (status, body) =
        refund(s, &manager, "card:nope:nope", "r5", json!({"amount_minor": 1, "reason": "?"})).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "{body}");

    // Refunded in full: the ticket owes its fee again.
    let view = s.get(&format!("/v1/tickets/{ticket}")).await.1;
    assert_eq!(view["paid"]["minor"], 0, "{view}");
    assert_eq!(ledger_rows(&lane).await, 3);
    lane.close().await;
}

async fn merchant_validations_take_their_share_off_and_respect_their_limits(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let manager = s.login(Role::Manager).await.access_token;
    let code = async |body: Value| s.post_as(Some(&manager), "/v1/validations", &body).await;
    let (status, body) = code(json!({"code": "shop50", "facility": "waterfront-lot", "merchant": "Shop",
        "discount": {"percent": 50}, "max_uses": 2}))
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        code(json!({"code": "SHOP50", "facility": "waterfront-lot", "merchant": "Shop",
        "discount": {"percent": 50}}))
        .await
        .0,
        409,
        "codes are unique, whatever their case"
    );
    assert_eq!(
        code(json!({"code": "ELSEWHERE", "facility": "pike-place-garage", "merchant": "Cafe",
        "discount": {"fixed_minor": 100}}))
        .await
        .0,
        201
    );
    for bad in
        [json!({"percent": 0}), json!({"percent": 150}), json!({"fixed_minor": -5}), json!({"free_hours": 0})]
    {
        let (status, body) =
            code(json!({"code": "BADONE", "facility": "waterfront-lot", "merchant": "X", "discount": bad}))
                .await;
        assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{body}");
    }

    let tickets: Vec<String> = three_inside(&lane).await;
    s.clock.advance(SignedDuration::from_hours(3));
    let validate = async |ticket: &str, code: &str| {
        s.post_as(None, &format!("/v1/tickets/{ticket}/validations"), &json!({"code": code})).await
    };
    // The fees compared below are read at different moments: let no minute pass between them.
    s.clock.freeze();
    let full = s.get(&format!("/v1/tickets/{}", tickets[0])).await.1["fee"]["minor"].as_i64().unwrap();
    let (status, view) = validate(&tickets[0], "shop50").await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["fee"]["minor"].as_i64(), Some(full - full / 2));
    assert_eq!(validate(&tickets[0], "SHOP50").await, (200, view.clone()), "applying again changes nothing");
    assert_eq!(validate(&tickets[1], "SHOP50").await.0, 200);
    let (status, body) = validate(&tickets[2], "SHOP50").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "two uses only: {body}");
    assert_eq!(validate(&tickets[2], "ELSEWHERE").await, (status, body.clone()), "another facility's");
    assert_eq!(validate(&tickets[2], "NOPE1234").await, (status, body), "no such code");

    // At the exit the validated fee is due; the ledger keeps the full price and the discount apart.
    let due = view["fee"]["minor"].as_i64().unwrap();
    let out = lane.leave("out-0", "VAL000", None).await;
    assert_eq!(out["amount_due"]["minor"].as_i64(), Some(due), "{out}");
    assert_eq!(reason(&lane.leave("out-0b", "VAL000", Some(due)).await).0, "open");
    let disk = Disk::open(&lane.db.url).await;
    let rows = disk.ledger_kinds().await;
    assert_eq!(rows, [("payment".into(), due), ("charge".into(), full), ("adjustment".into(), full / 2)]);
    disk.close().await;
    lane.close().await;
}

/// Validation codes cannot be guessed through the public endpoint: made random unless chosen, every
/// refusal the same answer, and a few attempts per ticket at a time.
async fn validation_codes_cannot_be_guessed(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let manager = s.login(Role::Manager).await.access_token;
    let make = async |body: Value| {
        let (status, made) = s.post_as(Some(&manager), "/v1/validations", &body).await;
        assert_eq!(status, 201, "{made}");
        made["code"].as_str().unwrap().to_owned()
    };
    let here = |extra: Value| {
        let mut body = json!({"facility": "waterfront-lot", "merchant": "Shop", "discount": {"percent": 10}});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let random = make(here(json!({}))).await;
    let shape = |c: &str| {
        c.len() == 14 && c.split('-').all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_alphanumeric()))
    };
    assert!(shape(&random), "{random}");
    assert_ne!(make(here(json!({}))).await, random, "each code is new");
    let once = make(here(json!({"max_uses": 1}))).await;
    let soon =
        make(here(json!({"valid_until": (s.clock.now() + SignedDuration::from_mins(30)).to_string()}))).await;
    let elsewhere =
        make(json!({"facility": "pike-place-garage", "merchant": "Cafe", "discount": {"percent": 10}})).await;

    let tickets = three_inside(&lane).await;
    let validate = async |ticket: &str, code: &str| {
        s.post_as(None, &format!("/v1/tickets/{ticket}/validations"), &json!({"code": code})).await
    };
    assert_eq!(validate(&tickets[1], &once).await.0, 200);
    s.clock.advance(SignedDuration::from_hours(1));
    let unknown = validate(&tickets[0], "ZZZZ-ZZZZ-ZZZZ").await;
    assert_eq!(unknown.0, 404, "{}", unknown.1);
    assert_eq!(validate(&tickets[0], &elsewhere).await, unknown, "another facility's code");
    assert_eq!(validate(&tickets[0], &soon).await, unknown, "an expired code");
    assert_eq!(validate(&tickets[0], &once).await, unknown, "a used-up code");

    // Five tries per ticket at a time; then even the right code waits.
    for n in 0..5 {
        assert_eq!(validate(&tickets[2], &format!("GUESS-{n:04}")).await.0, 404);
    }
    let (status, body) = validate(&tickets[2], &random).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")), "{body}");
    assert_eq!(validate(&tickets[0], &random).await.0, 200, "other tickets are not held back");
    lane.close().await;
}

/// A receipt is for whoever paid, the facility's staff and admins; its id neither shows the ticket nor
/// can be made up; the ticket view anyone holding the ticket sees names no plate.
async fn receipts_and_ticket_views_give_nothing_away(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let ticket = lane.enter("in-1", "RCP 001").await["ticket"]["id"].as_str().unwrap().to_owned();
    let (status, view) = s.get(&format!("/v1/tickets/{ticket}")).await;
    assert_eq!(status, 200, "{view}");
    assert!(view["plate"].is_null(), "the public ticket view shows no plate: {view}");
    s.clock.advance(SignedDuration::from_hours(2));
    let driver = s.login(Role::Driver).await.access_token;
    let receipt = s.pay_by_card(&ticket, "k1", Some(&driver)).await;
    let id = receipt["id"].as_str().unwrap().to_owned();
    assert!(!id.contains(&ticket) && !id.contains("k1"), "the receipt id gives the ticket away: {id}");
    assert_eq!(s.pay_by_card(&ticket, "k1", Some(&driver)).await, receipt, "a retry finds the same payment");
    let (status, body) = s.get(&format!("/v1/payments/card:{ticket}:k1")).await;
    assert_eq!(status, 401, "{body}");

    let read = async |token: &str| s.get_as(token, &format!("/v1/payments/{id}")).await.0;
    assert_eq!(read(&driver).await, 200, "the payer");
    assert_eq!(read(&s.login(Role::Attendant).await.access_token).await, 200, "the facility's staff");
    assert_eq!(read(&s.login(Role::Admin).await.access_token).await, 200, "an admin");
    let other = s.sign_up("other@example.com", "another-long-pass").await;
    assert_eq!(other.0, 201, "{}", other.1);
    let other = other.1["access_token"].as_str().unwrap().to_owned();
    assert_eq!(read(&other).await, 404, "another driver");
    lane.close().await;
}

/// Three vehicles in: VAL000, VAL001, VAL002; their tickets.
async fn three_inside(lane: &Lane) -> Vec<String> {
    let mut tickets = Vec::new();
    for i in 0..3 {
        let d = lane.enter(&format!("in-{i}"), &format!("VAL00{i}")).await;
        tickets.push(d["ticket"]["id"].as_str().unwrap().to_owned());
    }
    tickets
}

async fn monthly_permits_are_billed_once_a_month(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let driver = s.login(Role::Driver).await.access_token;
    let me = s.get_as(&driver, "/v1/me").await.1["user_id"].as_i64().unwrap();
    let manager = s.login(Role::Manager).await.access_token;
    let from = s.server.app.now() - SignedDuration::from_hours(1);
    let permit = |id: &str, fee: Value| {
        json!({"id": id, "holder": "Dana", "kind": "monthly", "plates": [format!("{id}x").replace('-', "").to_uppercase()],
        "valid_from": from.to_string(), "valid_until": (from + SignedDuration::from_hours(24 * 365)).to_string(),
        "monthly_fee": fee, "account": me})
    };
    let (status, body) = s
        .post_as(Some(&manager), "/v1/permits", &permit("dana-1", json!({"minor": 15000, "currency": "USD"})))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = s
        .post_as(Some(&manager), "/v1/permits", &permit("dana-2", json!({"minor": -1, "currency": "USD"})))
        .await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{body}");

    let admin = s.login(Role::Admin).await.access_token;
    let run =
        async || s.post_as(Some(&admin), "/v1/admin/billing/run", &json!({})).await.1["billed"].as_i64();
    let balance = async || s.get_as(&driver, "/v1/me/account").await.1["balances"][0]["minor"].as_i64();
    // The background run may have billed the first month already; either way it is billed once.
    run().await;
    assert_eq!(run().await, Some(0));
    assert_eq!(balance().await, Some(-15000));
    s.clock.advance(SignedDuration::from_hours(24 * 32));
    // The second month (billed by this run, or the background one just before it).
    assert!(run().await.is_some());
    assert_eq!(run().await, Some(0));
    assert_eq!(balance().await, Some(-30000));
    lane.close().await;
}

/// Runs `parkline-server verify-audit` against the test's database; returns success and output.
fn verify_audit(lane: &Lane) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_parkline-server"))
        .args(["verify-audit", "--database-url", &lane.db.url, "--data-dir"])
        .arg(lane.db.dir.path())
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn the_audit_chain_verifies_and_finds_tampering(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    for i in 0..3 {
        let d = lane.enter(&format!("in-{i}"), &format!("AUD00{i}")).await;
        s.clock.advance(SignedDuration::from_hours(1));
        let ticket = d["ticket"]["id"].as_str().unwrap();
        assert_eq!(pay(s, ticket, "p", json!({"card_token": "tok_visa"})).await.0, 201);
        assert_eq!(reason(&lane.leave(&format!("out-{i}"), &format!("AUD00{i}"), None).await).0, "open");
    }
    let attendant = s.login(Role::Attendant).await.access_token;
    let path = format!("/v1/gates/{}/overrides", common::lane::OUT);
    let (status, _) =
        s.post_as(Some(&attendant), &path, &json!({"action": "open_gate", "reason": "ambulance"})).await;
    assert_eq!(status, 200);

    let (ok, report) = verify_audit(&lane);
    assert!(ok, "{report}");
    assert!(report.contains("7 records, 6 ledger entries, verified"), "{report}");

    // Someone with database access changes an amount: the ledger is append-only, so they must drop the
    // guard first, and the verify command then finds the row that no longer matches its record.
    let disk = Disk::open(&lane.db.url).await;
    let refused = disk.try_rewrite_charges().await;
    assert!(refused.is_err(), "the ledger refuses updates");
    disk.tamper_with_first_charge(backend).await;
    let (ok, report) = verify_audit(&lane);
    assert!(!ok, "{report}");
    assert!(report.contains("differs from its audit record"), "{report}");

    // Rewriting the audit record to match breaks the chain instead.
    disk.tamper_with_audit_record_2(backend).await;
    let (ok, report) = verify_audit(&lane);
    assert!(!ok && report.contains("record 2: content does not match its hash"), "{report}");
    disk.close().await;
    lane.close().await;
}

/// Every byte the database keeps: the SQLite files, or a `pg_dump` of the PostgreSQL database.
fn database_bytes(lane: &Lane, backend: Backend) -> Vec<u8> {
    match backend {
        Backend::Sqlite => {
            // The database file and its write-ahead log and index.
            let file = std::path::PathBuf::from(lane.db.url.strip_prefix("sqlite://").unwrap());
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let mut all = Vec::new();
            for entry in std::fs::read_dir(file.parent().unwrap()).unwrap() {
                let path = entry.unwrap().path();
                if path.file_name().unwrap().to_string_lossy().starts_with(&name) {
                    all.extend(std::fs::read(&path).unwrap());
                }
            }
            all
        }
        Backend::Postgres => {
            let out = std::process::Command::new(common::pg_tool("pg_dump"))
                .args(["--data-only", "--inserts", &lane.db.url])
                .output()
                .expect("pg_dump runs");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            out.stdout
        }
    }
}

async fn no_plate_is_stored_in_the_clear(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    const PLATES: [&str; 4] = ["QZX7731", "QZX7732", "QZX7733", "QZX7734"];
    // A session, a corrected plate, a reservation and a permit: every place a plate goes.
    let d = lane.enter("in-1", "qzx 7731").await;
    let attendant = s.login(Role::Attendant).await.access_token;
    let path = format!("/v1/gates/{IN}/overrides");
    let fix =
        json!({"action": "set_plate", "reason": "misread", "session": d["ticket"]["id"], "plate": PLATES[1]});
    assert_eq!(s.post_as(Some(&attendant), &path, &fix).await.0, 200);
    let driver = s.login(Role::Driver).await.access_token;
    let start = s.server.app.now() + SignedDuration::from_hours(2);
    let booking = json!({"facility": common::lane::LOT, "plate": PLATES[2], "vehicle_class": "sedan",
        "start": start.to_string(), "end": (start + SignedDuration::from_hours(1)).to_string()});
    let (status, body) = s.post_as(Some(&driver), "/v1/reservations", &booking).await;
    assert_eq!(status, 201, "{body}");
    let manager = s.login(Role::Manager).await.access_token;
    let permit = json!({"id": "clear-1", "holder": "Acme", "kind": "monthly", "plates": [PLATES[3]],
        "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2030-01-01T00:00:00Z"});
    let (status, body) = s.post_as(Some(&manager), "/v1/permits", &permit).await;
    assert_eq!(status, 201, "{body}");
    // A duplicate entry attempt (its decision is stored) and an exit.
    lane.enter("in-2", PLATES[1]).await;
    lane.leave("out-1", PLATES[1], Some(0)).await;

    // The plates still work: the server reads them back after a restart.
    let config = lane.db.config();
    let kiosk = lane.kiosk.clone();
    lane.s.stop().await;
    let s = TestServer::start(&config).await;
    let lane = Lane { s, db: lane.db, kiosk };
    assert_eq!(reason(&lane.enter("in-3", PLATES[3]).await), ("open", "admitted"));
    let (status, body) = lane.s.get_as(&manager, "/v1/permits/clear-1").await;
    assert_eq!((status, body["plates"][0].as_str()), (200, Some(PLATES[3])), "{body}");

    let bytes = database_bytes(&lane, backend);
    let has = |text: &str| bytes.windows(text.len()).any(|w| w == text.as_bytes());
    // The search does find what is stored in the clear: the permit's id and a ticket.
    assert!(has("clear-1") && has(d["ticket"]["id"].as_str().unwrap()), "the search sees the data");
    for plate in PLATES.iter().copied().chain(["QZX 7731", "qzx 7731"]) {
        assert!(!has(plate), "{plate} is stored in the clear");
    }
    lane.close().await;
}

on_both_backends!(
    paying_in_the_app_opens_the_exit_once,
    refunds_never_exceed_the_payment,
    refunds_go_back_to_whoever_paid,
    the_balance_check_finds_money_in_the_wrong_account,
    drivers_pay_from_their_account_and_never_overdraw_it,
    monthly_permits_are_billed_once_a_month,
    merchant_validations_take_their_share_off_and_respect_their_limits,
    validation_codes_cannot_be_guessed,
    receipts_and_ticket_views_give_nothing_away,
    the_audit_chain_verifies_and_finds_tampering,
    no_plate_is_stored_in_the_clear,
);
