//! The `parkline-server` binary as a user runs it: the demo command, and importing layouts from files.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_parkline-server");

/// Kills the child process when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads the child's stdout until the banner names its URL; returns it and the line after it.
fn banner_url(child: &mut Child) -> (String, String) {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(rest) = line.split("running at ").nth(1) {
            let next = lines.next().and_then(|l| l.ok()).unwrap_or_default();
            // Keep draining stdout so the child never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return (rest.trim().to_owned(), next);
        }
    }
    panic!("the demo never printed its URL");
}

#[tokio::test]
async fn demo_serves_the_city_and_simulated_sensors_move_the_counts() {
    demo_moves(None).await;
}

/// With a broker, the simulated sensors publish over MQTT and the server takes them from there.
#[tokio::test]
async fn demo_sensors_can_publish_through_mqtt() {
    match std::env::var("PARKLINE_TEST_MQTT_URL") {
        Ok(url) => demo_moves(Some(&url)).await,
        Err(_) if std::env::var_os("PARKLINE_REQUIRE_SERVICES").is_some() => {
            panic!("PARKLINE_TEST_MQTT_URL is not set")
        }
        Err(_) => eprintln!("\n*** SKIPPED: PARKLINE_TEST_MQTT_URL is not set; run ./tests/run ***\n"),
    }
}

async fn demo_moves(mqtt: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(BIN);
    command
        .args(["demo", "--listen", "127.0.0.1:0", "--simulate-every-s", "0.2", "--data-dir"])
        .arg(dir.path());
    if let Some(url) = mqtt {
        command.args(["--mqtt-url", url]);
    }
    let child = command.env("RUST_LOG", "warn").stdout(Stdio::piped()).spawn().expect("start the demo");
    let mut child = Running(child);
    let (url, payments) = banner_url(&mut child.0);
    assert!(
        payments.contains("Payments are SIMULATED"),
        "the demo says its payments are not real: {payments}"
    );
    let http = parkline_server::http_client().build().unwrap();
    let nearby = format!("{url}/v1/facilities?lat=47.6062&lon=-122.3321&radius_m=5000");

    let free_counts = || async {
        let page: Value = http.get(&nearby).send().await.unwrap().json().await.unwrap();
        page["facilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["id"].as_str().unwrap().to_owned(), f["counts"]["free"].as_u64().unwrap()))
            .collect::<Vec<_>>()
    };
    let first = free_counts().await;
    assert_eq!(first.len(), 5, "{first:?}");
    let total: u64 = {
        let page: Value = http.get(&nearby).send().await.unwrap().json().await.unwrap();
        page["facilities"].as_array().unwrap().iter().map(|f| f["counts"]["capacity"].as_u64().unwrap()).sum()
    };
    assert!(total >= 2000, "the demo city has {total} spots");

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut moved = false;
    while Instant::now() < deadline && !moved {
        tokio::time::sleep(Duration::from_millis(300)).await;
        moved = free_counts().await != first;
    }
    assert!(moved, "free counts never changed: {first:?}");

    // The simulated sensors report every spot now and then, so none has stayed silent.
    let first_facility = &first[0].0;
    let availability: Value = http
        .get(format!("{url}/v1/facilities/{first_facility}/availability"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(availability["freshness"]["stale_sensors"], 0);

    // The printed accounts work.
    let login = serde_json::json!({"email": "admin@demo.parkline", "password": "parkline-demo"});
    let r = http.post(format!("{url}/v1/auth/login")).json(&login).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

/// `serve` never takes fake card payments by default: with no provider named it refuses to start.
#[test]
fn serve_refuses_to_start_without_a_payment_provider() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .env_remove("PARKLINE_PAYMENT_PROVIDER")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut child = Running(child);
    let status = status.expect("serve kept running with no payment provider");
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(stderr.contains("no payment provider is set"), "{stderr}");
}

#[test]
fn import_layout_adds_facilities_from_files_and_refuses_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let layout = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/layouts/waterfront-lot.toml");
    let import = || {
        Command::new(BIN)
            .args(["import-layout", "--data-dir"])
            .arg(dir.path())
            .arg(layout)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run import-layout")
    };
    let first = import();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(String::from_utf8_lossy(&first.stdout).contains("imported waterfront-lot"));
    let again = import();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"), "{again:?}");

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "id = \"x\"\nname = \"X\"\n").unwrap();
    let out =
        Command::new(BIN).args(["import-layout", "--data-dir"]).arg(dir.path()).arg(&bad).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing field"), "{out:?}");
}
