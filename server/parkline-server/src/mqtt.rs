//! Sensor readings over MQTT: `parkline/<facility>/gateway-<id>/sensors/<sensor>`, the same JSON as a
//! reading of the HTTP ingest, and cameras' per-spot reports on
//! `parkline/<facility>/gateway-<id>/cameras/<camera>` (a [`CameraReport`]), through the same rules. Each gateway signs in to the broker as itself
//! and the broker's ACL lets it publish under its own name and facility only ([`crate::broker`]); the
//! server checks the same again, from its own list of active gateways, so a reading counts only if the
//! gateway in its topic is an active gateway of the facility in its topic.
//!
//! Subscribed at QoS 1 with a persistent session, and every message is acknowledged only after its
//! reading is applied and saved, so a broker or server restart redelivers rather than loses; the
//! duplicate and out-of-order rules make a redelivery harmless. Messages waiting together are applied as
//! one batch. The queue between the connection and the worker is bounded: when it is full the
//! connection stops reading, and the broker holds what is unacknowledged.

use std::time::Duration;

use jiff::Timestamp;
use parkline_domain::sensor::SensorKind;
use parkline_protocol::{CameraReport, SensorReading};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use serde::Deserialize;
use tokio::sync::{mpsc, watch};

use crate::app::App;
use crate::occupancy;

pub const TOPIC_FILTERS: [&str; 2] = ["parkline/+/+/sensors/+", "parkline/+/+/cameras/+"];

/// Most messages applied as one batch.
const BATCH: usize = 500;

/// Messages waiting for the worker at most; beyond, the connection waits (back-pressure).
const QUEUE: usize = 4 * BATCH;

/// How long the list of active gateways is trusted before it is read again: bounds how long a revoked
/// gateway's readings still count on an instance that did not revoke it.
const GATEWAYS_TTL: Duration = Duration::from_secs(5);

/// A reading as published: like the HTTP one, but the facility and sensor are in the topic.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    #[serde(default)]
    facility: Option<String>,
    #[serde(default)]
    spot: Option<String>,
    #[serde(default)]
    sensor: Option<String>,
    occupied: bool,
    confidence: f64,
    kind: SensorKind,
    observed_at: Timestamp,
}

/// A broker to connect to: `mqtt://[user:password@]host[:1883]` or `mqtts://...[:8883]` (TLS, trusting
/// the system's roots, or only `ca_file`'s when given).
#[derive(Clone)]
pub struct BrokerUrl {
    host: String,
    port: u16,
    tls: bool,
    /// User and password, if the URL names them.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

impl BrokerUrl {
    pub fn parse(url: &str) -> anyhow::Result<BrokerUrl> {
        let bad =
            || anyhow::anyhow!("the MQTT URL must be mqtt://[user:password@]host[:port] or mqtts://...");
        let parsed = url::Url::parse(url).map_err(|_| bad())?;
        let tls = match parsed.scheme() {
            "mqtt" => false,
            "mqtts" => true,
            _ => return Err(bad()),
        };
        let host = parsed.host_str().ok_or_else(bad)?.trim_matches(['[', ']']).to_owned();
        let port = parsed.port().unwrap_or(if tls { 8883 } else { 1883 });
        let decode = |s: &str| {
            url::form_urlencoded::parse(s.as_bytes()).map(|(k, _)| k.into_owned()).collect::<String>()
        };
        let credentials = (!parsed.username().is_empty())
            .then(|| (decode(parsed.username()), decode(parsed.password().unwrap_or_default())));
        Ok(BrokerUrl { host, port, tls, credentials })
    }

    /// Options for a persistent session acknowledged by hand, signed in as `credentials` if any.
    pub fn options(
        &self,
        client_id: &str,
        credentials: Option<&(String, String)>,
        ca_file: Option<&std::path::Path>,
    ) -> anyhow::Result<MqttOptions> {
        let mut opts = MqttOptions::new(client_id, &self.host, self.port);
        opts.set_keep_alive(Duration::from_secs(10)).set_clean_session(false).set_manual_acks(true);
        if let Some((user, password)) = credentials.or(self.credentials.as_ref()) {
            opts.set_credentials(user, password);
        }
        if self.tls {
            opts.set_transport(rumqttc::Transport::tls_with_config(tls_config(ca_file)?));
        }
        Ok(opts)
    }
}

/// TLS to the broker: its certificate checked against `ca_file` if given, else the system's roots.
fn tls_config(ca_file: Option<&std::path::Path>) -> anyhow::Result<rumqttc::TlsConfiguration> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            use rustls::pki_types::{CertificateDer, pem::PemObject};
            for cert in CertificateDer::pem_slice_iter(&pem) {
                roots.add(cert.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?)?;
            }
            anyhow::ensure!(!roots.is_empty(), "{}: no certificate in it", path.display());
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(rumqttc::TlsConfiguration::Rustls(std::sync::Arc::new(config)))
}

/// Parses `mqtt://host:port` (or `mqtts://`, with credentials) into options, for tools and tests.
pub fn options(url: &str, client_id: &str) -> anyhow::Result<MqttOptions> {
    BrokerUrl::parse(url)?.options(client_id, None, None)
}

