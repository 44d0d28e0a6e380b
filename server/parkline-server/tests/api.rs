//! The HTTP API end to end: a real server on loopback, the demo city, a real client.

#[macro_use]
mod common;

use common::{Backend, TestDb, TestServer};
use jiff::{SignedDuration, Timestamp};
use parkline_protocol::Role;
use parkline_server::http::route_table;
use serde_json::{Value, json};

const LOT: &str = "waterfront-lot";

fn reading(spot: &str, occupied: bool, confidence: f64, at: Timestamp) -> Value {
    json!({"facility": LOT, "spot": spot, "occupied": occupied, "confidence": confidence,
           "kind": "magnetic", "observed_at": at.to_string()})
}

async fn post_readings(s: &TestServer, readings: Vec<Value>) -> (u16, Value) {
    s.post_as(Some(&s.sensors.clone()), "/v1/sensors/events", &json!({ "readings": readings })).await
}

fn counts(availability: &Value) -> (u64, u64, u64) {
    let c = &availability["counts"];
    (c["free"].as_u64().unwrap(), c["occupied"].as_u64().unwrap(), c["out_of_service"].as_u64().unwrap())
}

/// Floors and zones add up to the facility totals.
fn assert_consistent(a: &Value) {
    let total = counts(a);
    let capacity = a["counts"]["capacity"].as_u64().unwrap();
    assert_eq!(total.0 + total.1 + total.2, capacity);
    let mut floors = (0, 0, 0);
    for floor in a["floors"].as_array().unwrap() {
        let f = counts(floor);
        floors = (floors.0 + f.0, floors.1 + f.1, floors.2 + f.2);
        let mut zones = (0, 0, 0);
        for zone in floor["zones"].as_array().unwrap() {
            let z = counts(zone);
            zones = (zones.0 + z.0, zones.1 + z.1, zones.2 + z.2);
        }
        assert_eq!(zones, f, "zones of level {} add up", floor["level"]);
    }
    assert_eq!(floors, total);
}

async fn history_len(s: &TestServer) -> usize {
    s.server.app.store.history(LOT, Timestamp::UNIX_EPOCH, 100_000).await.unwrap().len()
}

// ----- sensor readings, on both backends ---------------------------------------------------------------

