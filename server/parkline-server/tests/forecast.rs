//! Predicted availability for drivers over real HTTP: "usually full by" and the free spots forecast at a
//! planned arrival, from four weeks of five-minute occupancy samples in the facility's local time.

mod common;

use common::{Backend, TestDb, TestServer};
use jiff::{SignedDuration, ToSpan, ZonedDateTime};
use parkline_protocol::OccupancySample;

const LOT: &str = "waterfront-lot";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_facility_shows_when_it_is_usually_full_and_what_to_expect_at_arrival() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let s = TestServer::start(&db.config()).await;
    let now = s.server.app.now();
    let tz = jiff::tz::TimeZone::get("America/Los_Angeles").unwrap();
    let in_service = s.availability(LOT).await["counts"]["capacity"].as_u64().unwrap();

    // Without history (the server has sampled only now) there is no forecast, only the live counts.
    let (status, body) = s.get(&format!("/v1/facilities/{LOT}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["facility"]["id"], LOT);
    assert_eq!(body["forecast"]["usually_full"], serde_json::json!([]));
    assert_eq!(body["forecast"]["history_days"], 0);
    let hours = body["forecast"]["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 12);
    assert!(hours.iter().all(|h| h.get("free").is_none()), "{body}");

    // Four weeks: weekdays 97% taken from 09:00 to 17:00 local time, 30% otherwise; weekends 60% at most.
    let mut samples = Vec::new();
    let mut at = now - SignedDuration::from_hours(24 * 28);
    while at < now {
        let local = at.to_zoned_datetime(tz.clone());
        let weekday = local.weekday().to_monday_zero_offset() < 5;
        let permille = match (weekday, local.hour()) {
            (true, 9..17) => 970,
            (false, 11..16) => 600,
            _ => 300,
        };
        let taken = (in_service * permille / 1000) as u32;
        samples.push((LOT.to_owned(), OccupancySample { at, taken, in_service: in_service as u32 }));
        at += SignedDuration::from_mins(5);
    }
    s.server.app.store.save_occupancy_samples(&samples).await.unwrap();
    // A new server (the profile is kept for an hour) reads the history.
    s.stop().await;
    let s = TestServer::start(&db.config()).await;

    // The next weekday at 10:00 local time.
    let mut day: ZonedDateTime =
        now.to_zoned_datetime(tz.clone()).date().at(10, 0, 0, 0).to_zoned_datetime(tz.clone()).unwrap();
    while day.timestamp() <= now || day.weekday().to_monday_zero_offset() >= 5 {
        day = day.checked_add(1.day()).unwrap();
    }
    let arrival = day.timestamp();
    let (status, body) = s.get(&format!("/v1/facilities/{LOT}?arrival={arrival}")).await;
    assert_eq!(status, 200, "{body}");
    let forecast = &body["forecast"];
    assert_eq!(forecast["usually_full"].as_array().unwrap().len(), 1, "{forecast}");
    assert_eq!(forecast["usually_full"][0]["text"], "Usually full by 09:00 on weekdays");
    assert_eq!(forecast["usually_full"][0]["by"], "09:00");
    let expected_free = in_service - (in_service * 970).div_ceil(1000);
    let at_arrival = &forecast["at_arrival"];
    assert_eq!(at_arrival["at"], arrival.to_string(), "{forecast}");
    // The samples' taken counts round down, so the profile's per mille is just under 970.
    let permille = at_arrival["occupancy_permille"].as_u64().unwrap();
    assert!((960..=970).contains(&permille), "{at_arrival}");
    let free = at_arrival["free"].as_u64().unwrap();
    assert!(
        free >= expected_free && free <= expected_free + 2,
        "{free} free, about {expected_free} expected"
    );
    assert_eq!(forecast["hours"].as_array().unwrap().len(), 12);
    assert_eq!(
        forecast["history_days"], 27,
        "four weeks back from now, the first sample just out of the window"
    );

    // Refused: an arrival too far ahead; a facility that does not exist.
    let far = now + SignedDuration::from_hours(24 * 8);
    let (status, body) = s.get(&format!("/v1/facilities/{LOT}?arrival={far}")).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{body}");
    let (status, body) = s.get("/v1/facilities/no-such-place").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("unknown_facility")), "{body}");
    s.stop().await;
}