/// Active sensor gateways by id, with their facility, as last read from the store.
struct Gateways {
    by_id: std::collections::HashMap<i64, String>,
    read: Option<std::time::Instant>,
}

impl Gateways {
    async fn refresh(&mut self, app: &App) {
        if self.read.is_some_and(|at| at.elapsed() < GATEWAYS_TTL) {
            return;
        }
        match app.store.mqtt_gateways().await {
            Ok(all) => {
                self.by_id = all.into_iter().map(|(id, facility, _)| (id, facility)).collect();
                self.read = Some(std::time::Instant::now());
            }
            Err(e) => tracing::warn!(error = %e, "reading the sensor gateways failed; keeping the last list"),
        }
    }
}

/// Turns a message into readings (one, or a camera's per spot), or says why it cannot.
fn readings(app: &App, gateways: &Gateways, publish: &Publish) -> Result<Vec<SensorReading>, String> {
    let parts: Vec<&str> = publish.topic.split('/').collect();
    let ["parkline", facility, gateway, what @ ("sensors" | "cameras"), sensor] = parts[..] else {
        return Err(format!("unexpected topic {:?}", publish.topic));
    };
    let id = gateway.strip_prefix("gateway-").and_then(|id| id.parse::<i64>().ok());
    match id.and_then(|id| gateways.by_id.get(&id)) {
        Some(own) if own == facility => {}
        _ => return Err(format!("{gateway:?} is not an active sensor gateway of {facility:?}")),
    }
    if what == "cameras" {
        let report: CameraReport =
            serde_json::from_slice(&publish.payload).map_err(|e| format!("bad camera report: {e}"))?;
        return Ok(report.readings(facility, sensor));
    }
    let p: Payload = serde_json::from_slice(&publish.payload).map_err(|e| format!("bad payload: {e}"))?;
    if p.facility.as_deref().is_some_and(|f| f != facility)
        || p.sensor.as_deref().is_some_and(|s| s != sensor)
    {
        return Err("payload names another facility or sensor than its topic".into());
    }
    let spot = match p.spot {
        Some(spot) => spot,
        None => {
            let live = app.live.get(facility).ok_or_else(|| format!("no facility {facility:?}"))?;
            let idx = live.facility.spot_by_sensor(sensor).ok_or_else(|| format!("no sensor {sensor:?}"))?;
            live.facility.spot(idx).code.clone()
        }
    };
    Ok(vec![SensorReading {
        facility: facility.to_owned(),
        spot,
        sensor: Some(sensor.to_owned()),
        occupied: p.occupied,
        confidence: p.confidence,
        kind: p.kind,
        observed_at: p.observed_at,
    }])
}

/// Subscribes and applies readings until `stopped`.
pub async fn run(app: App, opts: MqttOptions, mut stopped: watch::Receiver<bool>) {
    let (client, mut events) = AsyncClient::new(opts, 1024);
    let (tx, mut rx) = mpsc::channel::<Publish>(QUEUE);

    // Apply what has arrived, in batches, then acknowledge it.
    let acker = client.clone();
    let app_ = app.clone();
    let worker = tokio::spawn(async move {
        let mut gateways = Gateways { by_id: Default::default(), read: None };
        while let Some(first) = rx.recv().await {
            gateways.refresh(&app_).await;
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            let parsed: Vec<Result<Vec<SensorReading>, String>> =
                batch.iter().map(|p| readings(&app_, &gateways, p)).collect();
            let readings: Vec<SensorReading> =
                parsed.iter().filter_map(|r| r.as_ref().ok()).flatten().cloned().collect();
            for e in parsed.iter().filter_map(|r| r.as_ref().err()) {
                metrics::counter!("parkline_mqtt_refused_total", "stage" => "parse").increment(1);
                tracing::warn!(error = %e, "MQTT message refused");
            }
            let applied = occupancy::ingest_each(&app_, &readings).await;
            match applied {
                Ok(results) => {
                    for e in results.iter().filter_map(|r| r.as_ref().err()) {
                        metrics::counter!("parkline_mqtt_refused_total", "stage" => "validate").increment(1);
                        tracing::warn!(error = %e, "MQTT reading refused");
                    }
                }
                Err(e) => {
                    // Not saved: leave the batch unacknowledged so the broker delivers it again.
                    tracing::error!(error = %e, "applying MQTT readings failed");
                    continue;
                }
            }
            for p in &batch {
                let _ = acker.ack(p).await;
            }
        }
    });

    loop {
        let event = tokio::select! {
            e = events.poll() => e,
            _ = stopped.wait_for(|s| *s) => break,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                tracing::info!(session_present = ack.session_present, "connected to the MQTT broker");
                for filter in TOPIC_FILTERS {
                    if let Err(e) = client.subscribe(filter, QoS::AtLeastOnce).await {
                        tracing::warn!(error = %e, filter, "MQTT subscribe failed");
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                metrics::counter!("parkline_mqtt_messages_total").increment(1);
                // Waits while the worker is behind: the broker keeps what is not yet acknowledged.
                let sent = tokio::select! {
                    sent = tx.send(p) => sent,
                    _ = stopped.wait_for(|s| *s) => break,
                };
                if sent.is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "MQTT connection lost; reconnecting");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    let _ = client.disconnect().await;
    drop(tx);
    let _ = worker.await;
}