async fn sensor_rules_apply_end_to_end(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let s = TestServer::start(&db.config()).await;
    let start = counts(&s.availability(LOT).await);
    let t0 = Timestamp::now() - SignedDuration::from_secs(10);

    // A confident reading occupies the spot; a weak one for another spot is ignored.
    let (status, report) =
        post_readings(&s, vec![reading("GA-001", true, 0.95, t0), reading("GA-002", true, 0.5, t0)]).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["outcomes"], json!(["changed", "low_confidence"]));
    let after = s.availability(LOT).await;
    assert_eq!(counts(&after), (start.0 - 1, start.1 + 1, start.2));
    assert_consistent(&after);
    assert!(after["freshness"]["last_change_at"].is_string());

    // Resent and out-of-order readings change nothing.
    let (_, report) = post_readings(
        &s,
        vec![
            reading("GA-001", true, 0.95, t0),
            reading("GA-001", false, 0.95, t0 - SignedDuration::from_secs(5)),
        ],
    )
    .await;
    assert_eq!(report["outcomes"], json!(["duplicate", "out_of_order"]));
    assert_eq!(counts(&s.availability(LOT).await), counts(&after));

    // A flap back within the debounce window is held, then applied once the spot stays put.
    let (_, report) =
        post_readings(&s, vec![reading("GA-001", false, 0.95, t0 + SignedDuration::from_millis(100))]).await;
    assert_eq!(report["outcomes"], json!(["held"]));
    let mut settled = false;
    for _ in 0..40 {
        if counts(&s.availability(LOT).await) == start {
            settled = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(settled, "held change applied after the debounce window");

    // Every applied change is in the history, in order, with its source.
    let history = s.server.app.store.history(LOT, t0 - SignedDuration::from_secs(60), 100).await.unwrap();
    let trail: Vec<(&str, &str, &str)> =
        history.iter().map(|h| (h.spot.as_str(), h.state, h.source)).collect();
    assert_eq!(trail, [("GA-001", "occupied", "magnetic"), ("GA-001", "free", "debounce")]);

    s.stop().await;
    db.cleanup().await;
}

async fn state_survives_a_restart(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let config = db.config();
    let s = TestServer::start(&config).await;
    let t0 = Timestamp::now() - SignedDuration::from_secs(30);
    let spots = ["GA-003", "GA-004", "GB-001", "GC-010"];
    let (status, _) =
        post_readings(&s, spots.iter().map(|spot| reading(spot, true, 0.99, t0)).collect()).await;
    assert_eq!(status, 200);
    let (status, _) = s
        .http
        .put(s.url(&format!("/v1/facilities/{LOT}/spots/GE-005/service")))
        .bearer_auth(s.login(Role::Attendant).await.access_token)
        .json(&json!({"out_of_service": true}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 204);
    let before = s.availability(LOT).await;
    s.stop().await;

    let s = TestServer::start(&config).await;
    let after = s.availability(LOT).await;
    assert_eq!(after["counts"], before["counts"]);
    assert_eq!(after["floors"], before["floors"]);
    // The restarted server still knows the last reading of each spot: a resend is a duplicate.
    let (_, report) = post_readings(&s, vec![reading("GA-003", true, 0.99, t0)]).await;
    assert_eq!(report["outcomes"], json!(["duplicate"]));
    s.stop().await;
    db.cleanup().await;
}

on_both_backends!(sensor_rules_apply_end_to_end, state_survives_a_restart);

#[tokio::test]
async fn silent_sensors_are_shown_as_stale_until_they_report_again() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let s = TestServer::start(&db.config()).await;
    let stale = async || s.availability(LOT).await["freshness"]["stale_sensors"].as_u64().unwrap();
    post_readings(&s, vec![reading("GA-001", true, 0.95, s.server.app.now())]).await;
    post_readings(&s, vec![reading("GA-002", false, 0.95, s.server.app.now())]).await;
    assert_eq!(stale().await, 0);
    s.clock.advance(SignedDuration::from_secs(61));
    assert_eq!(stale().await, 2);
    // A heartbeat (the same state again) is enough.
    post_readings(&s, vec![reading("GA-002", false, 0.95, s.server.app.now())]).await;
    assert_eq!(stale().await, 1);
    s.stop().await;
}

// ----- queries -----------------------------------------------------------------------------------------

async fn sqlite_server() -> (TestDb, TestServer) {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let s = TestServer::start(&db.config()).await;
    (db, s)
}

#[tokio::test]
async fn nearby_search_lists_facilities_nearest_first_with_live_counts() {
    let (_db, s) = sqlite_server().await;
    let (status, page) = s.get("/v1/facilities?lat=47.6062&lon=-122.3321&radius_m=3000").await;
    assert_eq!(status, 200, "{page}");
    let list = page["facilities"].as_array().unwrap();
    assert_eq!(list.len(), 5);
    let distances: Vec<f64> = list.iter().map(|f| f["distance_m"].as_f64().unwrap()).collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    assert!(distances.iter().all(|d| *d > 0.0 && *d <= 3000.0));
    let lot = list.iter().find(|f| f["id"] == LOT).unwrap();
    assert_eq!(lot["counts"]["capacity"], 188);
    assert_eq!(lot["free_by_class"]["suv"], json!(30));

    // Only what lies inside the radius; nothing far away.
    let (_, near) = s.get("/v1/facilities?lat=47.6062&lon=-122.3321&radius_m=600").await;
    let ids: Vec<&str> =
        near["facilities"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [LOT]);
    let (_, far) = s.get("/v1/facilities?lat=40.7128&lon=-74.0060&radius_m=50000").await;
    assert_eq!(far["facilities"], json!([]));

    // Counts follow the sensors.
    let (_, before) = s.get("/v1/facilities?lat=47.6062&lon=-122.3321&radius_m=600").await;
    post_readings(&s, vec![reading("GA-001", true, 0.9, Timestamp::now())]).await;
    let (_, after) = s.get("/v1/facilities?lat=47.6062&lon=-122.3321&radius_m=600").await;
    let free = |v: &Value| v["facilities"][0]["counts"]["free"].as_u64().unwrap();
    assert_eq!(free(&after), free(&before) - 1);
    s.stop().await;
}

#[tokio::test]
async fn facility_pages_cover_every_facility_once() {
    let (_db, s) = sqlite_server().await;
    let mut seen = Vec::new();
    let mut path = "/v1/facilities?limit=2".to_owned();
    loop {
        let (status, page) = s.get(&path).await;
        assert_eq!(status, 200, "{page}");
        let batch = page["facilities"].as_array().unwrap();
        assert!(batch.len() <= 2);
        seen.extend(batch.iter().map(|f| f["id"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(next) => path = format!("/v1/facilities?limit=2&after={next}"),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 5);
    s.stop().await;
}

#[tokio::test]
async fn best_spots_fit_the_vehicle_and_skip_taken_spots() {
    let (_db, s) = sqlite_server().await;
    let path = format!("/v1/facilities/{LOT}/best-spots?vehicle_class=sedan&n=3");
    let (status, best) = s.get(&path).await;
    assert_eq!(status, 200, "{best}");
    let spots = best["spots"].as_array().unwrap();
    assert_eq!(spots.len(), 3);
    for spot in spots {
        assert!(["sedan", "suv"].contains(&spot["size"].as_str().unwrap()), "{spot}");
        assert_eq!(spot["features"].as_array().unwrap().len(), 0, "no charger or accessible spot: {spot}");
    }
    let first = spots[0]["code"].as_str().unwrap().to_owned();
    post_readings(&s, vec![reading(&first, true, 0.99, Timestamp::now())]).await;
    let (_, again) = s.get(&path).await;
    assert!(again["spots"].as_array().unwrap().iter().all(|sp| sp["code"] != first.as_str()));
    assert_eq!(again["spots"][0]["code"], spots[1]["code"]);

    let (_, ev) = s
        .get(&format!("/v1/facilities/{LOT}/best-spots?vehicle_class=sedan&electric=true&charging=require"))
        .await;
    let ev = ev["spots"].as_array().unwrap();
    assert!(!ev.is_empty());
    assert!(ev.iter().all(|sp| sp["features"].as_array().unwrap().contains(&json!("ev_charger"))));
    s.stop().await;
}

#[tokio::test]
async fn layouts_import_through_the_admin_api() {
    let (_db, s) = sqlite_server().await;
    let mut layout: Value = serde_json::to_value(
        parkline_server::facilities::parse_layout(parkline_server::demo::LAYOUTS[4].1, false).unwrap(),
    )
    .unwrap();
    layout["id"] = json!("harbor-annex");
    layout["location"] = json!({"lat": 47.61, "lon": -122.35});
    let manager = s.login(Role::Manager).await.access_token;
    let driver = s.login(Role::Driver).await.access_token;

    let (status, body) = s.post_as(Some(&driver), "/v1/facilities", &layout).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    // Gate ids are global: a copy that reuses the waterfront's gates is refused.
    let (status, body) = s.post_as(Some(&manager), "/v1/facilities", &layout).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("conflict")), "{body}");
    layout["gates"][0]["id"] = json!("annex-in-1");
    layout["gates"][1]["id"] = json!("annex-out-1");
    let (status, body) = s.post_as(Some(&manager), "/v1/facilities", &layout).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = s.post_as(Some(&manager), "/v1/facilities", &layout).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("conflict")));
    let (_, list) = s.get("/v1/facilities").await;
    assert!(list["facilities"].as_array().unwrap().iter().any(|f| f["id"] == "harbor-annex"));

    let mut bad = layout.clone();
    bad["id"] = json!("bad-zone");
    bad["time_zone"] = json!("Mars/Olympus_Mons");
    let (status, body) = s.post_as(Some(&manager), "/v1/facilities", &bad).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{body}");
    bad["time_zone"] = json!("UTC");
    bad["floors"] = json!([]);
    let (status, body) = s.post_as(Some(&manager), "/v1/facilities", &bad).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{body}");
    s.stop().await;
}

