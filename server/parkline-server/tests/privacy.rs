//! Personal data over time: plates and images go after the retention period, a driver can export and
//! erase their data, and the ledger's totals do not move. On SQLite and PostgreSQL.

#[macro_use]
mod common;

use common::Backend;
use common::lane::{LOT, Lane, reason};
use jiff::SignedDuration;
use parkline_protocol::Role;
use parkline_store::testing::Disk;
use serde_json::json;

async fn ledger_total(lane: &Lane) -> i64 {
    let disk = Disk::open(&lane.db.url).await;
    let n = disk.ledger_total().await;
    disk.close().await;
    n
}

async fn plates_and_images_go_after_the_retention_period(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let read = json!({"text": "RET001", "confidence": 0.9, "image_ref": "cam://in/ret001.jpg"});
    let (status, _) = lane.event(common::lane::IN, json!({"event_id": "in-1", "plate": read})).await;
    assert_eq!(status, 200);
    s.clock.advance(SignedDuration::from_hours(2));
    let out = lane.leave("out-1", "RET001", None).await;
    let due = out["amount_due"]["minor"].as_i64().unwrap();
    assert_eq!(reason(&lane.leave("out-2", "RET001", Some(due)).await).0, "open");
    // A booking, cancelled (for free): its plate goes too once it ended long enough ago.
    let driver = s.login(Role::Driver).await.access_token;
    let start = s.server.app.now() + SignedDuration::from_hours(3);
    let booking = json!({"facility": LOT, "plate": "RET 003", "vehicle_class": "sedan",
        "start": start.to_string(), "end": (start + SignedDuration::from_hours(1)).to_string()});
    let (status, booked) = s.post_as(Some(&driver), "/v1/reservations", &booking).await;
    assert_eq!(status, 201, "{booked}");
    let id = booked[0]["id"].as_str().unwrap();
    let cancel = s.http.delete(s.url(&format!("/v1/reservations/{id}"))).bearer_auth(&driver).send();
    assert!(cancel.await.unwrap().status().is_success());
    let total = ledger_total(&lane).await;

    // A vehicle still inside keeps its plate whatever its age.
    s.clock.advance(SignedDuration::from_hours(24 * 89));
    lane.enter("in-2", "RET002").await;
    let admin = s.login(Role::Admin).await.access_token;
    let purge =
        async || s.post_as(Some(&admin), "/v1/admin/retention/purge", &json!({})).await.1["purged"].as_i64();
    assert_eq!(purge().await, Some(0), "89 days: kept");
    s.clock.advance(SignedDuration::from_hours(48));
    assert_eq!(
        purge().await,
        Some(2),
        "91 days: the finished stay loses its plate and image, the booking its plate"
    );
    assert_eq!(purge().await, Some(0));
    let driver = s.login(Role::Driver).await.access_token;
    let (_, data) = s.get_as(&driver, "/v1/me/data").await;
    assert_eq!(data["reservations"][0]["plate"], "ERASED", "{data}");
    let disk = Disk::open(&lane.db.url).await;
    assert_eq!(disk.sessions_with_personal_data().await, 1, "only the vehicle inside");
    disk.close().await;
    assert_eq!(ledger_total(&lane).await, total, "money records untouched");
    lane.close().await;
}

async fn drivers_export_and_erase_their_data(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let driver = s.login(Role::Driver).await.access_token;
    let start = s.server.app.now() + SignedDuration::from_hours(5);
    let booking = json!({"facility": LOT, "plate": "ERA 001", "vehicle_class": "sedan",
        "start": start.to_string(), "end": (start + SignedDuration::from_hours(1)).to_string()});
    let (status, booked) = s.post_as(Some(&driver), "/v1/reservations", &booking).await;
    assert_eq!(status, 201, "{booked}");

    let (status, data) = s.get_as(&driver, "/v1/me/data").await;
    assert_eq!(status, 200, "{data}");
    let me = s.get_as(&driver, "/v1/me").await.1["user_id"].as_i64().unwrap();
    assert_eq!(data["email"], "driver@demo.parkline");
    assert_eq!(data["reservations"][0]["plate"], "ERA001");

    let erase = async || s.http.delete(s.url("/v1/me")).bearer_auth(&driver).send().await.unwrap();
    let refused = common::split(erase().await).await;
    assert_eq!((refused.0, refused.1["code"].as_str()), (409, Some("conflict")), "upcoming reservation");
    let id = booked[0]["id"].as_str().unwrap();
    let cancelled =
        s.http.delete(s.url(&format!("/v1/reservations/{id}"))).bearer_auth(&driver).send().await.unwrap();
    assert!(cancelled.status().is_success());
    let total = ledger_total(&lane).await;
    assert_eq!(erase().await.status(), 204);

    let login = s
        .http
        .post(s.url("/v1/auth/login"))
        .json(&json!({"email": "driver@demo.parkline", "password": common::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 401, "the account is closed");
    let (status, body) = s.get_as(&driver, "/v1/me/data").await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthenticated")), "the token ended: {body}");
    let user = s.server.app.store.user_by_id(me).await.unwrap().unwrap();
    assert!(user.email.starts_with("erased-"), "{}", user.email);
    let kept = s.server.app.store.user_reservations(me).await.unwrap();
    assert_eq!(kept[0].plate.as_str(), "ERASED");
    assert_eq!(ledger_total(&lane).await, total);
    lane.close().await;
}

on_both_backends!(plates_and_images_go_after_the_retention_period, drivers_export_and_erase_their_data);
