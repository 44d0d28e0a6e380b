//! The demo city: five Seattle facilities, one account per role, a sensor-gateway token, and simulated
//! sensors that post readings through the real HTTP ingest path, so the numbers move.

use std::collections::HashMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use parkline_domain::sensor::SensorKind;
use parkline_protocol::{DeviceKind, ErrorCode, Role, SensorBatch, SensorReading};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use crate::auth::{DEVICE_TOKEN_PREFIX, random_token, sha256_hex};
use crate::error::{Error, Result};
use crate::facilities;
use crate::http::App;

/// The demo layouts, embedded so the binary runs from anywhere. The files under `assets/layouts` are
/// the source.
pub const LAYOUTS: [(&str, &str); 5] = [
    ("pike-place-garage", include_str!("../../../assets/layouts/pike-place-garage.toml")),
    ("pioneer-square-deck", include_str!("../../../assets/layouts/pioneer-square-deck.toml")),
    ("south-lake-union-hub", include_str!("../../../assets/layouts/south-lake-union-hub.toml")),
    ("capitol-hill-station", include_str!("../../../assets/layouts/capitol-hill-station.toml")),
    ("waterfront-lot", include_str!("../../../assets/layouts/waterfront-lot.toml")),
];

/// The demo city's rate plan, set on every demo facility that has none.
pub const RATES: &str = include_str!("../../../assets/rates/downtown.toml");

pub const PASSWORD: &str = "parkline-demo";

/// The demo accounts, one per role.
pub fn accounts() -> [(String, Role); 4] {
    Role::ALL.map(|role| (format!("{}@demo.parkline", role.as_str()), role))
}

/// Loads the demo layouts and accounts that are not there yet, and issues a fresh sensor-gateway token.
pub async fn seed(app: &App) -> Result<String> {
    for (id, text) in LAYOUTS {
        if app.live.get(id).is_none() {
            let layout = facilities::parse_layout(text, false).map_err(Error::Other)?;
            facilities::import(app.store.as_ref(), &app.live, layout).await?;
        }
        let facility = app.live.get(id).ok_or_else(|| Error::unknown_facility(id))?;
        if facility.rates().is_none() {
            let plan = toml::from_str(RATES).map_err(|e| anyhow::anyhow!("demo rates: {e}"))?;
            facilities::set_rate_plan(app.store.as_ref(), &facility, plan).await?;
        }
    }
    for (email, role) in accounts() {
        match crate::users::create(app.store.as_ref(), &email, PASSWORD, role).await {
            Err(Error::Api { code: ErrorCode::Conflict, .. }) | Ok(_) => {}
            Err(e) => return Err(e),
        }
    }
    let token = random_token(DEVICE_TOKEN_PREFIX);
    app.store
        .insert_device("demo sensors", DeviceKind::SensorGateway, None, &sha256_hex(&token), Timestamp::now())
        .await?;
    Ok(token)
}

/// Simulated sensors: every `period`, some cars arrive and some leave in every facility, drifting each
/// towards a target occupancy; now and then a sensor sends a low-confidence or repeated reading, as real
/// ones do. Runs until the task is dropped.
pub async fn simulate(app: App, base_url: String, token: String, period: Duration) {
    let client = reqwest::Client::new();
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let mut last_flip: HashMap<(String, String), Timestamp> = HashMap::new();
    let mut targets: HashMap<String, f64> = HashMap::new();
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        let now = Timestamp::now();
        let mut readings = Vec::new();
        for live in app.live.all() {
            let f = &live.facility;
            let target = *targets.entry(f.id.clone()).or_insert_with(|| rng.random_range(0.45..0.85));
            let (occupied, capacity) = {
                let t = live.read().occupancy.totals();
                (f64::from(t.occupied), f64::from(t.capacity()))
            };
            // Arrivals when below target, departures when above, a little of both always.
            let moves = ((target * capacity - occupied).abs() * 0.2).ceil() as usize + rng.random_range(1..4);
            let want_occupied = occupied < target * capacity;
            for _ in 0..moves {
                let idx = rng.random_range(0..f.capacity());
                let spot = &f.spots[idx];
                let key = (f.id.clone(), spot.code.clone());
                let recent = last_flip
                    .get(&key)
                    .is_some_and(|t| now.duration_since(*t) < SignedDuration::from_secs(20));
                let is_occupied = live.read().spots[idx].sensor.occupied;
                if recent || is_occupied == want_occupied {
                    continue;
                }
                last_flip.insert(key, now);
                let confidence = if rng.random_bool(0.03) { 0.6 } else { rng.random_range(0.88..0.995) };
                let kind = *[SensorKind::Ultrasonic, SensorKind::Magnetic, SensorKind::Camera]
                    .choose(&mut rng)
                    .unwrap_or(&SensorKind::Ultrasonic);
                readings.push(SensorReading {
                    facility: f.id.clone(),
                    spot: spot.code.clone(),
                    sensor: None,
                    occupied: want_occupied,
                    confidence,
                    kind,
                    observed_at: now,
                });
            }
            if rng.random_bool(0.02) {
                targets.insert(f.id.clone(), rng.random_range(0.35..0.95));
            }
        }
        if readings.is_empty() {
            continue;
        }
        let batch = SensorBatch { readings };
        let sent = client
            .post(format!("{base_url}/v1/sensors/events"))
            .bearer_auth(&token)
            .json(&batch)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => tracing::warn!(status = %r.status(), "simulated sensors: batch refused"),
            Err(e) => tracing::warn!(error = %e, "simulated sensors: server unreachable"),
        }
    }
}
