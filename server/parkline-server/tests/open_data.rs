//! Open data over real HTTP: an operator's DATEX II 3 table and status and its ParkAPI JSON are read
//! by `parkapi-sources` (PyPI; `tests/run` installs it and names its Python in
//! `PARKLINE_PARKAPI_PYTHON`), which must find the same facilities, capacities and free counts as
//! `/v1/facilities`; the answers are cacheable (ETag, Last-Modified, 304) and change when counts do.

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{Backend, TestDb, TestServer};
use parkline_protocol::Role;
use serde_json::{Value, json};

const OPERATOR: &str = "aachen-parken";

/// A German garage: two levels, or two basements.
fn layout(id: &str, name: &str, lat: f64, lon: f64, levels: [i16; 2]) -> Value {
    let floor = |level: i16| {
        json!({"level": level, "zones": [{"code": "A", "rows": [
            {"count": 2, "size": "sedan", "origin": [0.0, 0.0], "step": [3.6, 0.0], "features": ["accessible"]},
            {"count": 3, "size": "sedan", "origin": [8.0, 0.0], "step": [2.6, 0.0], "features": ["ev_charger"]},
            {"count": 10, "size": "sedan", "origin": [20.0, 0.0], "step": [2.6, 0.0]},
        ]}]})
    };
    json!({"id": id, "name": name, "address": "Aachen", "location": {"lat": lat, "lon": lon},
        "time_zone": "Europe/Berlin", "currency": "EUR", "country": "DE", "language": "de",
        "floors": [floor(levels[0]), floor(levels[1])]})
}

async fn admin(s: &TestServer) -> String {
    s.login(Role::Admin).await.access_token
}

