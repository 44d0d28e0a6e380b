//! The kiosk end to end, against a real server on loopback, real Modbus TCP relay modules and a real
//! ticket printer socket: photos dropped into the lanes' camera folders are read, decided by the server
//! and open the barrier; with the server down, lanes decide on their own and every passage reaches the
//! server exactly once when it is back.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{IN, LOT, OUT, Relay, Server, bench_photos, drop_photo, until};
use jiff::SignedDuration;
use parkline_domain::Direction;
use parkline_kiosk::gate::SimulatedGate;
use parkline_kiosk::{Input, Kiosk, LaneView};
use parkline_protocol::{DecisionReason, GateCommand, PaymentRequest, PlateRead};
use parkline_sdk::{Cache, Client};
use tokio::io::AsyncReadExt;

/// The photo the lanes see, and its labelled plate.
const PHOTO: &str = "wts-lg-000145.jpg";
const PLATE: &str = "4KBZ265";

fn last(view: &tokio::sync::watch::Receiver<LaneView>) -> LaneView {
    view.borrow().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_in_the_camera_folder_opens_the_gate_and_the_same_car_pays_and_leaves() {
    let Some(photos) = bench_photos() else { return };
    let server = Server::start();
    let (entry_relay, entry_addr) = Relay::start().await.unwrap();
    let (exit_relay, exit_addr) = Relay::start().await.unwrap();
    let printer = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let printer_addr = printer.local_addr().unwrap();
    let printed = tokio::spawn(async move {
        let (mut socket, _) = printer.accept().await.unwrap();
        let mut bytes = Vec::new();
        socket.read_to_end(&mut bytes).await.unwrap();
        bytes
    });
    let dir = tempfile::tempdir().unwrap();
    let (cam_in, cam_out) = (dir.path().join("cam-in"), dir.path().join("cam-out"));
    let config = parkline_kiosk::Config::parse(&format!(
        r#"
        server = "{url}"
        device_token = "{token}"
        facility = "{LOT}"
        data_dir = "{data}"
        [[lanes]]
        gate = "{IN}"
        direction = "entry"
        camera = {{ kind = "folder", path = "{cam_in}" }}
        gate_controller = {{ kind = "modbus", address = "{entry_addr}", open_coil = 3, loop_input = 0, closed_input = 1, pulse_ms = 100 }}
        printer = "{printer_addr}"
        [[lanes]]
        gate = "{OUT}"
        direction = "exit"
        camera = {{ kind = "folder", path = "{cam_out}" }}
        gate_controller = {{ kind = "modbus", address = "{exit_addr}", open_coil = 5, loop_input = 0, closed_input = 1, pulse_ms = 100 }}
        "#,
        url = server.url(),
        token = server.kiosk,
        data = dir.path().join("data").display(),
        cam_in = cam_in.display(),
        cam_out = cam_out.display(),
    ))
    .unwrap();
    let kiosk = parkline_kiosk::start(&config).await.unwrap();
    let (entry, exit) = (&kiosk.lanes[0], &kiosk.lanes[1]);

    // A car at the entry: the camera drops its photo.
    let dropped = Instant::now();
    drop_photo(&photos.join(PHOTO), &cam_in, "car-1.jpg");
    assert!(until(Duration::from_secs(30), || !last(&entry.view).passages.is_empty()).await, "no passage");
    let v = last(&entry.view);
    assert_eq!(v.read.as_ref().unwrap().plate, PLATE, "{v:?}");
    let decision = v.decision.clone().unwrap();
    assert_eq!(
        (decision.command, decision.reason, decision.offline),
        (GateCommand::Open, DecisionReason::Admitted, false)
    );
    let spot = decision.spot.clone().expect("the server held a spot");
    assert!(decision.display.contains(&spot), "the driver is told where to park: {}", decision.display);
    let ticket = decision.ticket.clone().unwrap();
    // The relay module saw the open coil pulsed, and the printer got the ticket with its QR code.
    let opened = entry_relay.opened_at(3, dropped).expect("coil 3 switched on");
    assert!(
        until(Duration::from_secs(2), || entry_relay.writes.lock().unwrap().iter().any(|w| w.1 == 3 && !w.2))
            .await
    );
    let ticket_bytes = printed.await.unwrap();
    let qr = ticket.qr.as_bytes();
    assert!(ticket_bytes.windows(qr.len()).any(|w| w == qr), "the printed ticket carries its QR code");
    eprintln!("entry: photo dropped to open coil in {:?}", opened - dropped);

    // The server has the stay, under the plate read.
    let staff = Client::new(&server.url(), None).unwrap();
    staff.set_token(Some(server.kiosk.clone()));
    let inside = staff.sessions(LOT, false).await.unwrap();
    assert_eq!(inside.len(), 1);
    assert_eq!((inside[0].plate.as_deref(), inside[0].ticket.as_str()), (Some(PLATE), ticket.id.as_str()));

    // Two hours later the same car is at the exit: it owes the fee, and the barrier stays down.
    server.clock.advance(SignedDuration::from_hours(2));
    let at_exit = Instant::now();
    drop_photo(&photos.join(PHOTO), &cam_out, "car-1-out.jpg");
    assert!(until(Duration::from_secs(30), || last(&exit.view).decision.is_some()).await);
    let d = last(&exit.view).decision.unwrap();
    assert_eq!((d.command, d.reason), (GateCommand::Deny, DecisionReason::PaymentRequired), "{d:?}");
    let due = d.amount_due.unwrap();
    assert!(due.minor > 0);
    assert!(exit_relay.opened_at(5, at_exit).is_none(), "no open before paying");

    // The driver pays in the app at the barrier; the lane asks again by itself and opens.
    let driver = Client::new(&server.url(), None).unwrap();
    let receipt = driver
        .pay(
            &ticket.id,
            &PaymentRequest { card_token: "tok_visa".into(), amount_minor: None },
            &Client::new_key(),
        )
        .await
        .unwrap();
    // The fee keeps accruing between the lane's answer and the payment.
    assert!((due.minor..=due.minor + 5).contains(&receipt.amount.minor), "{receipt:?}");
    let open = || last(&exit.view).decision.is_some_and(|d| d.command == GateCommand::Open);
    assert!(until(Duration::from_secs(10), open).await, "the lane asked again");
    assert!(
        until(Duration::from_secs(2), || exit_relay.opened_at(5, at_exit).is_some()).await,
        "the exit opened"
    );
    let d = last(&exit.view).decision.unwrap();
    assert_eq!((d.command, d.reason), (GateCommand::Open, DecisionReason::Paid));
    assert!(staff.sessions(LOT, false).await.unwrap().is_empty(), "the stay ended");
}

/// Plates pushed by a camera that reads them itself.
fn read(plate: &str) -> Input {
    Input::Plate(PlateRead { text: plate.into(), confidence: 0.95, alternatives: vec![], image_ref: None })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_server_down_twenty_enter_and_ten_leave_and_the_server_gets_each_passage_once() {
    let mut server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(&server.url(), Some(Cache::open(dir.path().join("kiosk.db")).unwrap())).unwrap();
    client.set_token(Some(server.kiosk.clone()));
    let kiosk = Kiosk::new(client, LOT, None, Duration::from_millis(1500));
    kiosk.refresh().await.unwrap();
    kiosk.spawn_upkeep();
    let (entry_gate, exit_gate) = (Arc::new(SimulatedGate::new()), Arc::new(SimulatedGate::new()));
    let entry = kiosk.lane(IN, Direction::Entry, entry_gate.clone(), None);
    let exit = kiosk.lane(OUT, Direction::Exit, exit_gate.clone(), None);

    server.kill();
    let plate = |i: usize| format!("OFL{i:03}");
    for i in 0..20 {
        entry.send(read(&plate(i))).await;
        assert!(
            until(Duration::from_secs(5), || last(&entry.view).passages.len() == (i + 1).min(12)
                && last(&entry.view).passages[0].plate.as_deref() == Some(&plate(i)))
            .await,
            "entry {i}"
        );
        let p = last(&entry.view).passages[0].clone();
        assert!(p.opened && p.offline, "entry {i} opens offline: {p:?}");
    }
    for i in 0..10 {
        exit.send(read(&plate(i))).await;
        assert!(
            until(Duration::from_secs(5), || last(&exit.view).passages.front().and_then(|p| p.plate.clone())
                == Some(plate(i)))
            .await,
            "exit {i}"
        );
        let p = last(&exit.view).passages[0].clone();
        assert!(p.opened && p.offline, "exit {i} opens offline within the grace period: {p:?}");
    }
    assert_eq!((entry_gate.opened(), exit_gate.opened()), (20, 10));
    assert_eq!(kiosk.queued(), 30, "every passage waits in the outbox");
    assert!(!last(&entry.view).health.server_online);
    // The tickets the lane printed offline.
    let tickets: Vec<String> = kiosk
        .client
        .pending()
        .unwrap()
        .iter()
        .filter_map(|q| match &q.command {
            parkline_sdk::Command::GateEvent { event, .. } => {
                event.offline.as_ref().and_then(|o| o.ticket.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(tickets.len(), 20);

    server.restart();
    assert!(until(Duration::from_secs(20), || kiosk.queued() == 0).await, "the outbox drains");
    assert!(kiosk.conflicts().is_empty(), "{:?}", kiosk.conflicts());
    assert!(until(Duration::from_secs(5), || last(&entry.view).health.server_online).await);

    // The server's stays are what the lanes did: the ten still inside, with the lane's tickets.
    let staff = kiosk.client.clone();
    let inside = staff.sessions(LOT, false).await.unwrap();
    let mut plates: Vec<String> = inside.iter().filter_map(|s| s.plate.clone()).collect();
    plates.sort();
    assert_eq!(plates, (10..20).map(plate).collect::<Vec<_>>());
    for s in &inside {
        assert!(tickets.contains(&s.ticket), "{} keeps the ticket printed offline", s.ticket);
    }
    // Replaying everything again changes nothing: each passage was applied once.
    let held = |body: serde_json::Value| body["counts"]["held"].as_u64();
    let availability =
        reqwest::get(format!("{}/v1/facilities/{LOT}/availability", server.url())).await.unwrap();
    let before = held(availability.json().await.unwrap());
    assert_eq!(before, Some(10), "ten spots held for the ten inside");
    let applied = kiosk.client.applied().unwrap();
    assert_eq!(applied.len(), 30, "thirty passages applied");
    let mut replayed = 0;
    for q in applied {
        if let parkline_sdk::Command::GateEvent { gate, event } = q.command {
            let again = staff.gate_event(&gate, &event).await.unwrap();
            assert_eq!(again.command, GateCommand::Open);
            replayed += 1;
        }
    }
    assert_eq!(replayed, 30);
    assert_eq!(staff.sessions(LOT, false).await.unwrap().len(), 10);
    let availability =
        reqwest::get(format!("{}/v1/facilities/{LOT}/availability", server.url())).await.unwrap();
    assert_eq!(held(availability.json().await.unwrap()), before);
}

const ATTENDANT: &str = "attendant-secret-0001";
const CAMERA_IN: &str = "camera-secret-in-0001";

/// The kiosk API's secrets in these tests: the attendant's, and the entry camera's.
fn secrets() -> parkline_kiosk::api::Secrets {
    parkline_kiosk::api::Secrets {
        attendant: ATTENDANT.into(),
        cameras: [(IN.to_owned(), CAMERA_IN.to_owned())].into(),
    }
}

/// A kiosk with the lot's entry and exit lanes on simulated barriers, its API on loopback behind the
/// test secrets: the API's address, the entry and exit barriers, and the kiosk's data directory.
async fn two_lanes_behind_the_api(
    server: &Server,
) -> (String, Arc<SimulatedGate>, Arc<SimulatedGate>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(&server.url(), Some(Cache::open(dir.path().join("kiosk.db")).unwrap())).unwrap();
    client.set_token(Some(server.kiosk.clone()));
    let kiosk = Kiosk::new(client, LOT, None, Duration::from_millis(1500));
    let (entry_gate, exit_gate) = (Arc::new(SimulatedGate::new()), Arc::new(SimulatedGate::new()));
    let entry = kiosk.lane(IN, Direction::Entry, entry_gate.clone(), None);
    let exit = kiosk.lane(OUT, Direction::Exit, exit_gate.clone(), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, parkline_kiosk::api::router(vec![entry, exit], secrets())).await
    });
    (api, entry_gate, exit_gate, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cameras_push_plates_and_attendants_act_through_the_kiosk_api() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(&server.url(), Some(Cache::open(dir.path().join("kiosk.db")).unwrap())).unwrap();
    client.set_token(Some(server.kiosk.clone()));
    let kiosk = Kiosk::new(client, LOT, None, Duration::from_millis(1500));
    let gate = Arc::new(SimulatedGate::new());
    let entry = kiosk.lane(IN, Direction::Entry, gate.clone(), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(
        async move { axum::serve(listener, parkline_kiosk::api::router(vec![entry], secrets())).await },
    );
    let http = reqwest::Client::new();
    let post_with = |secret: &str, path: &str, body: serde_json::Value| {
        http.post(format!("{api}{path}")).bearer_auth(secret).json(&body).send()
    };
    let post = |path: &str, body: serde_json::Value| post_with(ATTENDANT, path, body);

    // A camera that reads plates pushes one with its secret: the lane lets the car in.
    let read = serde_json::json!({"text": "API 123", "confidence": 0.97});
    let pushed = post_with(CAMERA_IN, "/lanes/waterfront-in-1/plates", read.clone()).await.unwrap();
    assert_eq!(pushed.status(), 202);
    assert!(until(Duration::from_secs(5), || gate.opened() == 1).await);
    let lanes: serde_json::Value =
        http.get(format!("{api}/lanes")).bearer_auth(ATTENDANT).send().await.unwrap().json().await.unwrap();
    assert_eq!(lanes[0]["passages"][0]["plate"], "API123");
    assert_eq!(lanes[0]["decision"]["reason"], "admitted");

    // Bad input is refused with a reason, and nothing happens.
    let bad = post("/lanes/waterfront-in-1/plates", serde_json::json!({"text": "X", "confidence": 7}))
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let unknown = post("/lanes/nowhere/manual", serde_json::json!({"plate": "ABC"})).await.unwrap();
    assert_eq!(unknown.status(), 404);
    let no_reason =
        post("/lanes/waterfront-in-1/override", serde_json::json!({"reason": "  "})).await.unwrap();
    assert!(no_reason.status().is_client_error());
    let typo = post("/lanes/waterfront-in-1/paid", serde_json::json!({"amount": 5})).await.unwrap();
    assert!(typo.status().is_client_error());

    // The attendant issues a ticket for a car whose plate cannot be read.
    let manual = post("/lanes/waterfront-in-1/manual", serde_json::json!({})).await.unwrap();
    assert_eq!(manual.status(), 202);
    assert!(until(Duration::from_secs(5), || gate.opened() == 2).await);
    assert_eq!(gate.opened(), 2, "nothing else opened the barrier");
}

/// Someone on the lot network without the kiosk's secret: nothing they send opens a barrier, a
/// camera's secret pushes to its own lane only, and the lanes they can see show no plate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kiosk_api_opens_nothing_for_strangers() {
    let server = Server::start();
    let (api, entry_gate, exit_gate, _dir) = two_lanes_behind_the_api(&server).await;
    let http = reqwest::Client::new();
    let post = |secret: Option<&str>, path: &str, body: serde_json::Value| {
        let req = http.post(format!("{api}{path}")).json(&body);
        match secret {
            Some(s) => req.bearer_auth(s),
            None => req,
        }
        .send()
    };
    let plate = serde_json::json!({"text": "SEE 001", "confidence": 0.97});
    assert_eq!(
        post(Some(CAMERA_IN), &format!("/lanes/{IN}/plates"), plate.clone()).await.unwrap().status(),
        202
    );
    assert!(until(Duration::from_secs(5), || entry_gate.opened() == 1).await);
    // Three hours later the car is at the exit and owes the fee.
    server.clock.advance(SignedDuration::from_hours(3));
    assert_eq!(
        post(Some(ATTENDANT), &format!("/lanes/{OUT}/plates"), plate.clone()).await.unwrap().status(),
        202
    );
    let mut waiting = false;
    for _ in 0..50 {
        let all: serde_json::Value = http
            .get(format!("{api}/lanes"))
            .bearer_auth(ATTENDANT)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        waiting = all[1]["decision"]["reason"] == "payment_required";
        if waiting {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(waiting, "the exit waits for payment");

    let attempts = [
        (None, format!("/lanes/{OUT}/paid"), serde_json::json!({"amount_minor": 100})),
        (None, format!("/lanes/{OUT}/manual"), serde_json::json!({"plate": "SEE 001"})),
        (
            None,
            format!("/lanes/{OUT}/override"),
            serde_json::json!({"reason": "let me out", "attendant": "Me"}),
        ),
        (None, format!("/lanes/{OUT}/plates"), plate.clone()),
        (
            Some("wrong-secret-000000001"),
            format!("/lanes/{OUT}/paid"),
            serde_json::json!({"amount_minor": 100}),
        ),
        (Some(CAMERA_IN), format!("/lanes/{OUT}/plates"), plate.clone()),
        (Some(CAMERA_IN), format!("/lanes/{OUT}/paid"), serde_json::json!({"amount_minor": 100})),
        (
            Some(CAMERA_IN),
            format!("/lanes/{IN}/override"),
            serde_json::json!({"reason": "x", "attendant": "Me"}),
        ),
    ];
    for (secret, path, body) in attempts {
        let answer = post(secret, &path, body).await.unwrap();
        assert_eq!(answer.status(), 401, "{secret:?} {path}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!((entry_gate.opened(), exit_gate.opened()), (1, 0), "no stranger opened a barrier");

    let seen = http.get(format!("{api}/lanes")).send().await.unwrap();
    assert_eq!(seen.status(), 200);
    let seen = seen.text().await.unwrap();
    assert!(!seen.contains("SEE001") && !seen.contains("SEE 001"), "no plate for strangers: {seen}");
    let lanes: serde_json::Value = serde_json::from_str(&seen).unwrap();
    assert_eq!(lanes[0]["passages_total"], 1, "the lane's state shows: {seen}");
    assert_eq!(lanes[1]["gate"], OUT);
    let full =
        http.get(format!("{api}/lanes")).bearer_auth(ATTENDANT).send().await.unwrap().text().await.unwrap();
    assert!(full.contains("SEE001"), "the attendant sees the plate: {full}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_the_attendant_opens_the_exit_and_the_stay_says_who_and_why() {
    let server = Server::start();
    let (api, entry_gate, exit_gate, _dir) = two_lanes_behind_the_api(&server).await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        http.post(format!("{api}{path}")).bearer_auth(ATTENDANT).json(&body).send()
    };
    let plate = serde_json::json!({"text": "ATT 404", "confidence": 0.97});

    // In, and three hours later at the exit: the fee is due and the barrier stays down.
    assert_eq!(post(&format!("/lanes/{IN}/plates"), plate.clone()).await.unwrap().status(), 202);
    assert!(until(Duration::from_secs(5), || entry_gate.opened() == 1).await);
    server.clock.advance(SignedDuration::from_hours(3));
    assert_eq!(post(&format!("/lanes/{OUT}/plates"), plate).await.unwrap().status(), 202);
    let lanes = || async {
        let all: serde_json::Value = http
            .get(format!("{api}/lanes"))
            .bearer_auth(ATTENDANT)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        all.as_array().unwrap().iter().find(|l| l["gate"] == OUT).unwrap().clone()
    };
    let mut waiting = false;
    for _ in 0..50 {
        waiting = lanes().await["decision"]["reason"] == "payment_required";
        if waiting {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(waiting, "{}", lanes().await);
    assert_eq!(exit_gate.opened(), 0);

    // The driver's card is refused; the attendant opens with their name and why.
    let nameless = post(
        &format!("/lanes/{OUT}/override"),
        serde_json::json!({"reason": "card refused", "attendant": " "}),
    );
    assert_eq!(nameless.await.unwrap().status(), 422);
    let open = serde_json::json!({"reason": "card reader broken", "attendant": "Sam Ortiz"});
    assert_eq!(post(&format!("/lanes/{OUT}/override"), open).await.unwrap().status(), 202);
    assert!(until(Duration::from_secs(5), || exit_gate.opened() == 1).await);
    let lane = lanes().await;
    assert_eq!(lane["decision"]["display"], "Opened by Sam Ortiz: card reader broken", "{lane}");
    assert_eq!(lane["decision"]["offline"], false, "the server recorded it: {lane}");

    // The stay's timeline, as the lot's manager sees it, says who opened and why.
    let manager = Client::new(&server.url(), None).unwrap();
    manager.login("manager@demo.parkline", "parkline-demo").await.unwrap();
    let search = parkline_protocol::SessionSearch { plate: Some("ATT404".into()), ticket: None };
    let found = manager.find_sessions(&search).await.unwrap();
    let events = &found[0].events;
    let opened = events.iter().find(|e| e.kind == "override").expect("the opening is on the timeline");
    assert!(
        opened.text.contains("Sam Ortiz") && opened.text.contains("card reader broken"),
        "{}",
        opened.text
    );
    assert!(
        opened.text.contains(OUT) && opened.text.contains("lane kiosk"),
        "where and which kiosk: {}",
        opened.text
    );
}
