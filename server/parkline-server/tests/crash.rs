//! Crash test: the server binary takes entries, payments, exits and reservations from several clients
//! while it is killed with SIGKILL and restarted, again and again. Clients retry each request with its
//! idempotency key until it is answered, as kiosks and apps do. Afterwards, every acknowledged session
//! and payment is in the database exactly once, no spot is held by two vehicles, no reservations
//! overlap, every balance matches the ledger, and the audit chain verifies. On SQLite and PostgreSQL.

#[macro_use]
mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::process::Process;
use common::{Backend, TestDb};
use parkline_store::testing::Disk;
use serde_json::{Value, json};

const LOT: &str = "waterfront-lot";
const IN: &str = "waterfront-in-1";
const OUT: &str = "waterfront-out-1";
const WORKERS: usize = 4;
const KILLS: usize = 5;

/// Requests that found the server down (or dying) and were sent again.
static RETRIED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Sends a request until the server answers it (connection errors mean it is down: wait and retry the
/// same request, with the same idempotency key).
async fn call(
    http: &reqwest::Client,
    req: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
) -> (u16, Value) {
    for _ in 0..600 {
        if let Ok(r) = req(http).timeout(Duration::from_secs(5)).send().await {
            let (status, body) = common::split(r).await;
            // Unavailable (starting, or the first attempt died with the process): retry.
            if status != 503 {
                return (status, body);
            }
        }
        RETRIED.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no answer after 30 s");
}

/// What a client was told: the source of truth the database is checked against.
#[derive(Debug, Default)]
struct Acked {
    /// Session id -> ticket, for every admitted entry.
    sessions: HashMap<String, String>,
    /// Receipt id -> amount, for every card payment.
    payments: HashMap<String, i64>,
    /// Session ids whose exit opened.
    exited: Vec<String>,
    /// Reservation ids booked.
    reservations: Vec<String>,
}

/// One client's vehicles, one after another, until told to stop.
async fn drive(base: String, kiosk: String, driver: String, worker: usize, stop: Arc<AtomicBool>) -> Acked {
    let http = common::http();
    let mut acked = Acked::default();
    for i in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let plate = format!("CR{worker}{i:04}");
        let gate_event = |gate: &'static str, id: String, body: Value| {
            let (base, kiosk) = (base.clone(), kiosk.clone());
            move |h: &reqwest::Client| {
                let mut body = body.clone();
                body["event_id"] = json!(id);
                h.post(format!("{base}/v1/gates/{gate}/events")).bearer_auth(&kiosk).json(&body)
            }
        };
        let plate_read = json!({"plate": {"text": plate, "confidence": 0.95}});
        let (status, d) = call(&http, gate_event(IN, format!("in-{plate}"), plate_read.clone())).await;
        assert_eq!((status, d["reason"].as_str()), (200, Some("admitted")), "{d}");
        let (session, ticket) = (d["session"].as_str().unwrap(), d["ticket"]["id"].as_str().unwrap());
        acked.sessions.insert(session.to_owned(), ticket.to_owned());

        if i % 3 == 2 {
            // Pays at the exit lane: asked to pay, then pays the amount shown.
            let (_, d) = call(&http, gate_event(OUT, format!("out-{plate}-ask"), plate_read.clone())).await;
            assert_eq!(d["reason"], "payment_required", "{d}");
            let mut paying = plate_read.clone();
            paying["paid_at_gate"] = d["amount_due"]["minor"].clone();
            let (_, d) = call(&http, gate_event(OUT, format!("out-{plate}-pay"), paying)).await;
            assert_eq!(d["command"], "open", "{d}");
        } else {
            // Pays in the app, then drives out.
            let url = format!("{base}/v1/tickets/{ticket}/payments");
            let (status, receipt) = call(&http, |h| {
                h.post(&url)
                    .header("idempotency-key", format!("pay-{plate}"))
                    .json(&json!({"card_token": "tok_visa"}))
            })
            .await;
            assert_eq!(status, 201, "{receipt}");
            acked.payments.insert(
                receipt["id"].as_str().unwrap().to_owned(),
                receipt["amount"]["minor"].as_i64().unwrap(),
            );
            let (_, d) = call(&http, gate_event(OUT, format!("out-{plate}"), plate_read.clone())).await;
            assert_eq!((d["command"].as_str(), d["reason"].as_str()), (Some("open"), Some("paid")), "{d}");
        }
        acked.exited.push(session.to_owned());

        // Drivers race for the same few spots tomorrow: at most one booking per spot and hour may win.
        let start = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 + (i as i64 % 3));
        let booking = json!({"facility": LOT, "plate": plate, "vehicle_class": "sedan", "spot": format!("GA-0{}", 15 + i % 2),
            "start": start.to_string(), "end": (start + jiff::SignedDuration::from_mins(90)).to_string()});
        let key = format!("book-{plate}");
        let (status, body) = call(&http, |h| {
            h.post(format!("{base}/v1/reservations"))
                .bearer_auth(&driver)
                .header("idempotency-key", &key)
                .json(&booking)
        })
        .await;
        match status {
            201 => acked
                .reservations
                .extend(body.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned())),
            409 => {}
            _ => panic!("booking: {status} {body}"),
        }
    }
    acked
}