/// The operator's facilities as `/v1/facilities` shows them: id -> (capacity, free).
async fn listed(s: &TestServer) -> BTreeMap<String, (u64, u64)> {
    let (status, page) = s.get("/v1/facilities?limit=200").await;
    assert_eq!(status, 200, "{page}");
    page["facilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["operator"] == OPERATOR)
        .map(|f| {
            let c = &f["counts"];
            (
                f["id"].as_str().unwrap().to_owned(),
                (c["capacity"].as_u64().unwrap(), c["free"].as_u64().unwrap()),
            )
        })
        .collect()
}

/// GET with optional request headers; (status, headers, body).
async fn fetch(
    s: &TestServer,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = s.http.get(s.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.headers().clone(), resp.text().await.unwrap())
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers.get(name).unwrap_or_else(|| panic!("no {name}")).to_str().unwrap()
}

/// parkapi-sources' reading of the three feeds, or `None` (loudly) where it is not installed and the
/// run does not require it.
fn read_with_parkapi_sources(documents: [&str; 5]) -> Option<Value> {
    let Some(python) = std::env::var_os("PARKLINE_PARKAPI_PYTHON") else {
        let msg = "PARKLINE_PARKAPI_PYTHON is not set: the feeds are not checked by parkapi-sources \
                   (tests/run installs it)";
        assert!(std::env::var_os("PARKLINE_REQUIRE_SERVICES").is_none(), "{msg}");
        eprintln!("\n!!! SKIPPED: {msg}\n");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    let names = ["table.xml", "status.xml", "parkapi.json", "table-2.3.xml", "status-2.3.xml"];
    for (name, body) in names.into_iter().zip(documents) {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        paths.push(path);
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/open_data/read_with_parkapi_sources.py");
    let out = Command::new(python).arg(script).args(&paths).output().unwrap();
    assert!(out.status.success(), "parkapi-sources failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// What parkapi-sources found, by uid: (capacity, free) read from `static` and `realtime` lists.
fn found(read: &Value, statics: &str, realtimes: &str) -> BTreeMap<String, (u64, u64)> {
    let realtime: BTreeMap<&str, &Value> =
        read[realtimes].as_array().unwrap().iter().map(|r| (r["uid"].as_str().unwrap(), r)).collect();
    read[statics]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let uid = s["uid"].as_str().unwrap();
            let free = realtime.get(uid).map_or(u64::MAX, |r| r["realtime_free_capacity"].as_u64().unwrap());
            (uid.to_owned(), (s["capacity"].as_u64().unwrap(), free))
        })
        .collect()
}

async fn feeds_read_by_parkapi_sources(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let s = TestServer::start(&db.config()).await;
    let admin = admin(&s).await;
    let (status, body) = s
        .post_as(
            Some(&admin),
            "/v1/admin/operators",
            &json!({"id": OPERATOR, "name": "Aachener Parkhaus GmbH"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    for l in [
        layout("parkhaus-am-dom", "Parkhaus am Dom", 50.7753, 6.0839, [0, 1]),
        layout("tiefgarage-theater", "Tiefgarage Theater", 50.7716, 6.0877, [-2, -1]),
    ] {
        let (status, body) =
            s.post_as(Some(&admin), &format!("/v1/facilities?operator={OPERATOR}"), &l).await;
        assert_eq!(status, 201, "{body}");
    }
    // Cars in three spots of the garage, one of them accessible.
    let device = json!({"name": "dom sensors", "kind": "sensor_gateway", "facility": "parkhaus-am-dom"});
    let (status, gateway) = s.post_as(Some(&admin), "/v1/admin/devices", &device).await;
    assert_eq!(status, 201, "{gateway}");
    let gateway = gateway["token"].as_str().unwrap().to_owned();
    let report = |spots: &[&str], ago_s: i64| {
        let at = (s.server.app.now() - jiff::SignedDuration::from_secs(ago_s)).to_string();
        let readings: Vec<Value> = spots
            .iter()
            .map(|spot| {
                json!({"facility": "parkhaus-am-dom", "spot": spot, "occupied": true, "confidence": 0.97,
                "kind": "magnetic", "observed_at": at})
            })
            .collect();
        json!({"readings": readings})
    };
    let (status, body) =
        s.post_as(Some(&gateway), "/v1/sensors/events", &report(&["GA-001", "GA-010", "1A-015"], 5)).await;
    assert_eq!(status, 200, "{body}");
    let reported = s.server.app.now() - jiff::SignedDuration::from_secs(5);
    // A minute later nothing has changed: the counts keep their age.
    s.clock.advance(jiff::SignedDuration::from_secs(60));

    let base = format!("/v1/open-data/{OPERATOR}");
    let (table_status, table_headers, table) = fetch(&s, &format!("{base}/datex2/parking-table"), &[]).await;
    let (status_status, status_headers, status_doc) =
        fetch(&s, &format!("{base}/datex2/parking-status"), &[]).await;
    let (parkapi_status, _, parkapi) = fetch(&s, &format!("{base}/parkapi"), &[]).await;
    let (_, _, table23) = fetch(&s, &format!("{base}/datex2/parking-table?version=2.3"), &[]).await;
    let (_, _, status23) = fetch(&s, &format!("{base}/datex2/parking-status?version=2.3"), &[]).await;
    assert!(table23.contains("<genericPublicationName>ParkingTablePublication<"), "{table23}");
    let (code, _, body) = fetch(&s, &format!("{base}/datex2/parking-status?version=4"), &[]).await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(
        (table_status, status_status, parkapi_status),
        (200, 200, 200),
        "{table}\n{status_doc}\n{parkapi}"
    );
    assert_eq!(header(&table_headers, "content-type"), "application/xml");
    assert!(table.contains("xsi:type=\"prk:ParkingTablePublication\""), "{table}");

    let expected = listed(&s).await;
    assert_eq!(expected.len(), 2);
    assert_eq!(expected["parkhaus-am-dom"], (30, 27), "three cars in thirty spaces");
    if let Some(read) = read_with_parkapi_sources([&table, &status_doc, &parkapi, &table23, &status23]) {
        assert_eq!(read["errors"], json!([]), "parkapi-sources refused part of the feeds");
        assert_eq!(found(&read, "datex2_static", "datex2_realtime"), expected, "{read:#}");
        assert_eq!(found(&read, "parkapi_static", "parkapi_realtime"), expected, "{read:#}");
        assert_eq!(found(&read, "datex23_static", "datex23_realtime"), expected, "{read:#}");
        let dom =
            read["datex2_static"].as_array().unwrap().iter().find(|s| s["uid"] == "parkhaus-am-dom").unwrap();
        assert_eq!((dom["name"].as_str(), dom["type"].as_str()), (Some("Parkhaus am Dom"), Some("CAR_PARK")));
        assert_eq!((dom["lat"].as_str(), dom["lon"].as_str()), (Some("50.7753"), Some("6.0839")));
        let theater =
            read["parkapi_static"].as_array().unwrap().iter().find(|s| s["uid"] == "tiefgarage-theater");
        assert_eq!(theater.unwrap()["type"], "UNDERGROUND");
        let dom_now =
            read["parkapi_realtime"].as_array().unwrap().iter().find(|s| s["uid"] == "parkhaus-am-dom");
        let dom_now = dom_now.unwrap();
        // Four accessible spaces, one taken; six with chargers, all free.
        assert_eq!(dom_now["realtime_free_capacity_disabled"], 3, "{dom_now}");
        assert_eq!(dom_now["realtime_free_capacity_charging"], 6, "{dom_now}");
        // The counts' age is that of the reading and the change it made, not the time of the request.
        let updated = dom_now["realtime_data_updated_at"].as_str().unwrap().replace(' ', "T");
        let updated: jiff::Timestamp = updated.parse().unwrap();
        let asked = s.server.app.now();
        assert!(
            updated >= reported.round(jiff::Unit::Second).unwrap(),
            "{updated} is before the reading at {reported}"
        );
        assert!(
            asked - updated >= jiff::SignedDuration::from_secs(59),
            "{updated} is the request's time, {asked}"
        );
    }

    // Cacheable: the same ETag or date gets 304 with no body, and the table does not change with counts.
    let table_etag = header(&table_headers, "etag").to_owned();
    let status_etag = header(&status_headers, "etag").to_owned();
    let since = header(&status_headers, "last-modified").to_owned();
    assert!(header(&status_headers, "cache-control").contains("max-age"));
    let (code, _, body) =
        fetch(&s, &format!("{base}/datex2/parking-status"), &[("if-none-match", &status_etag)]).await;
    assert_eq!((code, body.as_str()), (304, ""));
    let (code, _, _) =
        fetch(&s, &format!("{base}/datex2/parking-status"), &[("if-modified-since", &since)]).await;
    assert_eq!(code, 304);

    let (status, body) = s.post_as(Some(&gateway), "/v1/sensors/events", &report(&["GA-002"], 0)).await;
    assert_eq!(status, 200, "{body}");
    let (code, headers, now) =
        fetch(&s, &format!("{base}/datex2/parking-status"), &[("if-none-match", &status_etag)]).await;
    assert_eq!(code, 200, "a changed count is a new document");
    assert_ne!(header(&headers, "etag"), status_etag);
    assert!(now.contains("<prk:parkingNumberOfVacantSpaces>26</prk:parkingNumberOfVacantSpaces>"), "{now}");
    let (code, _, _) =
        fetch(&s, &format!("{base}/datex2/parking-status"), &[("if-modified-since", &since)]).await;
    assert_eq!(code, 200, "modified since");
    let (code, _, _) =
        fetch(&s, &format!("{base}/datex2/parking-table"), &[("if-none-match", &table_etag)]).await;
    assert_eq!(code, 304, "the table has not changed");

    // An operator that publishes nothing and one that does not exist get the same answer.
    let (status, body) =
        s.post_as(Some(&admin), "/v1/admin/operators", &json!({"id": "empty-op", "name": "Empty"})).await;
    assert_eq!(status, 201, "{body}");
    let (code_a, _, a) = fetch(&s, "/v1/open-data/empty-op/parkapi", &[]).await;
    let (code_b, _, b) = fetch(&s, "/v1/open-data/no-such-op/parkapi", &[]).await;
    assert_eq!((code_a, code_b), (404, 404));
    let code = |body: &str| serde_json::from_str::<Value>(body).unwrap()["code"].clone();
    assert_eq!((code(&a), code(&b)), (json!("not_found"), json!("not_found")));

    s.stop().await;
    db.cleanup().await;
}

on_both_backends!(feeds_read_by_parkapi_sources);
