//! The demo city: five Seattle facilities run by two operators, staff for each, a sensor-gateway token
//! per facility, and simulated sensors that post readings through the real HTTP ingest path, so the
//! numbers move.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use parkline_domain::sensor::SensorKind;
use parkline_protocol::{DeviceKind, ErrorCode, NewDevice, Role, SensorBatch, SensorReading};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use crate::app::App;
use crate::auth::Reach;
use crate::error::{Error, Result};
use crate::facilities;

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

/// The demo's two operators `(id, name, facilities)`: the city runs three, a private company the
/// other two.
pub const OPERATORS: [(&str, &str, &[&str]); 2] = [
    ("seattle-city", "Seattle City Parking", &["pike-place-garage", "pioneer-square-deck", "waterfront-lot"]),
    ("northline", "Northline Parking Co.", &["capitol-hill-station", "south-lake-union-hub"]),
];

/// The demo accounts `(email, role, operator)`: a driver and a platform admin, and a manager and an
/// attendant for each operator (`manager@` and `attendant@` the city's, `manager2@` and `attendant2@`
/// the company's).
pub fn accounts() -> Vec<(String, Role, Option<&'static str>)> {
    let email = |name: &str| format!("{name}@demo.parkline");
    let (city, company) = (OPERATORS[0].0, OPERATORS[1].0);
    vec![
        (email("driver"), Role::Driver, None),
        (email("attendant"), Role::Attendant, Some(city)),
        (email("manager"), Role::Manager, Some(city)),
        (email("attendant2"), Role::Attendant, Some(company)),
        (email("manager2"), Role::Manager, Some(company)),
        (email("admin"), Role::Admin, None),
    ]
}

/// The operator a demo facility belongs to.
fn operator_of(facility: &str) -> &'static str {
    OPERATORS.iter().find(|(_, _, owned)| owned.contains(&facility)).map_or(OPERATORS[0].0, |o| o.0)
}

