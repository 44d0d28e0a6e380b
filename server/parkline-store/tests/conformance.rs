//! Storage conformance: every test runs against SQLite and against a real PostgreSQL.

use std::sync::Arc;

use jiff::Timestamp;
use parkline_domain::fusion::Evidence;
use parkline_domain::permit::Permit;
use parkline_domain::plate::Plate;
use parkline_domain::pricing::RatePlan;
use parkline_domain::reservation::{Reservation, Status as ReservationStatus};
use parkline_domain::sensor::{SensorKind, SensorTrack};
use parkline_domain::{Direction, Facility, LayoutFile, SpotStatus, Vehicle, VehicleClass};
use parkline_protocol::{DeviceKind, Role};
use parkline_store::testing::{Backend, TestDb};
use parkline_store::{
    DEFAULT_OPERATOR, Error, GateEventRecord, GateWrite, HistoryEntry, LedgerEntry, LedgerKind,
    OperatorRecord, PoolRecord, SessionExit, SessionRecord, SpotRecord, Store, StoredFacility,
};

fn layout() -> LayoutFile {
    toml::from_str(include_str!("../../../assets/layouts/waterfront-lot.toml")).unwrap()
}

fn codes(layout: &LayoutFile) -> Vec<String> {
    Facility::from_layout(layout).unwrap().spots.into_iter().map(|s| s.code).collect()
}

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

async fn facility_roundtrip(store: &Arc<dyn Store>) {
    let layout = layout();
    let codes = codes(&layout);
    store.insert_facility(&layout, DEFAULT_OPERATOR, &codes, at(0)).await.unwrap();
    let loaded = store.load_facilities().await.unwrap();
    assert_eq!(loaded.len(), 1);
    let StoredFacility { layout: back, operator, created, spots } = &loaded[0];
    assert_eq!(back, &layout);
    assert_eq!(*created, at(0));
    assert_eq!(operator, DEFAULT_OPERATOR);
    assert_eq!(spots.len(), codes.len());
    assert!(spots.iter().all(|s| s.status == SpotStatus::default()));

    let again = store.insert_facility(&layout, DEFAULT_OPERATOR, &codes, at(1)).await.unwrap_err();
    assert!(matches!(&again, Error::Duplicate), "{again:?}");
}

async fn spot_states_and_history_persist(store: &Arc<dyn Store>) {
    let layout = layout();
    let codes = codes(&layout);
    store.insert_facility(&layout, DEFAULT_OPERATOR, &codes, at(0)).await.unwrap();
    // More rows than one statement chunk, to cover chunking.
    let records: Vec<SpotRecord> = codes
        .iter()
        .enumerate()
        .map(|(i, code)| SpotRecord {
            spot: code.clone(),
            status: SpotStatus {
                out_of_service: i % 7 == 0,
                held: i % 11 == 0,
                sensor: SensorTrack {
                    occupied: i % 2 == 0,
                    last_reading: Some(at(i as i64)),
                    last_change: (i % 3 == 0).then(|| at(i as i64 - 1)),
                    pending: (i % 5 == 0).then(|| (i % 2 != 0, at(i as i64))),
                    // Each sensor's evidence, some slots empty, confidences that are not round.
                    evidence: std::array::from_fn(|slot| {
                        ((i + slot) % 3 != 0).then(|| Evidence {
                            kind: [SensorKind::Camera, SensorKind::Magnetic][(i + slot) % 2],
                            occupied: (i + slot) % 4 == 0,
                            confidence: 0.853 + slot as f32 / 7.0 * 0.1,
                            at: at(i as i64 - slot as i64),
                        })
                    }),
                },
            },
        })
        .collect();
    let history: Vec<HistoryEntry> = (0..1200)
        .map(|i| HistoryEntry {
            spot: codes[i % codes.len()].clone(),
            state: if i % 2 == 0 { "occupied" } else { "free" },
            at: at(i as i64),
            source: "magnetic",
            confidence: Some(0.9),
        })
        .collect();
    store.save_spots(&layout.id, &records, &history).await.unwrap();

    let mut loaded = store.load_facilities().await.unwrap().remove(0).spots;
    loaded.sort_by_key(|r| codes.iter().position(|c| *c == r.spot));
    assert_eq!(loaded, records);

    let back = store.history(&layout.id, at(0), 10_000).await.unwrap();
    assert_eq!(back, history);
    let recent = store.history(&layout.id, at(1_000), 10_000).await.unwrap();
    assert_eq!(recent.len(), 200);
    assert_eq!(store.history(&layout.id, at(0), 5).await.unwrap().len(), 5);
}