#[tokio::test]
async fn quotes_itemise_a_planned_stay_at_the_facility_rates() {
    let (_db, s) = sqlite_server().await;
    let (status, rates) = s.get(&format!("/v1/facilities/{LOT}/rates")).await;
    assert_eq!((status, rates["currency"].as_str()), (200, Some("USD")), "{rates}");

    // Wednesday 2 December 2026 in Seattle: 08:00-10:00 morning rush at x1.5, then 10:00-11:00 standard.
    let quote_path = |class: &str| {
        format!(
            "/v1/facilities/{LOT}/quote?vehicle_class={class}&from=2026-12-02T08:00:00-08:00&to=2026-12-02T11:00:00-08:00"
        )
    };
    let (status, quote) = s.get(&quote_path("sedan")).await;
    assert_eq!(status, 200, "{quote}");
    let amounts: Vec<i64> =
        quote["lines"].as_array().unwrap().iter().map(|l| l["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts, [2 * 675, 450]);
    assert_eq!(quote["lines"][0]["rate"], "morning rush");
    assert_eq!(quote["total"], json!({"minor": 1800, "currency": "USD"}));

    // A manager raises the sedan rate; quotes follow. Drivers may not, and bad plans are refused.
    let manager = s.login(Role::Manager).await.access_token;
    let driver = s.login(Role::Driver).await.access_token;
    let mut raised = rates.clone();
    raised["hourly"]["sedan"] = json!(500);
    let put = |token: String, body: Value| {
        let req = s.http.put(s.url(&format!("/v1/facilities/{LOT}/rates"))).bearer_auth(token).json(&body);
        async move { common::split(req.send().await.unwrap()).await }
    };
    assert_eq!(put(driver, raised.clone()).await.0, 403);
    assert_eq!(put(manager.clone(), raised.clone()).await.0, 204);
    assert_eq!(s.get(&quote_path("sedan")).await.1["total"]["minor"], 2 * 750 + 500);
    let mut bad = raised.clone();
    bad["minimum_charge"] = json!(1_000_000);
    assert_eq!(put(manager.clone(), bad).await.1["code"], "validation_failed");
    let mut euros = raised.clone();
    euros["currency"] = json!("EUR");
    assert_eq!(put(manager.clone(), euros).await.1["code"], "validation_failed");

    let backwards = format!(
        "/v1/facilities/{LOT}/quote?vehicle_class=sedan&from=2026-12-02T11:00:00-08:00&to=2026-12-02T08:00:00-08:00"
    );
    assert_eq!(s.get(&backwards).await.1["code"], "validation_failed");
    assert_eq!(
        s.get(&format!("/v1/facilities/{LOT}/quote?vehicle_class=sedan")).await.1["code"],
        "malformed_request"
    );
    let elsewhere = quote_path("sedan").replace(LOT, "atlantis");
    assert_eq!(s.get(&elsewhere).await.1["code"], "unknown_facility");
    s.stop().await;
}

// ----- identity ----------------------------------------------------------------------------------------

#[tokio::test]
async fn login_refresh_and_me() {
    let (_db, s) = sqlite_server().await;
    let wrong = json!({"email": "manager@demo.parkline", "password": "not-the-password"});
    let (status, body) = s.post_as(None, "/v1/auth/login", &wrong).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("invalid_credentials")));
    let unknown = json!({"email": "nobody@demo.parkline", "password": "parkline-demo"});
    let (status, body) = s.post_as(None, "/v1/auth/login", &unknown).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("invalid_credentials")));

    let tokens = s.login(Role::Manager).await;
    assert_eq!(tokens.token_type, "Bearer");
    let (status, me) = s.get_as(&tokens.access_token, "/v1/me").await;
    assert_eq!(status, 200);
    assert_eq!((me["email"].as_str(), me["role"].as_str()), (Some("manager@demo.parkline"), Some("manager")));

    let refresh = json!({"refresh_token": tokens.refresh_token});
    let (status, renewed) = s.post_as(None, "/v1/auth/refresh", &refresh).await;
    assert_eq!(status, 200, "{renewed}");
    let (status, _) = s.get_as(renewed["access_token"].as_str().unwrap(), "/v1/me").await;
    assert_eq!(status, 200);
    let (status, body) = s.post_as(None, "/v1/auth/refresh", &refresh).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthenticated")), "a refresh token works once");
    s.stop().await;
}

