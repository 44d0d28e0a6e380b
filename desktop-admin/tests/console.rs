//! The console's command layer against a real server on loopback: sign-in kept in the credential store,
//! the live overview following a sensor reading, the rate editor's preview and save, alerts, revenue
//! with exports, and cached data (with its age) when the server is down.

use std::time::Duration;

use jiff::SignedDuration;
use parkline_admin::Console;
use parkline_admin::board::Change;
use parkline_admin::console::ExportFormat;
use parkline_admin::rates::PreviewRequest;
use parkline_domain::VehicleClass;
use parkline_sdk::protocol::{GateEvent, PlateRead, Role, SensorBatch, SensorReading};
use parkline_sdk::{Client, Credentials, Event};
use parkline_server::clock::Clock;
use parkline_testkit::{IN, LOT, OUT, Server};

fn console(server: &Server, dir: &std::path::Path) -> Console {
    Console::open(
        &server.url(),
        &dir.join("data"),
        Credentials::file(dir.join("credentials.json")),
        dir.join("exports"),
    )
    .unwrap()
}

/// The demo sensor gateway reports `spots` of the lot.
async fn report(server: &Server, spots: &[String], occupied: bool) {
    let client = Client::new(&server.url(), None).unwrap();
    client.set_token(Some(server.sensors.clone()));
    let readings = spots
        .iter()
        .map(|spot| {
            serde_json::from_value::<SensorReading>(serde_json::json!({
                "facility": LOT, "spot": spot, "occupied": occupied, "confidence": 0.96,
                "kind": "ultrasonic", "observed_at": server.clock.now().to_string(),
            }))
            .unwrap()
        })
        .collect();
    client.report_sensors(&SensorBatch { readings }).await.unwrap();
}

async fn lot_spots(console: &Console) -> Vec<String> {
    console.client().layout(LOT).await.unwrap().value.spots.into_iter().map(|s| s.code).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managers_sign_in_once_and_drivers_are_turned_away() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let c = console(&server, dir.path());
    let refused = c.sign_in("driver@demo.parkline", "parkline-demo").await.unwrap_err();
    assert_eq!(refused.code, "forbidden");
    let wrong = c.sign_in("manager@demo.parkline", "nope").await.unwrap_err();
    assert_eq!(wrong.code, "invalid_credentials");
    let session = c.sign_in("manager@demo.parkline", "parkline-demo").await.unwrap();
    assert_eq!((session.role, session.offline), (Role::Manager, false));

    // A new window signs in from the kept refresh token (single use: it is replaced each time).
    let again = console(&server, dir.path());
    assert_eq!(again.restore().await.unwrap().map(|s| s.email), Some("manager@demo.parkline".into()));
    let third = console(&server, dir.path());
    assert!(third.restore().await.unwrap().is_some(), "the rotated token was kept");
    third.renew().await.unwrap();
    assert!(third.alerts().await.is_ok(), "still signed in after renewing");
    third.sign_out().unwrap();
    assert_eq!(console(&server, dir.path()).restore().await.unwrap(), None);
}

