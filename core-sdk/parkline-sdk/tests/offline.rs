//! The SDK against a real server on loopback: commands queued offline are applied once each, in order,
//! when the server is back; the cache answers reads offline and survives a restart of the app; the
//! stream resumes after the server dies, without a gap or a duplicate.

use std::time::Duration;

use jiff::Timestamp;
use parkline_protocol::{GateEvent, PlateRead, StreamMessage};
use parkline_sdk::{Cache, Client, Command, Event, Outcome, Realtime};
use parkline_testkit::{LOT, Server};
use serde_json::json;

fn entry(id: &str, plate: &str) -> Command {
    let read = PlateRead { text: plate.into(), confidence: 0.95, alternatives: vec![], image_ref: None };
    let event = GateEvent { event_id: id.into(), plate: Some(read), ..GateEvent::default() };
    Command::GateEvent { gate: "waterfront-in-1".into(), event }
}

fn cache(dir: &tempfile::TempDir) -> Cache {
    Cache::open(dir.path().join("client.db")).unwrap()
}

#[test]
fn commands_queued_offline_are_applied_once_each_in_order() {
    let mut server = Server::start();
    let app_dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = Client::new(&server.url(), Some(cache(&app_dir))).unwrap();
        client.set_token(Some(server.kiosk.clone()));
        assert!(!client.facilities().await.unwrap().offline);

        server.kill();
        let queued: Vec<_> = ["OFF001", "OFF002", "OFF003"]
            .iter()
            .enumerate()
            .map(|(i, plate)| client.queue(entry(&format!("e{i}"), plate)).unwrap())
            .collect();
        // A command for a gate that does not exist: refused when sent, and the rest still go.
        client
            .queue(Command::GateEvent {
                gate: "no-such-gate".into(),
                event: GateEvent { event_id: "x".into(), ..GateEvent::default() },
            })
            .unwrap();
        assert!(client.sync().await.unwrap().is_empty(), "offline: nothing sent");
        assert_eq!(client.pending().unwrap().len(), 4);
        // Queuing the same command again does not add a second one.
        assert_eq!(client.queue(entry("e0", "OFF001")).unwrap().id, queued[0].id);

        // Reads answer from the cache, saying so.
        let cached = client.facilities().await.unwrap();
        assert!(cached.offline && cached.value.len() == 5);
        let near = client.nearby(47.6062, -122.3321, 3_000.0).await.unwrap();
        assert!(near.offline && !near.value.is_empty());
        assert!(near.value.windows(2).all(|w| w[0].distance_m <= w[1].distance_m));

        server.restart();
        let outcomes = client.sync().await.unwrap();
        assert_eq!(outcomes.len(), 4);
        let mut tickets = Vec::new();
        for (i, outcome) in outcomes.iter().take(3).enumerate() {
            let Outcome::Applied { id, answer, .. } = outcome else { panic!("{outcome:?}") };
            assert_eq!(*id, queued[i].id, "in the order queued");
            assert_eq!(answer["reason"], "admitted");
            tickets.push(answer["ticket"]["id"].as_str().unwrap().to_owned());
        }
        let Outcome::Rejected { code, .. } = &outcomes[3] else { panic!("{:?}", outcomes[3]) };
        assert_eq!(code, "unknown_gate");
        assert!(client.pending().unwrap().is_empty());
        assert!(client.sync().await.unwrap().is_empty(), "nothing is sent twice");

        // The server holds exactly those three stays, entered in that order.
        let availability = client.availability(LOT).await.unwrap();
        assert_eq!(availability.value.counts.held, 3);
        let mut entered = Vec::new();
        for t in &tickets {
            entered.push(client.ticket(t).await.unwrap().entered_at);
        }
        assert!(entered.windows(2).all(|w| w[0] <= w[1]), "{entered:?}");

        // A ticket seen online is still there offline, saying so.
        server.kill();
        let seen = client.ticket_cached(&tickets[0]).await.unwrap();
        assert!(seen.offline && seen.value.ticket == tickets[0]);
    });
    server.kill();
}

