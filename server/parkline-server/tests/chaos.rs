//! Chaos test: three server processes on one PostgreSQL, every request sent to a random one. Drivers
//! come and go, pay in the app, use merchant validations, arrive on bookings and on permits that are
//! then revoked, while one instance is killed with SIGKILL and started again and another's change-feed
//! connection is terminated from the database side. A request that finds its instance down is sent
//! to another, with the same idempotency key, as a kiosk or app behind a load balancer would.
//!
//! Afterwards every instance shows the same vehicles inside, with what they paid, and the same
//! availability; nobody who arrived on a booking was marked a no-show; no permit was honoured once its
//! revocation was acknowledged (and [`PROPAGATION`] had passed); no request got a conflict or a server
//! error; the audit chain verifies.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::process::Process;
use common::{Backend, TestDb};
use jiff::{SignedDuration, Timestamp};
use parkline_store::testing::Disk;
use serde_json::{Value, json};

const LOT: &str = "waterfront-lot";
const IN: &str = "waterfront-in-1";
const OUT: &str = "waterfront-out-1";
const INSTANCES: usize = 3;
const WORKERS: usize = 3;
/// How long after a change is acknowledged the test counts on every instance knowing it: far above
/// the measured propagation delay (`cargo bench -p parkline-server --bench propagation`), and above
/// the feed's two-second poll, which bounds it when a wake-up is lost.
const PROPAGATION: Duration = Duration::from_millis(2500);
/// A 100% merchant validation every validated stay uses.
const CODE: &str = "CHAOS-FREE";

/// Requests sent again because the instance they went to was down.
static RESENT: AtomicUsize = AtomicUsize::new(0);

/// The instances' addresses; requests go to a random one.
#[derive(Clone)]
struct Cluster(Arc<Vec<String>>);

