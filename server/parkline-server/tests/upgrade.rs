//! A server started on a database the previous release wrote (the store's wave-1 fixtures: the demo
//! city after a day of traffic, from before operators) migrates it and serves as before: people sign
//! in with their passwords, the vehicle inside leaves, bookings, permits and money are all there, the
//! default operator owns it all (a device without a facility is disabled), and the audit chain
//! verifies. On SQLite and PostgreSQL. (The fixtures' booking was moved ten years ahead, so that it
//! does not turn into a no-show as the calendar passes it.)

#[macro_use]
mod common;

use common::{Backend, TestDb, TestServer};
use parkline_protocol::Role;
use serde_json::json;

const KEYS: &str = include_str!("../../parkline-store/tests/fixtures/wave1.plate.keys");

async fn a_wave1_database_serves_as_before(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    db.load_script(match backend {
        Backend::Sqlite => include_str!("../../parkline-store/tests/fixtures/wave1.sqlite.sql"),
        Backend::Postgres => include_str!("../../parkline-store/tests/fixtures/wave1.postgres.sql"),
    })
    .await;
    let mut settings = db.settings();
    let mut keys = KEYS.lines();
    settings.plate_keys = keys.next().map(Into::into);
    settings.plate_index_key = keys.next().map(Into::into);
    let s = TestServer::start(&settings.resolve().unwrap()).await;

    // The accounts sign in with their old passwords.
    let manager = s.login(Role::Manager).await.access_token;
    let driver = s.login(Role::Driver).await.access_token;
    let admin = s.login(Role::Admin).await.access_token;

    // The vehicle that was inside is still inside, with its plate, and can leave.
    let (status, inside) = s.get_as(&manager, "/v1/facilities/waterfront-lot/sessions").await;
    assert_eq!(status, 200, "{inside}");
    assert_eq!(inside.as_array().map(Vec::len), Some(1), "{inside}");
    assert_eq!(inside[0]["plate"], "FIX002");
    let attendant = s.login(Role::Attendant).await.access_token;
    let exit = json!({"event_id": "after-upgrade", "plate": {"text": "FIX002", "confidence": 0.95}});
    let (status, d) = s.post_as(Some(&attendant), "/v1/gates/waterfront-out-1/events", &exit).await;
    assert_eq!(status, 200, "{d}");
    assert!(["open", "deny"].contains(&d["command"].as_str().unwrap()), "{d}");
    assert_ne!(d["reason"], "lost_ticket", "the stay was found: {d}");

    // The booking, the permit, the account's money and the finished stay are kept.
    let (status, mine) = s.get_as(&driver, "/v1/me/reservations").await;
    assert_eq!((status, mine.as_array().map(Vec::len)), (200, Some(1)), "{mine}");
    let (status, permit) = s.get_as(&manager, "/v1/permits/fixture-monthly").await;
    assert_eq!(status, 200, "{permit}");
    let (status, account) = s.get_as(&driver, "/v1/me/account").await;
    assert_eq!((status, account["balances"][0]["minor"].as_i64()), (200, Some(2000)), "{account}");
    let (status, found) = s.get_as(&manager, "/v1/admin/sessions?ticket=LFIX001").await;
    assert_eq!(status, 200, "{found}");
    assert!(found[0]["session"]["exited_at"].is_string(), "{found}");

    // Everything is the default operator's; the sensor gateway made without a facility could act
    // anywhere, and the operator has five: it is disabled (the log says which), the lane kiosk kept.
    let (status, devices) = s.get_as(&admin, "/v1/admin/devices").await;
    assert_eq!(status, 200, "{devices}");
    let device = |name: &str| devices.as_array().unwrap().iter().find(|d| d["name"] == name).unwrap().clone();
    let (gateway, kiosk) = (device("demo sensors"), device("waterfront lane 1"));
    assert!(gateway["revoked_at"].is_string(), "{gateway}");
    assert_eq!(
        (kiosk["operator"].as_str(), kiosk["revoked_at"].as_str()),
        (Some("default"), None),
        "{kiosk}"
    );
    let (status, layout) = s.get_as(&manager, "/v1/facilities").await;
    assert_eq!(status, 200);
    let lot = layout["facilities"].as_array().unwrap().iter().find(|f| f["id"] == "waterfront-lot").unwrap();
    assert_eq!(lot["operator"], "default");

    let (status, report) = s.post_as(Some(&admin), "/v1/admin/audit/verification", &json!({})).await;
    assert_eq!((status, report["ok"].as_bool()), (200, Some(true)), "{report}");
    s.stop().await;
    db.cleanup().await;
}

/// A device made before operators, without a facility, whose operator has exactly one: bound to it at
/// start.
async fn a_device_without_a_facility_is_bound_to_its_operators_only_one(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let s = TestServer::start(&db.config()).await;
    let admin = s.login(Role::Admin).await.access_token;
    let (status, body) =
        s.post_as(Some(&admin), "/v1/admin/operators", &json!({"id": "solo", "name": "Solo Parking"})).await;
    assert_eq!(status, 201, "{body}");
    let mut layout: serde_json::Value =
        toml::from_str(include_str!("../../../assets/layouts/waterfront-lot.toml")).unwrap();
    layout["id"] = json!("solo-lot");
    for gate in layout["gates"].as_array_mut().unwrap() {
        gate["id"] = json!(format!("solo-{}", gate["id"].as_str().unwrap()));
    }
    let (status, body) = s.post_as(Some(&admin), "/v1/facilities?operator=solo", &layout).await;
    assert_eq!(status, 201, "{body}");
    let token = "pld_0000000000000000000000000000000000000000000000000000000000000001";
    let hash = parkline_server::auth::sha256_hex(token);
    let kind = parkline_protocol::DeviceKind::SensorGateway;
    s.server
        .app
        .store
        .insert_device("old gateway", kind, "solo", None, &hash, s.server.app.now())
        .await
        .unwrap();
    s.stop().await;

    let s = TestServer::start(&db.config()).await;
    let admin = s.login(Role::Admin).await.access_token;
    let (_, devices) = s.get_as(&admin, "/v1/admin/devices").await;
    let old = devices.as_array().unwrap().iter().find(|d| d["name"] == "old gateway").unwrap();
    assert_eq!((old["facility"].as_str(), old["revoked_at"].as_str()), (Some("solo-lot"), None), "{old}");
    // It reports for its facility, and only there.
    let reading = |facility: &str, spot: &str| {
        json!({"readings": [{"facility": facility, "spot": spot, "occupied": true, "confidence": 0.95,
            "kind": "magnetic", "observed_at": s.server.app.now().to_string()}]})
    };
    let (status, body) = s.post_as(Some(token), "/v1/sensors/events", &reading("solo-lot", "GA-001")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        s.post_as(Some(token), "/v1/sensors/events", &reading("waterfront-lot", "GA-001")).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("unknown_facility")), "{body}");
    s.stop().await;
    db.cleanup().await;
}

on_both_backends!(
    a_wave1_database_serves_as_before,
    a_device_without_a_facility_is_bound_to_its_operators_only_one
);