#[test]
fn the_cache_survives_the_app_restarting() {
    let mut server = Server::start();
    let app_dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let online = rt.block_on(async {
        let client = Client::new(&server.url(), Some(cache(&app_dir))).unwrap();
        client.availability(LOT).await.unwrap()
    });
    assert!(!online.offline);
    server.kill();
    // A new process: a new client on the same cache file, with the server gone.
    let offline = rt.block_on(async {
        let client = Client::new(&server.url(), Some(cache(&app_dir))).unwrap();
        client.availability(LOT).await.unwrap()
    });
    assert!(offline.offline);
    assert_eq!(offline.value, online.value);
    assert_eq!(offline.fetched_at.as_millisecond(), online.fetched_at.as_millisecond());
    let err =
        rt.block_on(async { Client::new(&server.url(), None).unwrap().availability(LOT).await.unwrap_err() });
    assert_eq!(err.code(), "offline");
}

/// Posts one reading as the sensor gateway, a millisecond or more after the last.
async fn report(http: &reqwest::Client, server_url: &str, token: &str, spot: &str, occupied: bool) {
    static LAST: std::sync::Mutex<Option<Timestamp>> = std::sync::Mutex::new(None);
    let at = {
        let mut last = LAST.lock().unwrap();
        let next =
            last.map_or(Timestamp::now(), |t| Timestamp::now().max(t + jiff::SignedDuration::from_millis(1)));
        *last = Some(next);
        next
    };
    let body = json!({"readings": [{"facility": LOT, "spot": spot, "occupied": occupied, "confidence": 0.97,
        "kind": "magnetic", "observed_at": at.to_string()}]});
    let r = http
        .post(format!("{server_url}/v1/sensors/events"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

async fn next(rx: &mut tokio::sync::mpsc::Receiver<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event in time")
        .expect("stream open")
}

/// The next spot change, skipping other events; returns its sequence number and state.
async fn next_spot(rx: &mut tokio::sync::mpsc::Receiver<Event>) -> (u64, String, String, u32) {
    loop {
        if let Event::Message(StreamMessage::Spot { seq, spot, state, counts, .. }) = next(rx).await {
            return (seq, spot, format!("{state:?}"), counts.occupied);
        }
    }
}

#[test]
fn the_stream_resumes_after_the_server_dies_without_gaps_or_repeats() {
    let mut server = Server::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = Client::new(&server.url(), None).unwrap();
        client.login("driver@demo.parkline", "parkline-demo").await.unwrap();
        let http = reqwest::Client::new();
        let (realtime, mut rx) = Realtime::start(&client, &[LOT.to_owned()]);
        assert_eq!(next(&mut rx).await, Event::Connected);
        let Event::Message(StreamMessage::Snapshot { seq: first, .. }) = next(&mut rx).await else {
            panic!("snapshot first")
        };

        let url = server.url();
        for spot in ["GA-011", "GA-012", "GA-013"] {
            report(&http, &url, &server.sensors, spot, true).await;
        }
        let mut seqs = Vec::new();
        for _ in 0..3 {
            seqs.push(next_spot(&mut rx).await.0);
        }
        assert_eq!(seqs, [first + 1, first + 2, first + 3]);

        server.kill();
        assert!(matches!(next(&mut rx).await, Event::Disconnected { .. }));
        server.restart();
        // Changes while the client is away, and after it is back.
        report(&http, &url, &server.sensors, "GA-011", false).await;
        let (resumed, availability) = loop {
            match next(&mut rx).await {
                Event::Message(StreamMessage::Snapshot { seq, availability, .. }) => {
                    break (seq, availability);
                }
                Event::Message(m) => panic!("before the snapshot: {m:?}"),
                Event::Refused { code, .. } => panic!("a restart is a reconnect, not a refusal: {code}"),
                Event::Connected | Event::Disconnected { .. } => {}
            }
        };
        assert!(resumed > seqs[2], "numbers keep growing across the restart");
        // The client may be back before the change is made (it retries as soon as the server
        // listens): then the change follows the snapshot, numbered on from it.
        let mut last = resumed;
        if availability.counts.occupied == 3 {
            let (seq, spot, state, occupied) = next_spot(&mut rx).await;
            assert_eq!((seq, spot.as_str(), state.as_str(), occupied), (resumed + 1, "GA-011", "Free", 2));
            last = seq;
        } else {
            assert_eq!(availability.counts.occupied, 2, "the snapshot holds the change made while away");
        }
        report(&http, &url, &server.sensors, "GA-012", false).await;
        report(&http, &url, &server.sensors, "GA-014", true).await;
        let after: Vec<_> = vec![next_spot(&mut rx).await, next_spot(&mut rx).await];
        assert_eq!(after.iter().map(|a| a.0).collect::<Vec<_>>(), [last + 1, last + 2]);
        assert_eq!(after[1].3, 2, "counts agree with the server: GA-013 and GA-014");
        let live = client.availability(LOT).await.unwrap().value;
        assert_eq!(live.counts.occupied, 2);
        drop(realtime);
    });
    server.kill();
}

#[test]
fn drivers_and_managers_use_the_typed_calls() {
    use parkline_domain::VehicleClass;
    let mut server = Server::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let manager = Client::new(&server.url(), None).unwrap();
        manager.login("manager@demo.parkline", "parkline-demo").await.unwrap();
        assert_eq!(manager.me().await.unwrap().email, "manager@demo.parkline");
        let from = Timestamp::now() + jiff::SignedDuration::from_hours(24);
        let to = from + jiff::SignedDuration::from_hours(3);
        let before = manager.quote(LOT, VehicleClass::Sedan, from, to).await.unwrap().total.minor;
        let mut plan = manager.rates(LOT).await.unwrap();
        plan.hourly.sedan += 100;
        manager.set_rates(LOT, &plan).await.unwrap();
        let after = manager.quote(LOT, VehicleClass::Sedan, from, to).await.unwrap().total.minor;
        assert!(after > before, "{before} -> {after}");

        let driver = Client::new(&server.url(), None).unwrap();
        driver.login("driver@demo.parkline", "parkline-demo").await.unwrap();
        assert!(!driver.layout(LOT).await.unwrap().value.spots.is_empty());
        assert!(!driver.best_spots(LOT, VehicleClass::Sedan, false).await.unwrap().spots.is_empty());
        let request = parkline_protocol::ReservationRequest {
            facility: LOT.into(),
            plate: "SDK001".into(),
            vehicle_class: VehicleClass::Sedan,
            electric: false,
            start: from,
            end: to,
            spot: None,
            count: None,
        };
        let key = Client::new_key();
        let booked = driver.book(&request, Some(&key)).await.unwrap();
        assert_eq!(driver.book(&request, Some(&key)).await.unwrap(), booked, "a retry books nothing more");
        let id = booked[0].id.clone();
        let window = parkline_protocol::ReservationWindow {
            start: from + jiff::SignedDuration::from_hours(1),
            end: to,
        };
        let moved = driver.modify_reservation(&id, &window).await.unwrap();
        assert_eq!(moved.start.as_millisecond(), window.start.as_millisecond(), "kept to the millisecond");
        let cancelled = driver.cancel_reservation(&id).await.unwrap();
        assert_eq!(cancelled.status.as_str(), "cancelled");
        // Not a manager: the server's code comes through.
        assert!(driver.rates(LOT).await.is_ok(), "rates are public");
        let err = driver.set_rates(LOT, &plan).await.unwrap_err();
        assert_eq!(err.code(), "forbidden");
    });
    server.kill();
}