#[tokio::test]
async fn rate_limits_apply_per_client_and_per_api_key() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let mut settings = db.settings();
    settings.public_rate_per_minute = Some(5);
    let s = TestServer::start(&settings.resolve().unwrap()).await;
    // Signing in is an anonymous request too, and counts against the address's quota.
    let admin = s.login(Role::Admin).await.access_token;
    let (_, key) = s
        .post_as(
            Some(&admin),
            "/v1/admin/api-keys",
            &json!({"name": "p", "requests_per_minute": 3, "operator": "seattle-city"}),
        )
        .await;
    let key = key["token"].as_str().unwrap();
    for _ in 0..4 {
        assert_eq!(s.get("/v1/facilities").await.0, 200);
    }
    let r = s.http.get(s.url("/v1/facilities")).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=13).contains(&retry), "retry after {retry} s");
    let (_, body) = common::split(r).await;
    assert_eq!(body["code"], "rate_limited");

    // An API key has its own quota, independent of the address it calls from.
    for _ in 0..3 {
        assert_eq!(s.get_as(key, "/v1/facilities").await.0, 200);
    }
    assert_eq!(s.get_as(key, "/v1/facilities").await.0, 429);
    // Signed-in people are limited per person, not per address (unlimited in this configuration).
    assert_eq!(s.get_as(&admin, "/v1/facilities").await.0, 200);
    s.stop().await;
}

