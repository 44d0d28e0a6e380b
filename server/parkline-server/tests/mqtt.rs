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

/// A new sensor gateway at `facility`: its MQTT user name and password (its device token).
async fn gateway(s: &TestServer, facility: &str) -> (String, String) {
    let admin = s.login(parkline_protocol::Role::Admin).await.access_token;
    let device = json!({"name": "gateway", "kind": "sensor_gateway", "facility": facility});
    let (status, body) = s.post_as(Some(&admin), "/v1/admin/devices", &device).await;
    assert_eq!(status, 201, "{body}");
    (body["mqtt_username"].as_str().unwrap().to_owned(), body["token"].as_str().unwrap().to_owned())
}

fn topic(facility: &str, gateway: &str, sensor: &str) -> String {
    format!("parkline/{facility}/{gateway}/sensors/{sensor}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_published_over_mqtt_move_the_counts() {
    let Some(url) = broker() else { return };
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let mut settings = db.settings();
    settings.mqtt_url = Some(url.clone().into());
    let s = TestServer::start(&settings.resolve().unwrap()).await;
    let occupied = |a: &serde_json::Value| a["counts"]["occupied"].as_u64().unwrap();
    let before = occupied(&s.availability(LOT).await);
    // A driver's app follows the lot over the WebSocket stream.
    let token = s.login(parkline_protocol::Role::Driver).await.access_token;
    let mut app = common::ws::connect(&s, &token).await;
    common::ws::send(&mut app, json!({"type": "subscribe", "facility": LOT})).await;
    assert_eq!(common::ws::expect(&mut app).await["type"], "snapshot");

    let (lot_gateway, _) = gateway(&s, LOT).await;
    let (garage_gateway, _) = gateway(&s, "pike-place-garage").await;
    let id = format!("publisher-{}", std::process::id());
    let opts = parkline_server::mqtt::options(&url, &id).unwrap();
    let (client, mut events) = AsyncClient::new(opts, 16);
    tokio::spawn(async move { while events.poll().await.is_ok() {} });

    // A junk message is refused alone; so are readings under a gateway that does not exist or works
    // at another facility (this broker lets anyone publish: the server checks for itself).
    client.publish(topic(LOT, &lot_gateway, "GA-001"), QoS::AtLeastOnce, false, "not json").await.unwrap();
    let now = jiff::Timestamp::now();
    let reading =
        json!({"occupied": true, "confidence": 0.97, "kind": "camera", "observed_at": now.to_string()});
    for stranger in ["gateway-999999", garage_gateway.as_str(), "someone"] {
        client
            .publish(topic(LOT, stranger, "GC-002"), QoS::AtLeastOnce, false, reading.to_string())
            .await
            .unwrap();
    }
    client
        .publish(format!("parkline/{LOT}/sensors/GC-003"), QoS::AtLeastOnce, false, reading.to_string())
        .await
        .unwrap();
    // The good ones apply, by sensor id from the topic.
    for sensor in ["GA-001", "GA-002", "GB-003"] {
        client
            .publish(topic(LOT, &lot_gateway, sensor), QoS::AtLeastOnce, false, reading.to_string())
            .await
            .unwrap();
    }
    // A low-confidence reading is ignored, as over HTTP.
    let weak = json!({"occupied": true, "confidence": 0.5, "kind": "camera", "observed_at": now.to_string()});
    client
        .publish(topic(LOT, &lot_gateway, "GC-001"), QoS::AtLeastOnce, false, weak.to_string())
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
        Broker::start_with("allow_anonymous true\n")
    }

    /// A broker with `extra` configuration lines (authentication, listeners).
    fn start_with(extra: &str) -> Option<Broker> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Broker::start_with_port(port, extra)
    }

    fn start_with_port(port: u16, extra: &str) -> Option<Broker> {
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
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\n{extra}persistence true\npersistence_location {}/\n\
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

    /// Has the broker read its password and ACL files again.
    fn reload(&self) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        assert!(std::process::Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
        std::thread::sleep(Duration::from_millis(300));
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
    settings.mqtt_url = Some(broker.url().into());
    let s = TestServer::start(&settings.resolve().unwrap()).await;
    let occupied = |a: &serde_json::Value| a["counts"]["occupied"].as_u64().unwrap();
    let before = occupied(&s.availability(LOT).await);
    let (lot_gateway, _) = gateway(&s, LOT).await;
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
                .publish(topic(LOT, &lot_gateway, sensor), QoS::AtLeastOnce, false, reading.to_string())
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

/// Connects to `url` as `user` (or anonymously); `Some` with the connection if the broker accepts.
async fn sign_in(url: &str, user: Option<(&str, &str)>) -> Option<(AsyncClient, rumqttc::EventLoop)> {
    let id = format!("t-{}-{}", std::process::id(), rand_suffix());
    let mut opts = parkline_server::mqtt::options(url, &id).unwrap();
    opts.set_manual_acks(false);
    if let Some((u, p)) = user {
        opts.set_credentials(u, p);
    }
    let (client, mut events) = AsyncClient::new(opts, 64);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(5), events.poll()).await {
            Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_)))) => return Some((client, events)),
            Ok(Ok(_)) => {}
            _ => return None,
        }
    }
    None
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Publishes and drives the connection until the broker has acknowledged everything.
async fn publish(conn: &mut (AsyncClient, rumqttc::EventLoop), messages: &[(String, serde_json::Value)]) {
    for (topic, body) in messages {
        conn.0.publish(topic, QoS::AtLeastOnce, false, body.to_string()).await.unwrap();
    }
    let mut acked = 0;
    while acked < messages.len() {
        match tokio::time::timeout(Duration::from_secs(5), conn.1.poll()).await {
            Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_)))) => acked += 1,
            Ok(Ok(_)) => {}
            other => panic!("publishing: {other:?}"),
        }
    }
}

