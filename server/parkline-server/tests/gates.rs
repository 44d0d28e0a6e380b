//! Entry and exit over HTTP, as a kiosk drives them, on SQLite and PostgreSQL.

#[macro_use]
mod common;

use std::collections::HashSet;

use common::lane::{IN, LOT, Lane, OUT, reason};
use common::{Backend, TestDb, TestServer};
use jiff::SignedDuration;
use parkline_protocol::{DeviceKind, Role};
use parkline_store::testing::Disk;
use serde_json::{Value, json};

async fn walk_in_parks_pays_and_leaves(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let read = json!({"text": "abc 123", "confidence": 0.93, "image_ref": "cam://in-1/0001.jpg"});
    let (_, d) = lane.event(IN, json!({"event_id": "in-1", "plate": read})).await;
    assert_eq!(reason(&d), ("open", "admitted"));
    let spot = d["spot"]["code"].as_str().unwrap().to_owned();
    assert!(d["display"].as_str().unwrap().contains(&spot), "{d}");
    let ticket = d["ticket"]["id"].as_str().unwrap().to_owned();
    assert!(d["ticket"]["qr"].as_str().unwrap().ends_with(&ticket));
    assert_eq!(lane.held().await, 1);

    // Two hours later the ticket shows the fee so far, and the exit asks for exactly that.
    lane.s.clock.advance(SignedDuration::from_hours(2));
    let (status, session) = lane.s.get(&format!("/v1/tickets/{ticket}")).await;
    assert_eq!(status, 200, "{session}");
    let fee = session["fee"]["minor"].as_i64().unwrap();
    assert!(fee > 0, "{session}");
    assert_eq!(session["spot"], json!(spot));

    let d = lane.leave("out-1", "ABC123", None).await;
    assert_eq!(reason(&d), ("deny", "payment_required"));
    assert_eq!(d["amount_due"], json!({"minor": fee, "currency": "USD"}));
    let d = lane.leave("out-2", "ABC123", Some(fee)).await;
    assert_eq!(reason(&d), ("open", "paid"));
    assert_eq!(lane.held().await, 0, "the spot is released");
    assert_eq!(lane.s.get(&format!("/v1/tickets/{ticket}")).await.0, 404);

    // Leaving again is not a second exit of that session: it is an unknown vehicle.
    let d = lane.leave("out-3", "ABC123", None).await;
    assert_eq!(reason(&d), ("deny", "lost_ticket"));

    // The session keeps what it cost and where its entry image is.
    let disk = Disk::open(&lane.db.url).await;
    let (status, amount, paid, image) = disk.only_stay().await;
    assert_eq!(
        (status.as_str(), amount, paid, image.as_str()),
        ("completed", fee, fee, "cam://in-1/0001.jpg")
    );
    disk.close().await;
    lane.close().await;
}

async fn retried_events_get_the_same_decision_and_one_session(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let first = lane.enter("in-42", "RTR 001").await;
    let again = lane.enter("in-42", "RTR 001").await;
    assert_eq!(first, again);
    assert_eq!(lane.held().await, 1);
    // The same vehicle with a new event is inside already.
    assert_eq!(reason(&lane.enter("in-43", "RTR001").await), ("deny", "already_inside"));

    // Exits retried the same way pay once.
    let out = lane.leave("out-42", "RTR001", Some(0)).await;
    assert_eq!(reason(&out), ("open", "nothing_due"), "within the grace period");
    assert_eq!(lane.leave("out-42", "RTR001", Some(0)).await, out);
    assert_eq!(lane.held().await, 0);
    lane.close().await;
}

async fn a_full_facility_turns_vehicles_away(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    // The lot has 30 SUV spots; SUVs fit nowhere else.
    let suv = |i: usize| json!({"event_id": format!("suv-{i}"), "plate": {"text": format!("SUV{i:03}"), "confidence": 0.9}, "vehicle_class": "suv"});
    for i in 0..30 {
        let (_, d) = lane.event(IN, suv(i)).await;
        assert_eq!(reason(&d), ("open", "admitted"), "SUV {i}");
    }
    let (_, d) = lane.event(IN, suv(30)).await;
    assert_eq!(reason(&d), ("deny", "full"));
    assert!(d["display"].as_str().unwrap().contains("FULL"));
    // A sedan still fits.
    assert_eq!(reason(&lane.enter("sedan", "SDN001").await), ("open", "admitted"));
    lane.close().await;
}

