//! Sensor readings over a real MQTT broker (Mosquitto), into the same rules as HTTP.

mod common;

use std::time::{Duration, Instant};

use common::{Backend, TestDb, TestServer};
use rumqttc::{AsyncClient, QoS};
use serde_json::json;

const LOT: &str = "waterfront-lot";

fn broker() -> Option<String> {
    match std::env::var("PARKLINE_TEST_MQTT_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os("PARKLINE_REQUIRE_SERVICES").is_some() => {
            panic!("PARKLINE_TEST_MQTT_URL is not set but PARKLINE_REQUIRE_SERVICES is")
        }
        Err(_) => {
            eprintln!(
                "\n*** SKIPPED: PARKLINE_TEST_MQTT_URL is not set; run ./tests/run for Mosquitto ***\n"
            );
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_published_over_mqtt_move_the_counts() {
    let Some(url) = broker() else { return };
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let mut settings = db.settings();
    settings.mqtt_url = Some(url.clone());
    let s = TestServer::start(&settings.resolve().unwrap()).await;
    let occupied = |a: &serde_json::Value| a["counts"]["occupied"].as_u64().unwrap();
    let before = occupied(&s.availability(LOT).await);

    let id = format!("publisher-{}", std::process::id());
    let opts = parkline_server::mqtt::options(&url, &id).unwrap();
    let (client, mut events) = AsyncClient::new(opts, 16);
    tokio::spawn(async move { while events.poll().await.is_ok() {} });

    // A junk message is refused alone; the good ones apply, by sensor id from the topic.
    client
        .publish(format!("parkline/{LOT}/sensors/GA-001"), QoS::AtLeastOnce, false, "not json")
        .await
        .unwrap();
    let now = jiff::Timestamp::now();
    for sensor in ["GA-001", "GA-002", "GB-003"] {
        let reading =
            json!({"occupied": true, "confidence": 0.97, "kind": "camera", "observed_at": now.to_string()});
        let topic = format!("parkline/{LOT}/sensors/{sensor}");
        client.publish(topic, QoS::AtLeastOnce, false, reading.to_string()).await.unwrap();
    }
    // A low-confidence reading is ignored, as over HTTP.
    let weak = json!({"occupied": true, "confidence": 0.5, "kind": "camera", "observed_at": now.to_string()});
    client
        .publish(format!("parkline/{LOT}/sensors/GC-001"), QoS::AtLeastOnce, false, weak.to_string())
        .await
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(15);
    let mut after = before;
    while Instant::now() < deadline {
        after = occupied(&s.availability(LOT).await);
        if after >= before + 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(after, before + 3, "three readings applied");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(occupied(&s.availability(LOT).await), before + 3, "the weak reading changed nothing");
    let history =
        s.server.app.store.history(LOT, now - jiff::SignedDuration::from_secs(5), 10).await.unwrap();
    assert_eq!(history.len(), 3, "{history:?}");
    assert!(history.iter().all(|h| h.source == "camera" && h.state == "occupied"), "{history:?}");
    let _ = client.disconnect().await;
    s.stop().await;
}