async fn rate_plans_roundtrip_and_replace(store: &Arc<dyn Store>) {
    let layout = layout();
    store.insert_facility(&layout, DEFAULT_OPERATOR, &codes(&layout), at(0)).await.unwrap();
    assert_eq!(store.rate_plans().await.unwrap(), []);
    let mut plan: RatePlan = toml::from_str(include_str!("../../../assets/rates/downtown.toml")).unwrap();
    store.save_rate_plan(&layout.id, &plan, at(1)).await.unwrap();
    assert_eq!(store.rate_plans().await.unwrap(), [(layout.id.clone(), plan.clone())]);
    plan.hourly.sedan += 50;
    store.save_rate_plan(&layout.id, &plan, at(2)).await.unwrap();
    assert_eq!(store.rate_plans().await.unwrap(), [(layout.id.clone(), plan)]);
}

fn session(id: &str, spot: &str, plate: &str) -> SessionRecord {
    SessionRecord {
        id: id.into(),
        facility: layout().id,
        ticket: format!("T{id}"),
        plate: Some(Plate::parse(plate).unwrap()),
        vehicle: Vehicle::new(VehicleClass::Sedan, false),
        spot: Some(spot.into()),
        entry_gate: "waterfront-in-1".into(),
        entry: at(10),
        occupancy_permille: 420,
        permit: (id == "s6").then(|| "acme-01".to_owned()),
        partner: (id == "s6").then_some(7),
        reservation: None,
        entry_image: Some(format!("cam://in/{id}.jpg")),
        exit: None,
        paid_minor: 0,
        last_paid: None,
        validations: Vec::new(),
    }
}

fn gate_write(key: &str, session: Option<SessionRecord>) -> GateWrite {
    GateWrite {
        event: GateEventRecord {
            gate: "waterfront-in-1".into(),
            key: key.into(),
            facility: layout().id,
            direction: Direction::Entry,
            session: session.as_ref().map(|s| s.id.clone()),
            decision: format!("{{\"key\":\"{key}\"}}"),
            at: at(10),
        },
        session,
        spots: vec![],
        reservation: None,
        ledger: vec![],
    }
}

async fn gate_events_sessions_and_their_invariants(store: &Arc<dyn Store>) {
    let layout = layout();
    store.insert_facility(&layout, DEFAULT_OPERATOR, &codes(&layout), at(0)).await.unwrap();
    let first = session("s1", "GA-001", "ABC123");
    store.save_gate_event(&gate_write("e1", Some(first.clone()))).await.unwrap();
    assert_eq!(
        store.gate_event_decision("waterfront-in-1", "e1").await.unwrap().as_deref(),
        Some("{\"key\":\"e1\"}")
    );
    assert_eq!(store.gate_event_decision("waterfront-in-1", "e2").await.unwrap(), None);
    assert_eq!(store.active_sessions().await.unwrap(), std::slice::from_ref(&first));

    // A retried event key, a second vehicle in the same spot, the same plate inside twice: all refused by
    // the database itself, and none of them leaves anything behind.
    let dup_key = store.save_gate_event(&gate_write("e1", Some(session("s2", "GA-002", "XYZ789")))).await;
    let same_spot = store.save_gate_event(&gate_write("e3", Some(session("s3", "GA-001", "XYZ789")))).await;
    let same_plate = store.save_gate_event(&gate_write("e4", Some(session("s4", "GA-003", "ABC123")))).await;
    for refused in [dup_key, same_spot, same_plate] {
        assert!(matches!(&refused, Err(Error::Duplicate)), "{refused:?}");
    }
    assert_eq!(store.active_sessions().await.unwrap(), std::slice::from_ref(&first));
    assert_eq!(store.gate_event_decision("waterfront-in-1", "e3").await.unwrap(), None);

    // Completing the session frees its spot and plate for the next vehicle.
    let done = SessionRecord {
        exit: Some(SessionExit {
            gate: "waterfront-out-1".into(),
            at: at(99),
            amount_minor: 450,
            image: Some("cam://out/s1.jpg".into()),
        }),
        paid_minor: 450,
        last_paid: Some(at(99)),
        ..first
    };
    let mut exit = gate_write("e5", Some(done.clone()));
    exit.ledger = vec![
        money("e5-pay", LedgerKind::Payment, 450, Some("s1")),
        money("e5-charge", LedgerKind::Charge, 450, Some("s1")),
    ];
    store.save_gate_event(&exit).await.unwrap();
    assert_eq!(store.active_sessions().await.unwrap(), []);
    // What it cost and what was paid come from the ledger.
    assert_eq!(store.session("s1").await.unwrap(), Some(done));
    let next = session("s6", "GA-001", "ABC123");
    store.save_gate_event(&gate_write("e6", Some(next.clone()))).await.unwrap();
    assert_eq!(store.active_sessions().await.unwrap(), [next]);
}

