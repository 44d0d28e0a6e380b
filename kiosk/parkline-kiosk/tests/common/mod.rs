//! What the kiosk's tests run against: a real Parkline server (demo city, SQLite) on its own thread and
//! runtime that can be stopped and started again on the same database, and a real Modbus TCP relay
//! module ([`parkline_kiosk::relay::Relay`]) that records every coil written.
#![allow(dead_code)]

#[allow(unused_imports)]
pub use parkline_kiosk::relay::Relay;
#[allow(unused_imports)]
pub use parkline_testkit::{IN, LOT, OUT, Server};

use std::time::{Duration, Instant};

/// Waits for `f` to hold, up to `timeout`.
pub async fn until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}

/// The shared benchmark photos, or `None` (loudly) when they are absent.
pub fn bench_photos() -> Option<std::path::PathBuf> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/lpr-bench/us");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED LOUDLY: {} is absent: the kiosk's camera tests need the shared photos",
            dir.display()
        );
        None
    }
}

/// Drops a photo into a camera's folder as an FTP upload does: written under a temporary name, renamed.
pub fn drop_photo(photo: &std::path::Path, folder: &std::path::Path, name: &str) {
    let part = folder.join(format!("{name}.part"));
    std::fs::copy(photo, &part).unwrap();
    std::fs::rename(&part, folder.join(name)).unwrap();
}
