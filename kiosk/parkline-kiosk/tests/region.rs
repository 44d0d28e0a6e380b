//! A lane without a configured region reads the plate formats of its facility's country, as the
//! server's layout names it, from the cached layout while the server is down, and no region's formats
//! where no country is known.

mod common;

use common::{LOT, Server};
use parkline_domain::LayoutFile;

fn berlin() -> LayoutFile {
    serde_json::from_value(serde_json::json!({
        "id": "berlin-mitte", "name": "Parkhaus Mitte", "location": {"lat": 52.52, "lon": 13.405},
        "time_zone": "Europe/Berlin", "currency": "EUR", "country": "DE", "language": "de",
        "floors": [{"level": 0, "zones": [{"code": "A", "rows": [
            {"count": 4, "size": "sedan", "origin": [0.0, 0.0], "step": [2.6, 0.0]}]}]}],
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lane_reads_its_facility_s_country_s_plates() {
    let mut server = Server::start();
    let admin = parkline_sdk::Client::new(&server.url(), None).unwrap();
    admin.login("admin@demo.parkline", "parkline-demo").await.unwrap();
    admin.import_facility(&berlin(), Some("seattle-city")).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let cache = parkline_sdk::Cache::open(dir.path().join("kiosk.db")).unwrap();
    let kiosk = parkline_sdk::Client::new(&server.url(), Some(cache)).unwrap();
    let region = |facility: &'static str| {
        let kiosk = kiosk.clone();
        async move { parkline_kiosk::plate_region(&kiosk, facility).await.name }
    };
    assert_eq!(region("berlin-mitte").await, "eu-de");
    assert_eq!(region(LOT).await, "us");

    // The server down: the layout cached when it answered still names the country.
    server.kill();
    assert_eq!(region("berlin-mitte").await, "eu-de");
    // Nothing cached for a facility never asked about: no region's formats, the reads stand.
    assert_eq!(region("waterfront-lot-2").await, "none");
}