async fn survives_sigkill_under_load(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let mut server = Process::new(&db);
    server.start().await;
    let base = server.base();
    let http = common::http();

    // Tokens that outlive restarts: the JWT secret is fixed, the kiosk's token is in the database.
    let login = |role: &str| {
        let (base, http) = (base.clone(), http.clone());
        let email = format!("{role}@demo.parkline");
        async move {
            let body = json!({"email": email, "password": common::PASSWORD});
            // The demo seeds its accounts just after the server is up.
            for _ in 0..100 {
                let (status, token) =
                    call(&http, |h| h.post(format!("{base}/v1/auth/login")).json(&body)).await;
                if status == 200 {
                    return token["access_token"].as_str().unwrap().to_owned();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("cannot sign in as {email}");
        }
    };
    let (manager, driver) = (login("manager").await, login("driver").await);
    let r = http
        .post(format!("{base}/v1/admin/devices"))
        .bearer_auth(&manager)
        .json(&json!({"name": "crash kiosk", "kind": "kiosk", "facility": LOT}))
        .send()
        .await
        .unwrap();
    let (status, device) = common::split(r).await;
    assert_eq!(status, 201, "{device}");
    let kiosk = device["token"].as_str().unwrap().to_owned();
    // No free minutes, so every stay costs something and every payment moves money.
    let mut rates: Value =
        http.get(format!("{base}/v1/facilities/{LOT}/rates")).send().await.unwrap().json().await.unwrap();
    rates["grace_minutes"] = json!(0);
    let r = http
        .put(format!("{base}/v1/facilities/{LOT}/rates"))
        .bearer_auth(&manager)
        .json(&rates)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);

    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        workers.push(tokio::spawn(drive(base.clone(), kiosk.clone(), driver.clone(), w, stop.clone())));
    }
    // Kill and restart while they work.
    for kill in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(workers.iter().all(|w| !w.is_finished()), "kill {kill}: a client stopped early");
        server.kill().await;
        server.start().await;
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acked = Acked::default();
    for w in workers {
        let a = w.await.expect("a client failed");
        acked.sessions.extend(a.sessions);
        acked.payments.extend(a.payments);
        acked.exited.extend(a.exited);
        acked.reservations.extend(a.reservations);
    }
    assert!(acked.sessions.len() > WORKERS * KILLS, "a load worth the name: {}", acked.sessions.len());
    let retried = RETRIED.load(Ordering::Relaxed);
    println!(
        "{} sessions, {} card payments, {} reservations acknowledged; {retried} requests retried across {KILLS} kills",
        acked.sessions.len(),
        acked.payments.len(),
        acked.reservations.len()
    );
    assert!(retried >= KILLS, "the kills interrupted the clients");
    server.kill().await;

    let disk = Disk::open(&db.url).await;
    // Every acknowledged session exactly once, with its ticket, and completed; no others.
    let rows = disk.sessions().await;
    assert_eq!(rows.len(), acked.sessions.len(), "no session lost or added");
    for (id, ticket, status) in &rows {
        assert_eq!(acked.sessions.get(id), Some(ticket), "session {id} was acknowledged with this ticket");
        assert_eq!(status, "completed");
    }
    assert_eq!(acked.exited.len(), rows.len());
    // Every acknowledged payment exactly once, for the amount on its receipt.
    for (key, amount) in &acked.payments {
        assert_eq!(disk.ledger_amounts(key).await, [*amount], "payment {key}");
    }
    // Every session's balance is settled: charged == paid.
    assert_eq!(disk.unbalanced_sessions().await, 0, "every session charged once and paid in full");
    // No spot held twice, and nothing left held: every vehicle left.
    assert_eq!(disk.held_spots().await, 0);
    // Reservations: exactly the acknowledged ones stored (bookings carry an idempotency key, so a retry
    // after a lost answer returns the first attempt's), none overlapping on a spot.
    assert!(!acked.reservations.is_empty());
    assert_eq!(disk.reservations().await as usize, acked.reservations.len());
    for id in &acked.reservations {
        assert_eq!(disk.reservations_with_id(id).await, 1, "reservation {id}");
    }
    assert_eq!(disk.overlapping_reservations().await, 0);
    disk.close().await;

    let (verified, report) = server.verify_audit();
    assert!(verified, "{report}");
    db.cleanup().await;
}

on_both_backends!(survives_sigkill_under_load);
