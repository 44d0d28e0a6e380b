//! Sensor readings over a real MQTT broker (Mosquitto), into the same rules as HTTP.

#[macro_use]
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
    // A driver's app follows the lot over the WebSocket stream.
    let token = s.login(parkline_protocol::Role::Driver).await.access_token;
    let mut app = common::ws::connect(&s, &token).await;
    common::ws::send(&mut app, json!({"type": "subscribe", "facility": LOT})).await;
    assert_eq!(common::ws::expect(&mut app).await["type"], "snapshot");

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
    let mut streamed = Vec::new();
    for _ in 0..3 {
        let m = common::ws::expect(&mut app).await;
        streamed.push(m["spot"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(streamed, ["GA-001", "GA-002", "GB-003"], "the app saw each reading, in order");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(occupied(&s.availability(LOT).await), before + 3, "the weak reading changed nothing");
    let history =
        s.server.app.store.history(LOT, now - jiff::SignedDuration::from_secs(5), 10).await.unwrap();
    assert_eq!(history.len(), 3, "{history:?}");
    assert!(history.iter().all(|h| h.source == "camera" && h.state == "occupied"), "{history:?}");
    let _ = client.disconnect().await;
    s.stop().await;
}

/// A throwaway Mosquitto on a free port, persisting its sessions and queued messages to disk so that a
/// restart keeps what it accepted. Stopped on drop.
struct Broker {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<std::process::Child>,
}

impl Broker {
    fn start() -> Option<Broker> {
        let bin = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists());
        let Some(bin) = bin else {
            if std::env::var_os("PARKLINE_REQUIRE_SERVICES").is_some() {
                panic!("mosquitto is not installed; ./tests/run installs it");
            }
            eprintln!("\n*** SKIPPED: no mosquitto binary; run ./tests/run ***\n");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n\
                 autosave_interval 1\nuser root\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let mut broker = Broker { dir, port, child: None };
        broker.spawn(bin);
        Some(broker)
    }

    fn spawn(&mut self, bin: &str) {
        let child = std::process::Command::new(bin)
            .arg("-c")
            .arg(self.dir.path().join("mosquitto.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the broker gracefully (it saves its state), then starts it again on the same port.
    fn restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
        let bin = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists());
        self.spawn(bin.unwrap());
    }

    fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Readings keep flowing while the broker restarts: every reading the broker accepted is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_loses_no_accepted_reading() {
    let Some(mut broker) = Broker::start() else { return };
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let mut settings = db.settings();
    settings.mqtt_url = Some(broker.url());
    let s = TestServer::start(&settings.resolve().unwrap()).await;
    let occupied = |a: &serde_json::Value| a["counts"]["occupied"].as_u64().unwrap();
    let before = occupied(&s.availability(LOT).await);
    // Let the server connect and subscribe before anything is published.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let sensors: Vec<String> = {
        let (_, layout) = s.get(&format!("/v1/facilities/{LOT}/layout")).await;
        layout["spots"]
            .as_array()
            .unwrap()
            .iter()
            .take(60)
            .map(|sp| sp["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let url = broker.url();
    let publish_all = async |sensors: &[String]| {
        let id = format!("pub-{}-{}", std::process::id(), sensors[0]);
        let (client, mut events) = AsyncClient::new(parkline_server::mqtt::options(&url, &id).unwrap(), 64);
        let now = jiff::Timestamp::now();
        for sensor in sensors {
            let reading = json!({"occupied": true, "confidence": 0.97, "kind": "magnetic", "observed_at": now.to_string()});
            client
                .publish(
                    format!("parkline/{LOT}/sensors/{sensor}"),
                    QoS::AtLeastOnce,
                    false,
                    reading.to_string(),
                )
                .await
                .unwrap();
        }
        // Drive the connection until every publish is acknowledged by the broker.
        let mut acked = 0;
        while acked < sensors.len() {
            if let Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) = events.poll().await {
                acked += 1;
            }
        }
        let _ = client.disconnect().await;
        let _ = tokio::time::timeout(Duration::from_secs(1), async { while events.poll().await.is_ok() {} })
            .await;
    };

    publish_all(&sensors[..30]).await;
    broker.restart();
    publish_all(&sensors[30..]).await;

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut after = before;
    while Instant::now() < deadline && after < before + 60 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        after = occupied(&s.availability(LOT).await);
    }
    assert_eq!(after, before + 60, "every accepted reading applied across the broker restart");
    s.stop().await;
}