impl Cluster {
    /// Sends a request to a random instance until one answers; connection errors and 503 (starting,
    /// or the first attempt died with its process) go to another, with the same request.
    async fn call(
        &self,
        http: &reqwest::Client,
        req: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> (u16, Value) {
        for _ in 0..600 {
            let base = &self.0[rand::random_range(0..self.0.len())];
            if let Ok(r) = req(http, base).timeout(Duration::from_secs(5)).send().await {
                let (status, body) = common::split(r).await;
                if status != 503 {
                    assert!(status < 500 && status != 409, "{status}: {body}");
                    return (status, body);
                }
            }
            RESENT.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no instance answered for 12 s");
    }
}

/// What clients were told, to check every instance against.
#[derive(Debug, Default)]
struct Acked {
    /// Vehicles still inside at the end: session id -> paid (minor units).
    inside: BTreeMap<String, i64>,
    /// Bookings whose car arrived and was checked in.
    arrived: Vec<String>,
    /// Entries and exits decided.
    gate_events: usize,
    /// Permits revoked and then refused.
    revoked: usize,
}

#[derive(Clone)]
struct Client {
    cluster: Cluster,
    http: reqwest::Client,
    kiosk: String,
    manager: String,
    driver: String,
}

impl Client {
    async fn gate(&self, gate: &str, key: String, plate: &str, paid: Option<i64>) -> Value {
        let mut body = json!({"event_id": key, "plate": {"text": plate, "confidence": 0.95}});
        if let Some(paid) = paid {
            body["paid_at_gate"] = json!(paid);
        }
        let path = format!("/v1/gates/{gate}/events");
        let (status, d) = self
            .cluster
            .call(&self.http, |h, b| h.post(format!("{b}{path}")).bearer_auth(&self.kiosk).json(&body))
            .await;
        assert_eq!(status, 200, "{d}");
        d
    }

    async fn enter(&self, key: String, plate: &str) -> Value {
        let d = self.gate(IN, key, plate, None).await;
        assert_eq!((d["command"].as_str(), d["reason"].as_str()), (Some("open"), Some("admitted")), "{d}");
        d
    }

    /// Pays in the app (on one instance) what the stay owes; the amount.
    async fn pay(&self, ticket: &str, key: String) -> i64 {
        let path = format!("/v1/tickets/{ticket}/payments");
        let (status, receipt) = self
            .cluster
            .call(&self.http, |h, b| {
                h.post(format!("{b}{path}"))
                    .header("idempotency-key", &key)
                    .json(&json!({"card_token": "tok_visa"}))
            })
            .await;
        assert_eq!(status, 201, "{receipt}");
        receipt["amount"]["minor"].as_i64().unwrap()
    }

    /// Leaves (on another instance, likely): it must know what was paid, validated or permitted.
    async fn leave(&self, key: String, plate: &str, expect: &str) {
        let d = self.gate(OUT, key, plate, None).await;
        assert_eq!((d["command"].as_str(), d["reason"].as_str()), (Some("open"), Some(expect)), "{d}");
    }

    async fn manage(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.cluster
            .call(&self.http, |h, b| {
                let req = h.request(method.clone(), format!("{b}{path}")).bearer_auth(&self.manager);
                match body {
                    Some(body) => req.json(body),
                    None => req,
                }
            })
            .await
    }

    /// One worker's vehicles, one after another, until told to stop; the last one stays inside.
    async fn drive(self, worker: usize, stop: Arc<AtomicBool>) -> Acked {
        let mut acked = Acked::default();
        for i in 0.. {
            let plate = format!("CH{worker}{i:03}");
            let key = |step: &str| format!("{plate}-{step}");
            let last = stop.load(Ordering::Relaxed);
            if last {
                let d = self.enter(key("in"), &plate).await;
                let ticket = d["ticket"]["id"].as_str().unwrap();
                let paid = self.pay(ticket, key("pay")).await;
                acked.inside.insert(d["session"].as_str().unwrap().to_owned(), paid);
                acked.gate_events += 1;
                return acked;
            }
            match i % 4 {
                // A visitor pays in the app and leaves.
                0 => {
                    let d = self.enter(key("in"), &plate).await;
                    self.pay(d["ticket"]["id"].as_str().unwrap(), key("pay")).await;
                    self.leave(key("out"), &plate, "paid").await;
                }
                // A shop validates the stay in full.
                1 => {
                    let d = self.enter(key("in"), &plate).await;
                    let path = format!("/v1/tickets/{}/validations", d["ticket"]["id"].as_str().unwrap());
                    let (status, v) = self
                        .cluster
                        .call(&self.http, |h, b| h.post(format!("{b}{path}")).json(&json!({"code": CODE})))
                        .await;
                    assert_eq!((status, v["fee"]["minor"].as_i64()), (200, Some(0)), "{v}");
                    self.leave(key("out"), &plate, "nothing_due").await;
                }
                // A booking whose check-in window is closing: booked, then the car arrives.
                2 => {
                    let start = Timestamp::now() - SignedDuration::from_secs(14 * 60 + 40);
                    let booking = json!({"facility": LOT, "plate": plate, "vehicle_class": "sedan",
                        "start": start.to_string(), "end": (start + SignedDuration::from_hours(2)).to_string()});
                    let (status, booked) = self
                        .cluster
                        .call(&self.http, |h, b| {
                            h.post(format!("{b}/v1/reservations"))
                                .bearer_auth(&self.driver)
                                .header("idempotency-key", key("book"))
                                .json(&booking)
                        })
                        .await;
                    assert_eq!(status, 201, "{booked}");
                    tokio::time::sleep(PROPAGATION).await;
                    let d = self.enter(key("in"), &plate).await;
                    assert!(d["display"].as_str().unwrap().contains("reservation"), "checked in: {d}");
                    acked.arrived.push(booked[0]["id"].as_str().unwrap().to_owned());
                    self.pay(d["ticket"]["id"].as_str().unwrap(), key("pay")).await;
                    self.leave(key("out"), &plate, "paid").await;
                }
                // A permit holder comes and goes free; the permit is revoked; then they pay.
                _ => {
                    let id = format!("chaos-{}", plate.to_lowercase());
                    let permit = json!({"id": id, "holder": "Chaos Corp", "kind": "monthly", "plates": [plate],
                        "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2036-01-01T00:00:00Z"});
                    let (status, p) = self.manage(reqwest::Method::POST, "/v1/permits", Some(&permit)).await;
                    assert_eq!(status, 201, "{p}");
                    tokio::time::sleep(PROPAGATION).await;
                    let d = self.enter(key("in"), &plate).await;
                    assert!(d["display"].as_str().unwrap().contains("Chaos Corp"), "on the permit: {d}");
                    self.leave(key("out"), &plate, "permit_holder").await;
                    let (status, body) =
                        self.manage(reqwest::Method::DELETE, &format!("/v1/permits/{id}"), None).await;
                    assert_eq!(status, 204, "{body}");
                    tokio::time::sleep(PROPAGATION).await;
                    let d = self.enter(key("in-again"), &plate).await;
                    assert!(!d["display"].as_str().unwrap().contains("Chaos Corp"), "revoked: {d}");
                    acked.revoked += 1;
                    self.pay(d["ticket"]["id"].as_str().unwrap(), key("pay")).await;
                    self.leave(key("out-again"), &plate, "paid").await;
                    acked.gate_events += 2;
                }
            }
            acked.gate_events += 2;
        }
        unreachable!()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_agree_through_a_kill_and_a_dropped_connection() {
    let Some(db) = TestDb::new(Backend::Postgres).await else { return };
    // The first seeds the demo; the others start on what it made (and seed nothing more).
    let mut nodes: Vec<Process> = (0..INSTANCES).map(|_| Process::new(&db)).collect();
    nodes[0].start().await;
    let http = common::http();
    let seeded = Cluster(Arc::new(vec![nodes[0].base()]));
    let body = json!({"email": "driver@demo.parkline", "password": common::PASSWORD});
    while seeded.call(&http, |h, b| h.post(format!("{b}/v1/auth/login")).json(&body)).await.0 != 200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for node in &mut nodes[1..] {
        node.start().await;
    }
    let cluster = Cluster(Arc::new(nodes.iter().map(Process::base).collect()));
    let login = async |role: &str| {
        let body = json!({"email": format!("{role}@demo.parkline"), "password": common::PASSWORD});
        let (status, t) = cluster.call(&http, |h, b| h.post(format!("{b}/v1/auth/login")).json(&body)).await;
        assert_eq!(status, 200, "{t}");
        t["access_token"].as_str().unwrap().to_owned()
    };
    let (manager, driver) = (login("manager").await, login("driver").await);
    let device = json!({"name": "chaos kiosk", "kind": "kiosk", "facility": LOT});
    let setup =
        Client { cluster: cluster.clone(), http: http.clone(), kiosk: String::new(), manager, driver };
    let (status, device) = setup.manage(reqwest::Method::POST, "/v1/admin/devices", Some(&device)).await;
    assert_eq!(status, 201, "{device}");
    let kiosk = device["token"].as_str().unwrap().to_owned();
    // No free minutes, so every stay costs something and only payment, validation or permit opens.
    let (_, mut rates) = cluster.call(&http, |h, b| h.get(format!("{b}/v1/facilities/{LOT}/rates"))).await;
    rates["grace_minutes"] = json!(0);
    let (status, body) =
        setup.manage(reqwest::Method::PUT, &format!("/v1/facilities/{LOT}/rates"), Some(&rates)).await;
    assert_eq!(status, 204, "{body}");
    let code = json!({"code": CODE, "facility": LOT, "merchant": "Chaos Cafe", "discount": {"percent": 100}});
    let (status, body) = setup.manage(reqwest::Method::POST, "/v1/validations", Some(&code)).await;
    assert_eq!(status, 201, "{body}");
    tokio::time::sleep(PROPAGATION).await;

    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let client = Client { kiosk: kiosk.clone(), ..setup.clone() };
            tokio::spawn(client.drive(w, stop.clone()))
        })
        .collect();
    // Mid-run: one instance killed and started again; another's feed connection cut by the database.
    let disk = Disk::open(&db.url).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    nodes[1].kill().await;
    // Down for two seconds, and until some client has run into it (on a busy machine the clients can
    // spend two seconds between requests and never meet the dead instance).
    let (down, resent) = (std::time::Instant::now(), RESENT.load(Ordering::Relaxed));
    while down.elapsed() < Duration::from_secs(2)
        || (RESENT.load(Ordering::Relaxed) == resent && down.elapsed() < Duration::from_secs(20))
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    nodes[1].start().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(disk.terminate_any_feed_listener().await, 1, "a listening connection to cut");
    tokio::time::sleep(Duration::from_secs(10)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acked = Acked::default();
    for w in workers {
        let Ok(a) = w.await else {
            for node in &nodes {
                println!("instance {}:\n{}", node.base(), node.problems());
            }
            panic!("a client failed");
        };
        acked.inside.extend(a.inside);
        acked.arrived.extend(a.arrived);
        acked.gate_events += a.gate_events;
        acked.revoked += a.revoked;
    }
    println!(
        "{} gate events, {} bookings checked in, {} permits revoked and refused; {} requests resent",
        acked.gate_events,
        acked.arrived.len(),
        acked.revoked,
        RESENT.load(Ordering::Relaxed)
    );
    assert!(
        acked.gate_events >= 40 && !acked.arrived.is_empty() && acked.revoked > 0,
        "a run worth the name"
    );
    assert!(RESENT.load(Ordering::Relaxed) > 0, "the kill interrupted some requests");
    tokio::time::sleep(PROPAGATION).await;

    // Every instance: the same vehicles inside, with what they paid, and the same availability.
    for base in cluster.0.iter() {
        let path = format!("{base}/v1/facilities/{LOT}/sessions");
        let (status, inside) =
            common::split(http.get(&path).bearer_auth(&setup.manager).send().await.unwrap()).await;
        assert_eq!(status, 200, "{inside}");
        let seen: BTreeMap<String, i64> = inside
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["id"].as_str().unwrap().to_owned(), s["paid"]["minor"].as_i64().unwrap()))
            .collect();
        assert_eq!(seen, acked.inside, "{base}: every vehicle inside and what it paid, none that left");
    }
    let mut availability = Vec::new();
    for base in cluster.0.iter() {
        let r = http.get(format!("{base}/v1/facilities/{LOT}/availability")).send().await.unwrap();
        let a: Value = r.json().await.unwrap();
        availability.push(json!([a["counts"], a["floors"]]));
    }
    assert!(
        availability.windows(2).all(|w| w[0] == w[1]),
        "the same availability everywhere: {availability:?}"
    );

    // Nobody who arrived on a booking is a no-show, now that every window has closed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for id in &acked.arrived {
        let path = format!("/v1/reservations/{id}");
        let (status, r) =
            cluster.call(&http, |h, b| h.get(format!("{b}{path}")).bearer_auth(&setup.driver)).await;
        assert_eq!((status, r["status"].as_str()), (200, Some("checked_in")), "arrived, so no no-show: {r}");
    }
    disk.close().await;
    for node in &mut nodes {
        node.kill().await;
    }
    let (verified, report) = nodes[0].verify_audit();
    assert!(verified, "{report}");
    db.cleanup().await;
}