/// Every file of the cache (the database, its WAL and shared memory), as bytes.
fn cache_files(dir: &tempfile::TempDir) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["client.db", "client.db-wal", "client.db-shm"] {
        all.extend(std::fs::read(dir.path().join(name)).unwrap_or_default());
    }
    all
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A kiosk's cache sealed with its key: the plates it queued offline and the answers about them are
/// on disk only sealed, even those an older, clear cache held before; without the key nothing opens.
/// Answered commands and old answers are forgotten after the retention; queued ones never are.
#[test]
fn a_sealed_cache_keeps_no_plate_in_the_clear_and_forgets_by_age() {
    let mut server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Written by a kiosk from before sealing.
        let clear = Client::new(&server.url(), Some(cache(&dir))).unwrap();
        clear.queue(entry("s0", "SEAL000")).unwrap();
        drop(clear);
        assert!(holds(&cache_files(&dir), "SEAL000"), "the old cache held it in the clear");

        let seal = parkline_sdk::Seal::load_or_create(&dir.path().join("kiosk.key")).unwrap();
        let sealed = Cache::open_sealed(dir.path().join("client.db"), seal.clone()).unwrap();
        let client = Client::new(&server.url(), Some(sealed.clone())).unwrap();
        client.set_token(Some(server.kiosk.clone()));
        server.kill();
        client.queue(entry("s1", "SEAL001")).unwrap();
        client.queue(entry("s2", "SEAL002")).unwrap();
        let files = cache_files(&dir);
        for plate in ["SEAL000", "SEAL001", "SEAL002"] {
            assert!(!holds(&files, plate), "{plate} is on disk in the clear");
        }
        assert_eq!(client.pending().unwrap().len(), 3, "and every one still reads back");
        let unkeyed = Client::new(&server.url(), Some(cache(&dir))).unwrap();
        assert_eq!(unkeyed.pending().unwrap_err().code(), "seal", "no key, nothing opens");

        server.restart();
        let outcomes = client.sync().await.unwrap();
        assert_eq!(outcomes.len(), 3, "{outcomes:?}");
        assert!(outcomes.iter().all(|o| matches!(o, Outcome::Applied { .. })), "{outcomes:?}");
        let answer = client.outcome(client.applied().unwrap()[1].id).unwrap().unwrap();
        assert_eq!(answer.0, "applied");
        assert!(!holds(&cache_files(&dir), "SEAL001"), "answers are sealed too");

        // Past the retention: answered commands go; a command still queued stays.
        server.kill();
        client.queue(entry("s3", "SEAL003")).unwrap();
        let gone = sealed.forget_before(Timestamp::now() + jiff::SignedDuration::from_secs(1)).unwrap();
        assert!(gone >= 3, "{gone}");
        assert!(client.applied().unwrap().is_empty());
        assert_eq!(client.pending().unwrap().len(), 1, "nothing queued is lost");
    });
}