async fn exits_tolerate_ocr_confusions_but_never_guess(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    lane.enter("a", "SBZ 1O0").await;
    let d = lane.leave("a-out", "58Z100", Some(0)).await;
    assert_eq!(reason(&d), ("open", "nothing_due"), "S/5, B/8, O/0 confusions resolved: {d}");

    lane.enter("b", "XYZ700").await;
    lane.enter("c", "XYZ7OO").await;
    let d = lane.leave("bc-out", "XYZ7O0", Some(0)).await;
    assert_eq!(reason(&d), ("deny", "ambiguous_plate"));
    // An alternative candidate that is exact settles it.
    let (_, d) = lane
        .event(OUT, json!({"event_id": "bc-out-2", "plate": {"text": "XYZ7O0", "confidence": 0.6, "alternatives": ["XYZ700"]}}))
        .await;
    assert_eq!(reason(&d), ("open", "nothing_due"));
    assert_eq!(lane.held().await, 1);
    lane.close().await;
}

async fn lost_tickets_pay_the_flat_price(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let d = lane.leave("lost-1", "NOB0DY", None).await;
    assert_eq!(reason(&d), ("deny", "lost_ticket"));
    assert_eq!(d["amount_due"]["minor"], 6000);
    assert_eq!(reason(&lane.leave("lost-2", "NOB0DY", Some(6000)).await), ("open", "paid"));

    // A manual ticket (no plate read) leaves by its ticket.
    let (_, d) = lane.event(IN, json!({"event_id": "manual-1"})).await;
    assert_eq!(reason(&d), ("open", "admitted"));
    let ticket = d["ticket"]["id"].as_str().unwrap();
    let (_, d) = lane.event(OUT, json!({"event_id": "manual-out", "ticket": ticket})).await;
    assert_eq!(reason(&d), ("open", "nothing_due"));
    lane.close().await;
}

async fn concurrent_entries_never_share_a_spot(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let lane = std::sync::Arc::new(lane);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..24 {
        let lane = lane.clone();
        tasks.spawn(async move { lane.enter(&format!("c-{i}"), &format!("CNC{i:03}")).await });
    }
    let mut spots = HashSet::new();
    while let Some(d) = tasks.join_next().await {
        let d = d.unwrap();
        assert_eq!(reason(&d), ("open", "admitted"));
        assert!(spots.insert(d["spot"]["code"].as_str().unwrap().to_owned()), "spot given twice: {d}");
    }
    assert_eq!(spots.len(), 24);
    assert_eq!(lane.held().await, 24);
    let lane = std::sync::Arc::into_inner(lane).unwrap();
    lane.close().await;
}

async fn sessions_survive_a_restart(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let d = lane.enter("r-1", "RST 999").await;
    let config = lane.db.config();
    lane.s.stop().await;
    let s = TestServer::start(&config).await;
    let kiosk = s.device_token(DeviceKind::Kiosk).await;
    let lane = Lane { s, db: lane.db, kiosk };
    assert_eq!(lane.enter("r-1", "RST 999").await, d, "the retry is still recognised");
    assert_eq!(lane.held().await, 1);
    assert_eq!(reason(&lane.leave("r-out", "RST999", Some(0)).await), ("open", "nothing_due"));
    lane.close().await;
}

/// Issues a permit through the API as a manager.
async fn issue_permit(lane: &Lane, body: Value) {
    let manager = lane.s.login(Role::Manager).await.access_token;
    let (status, b) = lane.s.post_as(Some(&manager), "/v1/permits", &body).await;
    assert_eq!(status, 201, "{b}");
}