/// The tester's attack on a broker run as the server asks: no one signs in without a gateway's
/// password, a gateway publishes only its own facility's readings under its own name (the broker's ACL
/// drops the rest), and a revoked gateway's readings stop counting before the broker even reloads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateways_sign_in_as_themselves_and_publish_only_for_their_facility() {
    let auth = tempfile::tempdir().unwrap();
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut settings = db.settings();
    settings.mqtt_url = Some(format!("mqtt://parkline-server:server-secret-0001@127.0.0.1:{port}").into());
    settings.mqtt_auth_dir = Some(auth.path().to_owned());
    let s = TestServer::start(&settings.resolve().unwrap()).await;
    let (lot, lot_password) = gateway(&s, LOT).await;
    let (garage, garage_password) = gateway(&s, "pike-place-garage").await;
    let acl = std::fs::read_to_string(auth.path().join("acl")).unwrap();
    assert!(acl.contains(&format!("topic write parkline/{LOT}/{lot}/sensors/+")), "{acl}");
    let passwords = std::fs::read_to_string(auth.path().join("passwords")).unwrap();
    assert!(!passwords.contains(&lot_password), "only hashes on disk");
    let Some(broker) = Broker::start_with_port(
        port,
        &format!(
            "allow_anonymous false\npassword_file {0}/passwords\nacl_file {0}/acl\n",
            auth.path().display()
        ),
    ) else {
        return;
    };
    let url = broker.url();
    let occupied =
        async |facility: &str| s.availability(facility).await["counts"]["occupied"].as_u64().unwrap();
    let (lot_before, garage_before) = (occupied(LOT).await, occupied("pike-place-garage").await);

    assert!(sign_in(&url, None).await.is_none(), "anonymous refused");
    assert!(sign_in(&url, Some((&lot, "pld_guessed"))).await.is_none(), "a wrong password refused");
    assert!(
        sign_in(&url, Some((&lot, &garage_password))).await.is_none(),
        "another gateway's password refused"
    );
    let mut conn = sign_in(&url, Some((&lot, &lot_password))).await.expect("the gateway signs in");
    // Wait for the server's own subscription.
    tokio::time::sleep(Duration::from_millis(800)).await;

    let now = jiff::Timestamp::now();
    let reading =
        json!({"occupied": true, "confidence": 0.97, "kind": "camera", "observed_at": now.to_string()});
    let garage_spot = {
        let (_, layout) = s.get("/v1/facilities/pike-place-garage/layout").await;
        layout["spots"][0]["code"].as_str().unwrap().to_owned()
    };
    publish(
        &mut conn,
        &[
            (topic("pike-place-garage", &lot, &garage_spot), reading.clone()),
            (topic("pike-place-garage", &garage, &garage_spot), reading.clone()),
            (topic(LOT, &garage, "GA-003"), reading.clone()),
            (topic(LOT, &lot, "GA-001"), reading.clone()),
        ],
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while occupied(LOT).await < lot_before + 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(occupied(LOT).await, lot_before + 1, "only the gateway's own facility, under its own name");
    assert_eq!(occupied("pike-place-garage").await, garage_before, "nothing for another facility");

    // Revoked: its readings stop counting at once (the broker still has the old files), and after the
    // broker reloads it cannot sign in.
    let admin = s.login(parkline_protocol::Role::Admin).await.access_token;
    let id = lot.strip_prefix("gateway-").unwrap();
    let revoked =
        s.http.delete(s.url(&format!("/v1/admin/devices/{id}"))).bearer_auth(&admin).send().await.unwrap();
    assert!(revoked.status().is_success());
    tokio::time::sleep(Duration::from_secs(6)).await;
    publish(&mut conn, &[(topic(LOT, &lot, "GA-002"), reading.clone())]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(occupied(LOT).await, lot_before + 1, "a revoked gateway's reading is refused");
    broker.reload();
    assert!(sign_in(&url, Some((&lot, &lot_password))).await.is_none(), "revoked, it cannot sign in");
    assert!(sign_in(&url, Some((&garage, &garage_password))).await.is_some(), "the other still can");
    s.stop().await;
}

/// `mqtts://`: the server reads the broker over TLS, checking its certificate against the CA it is
/// told to trust.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_reads_the_broker_over_tls() {
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    let openssl = |args: &[&str]| {
        let ok = std::process::Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
        assert!(ok.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&ok.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Parkline test CA"],
        ]
        .concat(),
    );
    openssl(
        &[&["req"][..], &ec, &["-keyout", "broker.key", "-out", "broker.csr", "-subj", "/CN=127.0.0.1"]]
            .concat(),
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "broker.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "broker.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
    let tls_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let Some(broker) = Broker::start_with(&format!(
        "allow_anonymous true\nlistener {tls_port} 127.0.0.1\ncafile {0}/ca.pem\ncertfile {0}/broker.pem\nkeyfile {0}/broker.key\n",
        dir.display()
    )) else {
        return;
    };
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let mut settings = db.settings();
    settings.mqtt_url = Some(format!("mqtts://127.0.0.1:{tls_port}").into());
    settings.mqtt_ca_file = Some(dir.join("ca.pem"));
    let s = TestServer::start(&settings.resolve().unwrap()).await;
    let (lot, _) = gateway(&s, LOT).await;
    let occupied = async || s.availability(LOT).await["counts"]["occupied"].as_u64().unwrap();
    let before = occupied().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut conn = sign_in(&broker.url(), None).await.expect("the plain listener");
    let reading = json!({"occupied": true, "confidence": 0.97, "kind": "camera",
                         "observed_at": jiff::Timestamp::now().to_string()});
    publish(&mut conn, &[(topic(LOT, &lot, "GA-001"), reading)]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while occupied().await == before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(occupied().await, before + 1, "the reading came over the server's TLS connection");
    s.stop().await;
}
