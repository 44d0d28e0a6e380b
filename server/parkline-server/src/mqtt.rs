//! Sensor readings over MQTT: `parkline/<facility>/sensors/<sensor>`, the same JSON as a reading of the
//! HTTP ingest (the facility and sensor come from the topic), through the same rules.
//!
//! Subscribed at QoS 1 with a persistent session, and every message is acknowledged only after its
//! reading is applied and saved, so a broker or server restart redelivers rather than loses; the
//! duplicate and out-of-order rules make a redelivery harmless. Messages waiting together are applied as
//! one batch.

use std::time::Duration;

use jiff::Timestamp;
use parkline_domain::sensor::SensorKind;
use parkline_protocol::SensorReading;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use serde::Deserialize;
use tokio::sync::{mpsc, watch};

use crate::app::App;
use crate::occupancy;

pub const TOPIC_FILTER: &str = "parkline/+/sensors/+";

/// Most messages applied as one batch.
const BATCH: usize = 500;

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

/// Parses `mqtt://host:port`.
pub fn options(url: &str, client_id: &str) -> anyhow::Result<MqttOptions> {
    let rest =
        url.strip_prefix("mqtt://").ok_or_else(|| anyhow::anyhow!("MQTT URL must be mqtt://host:port"))?;
    let (host, port) = rest.trim_end_matches('/').rsplit_once(':').unwrap_or((rest, "1883"));
    let port: u16 = port.parse().map_err(|_| anyhow::anyhow!("bad MQTT port in {url:?}"))?;
    let mut opts = MqttOptions::new(client_id, host, port);
    opts.set_keep_alive(Duration::from_secs(10)).set_clean_session(false).set_manual_acks(true);
    Ok(opts)
}

/// Turns a message into a reading, or says why it cannot be one.
fn reading(app: &App, publish: &Publish) -> Result<SensorReading, String> {
    let parts: Vec<&str> = publish.topic.split('/').collect();
    let ["parkline", facility, "sensors", sensor] = parts[..] else {
        return Err(format!("unexpected topic {:?}", publish.topic));
    };
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
    Ok(SensorReading {
        facility: facility.to_owned(),
        spot,
        sensor: Some(sensor.to_owned()),
        occupied: p.occupied,
        confidence: p.confidence,
        kind: p.kind,
        observed_at: p.observed_at,
    })
}

/// Subscribes and applies readings until `stopped`.
pub async fn run(app: App, opts: MqttOptions, mut stopped: watch::Receiver<bool>) {
    let (client, mut events) = AsyncClient::new(opts, 1024);
    let (tx, mut rx) = mpsc::unbounded_channel::<Publish>();

    // Apply what has arrived, in batches, then acknowledge it.
    let acker = client.clone();
    let app_ = app.clone();
    let worker = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            let parsed: Vec<Result<SensorReading, String>> =
                batch.iter().map(|p| reading(&app_, p)).collect();
            let readings: Vec<SensorReading> =
                parsed.iter().filter_map(|r| r.as_ref().ok().cloned()).collect();
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
                if let Err(e) = client.subscribe(TOPIC_FILTER, QoS::AtLeastOnce).await {
                    tracing::warn!(error = %e, "MQTT subscribe failed");
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                metrics::counter!("parkline_mqtt_messages_total").increment(1);
                let _ = tx.send(p);
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