async fn permits_and_pools_roundtrip_and_revoke(store: &Arc<dyn Store>) {
    let permit: Permit = serde_json::from_value(serde_json::json!({
        "id": "acme-01", "holder": "Acme", "kind": "vip", "plates": ["ABC123"], "pool": "acme",
        "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2027-01-01T00:00:00Z",
    }))
    .unwrap();
    assert!(store.save_pool("acme", DEFAULT_OPERATOR, 3).await.unwrap());
    assert!(store.save_pool("acme", DEFAULT_OPERATOR, 2).await.unwrap());
    // Another operator cannot resize (nor take over) the pool.
    store.insert_operator("hospital", "Hospital", at(0)).await.unwrap();
    assert!(!store.save_pool("acme", "hospital", 9).await.unwrap());
    let acme = PoolRecord { id: "acme".into(), operator: DEFAULT_OPERATOR.into(), limit: 2 };
    assert_eq!(store.pools().await.unwrap(), [acme]);
    store.insert_permit(&permit, at(0)).await.unwrap();
    let dup = store.insert_permit(&permit, at(1)).await.unwrap_err();
    assert!(matches!(&dup, Error::Duplicate), "{dup:?}");
    assert_eq!(store.permits().await.unwrap(), std::slice::from_ref(&permit));
    assert!(store.revoke_permit("acme-01", at(2)).await.unwrap());
    assert!(!store.revoke_permit("acme-01", at(3)).await.unwrap(), "revoked once");
    assert_eq!(store.permits().await.unwrap(), []);
}

fn booking(id: &str, spot: &str, start: i64, end: i64) -> Reservation {
    Reservation {
        id: id.into(),
        facility: layout().id,
        spot: spot.into(),
        plate: Plate::parse("RES001").unwrap(),
        vehicle: Vehicle::new(VehicleClass::Sedan, false),
        start: at(start),
        end: at(end),
        status: ReservationStatus::Confirmed,
        quote_minor: 900,
        fee_minor: 0,
        owner: Some(7),
        group: None,
    }
}

async fn reservations_never_overlap_on_a_spot(store: &Arc<dyn Store>) {
    let layout = layout();
    store.insert_facility(&layout, DEFAULT_OPERATOR, &codes(&layout), at(0)).await.unwrap();
    let first = booking("r1", "GA-001", 100, 200);
    store.insert_reservations(std::slice::from_ref(&first), at(0), None).await.unwrap();
    assert_eq!(store.reservation("r1").await.unwrap(), Some(first.clone()));

    // Overlapping the same spot is refused by the database; touching end to start is fine; another spot
    // is fine. A group with one overlapping member is refused whole.
    let overlap =
        store.insert_reservations(&[booking("r2", "GA-001", 150, 250)], at(0), None).await.unwrap_err();
    assert!(matches!(&overlap, Error::Conflict), "{overlap:?}");
    store.insert_reservations(&[booking("r3", "GA-001", 200, 300)], at(0), None).await.unwrap();
    let group = [booking("g1", "GA-002", 100, 200), booking("g2", "GA-001", 120, 130)];
    let refused = store.insert_reservations(&group, at(0), None).await.unwrap_err();
    assert!(matches!(&refused, Error::Conflict), "{refused:?}");
    assert_eq!(store.reservation("g1").await.unwrap(), None, "all or nothing");

    // Moving a reservation onto another's time is refused too; a cancelled one no longer claims the spot.
    let moved = Reservation { start: at(250), end: at(350), ..first.clone() };
    let confirmed = ReservationStatus::Confirmed;
    assert!(matches!(store.update_reservation(&moved, confirmed, &[]).await, Err(Error::Conflict)));
    let cancelled = Reservation { status: ReservationStatus::Cancelled, fee_minor: 180, ..first.clone() };
    store.update_reservation(&cancelled, confirmed, &[]).await.unwrap();
    // A transition only from the state it starts from: once cancelled (on one instance), a no-show
    // (from another that still thought it confirmed) changes nothing, its fee included.
    let no_show = Reservation { status: ReservationStatus::NoShow, fee_minor: 999, ..first };
    let fee = money("reservation:r1:no_show", LedgerKind::Charge, 999, None);
    assert!(matches!(store.update_reservation(&no_show, confirmed, &[fee]).await, Err(Error::Conflict)));
    assert_eq!(
        store.reservation("r1").await.unwrap().map(|r| (r.status, r.fee_minor)),
        Some((ReservationStatus::Cancelled, 180))
    );
    assert!(
        store.ledger_entry("reservation:r1:no_show").await.unwrap().is_none(),
        "no fee for a no-show that did not happen"
    );
    store.insert_reservations(&[booking("r4", "GA-001", 150, 190)], at(0), None).await.unwrap();
    let claiming: Vec<String> =
        store.claiming_reservations().await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(claiming, ["r4", "r3"]);
}