async fn permit_holders_come_and_go_free_within_their_pool(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let manager = lane.s.login(Role::Manager).await.access_token;
    let pool = |limit: u32| {
        let req = lane
            .s
            .http
            .put(lane.s.url("/v1/permit-pools/acme"))
            .bearer_auth(&manager)
            .json(&json!({"limit": limit}));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(pool(1).await, 204);
    let valid = json!({"valid_from": "2026-01-01T00:00:00Z", "valid_until": "2036-01-01T00:00:00Z"});
    let permit = |id: &str, plate: &str| {
        let mut p =
            json!({"id": id, "holder": "Acme Corp", "kind": "monthly", "plates": [plate], "pool": "acme"});
        p.as_object_mut().unwrap().extend(valid.as_object().unwrap().clone());
        p
    };
    issue_permit(&lane, permit("acme-1", "PRM 001")).await;
    issue_permit(&lane, permit("acme-2", "PRM 002")).await;

    // The first holder enters on the permit and, hours later, leaves without paying.
    let d = lane.enter("p1-in", "PRM001").await;
    assert_eq!(reason(&d), ("open", "admitted"));
    assert!(d["display"].as_str().unwrap().contains("Acme Corp"), "{d}");
    // The pool is full now: the second holder enters as a paying visitor.
    let d = lane.enter("p2-in", "PRM002").await;
    assert_eq!(reason(&d), ("open", "admitted"));
    assert!(!d["display"].as_str().unwrap().contains("Acme Corp"), "{d}");

    lane.s.clock.advance(SignedDuration::from_hours(3));
    assert_eq!(reason(&lane.leave("p1-out", "PRM001", None).await), ("open", "permit_holder"));
    assert_eq!(reason(&lane.leave("p2-out", "PRM002", None).await), ("deny", "payment_required"));

    // Plates belong to one active permit; revoked permits no longer count.
    let manager = lane.s.login(Role::Manager).await.access_token;
    let (status, b) = lane.s.post_as(Some(&manager), "/v1/permits", &permit("acme-3", "PRM001")).await;
    assert_eq!((status, b["code"].as_str()), (409, Some("conflict")));
    let revoke =
        lane.s.http.delete(lane.s.url("/v1/permits/acme-1")).bearer_auth(&manager).send().await.unwrap();
    assert_eq!(revoke.status(), 204);
    lane.enter("p1-in-2", "PRM001").await;
    lane.s.clock.advance(SignedDuration::from_hours(1));
    assert_eq!(reason(&lane.leave("p1-out-2", "PRM001", None).await), ("deny", "payment_required"));
    lane.close().await;
}

async fn expired_permits_and_other_facilities_pay(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    issue_permit(
        &lane,
        json!({"id": "old", "holder": "Past Tenant", "kind": "monthly", "plates": ["OLD001"],
               "valid_from": "2020-01-01T00:00:00Z", "valid_until": "2021-01-01T00:00:00Z"}),
    )
    .await;
    issue_permit(
        &lane,
        json!({"id": "pike-only", "holder": "Pike Tenant", "kind": "vip", "plates": ["PIK001"],
               "facilities": ["pike-place-garage"],
               "valid_from": "2020-01-01T00:00:00Z", "valid_until": "2040-01-01T00:00:00Z"}),
    )
    .await;
    // A zoned permit parks its holder in its zone, though nearer spots are free.
    issue_permit(
        &lane,
        json!({"id": "zone-c", "holder": "Zone C Tenant", "kind": "monthly", "plates": ["ZNC001"], "zones": ["GC"],
               "valid_from": "2020-01-01T00:00:00Z", "valid_until": "2040-01-01T00:00:00Z"}),
    )
    .await;
    let d = lane.enter("z-in", "ZNC001").await;
    assert!(d["spot"]["code"].as_str().unwrap().starts_with("GC-"), "{d}");

    lane.enter("o-in", "OLD001").await;
    lane.enter("k-in", "PIK001").await;
    lane.s.clock.advance(SignedDuration::from_hours(2));
    assert_eq!(reason(&lane.leave("o-out", "OLD001", None).await), ("deny", "payment_required"));
    assert_eq!(reason(&lane.leave("k-out", "PIK001", None).await), ("deny", "payment_required"));
    lane.close().await;
}

/// Books as the demo driver; returns the status and the body.
async fn book(lane: &Lane, body: Value) -> (u16, Value) {
    let driver = lane.s.login(Role::Driver).await.access_token;
    lane.s.post_as(Some(&driver), "/v1/reservations", &body).await
}

fn window(lane: &Lane, from_now_min: i64, length_min: i64) -> (String, String) {
    let now = lane.s.server.app.now();
    let start = now + SignedDuration::from_mins(from_now_min);
    (start.to_string(), (start + SignedDuration::from_mins(length_min)).to_string())
}

async fn reserved_vehicles_check_in_to_their_spot_and_no_shows_release_it(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let (start, end) = window(&lane, 60, 120);
    let (status, booked) = book(
        &lane,
        json!({"facility": LOT, "plate": "RSV 001", "vehicle_class": "sedan", "start": start, "end": end}),
    )
    .await;
    assert_eq!(status, 201, "{booked}");
    let reserved = booked[0]["spot"].as_str().unwrap().to_owned();
    assert!(booked[0]["quote_minor"].as_i64().unwrap() > 0);

    // Walk-ins are kept off the reserved spot, even though it is the best one.
    let d = lane.enter("walk-1", "WLK001").await;
    assert_ne!(d["spot"]["code"], json!(reserved), "{d}");

    // Fifty minutes later (ten before the start) the booked vehicle arrives and is sent to its spot.
    lane.s.clock.advance(SignedDuration::from_mins(50));
    let d = lane.enter("rsv-in", "RSV001").await;
    assert_eq!(reason(&d), ("open", "admitted"));
    assert_eq!(d["spot"]["code"], json!(reserved));
    assert!(d["display"].as_str().unwrap().contains("reservation"), "{d}");
    let id = booked[0]["id"].as_str().unwrap();
    let driver = lane.s.login(Role::Driver).await.access_token;
    let (_, r) = lane.s.get_as(&driver, &format!("/v1/reservations/{id}")).await;
    assert_eq!(r["status"], "checked_in");

    // A second booking nobody turns up for becomes a no-show a quarter of an hour after its start,
    // owing 20% of its quote, and its spot goes back to walk-ins.
    let (start, end) = window(&lane, 30, 60);
    let (_, missed) = book(
        &lane,
        json!({"facility": LOT, "plate": "GHOST1", "vehicle_class": "sedan", "start": start, "end": end}),
    )
    .await;
    let missed_id = missed[0]["id"].as_str().unwrap().to_owned();
    lane.s.clock.advance(SignedDuration::from_mins(46));
    let mut status = Value::Null;
    for _ in 0..40 {
        let (_, r) = lane.s.get_as(&driver, &format!("/v1/reservations/{missed_id}")).await;
        status = r["status"].clone();
        if status == "no_show" {
            let fee = missed[0]["quote_minor"].as_i64().unwrap() / 5;
            assert_eq!(r["fee_minor"].as_i64(), Some(fee));
            // The fee is billed to the driver's account, once.
            let (_, account) = lane.s.get_as(&driver, "/v1/me/account").await;
            assert_eq!(account["balances"], json!([{"minor": -fee, "currency": "USD"}]), "{account}");
            assert_eq!(account["entries"][0]["reservation"].as_str(), Some(missed_id.as_str()));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "no_show");
    lane.close().await;
}

async fn a_retried_booking_returns_the_first_attempts_reservations(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let driver = lane.s.login(Role::Driver).await.access_token;
    let (start, end) = window(&lane, 120, 60);
    let body = json!({"facility": LOT, "plate": "IDEM01", "vehicle_class": "sedan", "start": start, "end": end, "count": 2});
    let post = async |key: &str| {
        let r = lane
            .s
            .http
            .post(lane.s.url("/v1/reservations"))
            .bearer_auth(&driver)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        common::split(r).await
    };
    let (status, first) = post("book-1").await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(post("book-1").await, (201, first.clone()), "the same two reservations");
    let (status, second) = post("book-2").await;
    assert_eq!(status, 201, "a new key is a new booking");
    assert_ne!(second[0]["id"], first[0]["id"]);
    lane.close().await;
}

/// Two instances on one PostgreSQL: a vehicle that entered through one leaves through the other, and
/// a payment taken by one opens the other's exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stay_begun_at_one_instance_ends_at_another() {
    let Some(db) = TestDb::new(Backend::Postgres).await else { return };
    let a = TestServer::start(&db.config()).await;
    let b = TestServer::start(&db.config()).await;
    let kiosk = a.device_token(DeviceKind::Kiosk).await;
    let gate = async |s: &TestServer, gate: &str, body: Value| {
        let (status, d) = s.post_as(Some(&kiosk), &format!("/v1/gates/{gate}/events"), &body).await;
        assert_eq!(status, 200, "{d}");
        d
    };
    let read = |plate: &str| json!({"text": plate, "confidence": 0.95});
    let first = gate(&a, IN, json!({"event_id": "i1", "plate": read("TWO001")})).await;
    let second = gate(&a, IN, json!({"event_id": "i2", "plate": read("TWO002")})).await;
    assert_eq!(reason(&first), ("open", "admitted"));
    // Both instances share one clock offset: time passes for both.
    a.clock.advance(SignedDuration::from_hours(2));
    b.clock.advance(SignedDuration::from_hours(2));

    // Instance B learns of the stays (by notification) and prices the exit.
    let mut out = Value::Null;
    for i in 0..50 {
        out = gate(&b, OUT, json!({"event_id": format!("o1-{i}"), "plate": read("TWO001")})).await;
        if out["reason"] != "lost_ticket" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(reason(&out), ("deny", "payment_required"), "{out}");
    let due = out["amount_due"]["minor"].as_i64().unwrap();
    assert_eq!(
        reason(
            &gate(&b, OUT, json!({"event_id": "o1-pay", "plate": read("TWO001"), "paid_at_gate": due})).await
        )
        .0,
        "open"
    );

    // Paid in the app through A; B's exit opens.
    let ticket = second["ticket"]["id"].as_str().unwrap();
    let pay = a
        .http
        .post(a.url(&format!("/v1/tickets/{ticket}/payments")))
        .header("idempotency-key", "two")
        .json(&json!({"card_token": "tok_visa"}))
        .send()
        .await
        .unwrap();
    assert_eq!(pay.status(), 201);
    let mut out = Value::Null;
    for i in 0..50 {
        out = gate(&b, OUT, json!({"event_id": format!("o2-{i}"), "plate": read("TWO002")})).await;
        if out["command"] == "open" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(reason(&out), ("open", "paid"), "{out}");
    a.stop().await;
    b.stop().await;
    db.cleanup().await;
}

async fn concurrent_bookings_of_one_spot_have_one_winner(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let lane = std::sync::Arc::new(lane);
    let (start, end) = window(&lane, 24 * 60, 180);
    let driver = lane.s.login(Role::Driver).await.access_token;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..12 {
        let (lane, driver) = (lane.clone(), driver.clone());
        let body = json!({"facility": LOT, "plate": format!("CON{i:03}"), "vehicle_class": "sedan",
                          "start": start, "end": end, "spot": "GB-005"});
        tasks.spawn(async move { lane.s.post_as(Some(&driver), "/v1/reservations", &body).await });
    }
    let mut won = 0;
    while let Some(r) = tasks.join_next().await {
        let (status, body) = r.unwrap();
        match status {
            201 => won += 1,
            409 => assert_eq!(body["code"], "conflict"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(won, 1);
    let lane = std::sync::Arc::into_inner(lane).unwrap();
    lane.close().await;
}

async fn attendants_override_with_a_reason_and_it_is_recorded(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let attendant = lane.s.login(Role::Attendant).await.access_token;
    let path = format!("/v1/gates/{OUT}/overrides");
    let override_ = async |body: Value| lane.s.post_as(Some(&attendant), &path, &body).await;
    // The camera misread the plate at entry; the attendant corrects it and the exit matches exactly.
    let d = lane.enter("m-in", "0VRX01").await;
    let ticket = d["ticket"]["id"].as_str().unwrap().to_owned();
    let (status, body) = override_(
        json!({"action": "set_plate", "reason": "misread at entry", "session": ticket, "plate": "OVRX01"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(reason(&lane.leave("m-out", "OVRX01", Some(0)).await), ("open", "nothing_due"));

    // A session voided by hand ends without charge and frees its spot.
    let d = lane.enter("v-in", "VOID01").await;
    lane.s.clock.advance(SignedDuration::from_hours(3));
    let (status, body) =
        override_(json!({"action": "void_session", "reason": "hotel guest", "session": d["session"]})).await;
    assert_eq!((status, body["command"].as_str()), (200, Some("open")), "{body}");
    assert_eq!(lane.held().await, 0);
    assert_eq!(reason(&lane.leave("v-out", "VOID01", None).await), ("deny", "lost_ticket"));

    // No reason, no override.
    let (status, body) = override_(json!({"action": "open_gate", "reason": "  "})).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")));
    let (status, _) = override_(json!({"action": "open_gate", "reason": "ambulance"})).await;
    assert_eq!(status, 200);

    let disk = Disk::open(&lane.db.url).await;
    let recorded = disk.overrides().await;
    let expected =
        [("set_plate", "misread at entry"), ("void_session", "hotel guest"), ("open_gate", "ambulance")];
    assert_eq!(recorded, expected.map(|(a, r)| (a.to_owned(), r.to_owned())));
    disk.close().await;
    lane.close().await;
}

async fn staff_see_who_is_inside_and_who_overstays(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    // A one-hour reservation checked in on time, and a walk-in.
    let (start, end) = window(&lane, 5, 60);
    let (status, _) = book(
        &lane,
        json!({"facility": LOT, "plate": "OVS001", "vehicle_class": "sedan", "start": start, "end": end}),
    )
    .await;
    assert_eq!(status, 201);
    lane.enter("ovs-in", "OVS001").await;
    lane.enter("walk-in", "WLK777").await;
    let attendant = lane.s.login(Role::Attendant).await.access_token;
    let list = async |query: &str| {
        let (status, body) =
            lane.s.get_as(&attendant, &format!("/v1/facilities/{LOT}/sessions{query}")).await;
        assert_eq!(status, 200, "{body}");
        body.as_array().unwrap().iter().map(|s| s["plate"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(list("").await, ["OVS001", "WLK777"]);
    assert!(list("?overstay=true").await.is_empty());
    // Past the reservation's end, the reserved vehicle overstays; past the 72 h limit, both do.
    lane.s.clock.advance(SignedDuration::from_hours(2));
    assert_eq!(list("?overstay=true").await, ["OVS001"]);
    lane.s.clock.advance(SignedDuration::from_hours(71));
    assert_eq!(list("?overstay=true").await, ["OVS001", "WLK777"]);
    lane.close().await;
}

/// Passages a lane let through while offline are recorded as they happened, when they happened: the
/// lane's ticket, entry time, a full facility (no spot, but inside), and money still owed at exit.
async fn offline_passages_are_recorded_as_the_lane_decided(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let now = jiff::Timestamp::now();
    let at = |ago_min: i64| (now - SignedDuration::from_mins(ago_min)).to_string();
    let entry = json!({"event_id": "off-in-1", "plate": {"text": "OFF001", "confidence": 0.9},
        "offline": {"at": at(180), "ticket": "LANE0001"}});
    let (status, d) = lane.event(IN, entry.clone()).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(reason(&d), ("open", "admitted"));
    assert_eq!(d["ticket"]["id"], "LANE0001");
    // Replayed again (the lane never saw the answer): the same decision, one stay.
    assert_eq!(lane.event(IN, entry).await.1, d);
    let (_, session) = lane.s.get("/v1/tickets/LANE0001").await;
    assert_eq!(session["entered_at"].as_str().unwrap(), at(180), "{session}");
    let fee = session["fee"]["minor"].as_i64().unwrap();
    assert!(fee > 0, "three hours cost something: {session}");

    // It left offline an hour ago with 100 taken at the lane: the rest is owed, not forgotten.
    let exit = json!({"event_id": "off-out-1", "plate": {"text": "OFF001", "confidence": 0.9},
        "paid_at_gate": 100, "offline": {"at": at(60)}});
    let (status, d) = lane.event(OUT, exit).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(reason(&d), ("open", "left_owing"));
    let owed = d["amount_due"]["minor"].as_i64().unwrap();
    assert!(owed > 0 && owed < fee, "owed {owed} of {fee}: the fee to its exit an hour ago, less 100");
    assert_eq!(lane.held().await, 0, "its spot is released");

    // An unknown vehicle let out offline owes the lost-ticket price.
    let lost = json!({"event_id": "off-out-2", "plate": {"text": "GHOST1", "confidence": 0.9}, "offline": {"at": at(5)}});
    let d = lane.event(OUT, lost).await.1;
    assert_eq!(reason(&d), ("open", "lost_ticket"));
    assert_eq!(d["amount_due"]["minor"], 6000);

    // The lane's clock or ticket cannot be anything.
    let future =
        json!({"event_id": "off-in-2", "offline": {"at": (now + SignedDuration::from_hours(1)).to_string()}});
    assert_eq!(lane.event(IN, future).await.0, 422);
    let bad = json!({"event_id": "off-in-3", "offline": {"at": at(1), "ticket": "no spaces!"}});
    assert_eq!(lane.event(IN, bad).await.0, 422);
    lane.close().await;
}

/// Two instances on one PostgreSQL: a permit issued through one opens the other's gate, and once its
/// revocation is acknowledged by the first, the second stops honouring it within the propagation delay
/// (here: before the next gate event after the other instance has heard, at most 5 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permit_revoked_on_one_instance_opens_no_gate_on_another() {
    let Some(db) = TestDb::new(Backend::Postgres).await else { return };
    let one = TestServer::start(&db.config()).await;
    let other = parkline_server::start_with_clock(&db.config(), one.clock.clone()).await.unwrap();
    let kiosk = one.device_token(DeviceKind::Kiosk).await;
    let manager = one.login(Role::Manager).await.access_token;
    let heard = async |holds: bool| {
        for _ in 0..100 {
            if other.app.permits.read().get("acme-x").is_some() == holds {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        false
    };
    let at_other = async |gate: &str, id: &str| {
        let body = json!({"event_id": id, "plate": {"text": "PRX 001", "confidence": 0.95}});
        let r = one.http.post(format!("{}/v1/gates/{gate}/events", other.url())).bearer_auth(&kiosk);
        let (status, d) = common::split(r.json(&body).send().await.unwrap()).await;
        assert_eq!(status, 200, "{d}");
        d
    };
    let permit = json!({"id": "acme-x", "holder": "Acme Corp", "kind": "monthly", "plates": ["PRX 001"],
        "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2036-01-01T00:00:00Z"});
    let (status, body) = one.post_as(Some(&manager), "/v1/permits", &permit).await;
    assert_eq!(status, 201, "{body}");
    assert!(heard(true).await, "the permit reached the other instance");
    at_other(IN, "x-in-1").await;
    one.clock.advance(SignedDuration::from_hours(2));
    assert_eq!(reason(&at_other(OUT, "x-out-1").await), ("open", "permit_holder"));

    let revoked = one.http.delete(one.url("/v1/permits/acme-x")).bearer_auth(&manager).send().await.unwrap();
    assert_eq!(revoked.status(), 204);
    assert!(heard(false).await, "the revocation reached the other instance");
    at_other(IN, "x-in-2").await;
    one.clock.advance(SignedDuration::from_hours(2));
    assert_eq!(
        reason(&at_other(OUT, "x-out-2").await),
        ("deny", "payment_required"),
        "no longer a permit holder"
    );
    other.stop().await;
    one.stop().await;
    db.cleanup().await;
}

on_both_backends!(
    walk_in_parks_pays_and_leaves,
    retried_events_get_the_same_decision_and_one_session,
    a_full_facility_turns_vehicles_away,
    exits_tolerate_ocr_confusions_but_never_guess,
    lost_tickets_pay_the_flat_price,
    concurrent_entries_never_share_a_spot,
    sessions_survive_a_restart,
    permit_holders_come_and_go_free_within_their_pool,
    expired_permits_and_other_facilities_pay,
    reserved_vehicles_check_in_to_their_spot_and_no_shows_release_it,
    concurrent_bookings_of_one_spot_have_one_winner,
    a_retried_booking_returns_the_first_attempts_reservations,
    attendants_override_with_a_reason_and_it_is_recorded,
    staff_see_who_is_inside_and_who_overstays,
    offline_passages_are_recorded_as_the_lane_decided,
);

#[tokio::test]
async fn reservations_follow_the_booking_rules() {
    let lane = Lane::open(Backend::Sqlite).await.unwrap();
    let base = |from: i64, len: i64| {
        let (start, end) = window(&lane, from, len);
        json!({"facility": LOT, "plate": "RUL001", "vehicle_class": "sedan", "start": start, "end": end})
    };
    let code = |r: (u16, Value)| (r.0, r.1["code"].as_str().map(str::to_owned));
    assert_eq!(
        code(book(&lane, base(-120, 60)).await),
        (422, Some("validation_failed".into())),
        "in the past"
    );
    assert_eq!(
        code(book(&lane, base(31 * 24 * 60, 60)).await),
        (422, Some("validation_failed".into())),
        "too far"
    );
    assert_eq!(code(book(&lane, base(60, 0)).await), (422, Some("validation_failed".into())), "empty window");
    let mut junk = base(60, 60);
    junk["plate"] = json!("$$$");
    assert_eq!(code(book(&lane, junk).await).0, 422);
    let mut nowhere = base(60, 60);
    nowhere["spot"] = json!("ZZ-999");
    assert_eq!(code(book(&lane, nowhere).await), (404, Some("unknown_spot".into())));

    // A group books distinct spots together.
    let mut group = base(120, 60);
    group["count"] = json!(3);
    let (status, booked) = book(&lane, group).await;
    assert_eq!(status, 201, "{booked}");
    let spots: HashSet<&str> =
        booked.as_array().unwrap().iter().map(|r| r["spot"].as_str().unwrap()).collect();
    assert_eq!(spots.len(), 3);
    assert!(booked.as_array().unwrap().iter().all(|r| r["group"] == booked[0]["group"]));

    // Cancelling early is free; a second cancel is refused; another driver cannot see it.
    let id = booked[0]["id"].as_str().unwrap();
    let driver = lane.s.login(Role::Driver).await.access_token;
    let cancel =
        || lane.s.http.delete(lane.s.url(&format!("/v1/reservations/{id}"))).bearer_auth(&driver).send();
    let (status, r) = common::split(cancel().await.unwrap()).await;
    assert_eq!((status, r["status"].as_str(), r["fee_minor"].as_i64()), (200, Some("cancelled"), Some(0)));
    assert_eq!(common::split(cancel().await.unwrap()).await.0, 409);
    let admin = lane.s.login(Role::Admin).await.access_token;
    let (_, other) = lane
        .s
        .post_as(
            Some(&admin),
            "/v1/admin/users",
            &json!({"email": "other@demo.parkline", "password": "other-driver-pw", "role": "driver"}),
        )
        .await;
    assert!(other.is_number(), "{other}");
    let (_, tokens) = lane
        .s
        .post_as(
            None,
            "/v1/auth/login",
            &json!({"email": "other@demo.parkline", "password": "other-driver-pw"}),
        )
        .await;
    let stranger = tokens["access_token"].as_str().unwrap();
    assert_eq!(lane.s.get_as(stranger, &format!("/v1/reservations/{id}")).await.0, 404);
    lane.close().await;
}

#[tokio::test]
async fn bad_gate_events_get_clear_errors() {
    let lane = Lane::open(Backend::Sqlite).await.unwrap();
    let cases = [
        ("/v1/gates/nowhere/events", json!({"event_id": "x"}), 404, "unknown_gate"),
        (
            "/v1/gates/waterfront-in-1/events",
            json!({"event_id": "x", "plate": {"text": "AB$%12", "confidence": 0.9}}),
            422,
            "validation_failed",
        ),
        ("/v1/gates/waterfront-in-1/events", json!({"event_id": ""}), 422, "validation_failed"),
        (
            "/v1/gates/waterfront-in-1/events",
            json!({"plate": {"text": "ABC123", "confidence": 0.9}}),
            400,
            "malformed_request",
        ),
        (
            "/v1/gates/waterfront-in-1/events",
            json!({"event_id": "x", "plate": {"text": "ABC123", "confidence": 3.0}}),
            422,
            "validation_failed",
        ),
        (
            "/v1/gates/waterfront-out-1/events",
            json!({"event_id": "x", "paid_at_gate": -5}),
            422,
            "validation_failed",
        ),
    ];
    for (path, body, status, code) in cases {
        let (got, b) = lane.s.post_as(Some(&lane.kiosk), path, &body).await;
        assert_eq!((got, b["code"].as_str()), (status, Some(code)), "{path} {body}: {b}");
    }
    // Sensor gateways and drivers do not run gates; a kiosk of another facility may not either.
    let driver = lane.s.login(Role::Driver).await.access_token;
    let body = json!({"event_id": "y"});
    assert_eq!(lane.s.post_as(Some(&driver), "/v1/gates/waterfront-in-1/events", &body).await.0, 403);
    assert_eq!(
        lane.s.post_as(Some(&lane.s.sensors.clone()), "/v1/gates/waterfront-in-1/events", &body).await.0,
        403
    );
    let admin = lane.s.login(Role::Admin).await.access_token;
    let (_, other) = lane
        .s
        .post_as(
            Some(&admin),
            "/v1/admin/devices",
            &json!({"name": "k", "kind": "kiosk", "facility": "pike-place-garage"}),
        )
        .await;
    // Another facility's gate is, to this kiosk, no gate at all.
    let (status, b) =
        lane.s.post_as(other["token"].as_str(), "/v1/gates/waterfront-in-1/events", &body).await;
    assert_eq!((status, b["code"].as_str()), (404, Some("unknown_gate")));
    assert_eq!(lane.held().await, 0, "nothing was admitted");
    lane.close().await;
}
