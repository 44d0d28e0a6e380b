//! The real-time scenarios: how long from a sensor reading being posted to each subscribed client
//! receiving the change (`stream`); and, with two instances, from one instance acknowledging a reading
//! to a client of the other receiving it (`propagation`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use jiff::Timestamp;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// When each spot's latest change was posted, in microseconds since `start` (0: never), indexed by
/// the spot's position in `index`. Subscribers read it without a lock, so the measuring client costs
/// the shared two cores as little as it can.
struct Sent {
    start: Instant,
    index: HashMap<(String, String), usize>,
    posted: Vec<[AtomicU64; 2]>,
    /// Across instances: when each change was acknowledged, counted from instead.
    acked: Option<Vec<[AtomicU64; 2]>>,
}

impl Sent {
    fn now(&self) -> u64 {
        self.start.elapsed().as_micros() as u64 + 1
    }

    fn mark(&self, i: usize, occupied: bool) {
        self.posted[i][usize::from(occupied)].store(self.now(), Ordering::Relaxed);
    }

    fn ack(&self, i: usize, occupied: bool) {
        if let Some(acked) = &self.acked {
            acked[i][usize::from(occupied)].store(self.now(), Ordering::Relaxed);
        }
    }

    /// Microseconds since the change this message reports was posted, or across instances since it
    /// was acknowledged (since it was posted, if it arrived before its acknowledgement).
    fn latency(&self, facility: &str, spot: &str, occupied: bool) -> Option<u32> {
        let i = *self.index.get(&(facility.to_owned(), spot.to_owned()))?;
        let mut at = self.posted[i][usize::from(occupied)].load(Ordering::Relaxed);
        if let Some(acked) = &self.acked {
            at = at.max(acked[i][usize::from(occupied)].load(Ordering::Relaxed));
        }
        (at != 0).then(|| self.now().saturating_sub(at).min(u64::from(u32::MAX)) as u32)
    }
}

/// The fields of a spot message the subscribers need, borrowed from the text.
#[derive(serde::Deserialize)]
struct SpotMessage<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(default)]
    facility: &'a str,
    #[serde(default)]
    spot: &'a str,
    #[serde(default)]
    state: &'a str,
}

/// Where readings go and where subscribers follow: one server, or two instances.
pub struct Run<'a> {
    pub post_to: &'a str,
    pub follow: &'a str,
    pub sensors: &'a crate::PerFacility,
    pub token: &'a str,
}