async fn users_are_unique_by_email(store: &Arc<dyn Store>) {
    let id = store
        .insert_user("ann@example.com", "hash", Role::Manager, Some(DEFAULT_OPERATOR), at(0))
        .await
        .unwrap();
    let by_email = store.user_by_email("ann@example.com").await.unwrap().unwrap();
    assert_eq!((by_email.id, by_email.role, by_email.password_hash.as_str()), (id, Role::Manager, "hash"));
    assert_eq!((by_email.operator.as_deref(), &by_email.facilities[..]), (Some(DEFAULT_OPERATOR), &[][..]));
    assert_eq!(store.user_by_id(id).await.unwrap(), Some(by_email));
    assert_eq!(store.user_by_email("bob@example.com").await.unwrap(), None);
    let dup = store.insert_user("ann@example.com", "other", Role::Driver, None, at(1)).await.unwrap_err();
    assert!(matches!(&dup, Error::Duplicate), "{dup:?}");
}

async fn operators_own_facilities_and_staff_are_limited_to_some(store: &Arc<dyn Store>) {
    assert_eq!(
        store.operators().await.unwrap(),
        [OperatorRecord { id: "default".into(), name: "Default operator".into() }]
    );
    store.insert_operator("city", "The City", at(0)).await.unwrap();
    let dup = store.insert_operator("city", "Another", at(1)).await.unwrap_err();
    assert!(matches!(&dup, Error::Duplicate), "{dup:?}");
    let ids: Vec<String> = store.operators().await.unwrap().into_iter().map(|o| o.id).collect();
    assert_eq!(ids, ["city", "default"]);

    let layout = layout();
    store.insert_facility(&layout, "city", &codes(&layout), at(0)).await.unwrap();
    assert_eq!(store.load_facilities().await.unwrap()[0].operator, "city");

    let ann =
        store.insert_user("ann@example.com", "hash", Role::Attendant, Some("city"), at(0)).await.unwrap();
    store.set_staff_facilities(ann, std::slice::from_ref(&layout.id)).await.unwrap();
    let found = store.user_by_id(ann).await.unwrap().unwrap();
    assert_eq!((found.operator.as_deref(), found.facilities), (Some("city"), vec![layout.id.clone()]));
    // Replaced, not added to; none means all of the operator's facilities.
    store.set_staff_facilities(ann, &[]).await.unwrap();
    assert_eq!(
        store.user_by_email("ann@example.com").await.unwrap().unwrap().facilities,
        Vec::<String>::new()
    );
}

async fn refresh_tokens_work_once_and_expire(store: &Arc<dyn Store>) {
    let user = store.insert_user("ann@example.com", "hash", Role::Driver, None, at(0)).await.unwrap();
    store.insert_refresh_token("t1", user, at(100)).await.unwrap();
    store.insert_refresh_token("t2", user, at(100)).await.unwrap();
    assert_eq!(store.consume_refresh_token("t1", at(50)).await.unwrap(), Some(user));
    assert_eq!(store.consume_refresh_token("t1", at(51)).await.unwrap(), None, "used twice");
    assert_eq!(store.consume_refresh_token("t2", at(100)).await.unwrap(), None, "expired");
    assert_eq!(store.consume_refresh_token("nope", at(0)).await.unwrap(), None);
}