/// A stream the server refuses for good says why, with the stable code, and stops: no token, a made-up
/// one, or a person who signed out (the open stream ends, and opening it again is refused too).
#[test]
fn a_refused_stream_says_why_and_stops() {
    let server = Server::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let refused = async |client: &Client, within: Duration| {
            let started = std::time::Instant::now();
            let (_realtime, mut rx) = Realtime::start(client, &[LOT.to_owned()]);
            let event = next(&mut rx).await;
            assert!(started.elapsed() < within, "told within {within:?}: {event:?}");
            let Event::Refused { code, .. } = event else { panic!("refused: {event:?}") };
            assert_eq!(next_or_end(&mut rx).await, None, "nothing after a refusal");
            code
        };
        let anonymous = Client::new(&server.url(), None).unwrap();
        assert_eq!(refused(&anonymous, Duration::from_secs(2)).await, "unauthenticated");
        anonymous.set_token(Some("made-up-token".into()));
        assert_eq!(refused(&anonymous, Duration::from_secs(2)).await, "unauthenticated");

        let driver = Client::new(&server.url(), None).unwrap();
        driver.login("driver@demo.parkline", "parkline-demo").await.unwrap();
        let (_realtime, mut rx) = Realtime::start(&driver, &[LOT.to_owned()]);
        assert_eq!(next(&mut rx).await, Event::Connected);
        let out = reqwest::Client::new()
            .post(format!("{}/v1/auth/logout", server.url()))
            .bearer_auth(driver.token().unwrap())
            .send()
            .await
            .unwrap();
        assert!(out.status().is_success(), "{}", out.status());
        let code = loop {
            match next(&mut rx).await {
                Event::Refused { code, .. } => break code,
                Event::Message(_) => {}
                other => panic!("the open stream is refused, not dropped: {other:?}"),
            }
        };
        assert_eq!(code, "unauthenticated");
        assert_eq!(next_or_end(&mut rx).await, None, "nothing after a refusal");
        assert_eq!(refused(&driver, Duration::from_secs(2)).await, "unauthenticated");

        // A facility that does not exist.
        let driver = Client::new(&server.url(), None).unwrap();
        driver.login("driver@demo.parkline", "parkline-demo").await.unwrap();
        let (_realtime, mut rx) = Realtime::start(&driver, &["no-such-facility".to_owned()]);
        assert_eq!(next(&mut rx).await, Event::Connected);
        let event = next(&mut rx).await;
        assert!(matches!(&event, Event::Refused { code, .. } if code == "unknown_facility"), "{event:?}");
        assert_eq!(next_or_end(&mut rx).await, None, "nothing after a refusal");
    });
}

/// The next event, or `None` once the stream has stopped.
async fn next_or_end(rx: &mut tokio::sync::mpsc::Receiver<Event>) -> Option<Event> {
    tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("an event or the end in time")
}