/// (what, token, content type, body, expected status, expected code)
type BadRequest<'a> = (&'a str, Option<&'a str>, &'a str, String, u16, &'a str);

// ----- bad input ---------------------------------------------------------------------------------------

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let (_db, s) = sqlite_server().await;
    let now = Timestamp::now();
    let before = s.availability(LOT).await;
    let history_before = history_len(&s).await;
    let sensors = s.sensors.clone();
    let driver = s.login(Role::Driver).await.access_token;
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": 1, "role": "admin", "iat": now.as_second() - 100, "exp": now.as_second() - 10}),
        &jsonwebtoken::EncodingKey::from_secret(common::JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let ok = reading("GA-001", true, 0.99, now);
    let batch = |readings: Vec<Value>| json!({ "readings": readings }).to_string();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut r = ok.clone();
        f(&mut r);
        batch(vec![r])
    };
    let too_many = batch((0..1001).map(|_| ok.clone()).collect());
    let huge = format!("{{\"readings\": [], \"pad\": \"{}\"}}", "x".repeat(2 << 20));

    let cases: Vec<BadRequest> = vec![
        (
            "malformed JSON",
            Some(&sensors),
            "application/json",
            "{\"readings\": [".into(),
            400,
            "malformed_request",
        ),
        (
            "wrong content type",
            Some(&sensors),
            "text/plain",
            batch(vec![ok.clone()]),
            415,
            "unsupported_media_type",
        ),
        (
            "missing field",
            Some(&sensors),
            "application/json",
            with(&|r| {
                r.as_object_mut().unwrap().remove("occupied");
            }),
            400,
            "malformed_request",
        ),
        (
            "unknown field",
            Some(&sensors),
            "application/json",
            with(&|r| r["colour"] = json!("red")),
            400,
            "malformed_request",
        ),
        (
            "unknown facility",
            Some(&sensors),
            "application/json",
            with(&|r| r["facility"] = json!("atlantis")),
            404,
            "unknown_facility",
        ),
        (
            "unknown spot",
            Some(&sensors),
            "application/json",
            with(&|r| r["spot"] = json!("ZZ-999")),
            404,
            "unknown_spot",
        ),
        (
            "unknown sensor",
            Some(&sensors),
            "application/json",
            with(&|r| r["sensor"] = json!("S-404")),
            404,
            "unknown_sensor",
        ),
        (
            "another spot's sensor",
            Some(&sensors),
            "application/json",
            with(&|r| r["sensor"] = json!("GA-002")),
            404,
            "unknown_sensor",
        ),
        (
            "confidence above 1",
            Some(&sensors),
            "application/json",
            with(&|r| r["confidence"] = json!(1.5)),
            422,
            "validation_failed",
        ),
        (
            "negative confidence",
            Some(&sensors),
            "application/json",
            with(&|r| r["confidence"] = json!(-0.2)),
            422,
            "validation_failed",
        ),
        (
            "timestamp in the future",
            Some(&sensors),
            "application/json",
            with(&|r| r["observed_at"] = json!((now + SignedDuration::from_hours(1)).to_string())),
            422,
            "validation_failed",
        ),
        (
            "timestamp at the epoch (a gateway whose clock was never set)",
            Some(&sensors),
            "application/json",
            with(&|r| r["observed_at"] = json!("1970-01-01T00:00:00Z")),
            422,
            "validation_failed",
        ),
        (
            "timestamp in year 1",
            Some(&sensors),
            "application/json",
            with(&|r| r["observed_at"] = json!("0001-01-01T00:00:00Z")),
            422,
            "validation_failed",
        ),
        (
            "timestamp two hours old",
            Some(&sensors),
            "application/json",
            with(&|r| r["observed_at"] = json!((now - SignedDuration::from_hours(2)).to_string())),
            422,
            "validation_failed",
        ),
        (
            "not a timestamp",
            Some(&sensors),
            "application/json",
            with(&|r| r["observed_at"] = json!("yesterday")),
            400,
            "malformed_request",
        ),
        ("empty batch", Some(&sensors), "application/json", batch(vec![]), 422, "validation_failed"),
        ("batch over the limit", Some(&sensors), "application/json", too_many, 413, "payload_too_large"),
        ("body over the limit", Some(&sensors), "application/json", huge, 413, "payload_too_large"),
        (
            "one bad reading in a good batch",
            Some(&sensors),
            "application/json",
            batch(vec![ok.clone(), reading("GA-002", true, 7.0, now)]),
            422,
            "validation_failed",
        ),
        ("no token", None, "application/json", batch(vec![ok.clone()]), 401, "unauthenticated"),
        (
            "garbage token",
            Some("garbage"),
            "application/json",
            batch(vec![ok.clone()]),
            401,
            "unauthenticated",
        ),
        (
            "revoked-looking device token",
            Some("pld_0000"),
            "application/json",
            batch(vec![ok.clone()]),
            401,
            "unauthenticated",
        ),
        ("expired token", Some(&expired), "application/json", batch(vec![ok.clone()]), 401, "token_expired"),
        (
            "a driver posting readings",
            Some(&driver),
            "application/json",
            batch(vec![ok.clone()]),
            403,
            "forbidden",
        ),
    ];
    for (what, token, content_type, body, status, code) in cases {
        let mut req =
            s.http.post(s.url("/v1/sensors/events")).header("content-type", content_type).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let (got, body) = common::split(req.send().await.unwrap()).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{what}: {body}");
        assert!(!body["message"].as_str().unwrap_or_default().is_empty(), "{what} explains itself");
    }

    let queries = [
        ("/v1/facilities?lat=100&lon=0&radius_m=10", 422, "validation_failed"),
        ("/v1/facilities?lat=47.6&radius_m=10", 422, "validation_failed"),
        ("/v1/facilities?lat=47.6&lon=-122.3&radius_m=-5", 422, "validation_failed"),
        ("/v1/facilities?limit=0", 422, "validation_failed"),
        ("/v1/facilities?limit=many", 400, "malformed_request"),
        ("/v1/facilities?shape=round", 400, "malformed_request"),
        ("/v1/facilities/atlantis/availability", 404, "unknown_facility"),
        ("/v1/facilities/waterfront-lot/best-spots?vehicle_class=truck", 400, "malformed_request"),
        ("/v1/facilities/waterfront-lot/best-spots?vehicle_class=sedan&n=500", 422, "validation_failed"),
        (
            "/v1/facilities/waterfront-lot/best-spots?vehicle_class=sedan&charging=require",
            422,
            "validation_failed",
        ),
        ("/v1/no/such/route", 404, "not_found"),
    ];
    for (path, status, code) in queries {
        let (got, body) = s.get(path).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{path}: {body}");
    }

    // Nothing changed, and the server is still up.
    assert_eq!(s.availability(LOT).await["counts"], before["counts"]);
    assert_eq!(history_len(&s).await, history_before);
    assert_eq!(s.get("/healthz").await.0, 200);
    assert_eq!(s.get("/readyz").await.0, 200);
    s.stop().await;
}

// ----- operations --------------------------------------------------------------------------------------

#[tokio::test]
async fn openapi_documents_every_route_and_metrics_count_requests() {
    let (_db, s) = sqlite_server().await;
    let (status, doc) = s.get("/openapi.json").await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    for route in route_table() {
        let documented = paths.get(route.path).and_then(|p| p.get(route.method.to_lowercase()));
        assert!(documented.is_some(), "{} {} is in the OpenAPI document", route.method, route.path);
    }
    assert_eq!(paths.values().map(|p| p.as_object().unwrap().len()).sum::<usize>(), route_table().len());

    s.get(&format!("/v1/facilities/{LOT}/availability")).await;
    let text = s.http.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("parkline_http_requests_total")
            && l.contains("route=\"/v1/facilities/{id}/availability\"")),
        "{text}"
    );
    s.stop().await;
}