async fn devices_and_api_keys_are_found_by_hash(store: &Arc<dyn Store>) {
    store.insert_operator("city", "The City", at(0)).await.unwrap();
    let layout = layout();
    store.insert_facility(&layout, DEFAULT_OPERATOR, &codes(&layout), at(0)).await.unwrap();
    let d = store
        .insert_device("gw", DeviceKind::SensorGateway, "city", Some(&layout.id), "dh", at(0))
        .await
        .unwrap();
    let found = store.device_by_token("dh").await.unwrap().unwrap();
    assert_eq!(
        (found.id, found.kind, found.operator.as_str(), found.facility.as_deref()),
        (d, DeviceKind::SensorGateway, "city", Some(&*layout.id))
    );
    assert_eq!(store.device_by_token("other").await.unwrap(), None);
    let scopes = ["occupancy".to_owned(), "rates".to_owned()];
    let k = store.insert_api_key("partner", "kh", 60, "city", &scopes, at(0)).await.unwrap();
    let key = store.api_key_by_hash("kh").await.unwrap().unwrap();
    assert_eq!(
        (key.id, key.requests_per_minute, key.operator.as_str(), &key.scopes[..]),
        (k, 60, "city", &scopes[..])
    );
    assert_eq!(store.api_key_by_hash("dh").await.unwrap(), None);
}

async fn concurrent_writers_all_land(store: &Arc<dyn Store>) {
    let layout = layout();
    let codes = codes(&layout);
    store.insert_facility(&layout, DEFAULT_OPERATOR, &codes, at(0)).await.unwrap();
    let mut writers = tokio::task::JoinSet::new();
    for (w, code) in codes.iter().take(16).cloned().enumerate() {
        let (store, id) = (store.clone(), layout.id.clone());
        writers.spawn(async move {
            let entry = HistoryEntry {
                spot: code.clone(),
                state: "occupied",
                at: at(w as i64),
                source: "camera",
                confidence: None,
            };
            let record = SpotRecord { spot: code, status: SpotStatus::default() };
            store.save_spots(&id, &[record], &[entry]).await
        });
    }
    while let Some(result) = writers.join_next().await {
        result.unwrap().unwrap();
    }
    assert_eq!(store.history(&layout.id, at(0), 100).await.unwrap().len(), 16);
}

fn money(key: &str, kind: LedgerKind, amount: i64, session: Option<&str>) -> LedgerEntry {
    LedgerEntry {
        key: key.into(),
        kind,
        amount_minor: amount,
        currency: "USD".into(),
        facility: Some(layout().id),
        session: session.map(Into::into),
        reservation: None,
        user: None,
        actor: None,
        method: (kind == LedgerKind::Payment).then(|| "card".into()),
        provider_ref: None,
        refund_of: None,
        memo: None,
        at: at(99),
    }
}

async fn the_ledger_is_append_only_idempotent_and_audited(store: &Arc<dyn Store>) {
    let layout = layout();
    store.insert_facility(&layout, DEFAULT_OPERATOR, &codes(&layout), at(0)).await.unwrap();
    let pay = money("p1", LedgerKind::Payment, 1_000, Some("s9"));
    store.queue_ledger(vec![pay.clone()]).await.unwrap();
    assert_eq!(store.ledger_entry("p1").await.unwrap(), Some(pay.clone()));
    // The same key again is refused and adds nothing.
    let again = store.queue_ledger(vec![pay.clone()]).await.unwrap_err();
    assert!(matches!(&again, Error::Duplicate), "{again:?}");

    // Refunds: never more than is left of the payment, whatever the caller checked before.
    let refund = |key: &str, amount| LedgerEntry {
        refund_of: Some("p1".into()),
        actor: Some(7),
        ..money(key, LedgerKind::Refund, amount, Some("s9"))
    };
    store.queue_ledger(vec![refund("r1", 600)]).await.unwrap();
    let too_much = store.queue_ledger(vec![refund("r2", 401)]).await.unwrap_err();
    assert!(matches!(&too_much, Error::RefundTooLarge), "{too_much:?}");
    store.queue_ledger(vec![refund("r3", 400)]).await.unwrap();
    let refunds: Vec<i64> = store.refunds_of("p1").await.unwrap().iter().map(|r| r.amount_minor).collect();
    assert_eq!(refunds, [600, 400]);
    let actors: Vec<_> = store.refunds_of("p1").await.unwrap().iter().map(|r| r.actor).collect();
    assert_eq!(actors, [Some(7), Some(7)], "who refunded is kept");
    assert_eq!(store.session_ledger("s9").await.unwrap().len(), 3);

    let report = parkline_store::audit::verify(store.as_ref()).await.unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!((report.records, report.ledger_entries), (3, 3));
}