/// Loads the demo operators, layouts and accounts that are not there yet, and issues a fresh
/// sensor-gateway token for each facility (by facility id).
pub async fn seed(app: &App) -> Result<BTreeMap<String, String>> {
    let known = app.store.operators().await?;
    for (id, name, _) in OPERATORS {
        if !known.iter().any(|o| o.id == id) {
            match app.store.insert_operator(id, name, app.now()).await {
                // Another instance seeded it meanwhile.
                Ok(()) | Err(parkline_store::Error::Duplicate) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    for (id, text) in LAYOUTS {
        if app.live.get(id).is_none() {
            let layout = facilities::parse_layout(text, false).map_err(Error::Other)?;
            match facilities::import(app, operator_of(id), layout).await {
                Ok(()) => {}
                // Another instance seeded it meanwhile.
                Err(Error::Api { code: ErrorCode::Conflict, .. }) => facilities::load(app, id).await?,
                Err(e) => return Err(e),
            }
        }
        let facility = app.live.get(id).ok_or_else(|| Error::unknown_facility(id))?;
        if facility.rates().is_none() {
            let plan = toml::from_str(RATES).map_err(|e| anyhow::anyhow!("demo rates: {e}"))?;
            facilities::set_rate_plan(app, id, plan).await?;
        }
    }
    for (email, role, operator) in accounts() {
        match crate::users::create(app, &email, PASSWORD, role, operator).await {
            Err(Error::Api { code: ErrorCode::Conflict, .. }) | Ok(_) => {}
            Err(e) => return Err(e),
        }
    }
    let mut tokens = BTreeMap::new();
    for (id, _) in LAYOUTS {
        let name = format!("demo sensors at {id}");
        let device = NewDevice { name, kind: DeviceKind::SensorGateway, facility: Some(id.to_owned()) };
        let issued = crate::devices::issue(app, &Reach::Everywhere, device).await?;
        tokens.insert(id.to_owned(), issued.token);
    }
    Ok(tokens)
}

/// Gives each demo facility `weeks` of past occupancy samples (where it has none), so the managers'
/// charts and forecast have a history: busy weekdays from 08:00 to 17:00, quieter weekends, nights
/// nearly empty, each facility a little different. Simulated, like the demo's sensors.
pub async fn seed_history(app: &App, weeks: i64) -> Result<()> {
    let now = app.now();
    let start = now - SignedDuration::from_hours(24 * 7 * weeks);
    let slot = SignedDuration::from_millis(crate::reports::SAMPLE_EVERY_MS);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for (n, (id, _)) in LAYOUTS.iter().enumerate() {
        let Some(f) = app.live.get(id) else { continue };
        // Samples from before the last hour: the server samples every facility as it starts.
        if !app.store.occupancy_samples(id, start, now - SignedDuration::from_hours(1)).await?.is_empty() {
            continue;
        }
        let in_service = f.facility.capacity() as u32;
        let scale = [1.0, 0.9, 0.8, 0.95, 0.7][n % 5];
        let mut batch = Vec::new();
        let mut at = Timestamp::from_millisecond(
            start.as_millisecond() - start.as_millisecond().rem_euclid(crate::reports::SAMPLE_EVERY_MS),
        )
        .map_err(|e| Error::Other(e.into()))?;
        while at < now {
            let local = at.to_zoned_datetime(f.tz.clone());
            let hour = f64::from(local.hour()) + f64::from(local.minute()) / 60.0;
            let weekend = local.weekday().to_monday_zero_offset() >= 5;
            let busy = if weekend { 0.55 * bump(hour, 13.5, 3.5) } else { 0.9 * bump(hour, 12.5, 5.0) };
            let level = ((0.08 + busy) * scale + rng.random_range(-0.04..0.04)).clamp(0.0, 1.0);
            let taken = (f64::from(in_service) * level).round() as u32;
            batch.push((id.to_string(), parkline_protocol::OccupancySample { at, taken, in_service }));
            at += slot;
        }
        for chunk in batch.chunks(2000) {
            app.store.save_occupancy_samples(chunk).await?;
        }
    }
    Ok(())
}

/// A smooth plateau around `centre` that is about `half_width` hours wide on each side.
fn bump(hour: f64, centre: f64, half_width: f64) -> f64 {
    let x = (hour - centre) / half_width;
    1.0 / (1.0 + x.powi(8))
}

/// Where simulated sensors send their readings: the HTTP ingest, or an MQTT broker.
#[derive(Debug, Clone)]
pub enum Transport {
    /// The ingest, with each facility's gateway token.
    Http { url: String, tokens: BTreeMap<String, String> },
    /// Each facility's gateway, signed in to the broker as itself: its id and its connection.
    Mqtt(BTreeMap<String, (i64, rumqttc::AsyncClient)>),
}

impl Transport {
    /// Connects each facility's gateway (its device token, `tokens`) to the broker for publishing; the
    /// connections are driven in the background.
    pub async fn mqtt(
        app: &App,
        url: &str,
        ca_file: Option<&std::path::Path>,
        tokens: &BTreeMap<String, String>,
    ) -> anyhow::Result<Transport> {
        let broker = crate::mqtt::BrokerUrl::parse(url)?;
        let mut gateways = BTreeMap::new();
        for (id, facility, _) in app.store.mqtt_gateways().await? {
            let Some(token) = tokens.get(&facility) else { continue };
            if gateways.contains_key(&facility) {
                continue;
            }
            let user = crate::broker::username(id);
            let client_id = format!("parkline-demo-{user}-{}", std::process::id());
            let opts = broker.options(&client_id, Some(&(user, token.clone())), ca_file)?;
            let (client, mut events) = rumqttc::AsyncClient::new(opts, 4096);
            tokio::spawn(async move {
                loop {
                    if events.poll().await.is_err() {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            });
            gateways.insert(facility, (id, client));
        }
        Ok(Transport::Mqtt(gateways))
    }

    async fn send(&self, http: &reqwest::Client, readings: Vec<SensorReading>) {
        match self {
            Transport::Http { url, tokens } => {
                // Each facility's gateway sends its own readings.
                let mut by_facility: BTreeMap<String, Vec<SensorReading>> = BTreeMap::new();
                for r in readings {
                    by_facility.entry(r.facility.clone()).or_default().push(r);
                }
                for (facility, readings) in by_facility {
                    let Some(token) = tokens.get(&facility) else { continue };
                    let batch = SensorBatch { readings };
                    let sent = http
                        .post(format!("{url}/v1/sensors/events"))
                        .bearer_auth(token)
                        .json(&batch)
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status().is_success() => {}
                        Ok(r) => {
                            tracing::warn!(status = %r.status(), %facility, "simulated sensors: batch refused")
                        }
                        Err(e) => tracing::warn!(error = %e, "simulated sensors: server unreachable"),
                    }
                }
            }
            Transport::Mqtt(gateways) => {
                for r in readings {
                    let Some((id, client)) = gateways.get(&r.facility) else { continue };
                    let topic = crate::broker::topic(&r.facility, *id, &r.spot);
                    let payload = serde_json::json!({
                        "occupied": r.occupied, "confidence": r.confidence, "kind": r.kind,
                        "observed_at": r.observed_at.to_string(),
                    });
                    if let Err(e) =
                        client.publish(topic, rumqttc::QoS::AtLeastOnce, false, payload.to_string()).await
                    {
                        tracing::warn!(error = %e, "simulated sensors: publish failed");
                    }
                }
            }
        }
    }
}

/// Simulated sensors: every `period`, some cars arrive and some leave in every facility, drifting each
/// towards a target occupancy; now and then a sensor sends a low-confidence reading, as real ones do.
/// Every sensor also reports its state about every 30 s, as a heartbeat. Runs until the task is dropped.
pub async fn simulate(app: App, transport: Transport, period: Duration) {
    let http = crate::http_client().build().expect("an HTTP client");
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let mut last_flip: HashMap<(String, String), Timestamp> = HashMap::new();
    let mut targets: HashMap<String, f64> = HashMap::new();
    let mut tick = tokio::time::interval(period);
    let mut round: usize = 0;
    let heartbeat_rounds = (30.0 / period.as_secs_f64()).ceil().max(1.0) as usize;
    loop {
        tick.tick().await;
        round += 1;
        let now = app.now();
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
            let mut flipped = std::collections::HashSet::new();
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
                flipped.insert(idx);
                let confidence = if rng.random_bool(0.03) { 0.6 } else { rng.random_range(0.88..0.995) };
                let kind = *[SensorKind::Ultrasonic, SensorKind::Magnetic, SensorKind::Camera]
                    .choose(&mut rng)
                    .unwrap_or(&SensorKind::Ultrasonic);
                readings.push(reading(&f.id, &spot.code, want_occupied, confidence, kind, now));
            }
            // Heartbeats: this round's share of the spots repeats what it sees.
            for idx in (round % heartbeat_rounds..f.capacity()).step_by(heartbeat_rounds) {
                if !flipped.contains(&idx) {
                    let occupied = live.read().spots[idx].sensor.occupied;
                    readings.push(reading(
                        &f.id,
                        &f.spots[idx].code,
                        occupied,
                        0.95,
                        SensorKind::Magnetic,
                        now,
                    ));
                }
            }
            if rng.random_bool(0.02) {
                targets.insert(f.id.clone(), rng.random_range(0.35..0.95));
            }
        }
        for chunk in readings.chunks(1000) {
            transport.send(&http, chunk.to_vec()).await;
        }
    }
}

fn reading(
    facility: &str,
    spot: &str,
    occupied: bool,
    confidence: f64,
    kind: SensorKind,
    at: Timestamp,
) -> SensorReading {
    SensorReading {
        facility: facility.to_owned(),
        spot: spot.to_owned(),
        sensor: None,
        occupied,
        confidence,
        kind,
        observed_at: at,
    }
}