/// The facilities a console shows, by id.
async fn shown(c: &Console) -> Vec<String> {
    let mut ids: Vec<String> = c.overview().await.unwrap().value.into_iter().map(|f| f.id).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_operators_manager_sees_its_own_and_an_admin_chooses() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let city = ["pike-place-garage", "pioneer-square-deck", "waterfront-lot"];
    let northline = ["capitol-hill-station", "south-lake-union-hub"];

    let c = console(&server, &dir.path().join("city"));
    let session = c.sign_in("manager@demo.parkline", "parkline-demo").await.unwrap();
    assert_eq!(session.operator.as_deref(), Some("seattle-city"));
    assert_eq!(shown(&c).await, city);
    assert_eq!(c.choose_operator(Some("northline".into())).unwrap_err().code, "forbidden");
    let n = console(&server, &dir.path().join("northline"));
    n.sign_in("manager2@demo.parkline", "parkline-demo").await.unwrap();
    assert_eq!(shown(&n).await, northline);

    // An admin sees every operator's, or one's.
    let a = console(&server, &dir.path().join("admin"));
    a.sign_in("admin@demo.parkline", "parkline-demo").await.unwrap();
    assert_eq!(shown(&a).await.len(), 5);
    let operators: Vec<String> = a.operators().await.unwrap().into_iter().map(|o| o.id).collect();
    assert_eq!(operators, ["default", "northline", "seattle-city"]);
    assert_eq!(a.choose_operator(Some("northline".into())).unwrap().operator.as_deref(), Some("northline"));
    assert_eq!(shown(&a).await, northline);
    a.choose_operator(None).unwrap();
    assert_eq!(shown(&a).await.len(), 5);

    // Setup: the city's manager adds an attendant for the lot only, then lets them work everywhere.
    let id = c
        .create_user(&parkline_sdk::protocol::NewUser {
            email: "lot.attendant@example.com".into(),
            password: "a long passphrase".into(),
            role: Role::Attendant,
            operator: None,
            facilities: vec![LOT.into()],
        })
        .await
        .unwrap();
    let listed = c.users().await.unwrap();
    let added = listed.iter().find(|u| u.id == id).unwrap();
    assert_eq!(
        (added.operator.as_deref(), added.facilities.as_slice()),
        (Some("seattle-city"), &[LOT.to_owned()][..])
    );
    assert!(
        listed.iter().all(|u| u.operator.as_deref() == Some("seattle-city")),
        "only the city's staff: {listed:?}"
    );
    let refused = c.set_staff_facilities(id, &["capitol-hill-station".into()]).await.unwrap_err();
    assert_eq!(refused.code, "unknown_facility", "another operator's facility is none of theirs");
    c.set_staff_facilities(id, &[]).await.unwrap();
    assert!(c.users().await.unwrap().iter().find(|u| u.id == id).unwrap().facilities.is_empty());
    assert!(
        n.users().await.unwrap().iter().all(|u| u.id != id),
        "northline's manager does not see the city's staff"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_follows_a_sensor_reading_live() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let c = console(&server, dir.path());
    c.sign_in("manager@demo.parkline", "parkline-demo").await.unwrap();
    let overview = c.overview().await.unwrap();
    assert_eq!(overview.value.len(), 3, "the city's three of the demo's five");
    assert!(!overview.offline);
    let lot = overview.value.iter().find(|f| f.id == LOT).unwrap().clone();
    assert!(!lot.floors.is_empty() && lot.counts.free == lot.counts.capacity, "{lot:?}");

    let mut events = c.follow();
    let spot = lot_spots(&c).await[0].clone();
    report(&server, std::slice::from_ref(&spot), true).await;
    let mut changes = Vec::new();
    while !changes.iter().any(|ch| matches!(ch, Change::Spot { .. })) {
        match tokio::time::timeout(Duration::from_secs(5), events.recv()).await.unwrap().unwrap() {
            Event::Message(m) => changes.extend(c.apply(&m)),
            Event::Connected | Event::Disconnected { .. } => {}
            Event::Refused { code, reason } => panic!("the stream was refused: {code}: {reason}"),
        }
    }
    assert!(changes.contains(&Change::Spot {
        facility: LOT.into(),
        spot: spot.clone(),
        state: parkline_domain::SpotState::Occupied
    }));
    let card = changes
        .iter()
        .rev()
        .find_map(|ch| match ch {
            Change::Card { card } if card.id == LOT => Some(card.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(card.counts.free, lot.counts.free - 1);
    // The floors catch up with the totals on the next refresh.
    let floors = c.refresh_floors().await;
    let Some(Change::Card { card }) = floors.first() else { panic!("{floors:?}") };
    assert_eq!(card.floors.iter().map(|f| f.counts.free).sum::<u32>(), lot.counts.free - 1);

    // The floor map shows the spot occupied.
    let map = c.floor_map(LOT, None).await.unwrap().value;
    assert_eq!(map.legend.occupied, 1);
    assert!(map.svg.contains(&format!(r#"class="spot occupied" data-spot="{spot}""#)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_plan_is_previewed_as_edited_and_prices_stays_once_saved() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let c = console(&server, dir.path());
    c.sign_in("manager@demo.parkline", "parkline-demo").await.unwrap();
    c.overview().await.unwrap();
    let text = c.rate_plan(LOT).await.unwrap();
    let stay = PreviewRequest {
        vehicle_class: VehicleClass::Sedan,
        date: "2026-11-27".parse().unwrap(),
        from: "08:00".parse().unwrap(),
        to: "19:30".parse().unwrap(),
        charging: false,
    };
    let before = c.preview_quote(LOT, &text, &stay).await.unwrap();
    assert!(
        before.sentence.starts_with("A sedan from 08:00 to 19:30 on Fri 27 Nov 2026 costs"),
        "{}",
        before.sentence
    );
    let edited = text.replace("daily_max = 3600", "daily_max = 2500");
    assert_ne!(edited, text, "the editor shows the daily maximum as `daily_max = 3600`:\n{text}");
    let after = c.preview_quote(LOT, &edited, &stay).await.unwrap();
    assert_eq!((before.total_minor, after.total_minor), (3600, 2500));
    let broken = c.preview_quote(LOT, &edited.replace("currency", "curency"), &stay).await.unwrap_err();
    assert_eq!(broken.code, "invalid_rate_plan");

    c.save_rate_plan(LOT, &edited).await.unwrap();
    let from = jiff::Timestamp::now() + SignedDuration::from_hours(1);
    let quote = c
        .client()
        .quote(LOT, VehicleClass::Sedan, from, from + SignedDuration::from_hours(30))
        .await
        .unwrap();
    assert!(quote.lines.iter().any(|l| l.amount < 0), "capped by the new maximum: {quote:?}");
    assert_eq!(c.rate_plan(LOT).await.unwrap(), edited, "the server keeps what was saved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_acknowledged_and_revenue_is_charted_and_exported() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let c = console(&server, dir.path());
    c.sign_in("manager@demo.parkline", "parkline-demo").await.unwrap();
    let spots = lot_spots(&c).await;
    report(&server, &spots, true).await;
    let alerts = c.alerts().await.unwrap().value;
    let full = alerts.iter().find(|a| a.facility == LOT).expect("the full lot raises an alert");
    let ack = c.acknowledge_alert(&full.id, "Overflow signs out on Alaskan Way").await.unwrap();
    assert_eq!(ack.by, "manager@demo.parkline");
    let listed = c.alerts().await.unwrap().value;
    let table = std::fs::read_to_string(c.export("alerts", ExportFormat::Csv).unwrap()).unwrap();
    assert!(table.starts_with("id,kind,facility,") && table.contains(&full.id), "{table}");
    assert!(table.contains("Overflow signs out on Alaskan Way"), "the note is in the table");
    assert_eq!(c.export("alerts", ExportFormat::Png).unwrap_err().code, "not_found", "a table, not a chart");
    assert_eq!(listed.iter().find(|a| a.id == full.id).unwrap().acknowledged.as_ref(), Some(&ack));

    // A stay paid at the lane: it shows in today's revenue, chart and exports.
    report(&server, &spots, false).await;
    let lane = Client::new(&server.url(), None).unwrap();
    lane.set_token(Some(server.kiosk.clone()));
    let read = |id: &str| GateEvent {
        event_id: id.into(),
        plate: Some(PlateRead {
            text: "REV 123".into(),
            confidence: 0.95,
            alternatives: vec![],
            image_ref: None,
        }),
        ..GateEvent::default()
    };
    lane.gate_event(IN, &read("in-1")).await.unwrap();
    server.clock.advance(SignedDuration::from_hours(2));
    let due = lane.gate_event(OUT, &read("out-1")).await.unwrap().amount_due.unwrap();
    lane.gate_event(OUT, &GateEvent { paid_at_gate: Some(due.minor), ..read("out-2") }).await.unwrap();

    let today =
        server.clock.now().to_zoned_datetime(jiff::tz::TimeZone::get("America/Los_Angeles").unwrap()).date();
    let from = today.yesterday().unwrap();
    let report = c.revenue(from, today).await.unwrap().value;
    assert_eq!(report.by_facility, vec![(LOT.to_owned(), due.minor)]);
    assert_eq!(report.by_method, vec![("lane".to_owned(), due.minor)]);
    assert!(report.chart_svg.contains(LOT), "the chart names its series");
    let csv = std::fs::read_to_string(c.export("revenue", ExportFormat::Csv).unwrap()).unwrap();
    assert!(csv.contains(&format!("{today},{LOT},lane,USD,1,{},0", due.minor)), "{csv}");
    let svg = std::fs::read_to_string(c.export("revenue", ExportFormat::Svg).unwrap()).unwrap();
    assert!(svg.contains(LOT));
    let png = std::fs::read(c.export("revenue", ExportFormat::Png).unwrap()).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    assert_eq!(c.export("forecast", ExportFormat::Png).unwrap_err().code, "not_found", "not shown yet");

    // The stay, found by its plate, with its timeline; the audit chain holds its money and verifies.
    let stays = c.find_sessions("plate", "rev123").await.unwrap();
    assert_eq!(stays.len(), 1);
    let kinds: Vec<&str> = stays[0].events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["entered", "charge", "payment", "left"]);
    assert_eq!(c.find_sessions("colour", "red").await.unwrap_err().code, "validation_failed");
    // Refund part of the payment with a reason; a retry with the same key is the same refund.
    let payment = stays[0].events.iter().find_map(|e| e.payment.clone()).expect("the payment's id");
    let refund = c.refund(&payment, 100, "barrier hit the car", "r-1").await.unwrap();
    assert_eq!(c.refund(&payment, 100, "barrier hit the car", "r-1").await.unwrap(), refund);
    assert_eq!(c.refund(&payment, due.minor, "all of it", "r-2").await.unwrap_err().code, "refund_too_large");
    assert_eq!(c.refund(&payment, 1, " ", "r-3").await.unwrap_err().code, "validation_failed");
    let after = c.find_sessions("ticket", &stays[0].session.ticket).await.unwrap();
    assert!(after[0].events.iter().any(|e| e.kind == "refund" && e.amount_minor == Some(100)));
    let audit = c.audit().await.unwrap();
    assert!(audit.len() >= 2 && audit[0].seq > audit[1].seq, "newest first: {audit:?}");
    assert!(c.verify_audit().await.unwrap().ok);
    let table = std::fs::read_to_string(c.export("audit", ExportFormat::Csv).unwrap()).unwrap();
    assert_eq!(table.lines().count(), audit.len() + 1, "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_server_down_the_console_shows_cached_data_and_its_age() {
    let mut server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let c = console(&server, dir.path());
    c.sign_in("manager@demo.parkline", "parkline-demo").await.unwrap();
    let live = c.overview().await.unwrap();
    c.alerts().await.unwrap();
    server.kill();

    let reopened = console(&server, dir.path());
    let session = reopened.restore().await.unwrap().expect("the kept sign-in");
    assert!(session.offline, "opened offline");
    let cached = reopened.overview().await.unwrap();
    assert!(cached.offline);
    assert_eq!(cached.value, live.value);
    assert_eq!(cached.fetched_at.as_millisecond(), live.fetched_at.as_millisecond(), "as old as it was");
    assert!(cached.age_seconds >= 0);
    assert!(reopened.alerts().await.unwrap().offline);
    let e = reopened.save_rate_plan(LOT, include_str!("../../assets/rates/downtown.toml")).await.unwrap_err();
    assert_eq!(e.code, "offline", "changes need the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demand_page_charts_sampled_occupancy_and_exports_it() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let c = console(&server, dir.path());
    c.sign_in("manager@demo.parkline", "parkline-demo").await.unwrap();
    // The server samples every facility when it starts, then every five minutes.
    let mut view = c.demand(LOT).await.unwrap().value;
    for _ in 0..30 {
        if view.samples > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        view = c.demand(LOT).await.unwrap().value;
    }
    assert!(view.samples >= 1, "{view:?}");
    assert!(view.today_svg.contains("Occupancy today") && view.today_svg.contains("typical"));
    assert!(view.heat_map_svg.contains("Utilisation by weekday and hour"));
    assert!(view.forecast_svg.contains("forecast") && view.forecast_svg.contains("actual"));
    let png = std::fs::read(c.export("utilisation", ExportFormat::Png).unwrap()).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    assert_eq!(
        c.export("utilisation", ExportFormat::Csv).unwrap_err().code,
        "not_found",
        "a chart, not a table"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_users_permits_validations_and_layouts_are_configured() {
    use parkline_sdk::protocol::{DeviceKind, NewDevice, NewUser, ValidationRequest};
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let c = console(&server, dir.path());
    c.sign_in("admin@demo.parkline", "parkline-demo").await.unwrap();

    // A kiosk token, listed without its secret, works until revoked.
    let device = NewDevice { name: "Lane 3".into(), kind: DeviceKind::Kiosk, facility: Some(LOT.into()) };
    let issued = c.create_device(&device).await.unwrap();
    let listed = c.devices().await.unwrap();
    assert_eq!(listed[0].id, issued.id);
    assert_eq!((listed[0].name.as_str(), listed[0].revoked_at), ("Lane 3", None));
    let lane = Client::new(&server.url(), None).unwrap();
    lane.set_token(Some(issued.token.clone()));
    let passage = GateEvent {
        event_id: "cfg-1".into(),
        plate: Some(PlateRead {
            text: "CFG 001".into(),
            confidence: 0.9,
            alternatives: vec![],
            image_ref: None,
        }),
        ..GateEvent::default()
    };
    lane.gate_event(IN, &passage).await.unwrap();
    c.revoke_device(issued.id).await.unwrap();
    assert_eq!(c.revoke_device(issued.id).await.unwrap_err().code, "not_found", "revoked already");
    let refused =
        lane.gate_event(IN, &GateEvent { event_id: "cfg-2".into(), ..passage.clone() }).await.unwrap_err();
    assert_eq!(refused.code(), "unauthenticated");

    // Staff accounts: admins add them for an operator; its managers see its staff only.
    let id = c
        .create_user(&NewUser {
            email: "lane.3@demo.parkline".into(),
            password: "a long passphrase".into(),
            role: Role::Attendant,
            operator: Some("seattle-city".into()),
            facilities: vec![LOT.into()],
        })
        .await
        .unwrap();
    assert!(c.users().await.unwrap().iter().any(|u| u.id == id && u.role == Role::Attendant));
    let manager = console(&server, &dir.path().join("manager"));
    manager.sign_in("manager@demo.parkline", "parkline-demo").await.unwrap();
    let staff = manager.users().await.unwrap();
    assert!(staff.iter().any(|u| u.id == id && u.facilities == [LOT]));
    assert!(staff.iter().all(|u| u.operator.as_deref() == Some("seattle-city")), "{staff:?}");

    // A permit from the editor's template, a pool, and its revocation.
    let draft = parkline_admin::config::PERMIT_TEMPLATE.replace("# pool = \"acme\"", "pool = \"acme\"");
    manager.set_pool("acme", 3).await.unwrap();
    manager.create_permit(&draft).await.unwrap();
    let list = manager.permits().await.unwrap();
    assert!(list.permits.iter().any(|p| p.id == "acme-0001" && p.pool.as_deref() == Some("acme")));
    assert!(list.pools.contains(&parkline_sdk::protocol::PoolView { id: "acme".into(), limit: 3 }));
    assert_eq!(manager.create_permit("id = 3").await.unwrap_err().code, "invalid_permit");
    manager.revoke_permit("acme-0001").await.unwrap();

    // A merchant's validation code; the same code twice is a conflict.
    let validation: ValidationRequest = serde_json::from_value(serde_json::json!({
        "code": "CINEMA-2H", "facility": LOT, "merchant": "Harbor Cinema", "discount": {"free_hours": 2}
    }))
    .unwrap();
    assert_eq!(manager.create_validation(&validation).await.unwrap(), "CINEMA-2H");
    assert_eq!(manager.create_validation(&validation).await.unwrap_err().code, "conflict");
    let random = ValidationRequest { code: None, ..validation };
    let made = manager.create_validation(&random).await.unwrap();
    assert_eq!(made.len(), 14, "a random code: {made}");

    // A new facility from a layout file appears on the overview.
    let layout = include_str!("../../assets/layouts/waterfront-lot.toml")
        .replace("id = \"waterfront-lot\"", "id = \"harbour-lot\"")
        .replace("waterfront-in-1", "harbour-in-1")
        .replace("waterfront-out-1", "harbour-out-1");
    assert_eq!(manager.import_layout(&layout).await.unwrap(), "harbour-lot");
    assert!(manager.overview().await.unwrap().value.iter().any(|f| f.id == "harbour-lot"));
    assert_eq!(manager.import_layout(&layout).await.unwrap_err().code, "conflict", "the id is taken");
    assert_eq!(manager.import_layout("floors = 3").await.unwrap_err().code, "invalid_layout");
}