async fn with_store(backend: Backend, test: impl AsyncFnOnce(&Arc<dyn Store>)) {
    let Some(db) = TestDb::new(backend).await else { return };
    let store = parkline_store::open(&db.url, parkline_store::testing::vault()).await.expect("open store");
    test(&store).await;
    drop(store);
    db.cleanup().await;
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::with_store(super::Backend::Sqlite, super::$name).await }
            )*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::with_store(super::Backend::Postgres, super::$name).await }
            )*
        }
    };
}

conformance!(
    facility_roundtrip,
    spot_states_and_history_persist,
    rate_plans_roundtrip_and_replace,
    gate_events_sessions_and_their_invariants,
    permits_and_pools_roundtrip_and_revoke,
    reservations_never_overlap_on_a_spot,
    users_are_unique_by_email,
    operators_own_facilities_and_staff_are_limited_to_some,
    refresh_tokens_work_once_and_expire,
    devices_and_api_keys_are_found_by_hash,
    concurrent_writers_all_land,
    the_ledger_is_append_only_idempotent_and_audited,
);

/// Key rotation: values sealed under the old key are readable while both keys are configured, `rekey`
/// moves them all, and then the old key can go.
async fn rotating_the_plate_key(backend: Backend) {
    use parkline_store::Vault;
    let Some(db) = TestDb::new(backend).await else { return };
    let (old_keys, index) = Vault::generate_settings();
    let (new_keys, _) = Vault::generate_settings();
    let new_keys = new_keys.replace("k1:", "k2:");
    let vault = |keys: &str| Arc::new(Vault::from_settings(keys, &index).unwrap());

    let store = parkline_store::open(&db.url, vault(&old_keys)).await.unwrap();
    let layout = layout();
    store.insert_facility(&layout, DEFAULT_OPERATOR, &codes(&layout), at(0)).await.unwrap();
    let s = session("s1", "GA-001", "ROT001");
    store.save_gate_event(&gate_write("e1", Some(s.clone()))).await.unwrap();
    let permit: Permit = serde_json::from_value(serde_json::json!({
        "id": "rot-01", "holder": "Acme", "kind": "vip", "plates": ["ROT002"],
        "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2027-01-01T00:00:00Z",
    }))
    .unwrap();
    store.insert_permit(&permit, at(0)).await.unwrap();
    drop(store);

    let both = parkline_store::open(&db.url, vault(&format!("{new_keys},{old_keys}"))).await.unwrap();
    assert_eq!(both.active_sessions().await.unwrap(), std::slice::from_ref(&s));
    assert_eq!(both.rekey().await.unwrap(), 2);
    assert_eq!(both.rekey().await.unwrap(), 0, "nothing left under the old key");
    drop(both);

    let new_only = parkline_store::open(&db.url, vault(&new_keys)).await.unwrap();
    assert_eq!(new_only.active_sessions().await.unwrap(), [s]);
    assert_eq!(new_only.permits().await.unwrap(), [permit]);
    drop(new_only);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_plate_key_sqlite() {
    rotating_the_plate_key(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_plate_key_postgres() {
    rotating_the_plate_key(Backend::Postgres).await;
}

/// The database holds sealed plates, password hashes and the ledger: only its owner reads it, like the
/// secrets file beside it. A file made before with a wider mode is narrowed when it is opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_sqlite_database_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let mode = |name: &str| {
        let path = db.dir.path().join(name);
        std::fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let store = parkline_store::open(&db.url, parkline_store::testing::vault()).await.unwrap();
    let layout = layout();
    store.insert_facility(&layout, DEFAULT_OPERATOR, &codes(&layout), at(0)).await.unwrap();
    for name in ["t.db", "t.db-wal", "t.db-shm"] {
        assert_eq!(mode(name), 0o600, "{name} is {:o}", mode(name));
    }
    drop(store);

    let old = db.dir.path().join("old.db");
    std::fs::write(&old, b"").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    let url = format!("sqlite://{}", old.display());
    let store = parkline_store::open(&url, parkline_store::testing::vault()).await.unwrap();
    assert_eq!(mode("old.db"), 0o600, "a database made before is narrowed");
    drop(store);
}
