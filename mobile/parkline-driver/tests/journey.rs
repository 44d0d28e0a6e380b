//! The driver's journey through the app's view-models against a real server on loopback: find parking
//! near the destination, see the quote, reserve, check in at the entry (a kiosk's gate event), pay in
//! the app, and the exit opens.

use jiff::{SignedDuration, Timestamp};
use parkline_domain::VehicleClass;
use parkline_driver::model::{Driver, Payment, Plan, Vehicle};
use parkline_protocol::{DecisionReason, GateCommand, GateEvent, PlateRead};
use parkline_sdk::Client;
use parkline_testkit::{IN, LOT, OUT, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_quote_reserve_check_in_pay_and_leave() {
    let server = Server::start();
    let client = Client::new(&server.url(), None).unwrap();
    client.login("driver@demo.parkline", "parkline-demo").await.unwrap();
    let driver = Driver {
        client,
        vehicle: Vehicle { plate: "JRN 4521".into(), class: VehicleClass::Sedan, electric: false },
    };
    let lot = driver.client.facilities().await.unwrap().value.into_iter().find(|f| f.id == LOT).unwrap();

    // Find: the lot itself is nearest, every place has a price for the stay, nearest first.
    let from = Timestamp::now() + SignedDuration::from_mins(10);
    let plan = Plan { from, to: from + SignedDuration::from_hours(2) };
    let finds = driver.find(lot.location, 3000.0, plan).await.unwrap();
    assert!(!finds.offline && finds.places.len() >= 2, "{finds:?}");
    let here = &finds.places[0];
    assert_eq!(here.id, LOT);
    assert!(here.free_for_me > 0);
    let quoted = here.quote.clone().expect("a quote for the planned stay");
    assert!(quoted.total.minor > 0 && !quoted.lines.is_empty());
    assert_eq!(quoted.lines.iter().map(|l| l.amount).sum::<i64>(), quoted.total.minor, "itemised");
    for pair in finds.places.windows(2) {
        let band = |p: &parkline_driver::model::Place| {
            (p.free_for_me == 0, (p.distance_m / parkline_driver::model::BAND_M) as i64)
        };
        assert!(band(&pair[0]) <= band(&pair[1]), "ranked by distance band");
    }

    // Detail: floors with their free counts and the same quote.
    let detail = driver.detail(LOT, plan).await.unwrap();
    assert!(!detail.availability.floors.is_empty());
    assert_eq!(detail.quote.unwrap().total, quoted.total);

    // Reserve; a retry with the same key is the same reservation.
    let key = Client::new_key();
    let booked = driver.reserve(LOT, plan, &key).await.unwrap();
    assert_eq!(driver.reserve(LOT, plan, &key).await.unwrap().id, booked.id);
    assert_eq!(booked.quote_minor, quoted.total.minor);
    let mine = driver.reservations().await.unwrap();
    assert!(!mine.offline && mine.list.iter().any(|r| r.id == booked.id), "listed under My reservations");
    // Staying longer: an hour more on the same spot.
    let before = booked.end;
    let booked = driver.extend(&booked, SignedDuration::from_hours(1)).await.unwrap();
    assert_eq!(booked.end, before + SignedDuration::from_hours(1));
    // A second booking, cancelled well ahead: free, and listed as cancelled.
    let later =
        Plan { from: from + SignedDuration::from_hours(26), to: from + SignedDuration::from_hours(28) };
    let spare = driver.reserve(LOT, later, &Client::new_key()).await.unwrap();
    let cancelled = driver.cancel(&spare.id).await.unwrap();
    assert_eq!(cancelled.fee_minor, 0, "free cancellation");
    let mine = driver.reservations().await.unwrap();
    assert_eq!(
        mine.list.iter().find(|r| r.id == spare.id).unwrap().status,
        parkline_domain::reservation::Status::Cancelled
    );

    // The car arrives: the entry's camera reads the plate and the reservation checks it in.
    let kiosk = Client::new(&server.url(), None).unwrap();
    kiosk.set_token(Some(server.kiosk.clone()));
    let read = |id: &str| GateEvent {
        event_id: id.into(),
        plate: Some(PlateRead {
            text: "JRN4521".into(),
            confidence: 0.93,
            alternatives: vec![],
            image_ref: None,
        }),
        ..GateEvent::default()
    };
    server.clock.advance(SignedDuration::from_mins(10));
    let (_stream, mut notices) = driver.notices();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await; // the stream connects
    let entry = kiosk.gate_event(IN, &read("journey-in")).await.unwrap();
    assert_eq!((entry.command, entry.reason), (GateCommand::Open, DecisionReason::Admitted));
    assert_eq!(entry.spot.unwrap().code, booked.spot, "the reserved spot");
    let ticket = entry.ticket.unwrap().id;
    let notice =
        tokio::time::timeout(std::time::Duration::from_secs(5), notices.recv()).await.unwrap().unwrap();
    assert_eq!(notice.kind, "entry_confirmed", "{notice:?}");

    // Ninety minutes later the app shows the stay and what it costs now; the driver pays in the app.
    server.clock.advance(SignedDuration::from_mins(90));
    let parked = driver.parked(&ticket).await.unwrap();
    assert_eq!(parked.session.spot.as_deref(), Some(booked.spot.as_str()));
    let route = parked.route.clone().expect("directions to the spot");
    assert_eq!(route.spot, booked.spot);
    assert!(route.steps.last().unwrap().contains(&booked.spot), "{:?}", route.steps);
    assert!(route.floor_spots.contains(&route.at) && route.distance_m > 0.0);
    assert!(parked.due.minor > 0, "{parked:?}");
    let Payment::Done(receipt) = driver.pay(&ticket, "tok_visa", &Client::new_key()).await.unwrap() else {
        panic!("paid online")
    };
    // The fee keeps accruing between reading it and paying: what is due at payment time is charged.
    assert!((parked.due.minor..=parked.due.minor + 5).contains(&receipt.amount.minor), "{receipt:?}");
    assert_eq!(driver.parked(&ticket).await.unwrap().due.minor, 0);

    // At the exit the barrier opens.
    let exit = kiosk.gate_event(OUT, &read("journey-out")).await.unwrap();
    assert_eq!((exit.command, exit.reason), (GateCommand::Open, DecisionReason::Paid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_made_offline_is_sent_once_when_the_server_is_back() {
    let mut server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let cache = parkline_sdk::Cache::open(dir.path().join("app.db")).unwrap();
    let client = Client::new(&server.url(), Some(cache)).unwrap();
    client.login("driver@demo.parkline", "parkline-demo").await.unwrap();
    let driver = Driver {
        client,
        vehicle: Vehicle { plate: "OFF 777".into(), class: VehicleClass::Sedan, electric: false },
    };
    let kiosk = Client::new(&server.url(), None).unwrap();
    kiosk.set_token(Some(server.kiosk.clone()));
    let at = |gate: &str, id: &str| {
        let event = GateEvent {
            event_id: id.into(),
            plate: Some(PlateRead {
                text: "OFF777".into(),
                confidence: 0.9,
                alternatives: vec![],
                image_ref: None,
            }),
            ..GateEvent::default()
        };
        let kiosk = kiosk.clone();
        let gate = gate.to_owned();
        async move { kiosk.gate_event(&gate, &event).await.unwrap() }
    };
    let ticket = at(IN, "offline-pay-in").await.ticket.unwrap().id;
    server.clock.advance(SignedDuration::from_hours(2));
    let due = driver.parked(&ticket).await.unwrap().due;
    assert!(due.minor > 0);

    server.kill();
    let key = Client::new_key();
    assert_eq!(driver.pay(&ticket, "tok_visa", &key).await.unwrap(), Payment::Queued);
    assert!(driver.sync().await.unwrap().is_empty(), "nothing goes out while the server is down");
    assert_eq!(driver.client.pending().unwrap().len(), 1, "the payment waits in the outbox");
    server.restart();
    let receipts = driver.sync().await.unwrap();
    assert_eq!(receipts.len(), 1);
    assert!((due.minor..=due.minor + 5).contains(&receipts[0].amount.minor), "what is due when it is sent");
    assert!(driver.sync().await.unwrap().is_empty(), "sent once");
    assert_eq!(driver.parked(&ticket).await.unwrap().due.minor, 0);
    let exit = at(OUT, "offline-pay-out").await;
    assert_eq!((exit.command, exit.reason), (GateCommand::Open, DecisionReason::Paid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_driver_signs_up_and_is_signed_in() {
    let server = Server::start();
    let client = Client::new(&server.url(), None).unwrap();
    let started = client.sign_up("New.Driver@example.com ", "a long enough password").await.unwrap();
    let mail = server.mail.wait_for("new.driver@example.com", 1);
    let code = mail.code().expect("a sign-up code in the mail");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = client.confirm_sign_up("new.driver@example.com", wrong).await;
    assert_eq!(refused.unwrap_err().code(), "invalid_credentials");
    client.confirm_sign_up("new.driver@example.com", &code).await.unwrap();
    let me = client.me().await.unwrap();
    assert_eq!(me.email, "new.driver@example.com");
    assert_eq!(me.role, parkline_protocol::Role::Driver);
    // Signing up again with the address answers the same; the mail tells the holder, with no code.
    let other = Client::new(&server.url(), None).unwrap();
    let again = other.sign_up("new.driver@example.com", "another password!").await.unwrap();
    assert_eq!(again, started);
    let note = server.mail.wait_for("new.driver@example.com", 2);
    assert!(note.code().is_none() && note.text.contains("It has one already"), "{}", note.text);
    let short = Client::new(&server.url(), None).unwrap().sign_up("x@example.com", "short").await;
    assert_eq!(short.unwrap_err().code(), "validation_failed");
    client.login("new.driver@example.com", "a long enough password").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_waiting_for_space_hears_when_a_spot_for_the_car_frees_up() {
    let server = Server::start();
    let kiosk = Client::new(&server.url(), None).unwrap();
    kiosk.set_token(Some(server.kiosk.clone()));
    let suv = |gate: &'static str, i: usize| {
        let kiosk = kiosk.clone();
        async move {
            let event = GateEvent {
                event_id: format!("{gate}-{i}"),
                plate: Some(PlateRead {
                    text: format!("SUV{i:03}"),
                    confidence: 0.9,
                    alternatives: vec![],
                    image_ref: None,
                }),
                vehicle_class: Some(VehicleClass::Suv),
                ..GateEvent::default()
            };
            kiosk.gate_event(gate, &event).await.unwrap()
        }
    };
    // The lot's SUV spots fill up (held by the SUVs that entered).
    let mut i = 0;
    loop {
        let d = suv(IN, i).await;
        i += 1;
        if d.reason == DecisionReason::Full {
            break;
        }
    }
    let driver = Driver {
        client: Client::new(&server.url(), None).unwrap(),
        vehicle: Vehicle { plate: "BIG 1".into(), class: VehicleClass::Suv, electric: false },
    };
    driver.client.login("driver@demo.parkline", "parkline-demo").await.unwrap();
    let waiting = tokio::spawn({
        let driver = driver.clone();
        async move { driver.wait_for_space(LOT).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "no space yet");
    // One SUV leaves (within the grace period: nothing to pay).
    let exit = suv(OUT, 0).await;
    assert_eq!(exit.command, GateCommand::Open);
    let free =
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting).await.unwrap().unwrap().unwrap();
    assert_eq!(free, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn favourites_stay_on_the_device_and_show_in_find() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        let cache = parkline_sdk::Cache::open(dir.path().join("app.db")).unwrap();
        let client = Client::new(&server.url(), Some(cache)).unwrap();
        Driver {
            client,
            vehicle: Vehicle { plate: "FAV 1".into(), class: VehicleClass::Sedan, electric: false },
        }
    };
    let driver = open();
    assert!(driver.toggle_favourite(LOT).unwrap());
    drop(driver);
    // The app restarts: the favourite is still there, and Find stars it.
    let driver = open();
    assert_eq!(driver.favourites(), [LOT]);
    let lot = driver.client.facilities().await.unwrap().value.into_iter().find(|f| f.id == LOT).unwrap();
    let from = Timestamp::now();
    let plan = Plan { from, to: from + SignedDuration::from_hours(1) };
    let finds = driver.find(lot.location, 3000.0, plan).await.unwrap();
    assert!(finds.places.iter().all(|p| p.favourite == (p.id == LOT)));
    assert!(!driver.toggle_favourite(LOT).unwrap());
    assert!(driver.favourites().is_empty());
}
