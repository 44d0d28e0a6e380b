//! How long a lane takes from a camera image to the barrier's open command, with the server on loopback:
//! `cargo run --release -p parkline-kiosk --example latency -- [PHOTO_DIR] [PASSAGES]`.
//!
//! A demo server runs in this process (the testkit's: SQLite in a temporary directory, on its own thread), a software Modbus relay module
//! stands for the barrier, and the entry lane watches a folder. Each labelled photo is dropped into the
//! folder as a camera uploads it; the figures are the lane's own (frame arrival to open command: plate
//! reading, the server's decision, the Modbus write) and end to end (file in the folder to the coil
//! switched on at the relay, which adds the folder's polling).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use parkline_kiosk::relay::Relay;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let photos = PathBuf::from(args.next().unwrap_or_else(|| "../shared/lpr-bench/us".into()));
    let passages: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(60);
    let dir = tempfile::tempdir()?;

    let server = parkline_testkit::Server::start();
    let token = &server.kiosk;
    let (relay, relay_addr) = Relay::start().await?;
    let folder = dir.path().join("cam");
    let config = parkline_kiosk::Config::parse(&format!(
        r#"
        server = "{}"
        device_token = "{token}"
        facility = "{}"
        data_dir = "{}"
        [[lanes]]
        gate = "{}"
        direction = "entry"
        camera = {{ kind = "folder", path = "{}" }}
        gate_controller = {{ kind = "modbus", address = "{relay_addr}", open_coil = 0, loop_input = 0, closed_input = 1, pulse_ms = 50 }}
        "#,
        server.url(),
        parkline_testkit::LOT,
        dir.path().join("kiosk").display(),
        parkline_testkit::IN,
        folder.display()
    ))?;
    let kiosk = parkline_kiosk::start(&config).await?;
    let lane = &kiosk.lanes[0];

    let mut images: Vec<PathBuf> = std::fs::read_dir(&photos)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    images.sort();
    let (mut lane_ms, mut end_to_end_ms) = (Vec::new(), Vec::new());
    let mut unread = 0;
    for (i, image) in images.iter().take(passages).enumerate() {
        let (frames, seen) = {
            let v = lane.view.borrow();
            (v.frames_total, v.passages_total)
        };
        let part = folder.join(format!("{i}.jpg.part"));
        std::fs::copy(image, &part)?;
        let dropped = Instant::now();
        std::fs::rename(&part, folder.join(format!("{i}.jpg")))?;
        let deadline = dropped + Duration::from_secs(5);
        let mut view = lane.view.clone();
        let passage = loop {
            let v = view.borrow_and_update().clone();
            if v.passages_total > seen {
                break v.passages.front().cloned();
            }
            if Instant::now() > deadline || v.unreadable && v.frames_total > frames {
                break None;
            }
            let _ = tokio::time::timeout(Duration::from_millis(200), view.changed()).await;
        };
        match passage.filter(|p| p.opened) {
            Some(p) => {
                lane_ms.push(p.latency_ms.unwrap_or_default());
                // The lane shows the passage while the relay is still being written.
                let wait = Instant::now() + Duration::from_secs(1);
                while relay.opened_at(0, dropped).is_none() && Instant::now() < wait {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                if let Some(at) = relay.opened_at(0, dropped) {
                    end_to_end_ms.push((at - dropped).as_secs_f64() * 1000.0);
                }
            }
            None => unread += 1,
        }
        // The next car arrives once this one has gone.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let pct = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        v.get(((v.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(f64::NAN)
    };
    println!(
        "passages opened  {} of {} photos ({unread} unread or refused)",
        lane_ms.len(),
        passages.min(images.len())
    );
    println!(
        "frame to open    p50 {:.0} ms  p95 {:.0} ms  (the lane's own measure)",
        pct(&mut lane_ms, 0.5),
        pct(&mut lane_ms, 0.95)
    );
    println!(
        "file to coil     p50 {:.0} ms  p95 {:.0} ms  (adds the folder's polling)",
        pct(&mut end_to_end_ms, 0.5),
        pct(&mut end_to_end_ms, 0.95)
    );
    Ok(())
}