impl Run<'_> {
    /// Latency is counted from posting a reading on one server, or, across instances, from its
    /// acknowledgement (the other instance can only know what was committed).
    pub async fn measure(
        &self,
        facilities: &[String],
        subscribers: usize,
        rate: usize,
        seconds: u64,
    ) -> anyhow::Result<()> {
        let Run { post_to: addr, follow, sensors, token } = *self;
        let across = addr != follow;
        run(addr, follow, across, facilities, sensors, token, subscribers, rate, seconds).await
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    addr: &str,
    follow: &str,
    across: bool,
    facilities: &[String],
    sensors: &crate::PerFacility,
    token: &str,
    subscribers: usize,
    rate: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let spots = crate::spot_codes(addr, facilities).await?;
    let sent = Arc::new(Sent {
        start: Instant::now(),
        index: spots.iter().cloned().enumerate().map(|(i, key)| (key, i)).collect(),
        posted: spots.iter().map(|_| Default::default()).collect(),
        acked: across.then(|| spots.iter().map(|_| Default::default()).collect()),
    });
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));

    // Subscribers, spread over the facilities.
    let mut clients = Vec::with_capacity(subscribers);
    let mut ready = 0;
    for i in 0..subscribers {
        let facility = facilities[i % facilities.len()].clone();
        let mut req = format!("ws://{follow}/v1/stream").into_client_request()?;
        req.headers_mut().insert("authorization", format!("Bearer {token}").parse()?);
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.context("connecting a subscriber")?;
        let subscribe = serde_json::json!({"type": "subscribe", "facility": facility});
        ws.send(Message::Text(subscribe.to_string().into())).await?;
        let (sent, stop) = (sent.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut latencies: Vec<u32> = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok(Some(Ok(message))) = tokio::time::timeout(Duration::from_millis(200), ws.next()).await
                else {
                    continue;
                };
                let Message::Text(text) = message else { continue };
                let Ok(m) = serde_json::from_str::<SpotMessage>(&text) else { continue };
                if m.kind != "spot" {
                    continue;
                }
                if let Some(micros) = sent.latency(m.facility, m.spot, m.state == "occupied") {
                    latencies.push(micros);
                }
            }
            latencies
        }));
        ready += 1;
    }
    println!("subscribers   {ready} connected{}", if across { " to the other instance" } else { "" });
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The sensors: every 10 ms, the next spots in turn flip.
    let mut occupied: HashMap<usize, bool> = HashMap::new();
    let http = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(http)).await?;
    tokio::spawn(conn);
    let per_tick = (rate / 100).max(1);
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut next, mut posted) = (0usize, 0usize);
    while Instant::now() < deadline {
        tick.tick().await;
        let now = Timestamp::now();
        // Each facility's gateway posts its own spots' readings.
        let mut readings: std::collections::BTreeMap<&str, Vec<serde_json::Value>> = Default::default();
        let mut flipped = Vec::with_capacity(per_tick);
        for _ in 0..per_tick {
            let i = next % spots.len();
            next += 1;
            let state = occupied.entry(i).or_insert(false);
            *state = !*state;
            let (facility, spot) = &spots[i];
            sent.mark(i, *state);
            flipped.push((i, *state));
            readings
                .entry(facility)
                .or_default()
                .push(serde_json::json!({"facility": facility, "spot": spot,
                "occupied": *state, "confidence": 0.97, "kind": "magnetic", "observed_at": now.to_string()}));
        }
        for (facility, readings) in readings {
            let body = serde_json::json!({ "readings": readings }).to_string();
            let req = hyper::Request::post("/v1/sensors/events")
                .header("host", addr)
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {}", sensors.at(facility)?))
                .body(http_body_util::Full::new(bytes::Bytes::from(body)))?;
            sender.ready().await?;
            let response = sender.send_request(req).await?;
            anyhow::ensure!(response.status().is_success(), "readings refused: {}", response.status());
            http_body_util::BodyExt::collect(response.into_body()).await?;
        }
        for (i, state) in flipped {
            sent.ack(i, state);
        }
        posted += per_tick;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);

    let mut latencies = Vec::new();
    for c in clients {
        latencies.extend(c.await?);
    }
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
    };
    let ms = |v: Option<&u32>| v.map_or(0.0, |v| f64::from(*v) / 1000.0);
    println!("readings      {posted} posted ({:.0}/s)", posted as f64 / seconds as f64);
    println!("deliveries    {} ({:.0}/s)", latencies.len(), latencies.len() as f64 / seconds as f64);
    println!(
        "latency       p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        ms(pct(0.5)),
        ms(pct(0.9)),
        ms(pct(0.99)),
        ms(latencies.last())
    );
    Ok(())
}

/// Opens `connections` idle subscribers and holds them for `seconds`.
pub async fn idle(
    addr: &str,
    facilities: &[String],
    token: &str,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut held = Vec::with_capacity(connections);
    for i in 0..connections {
        let mut req = format!("ws://{addr}/v1/stream").into_client_request()?;
        req.headers_mut().insert("authorization", format!("Bearer {token}").parse()?);
        // Small buffers on this side too (tungstenite allocates 128 KiB per connection by default), so a
        // client process can hold tens of thousands.
        let config = WebSocketConfig::default().read_buffer_size(4 * 1024).write_buffer_size(0);
        let (mut ws, _) = match tokio_tungstenite::connect_async_with_config(req, Some(config), false).await {
            Ok(c) => c,
            Err(e) => {
                println!("connection {i} failed: {e}");
                break;
            }
        };
        let subscribe =
            serde_json::json!({"type": "subscribe", "facility": facilities[i % facilities.len()]});
        ws.send(Message::Text(subscribe.to_string().into())).await?;
        // Read the snapshot, then keep the connection answering pings in the background.
        let _ = ws.next().await;
        held.push(tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} }));
        if (i + 1) % 1000 == 0 {
            println!("{} connections open ({:.1} s)", i + 1, started.elapsed().as_secs_f64());
        }
    }
    println!("holding       {} connections for {seconds} s", held.len());
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    for task in held {
        task.abort();
    }
    Ok(())
}
