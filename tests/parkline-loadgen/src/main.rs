//! Load generator for the Parkline server, over real HTTP on loopback.
//!
//! By default it starts its own server (demo city on a temporary SQLite, rate limits off) on its own
//! runtime threads, then drives it; `--url` targets a server that is already running instead. Every run
//! is bounded by `--seconds`. Figures: requests (or readings) per second, and latency percentiles.
//!
//! ```sh
//! cargo run --release -p parkline-loadgen -- availability --seconds 10 --connections 64
//! cargo run --release -p parkline-loadgen -- ingest --seconds 10 --connections 4 --batch 500
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use clap::{Parser, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use jiff::Timestamp;
use parkline_domain::sensor::SensorKind;
use parkline_protocol::{SensorBatch, SensorReading};
use rand::{Rng, SeedableRng};

mod stream;

#[derive(Debug, Parser)]
#[command(about = "Drive a Parkline server over loopback HTTP and report throughput and latency")]
struct Cli {
    /// A running server (`http://127.0.0.1:8080`); by default one is started in-process.
    #[arg(long, global = true)]
    url: Option<String>,
    /// Run for this long.
    #[arg(long, global = true, default_value_t = 10)]
    seconds: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, global = true, default_value_t = 32)]
    connections: usize,
    /// Database for the in-process server (default: SQLite in a temporary directory).
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    scenario: Scenario,
}

/// What the availability scenario asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Query {
    Mixed,
    Availability,
    BestSpots,
    /// Facilities within 3 km of a facility (in turn).
    Nearby3km,
    /// Facilities within 50 km of a facility (in turn).
    Nearby50km,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Public reads over every facility: a facility's availability, nearby searches and best-spot
    /// queries, mixed, or one kind (`--query`).
    Availability {
        #[arg(long, value_enum, default_value_t = Query::Mixed)]
        query: Query,
        /// Most facilities a nearby search returns.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Lanes at every facility: a vehicle enters, then leaves (within the grace period), repeatedly.
    /// Each gate event is one durable transaction. In-process, an admin drives every facility's lanes.
    Gates {
        /// Kiosk token (required with --url).
        #[arg(long)]
        token: Option<String>,
    },
    /// Real-time latency: `subscribers` WebSocket clients follow the facilities while sensors report
    /// `rate` readings per second; measures the time from posting a reading to each client receiving it.
    /// Raise the open-file limit first (`ulimit -n 65536`).
    Stream {
        #[arg(long, default_value_t = 1000)]
        subscribers: usize,
        #[arg(long, default_value_t = 2000)]
        rate: usize,
    },
    /// Propagation between instances: a second server on the same PostgreSQL (`--database-url`); sensors
    /// report `rate` readings per second to the first, `subscribers` clients follow the second; measures
    /// the time from a reading being acknowledged by the first to the change reaching a client of the
    /// second.
    Propagation {
        #[arg(long, default_value_t = 20)]
        subscribers: usize,
        #[arg(long, default_value_t = 200)]
        rate: usize,
    },
    /// Idle real-time clients: opens `--connections` WebSocket connections, each following a facility,
    /// and holds them for `--seconds`. Point it at a separate server (`--url`, `--token`) and read that
    /// process's memory while they are held.
    Idle {
        #[arg(long)]
        token: Option<String>,
    },
    /// Ticket look-ups (`GET /v1/tickets/{ticket}`, as a pay station or the pay page asks): first lets
    /// `vehicles` in, spread over every facility, then looks their tickets up in turn.
    Tickets {
        /// Kiosk or admin token (required with --url).
        #[arg(long)]
        token: Option<String>,
        #[arg(long, default_value_t = 1000)]
        vehicles: usize,
    },
    /// Sensor batches as a gateway posts them; every reading flips a random spot.
    Ingest {
        /// Readings per request.
        #[arg(long, default_value_t = 500)]
        batch: usize,
        /// Each batch spreads over every facility (posted by an admin) instead of one gateway's own.
        #[arg(long)]
        spread: bool,
        /// Sensor-gateway token (required with --url).
        #[arg(long)]
        token: Option<String>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _dir;
    let two = matches!(cli.scenario, Scenario::Propagation { .. });
    anyhow::ensure!(
        !two || (cli.url.is_none() && cli.database_url.as_deref().is_some_and(|u| u.starts_with("postgres"))),
        "propagation starts two servers on one PostgreSQL: give --database-url postgres://..., not --url"
    );
    let (base, tokens, _server_rt) = match &cli.url {
        Some(url) => (url.trim_end_matches('/').to_owned(), Tokens::default(), None),
        None => {
            let dir = tempfile::tempdir()?;
            let settings = parkline_server::config::Settings {
                listen: Some("127.0.0.1:0".parse()?),
                data_dir: Some(dir.path().to_owned()),
                database_url: cli.database_url.clone(),
                public_rate_per_minute: Some(0),
                caller_rate_per_minute: Some(0),
                login_rate_per_minute: Some(0),
                debounce_ms: Some(0),
                payment_provider: Some("simulated".into()),
                ..Default::default()
            };
            _dir = dir;
            // The server gets its own runtime and threads, as it would in its own process.
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            let (url, tokens) = rt.block_on(async {
                let config = settings.resolve()?;
                let server = parkline_server::start(&config).await?;
                let sensors = parkline_server::demo::seed(&server.app).await?;
                // A kiosk at each demo facility, as lanes are; an admin's token for the others (a city
                // of thousands of generated facilities has no devices).
                let admin =
                    server.app.store.user_by_email("admin@demo.parkline").await?.context("the demo admin")?;
                let admin =
                    server.app.auth.issue(server.app.store.as_ref(), &admin, Timestamp::now()).await?;
                let mut kiosks = BTreeMap::new();
                for id in sensors.keys() {
                    let lane = parkline_protocol::NewDevice {
                        name: format!("loadgen kiosk at {id}"),
                        kind: parkline_protocol::DeviceKind::Kiosk,
                        facility: Some(id.clone()),
                    };
                    let everywhere = parkline_server::auth::Reach::Everywhere;
                    kiosks.insert(
                        id.clone(),
                        parkline_server::devices::issue(&server.app, &everywhere, lane).await?.token,
                    );
                }
                let operator = parkline_store::DEFAULT_OPERATOR;
                let partner = parkline_server::auth::random_token(parkline_server::auth::API_KEY_PREFIX);
                let hash = parkline_server::auth::sha256_hex(&partner);
                let scopes = parkline_server::devices::API_KEY_SCOPES.map(str::to_owned);
                server
                    .app
                    .store
                    .insert_api_key("loadgen", &hash, 0, operator, &scopes, Timestamp::now())
                    .await?;
                let url = server.url();
                // The second instance, for the propagation scenario: on the same database.
                let peer = match two {
                    true => Some(parkline_server::start(&config).await?),
                    false => None,
                };
                let peer_url = peer.as_ref().map(parkline_server::Server::url);
                std::mem::forget(server); // runs until the process exits
                std::mem::forget(peer);
                anyhow::Ok((
                    url,
                    Tokens {
                        sensors: PerFacility {
                            one: None,
                            by_facility: sensors,
                            anywhere: Some(admin.access_token.clone()),
                        },
                        kiosk: PerFacility {
                            one: None,
                            by_facility: kiosks,
                            anywhere: Some(admin.access_token),
                        },
                        partner: Some(partner),
                        peer: peer_url,
                    },
                ))
            })?;
            (url, tokens, Some(rt))
        }
    };
    let client_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    client_rt.block_on(run(cli, base, tokens))
}

/// Tokens of the in-process server's demo devices.
#[derive(Debug, Default)]
struct Tokens {
    sensors: PerFacility,
    kiosk: PerFacility,
    partner: Option<String>,
    /// The second in-process server (propagation scenario).
    peer: Option<String>,
}

/// Device tokens: one given (`--token`), or the in-process server's, one per facility (a device acts at
/// its own facility only).
#[derive(Debug, Default, Clone)]
pub(crate) struct PerFacility {
    one: Option<String>,
    by_facility: BTreeMap<String, String>,
    /// A token that acts anywhere (an admin's), for facilities without a device.
    anywhere: Option<String>,
}

impl PerFacility {
    fn or(self, given: Option<String>) -> PerFacility {
        PerFacility { one: given.or(self.one), ..self }
    }

    pub(crate) fn at(&self, facility: &str) -> anyhow::Result<String> {
        self.one
            .clone()
            .or_else(|| self.by_facility.get(facility).cloned())
            .or_else(|| self.anywhere.clone())
            .with_context(|| format!("no device token for {facility}; --token is required with --url"))
    }
}

async fn run(cli: Cli, base: String, tokens: Tokens) -> anyhow::Result<()> {
    let addr = base.strip_prefix("http://").context("--url must be http://host:port")?.to_owned();
    let facilities = facility_ids(&addr).await?;
    if let Scenario::Idle { token } = &cli.scenario {
        let token = token.clone().or(tokens.partner).context("--token is required with --url")?;
        return stream::idle(&addr, &facilities, &token, cli.connections, cli.seconds).await;
    }
    if let Scenario::Stream { subscribers, rate } = cli.scenario {
        let partner = tokens.partner.context("the stream scenario runs against its own server")?;
        let run = stream::Run { post_to: &addr, follow: &addr, sensors: &tokens.sensors, token: &partner };
        return run.measure(&facilities, subscribers, rate, cli.seconds).await;
    }
    if let Scenario::Propagation { subscribers, rate } = cli.scenario {
        let partner = tokens.partner.context("the propagation scenario runs its own servers")?;
        let peer =
            tokens.peer.as_deref().and_then(|u| u.strip_prefix("http://")).context("no second server")?;
        let run = stream::Run { post_to: &addr, follow: peer, sensors: &tokens.sensors, token: &partner };
        return run.measure(&facilities, subscribers, rate, cli.seconds).await;
    }
    let deadline = Instant::now() + Duration::from_secs(cli.seconds);
    let counted = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    let started = Instant::now();
    match &cli.scenario {
        Scenario::Availability { query, limit } => {
            let connections = cli.connections.max(1);
            let places: Vec<(f64, f64)> =
                facility_places(&addr).await?.into_iter().map(|(_, at)| at).collect();
            for w in 0..cli.connections {
                let (addr, facilities, counted) = (addr.clone(), facilities.clone(), counted.clone());
                let places = places.clone();
                let (query, limit) = (*query, *limit);
                workers.push(tokio::spawn(async move {
                    // Each connection walks every facility from its own starting point.
                    let mut i = w * facilities.len() / connections;
                    drive(&addr, deadline, counted, move |_| {
                        i += 1;
                        let id = &facilities[i % facilities.len()];
                        let (lat, lon) = places[i % places.len()];
                        let near = |radius: u32| {
                            format!(
                                "/v1/facilities?lat={lat:.5}&lon={lon:.5}&radius_m={radius}&limit={limit}"
                            )
                        };
                        let path = match (query, i % 3) {
                            (Query::Availability, _) | (Query::Mixed, 0) => {
                                format!("/v1/facilities/{id}/availability")
                            }
                            (Query::BestSpots, _) | (Query::Mixed, 1) => {
                                format!("/v1/facilities/{id}/best-spots?vehicle_class=sedan&n=3")
                            }
                            (Query::Nearby3km, _) | (Query::Mixed, _) => near(3_000),
                            (Query::Nearby50km, _) => near(50_000),
                        };
                        (hyper::Method::GET, path, None, 1)
                    })
                    .await
                }));
            }
        }
        Scenario::Stream { .. } | Scenario::Idle { .. } | Scenario::Propagation { .. } => {
            unreachable!("handled above")
        }
        Scenario::Gates { token: given } => {
            let tokens = tokens.kiosk.or(given.clone());
            let gates = gate_pairs(&addr, &facilities).await?;
            for w in 0..cli.connections {
                let (facility, entry, exit) = gates[w % gates.len()].clone();
                let (addr, counted, token) = (addr.clone(), counted.clone(), tokens.at(&facility)?);
                workers.push(tokio::spawn(async move {
                    drive(&addr, deadline, counted, move |n| {
                        // Even steps enter, odd steps leave: one vehicle per pair of steps.
                        let vehicle = format!("W{w:03}N{:05}", n / 2);
                        let (gate, side) = if n % 2 == 0 { (&entry, "in") } else { (&exit, "out") };
                        let body = serde_json::json!({
                            "event_id": format!("{vehicle}-{side}"),
                            "plate": {"text": vehicle, "confidence": 0.95},
                            "paid_at_gate": 0,
                        });
                        let body = serde_json::to_vec(&body).expect("serializable");
                        (
                            hyper::Method::POST,
                            format!("/v1/gates/{gate}/events"),
                            Some((body, token.clone())),
                            1,
                        )
                    })
                    .await
                }));
            }
        }
        Scenario::Tickets { token: given, vehicles } => {
            let tokens = tokens.kiosk.or(given.clone());
            let tickets = Arc::new(let_in(&addr, &facilities, &tokens, *vehicles).await?);
            for w in 0..cli.connections {
                let (addr, counted, tickets) = (addr.clone(), counted.clone(), tickets.clone());
                workers.push(tokio::spawn(async move {
                    drive(&addr, deadline, counted, move |n| {
                        let ticket = &tickets[(w * 7919 + n) % tickets.len()];
                        (hyper::Method::GET, format!("/v1/tickets/{ticket}"), None, 1)
                    })
                    .await
                }));
            }
        }
        Scenario::Ingest { batch, spread, token: given } => {
            let tokens = tokens.sensors.or(given.clone());
            let spots = Arc::new(spot_codes(&addr, &facilities).await?);
            for w in 0..cli.connections {
                // Each connection is one facility's gateway, reporting for its own spots, or an admin
                // reporting for every facility's.
                let facility = &facilities[w % facilities.len()];
                let (spots, token) = match *spread {
                    true => {
                        let admin = tokens.one.clone().or(tokens.anywhere.clone());
                        (spots.clone(), admin.context("--spread needs an admin's token (--token)")?)
                    }
                    false => {
                        let own = spots.iter().filter(|(f, _)| f == facility).cloned().collect();
                        (Arc::new(own), tokens.at(facility)?)
                    }
                };
                let (addr, counted) = (addr.clone(), counted.clone());
                let batch = *batch;
                workers.push(tokio::spawn(async move {
                    let mut rng = rand::rngs::StdRng::seed_from_u64(w as u64);
                    drive(&addr, deadline, counted, move |_| {
                        let now = Timestamp::now();
                        let readings = (0..batch)
                            .map(|_| {
                                let (facility, spot) = &spots[rng.random_range(0..spots.len())];
                                SensorReading {
                                    facility: facility.clone(),
                                    spot: spot.clone(),
                                    sensor: None,
                                    occupied: rng.random_bool(0.5),
                                    confidence: 0.95,
                                    kind: SensorKind::Magnetic,
                                    observed_at: now,
                                }
                            })
                            .collect();
                        let body = serde_json::to_vec(&SensorBatch { readings }).expect("serializable");
                        (
                            hyper::Method::POST,
                            "/v1/sensors/events".into(),
                            Some((body, token.clone())),
                            batch as u64,
                        )
                    })
                    .await
                }));
            }
        }
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (lat, err) = w.await??;
        latencies.extend(lat);
        errors += err;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let unit = match cli.scenario {
        Scenario::Availability { .. } | Scenario::Tickets { .. } => "queries",
        Scenario::Gates { .. } => "gate events",
        Scenario::Ingest { .. } => "readings",
        Scenario::Stream { .. } | Scenario::Idle { .. } | Scenario::Propagation { .. } => {
            unreachable!("reported by the stream module")
        }
    };
    println!("scenario      {:?}", cli.scenario);
    println!("connections   {}", cli.connections);
    println!("duration      {elapsed:.1} s");
    println!("requests      {} ({errors} errors)", latencies.len());
    println!(
        "throughput    {:.0} requests/s, {:.0} {unit}/s",
        latencies.len() as f64 / elapsed,
        counted.load(Ordering::Relaxed) as f64 / elapsed
    );
    println!(
        "latency       p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        pct(0.50) as f64 / 1000.0,
        pct(0.90) as f64 / 1000.0,
        pct(0.99) as f64 / 1000.0,
        latencies.last().copied().unwrap_or(0) as f64 / 1000.0
    );
    anyhow::ensure!(errors == 0, "{errors} requests failed");
    Ok(())
}

type Job = (hyper::Method, String, Option<(Vec<u8>, String)>, u64);

/// Sends requests over one keep-alive connection until the deadline; returns latencies in microseconds
/// and the number of failed requests.
async fn drive(
    addr: &str,
    deadline: Instant,
    counted: Arc<AtomicU64>,
    mut next: impl FnMut(usize) -> Job,
) -> anyhow::Result<(Vec<u32>, u64)> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut latencies = Vec::with_capacity(100_000);
    let mut errors = 0;
    let mut n = 0;
    while Instant::now() < deadline {
        let (method, path, body, units) = next(n);
        n += 1;
        let mut req = Request::builder().method(method).uri(path).header("host", addr);
        let body = match body {
            Some((bytes, token)) => {
                req = req
                    .header("content-type", "application/json")
                    .header("authorization", format!("Bearer {token}"));
                Full::new(Bytes::from(bytes))
            }
            None => Full::new(Bytes::new()),
        };
        let start = Instant::now();
        sender.ready().await?;
        let response = sender.send_request(req.body(body)?).await?;
        let ok = response.status().is_success();
        response.into_body().collect().await?;
        latencies.push(start.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
        if ok {
            counted.fetch_add(units, Ordering::Relaxed);
        } else {
            errors += 1;
        }
    }
    Ok((latencies, errors))
}

pub(crate) async fn get_json(addr: &str, path: &str) -> anyhow::Result<serde_json::Value> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = Request::builder().uri(path).header("host", addr).body(Full::new(Bytes::new()))?;
    let body = sender.send_request(req).await?.into_body().collect().await?.to_bytes();
    Ok(serde_json::from_slice(&body)?)
}

/// Every facility's id, page by page.
async fn facility_ids(addr: &str) -> anyhow::Result<Vec<String>> {
    Ok(facility_places(addr).await?.into_iter().map(|(id, _)| id).collect())
}

/// Every facility's id and where it is, (lat, lon), page by page.
async fn facility_places(addr: &str) -> anyhow::Result<Vec<(String, (f64, f64))>> {
    let mut out: Vec<(String, (f64, f64))> = Vec::new();
    loop {
        let after = out.last().map(|(id, _)| format!("&after={id}")).unwrap_or_default();
        let page = get_json(addr, &format!("/v1/facilities?limit=200{after}")).await?;
        for f in page["facilities"].as_array().context("facility list")? {
            let id = f["id"].as_str().context("id")?.to_owned();
            let at = &f["location"];
            out.push((id, (at["lat"].as_f64().context("lat")?, at["lon"].as_f64().context("lon")?)));
        }
        if page["next"].is_null() {
            break;
        }
    }
    anyhow::ensure!(!out.is_empty(), "the server has no facilities");
    Ok(out)
}

/// (facility, entry gate, exit gate) of every facility that has both.
async fn gate_pairs(addr: &str, facilities: &[String]) -> anyhow::Result<Vec<(String, String, String)>> {
    let mut out = Vec::new();
    for id in facilities {
        let layout = get_json(addr, &format!("/v1/facilities/{id}/layout")).await?;
        let gates = layout["gates"].as_array().context("gates")?;
        let find = |direction: &str| {
            gates
                .iter()
                .find(|g| g["direction"] == direction)
                .and_then(|g| g["id"].as_str())
                .map(str::to_owned)
        };
        if let (Some(entry), Some(exit)) = (find("entry"), find("exit")) {
            out.push((id.clone(), entry, exit));
        }
    }
    anyhow::ensure!(!out.is_empty(), "no facility has an entry and an exit gate");
    Ok(out)
}

/// Lets `vehicles` in through the entry gates of facilities spread over the list; their tickets.
async fn let_in(
    addr: &str,
    facilities: &[String],
    tokens: &PerFacility,
    vehicles: usize,
) -> anyhow::Result<Vec<String>> {
    let step = (facilities.len() / vehicles.max(1)).max(1);
    let chosen: Vec<String> = facilities.iter().step_by(step).cloned().collect();
    let gates = gate_pairs(addr, &chosen).await?;
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut tickets = Vec::with_capacity(vehicles);
    for i in 0..vehicles {
        let (facility, entry, _) = &gates[i % gates.len()];
        let plate = format!("TKT{i:05}");
        let body = serde_json::json!({"event_id": format!("{plate}-in"), "plate": {"text": plate, "confidence": 0.95}});
        let req = Request::builder()
            .method(hyper::Method::POST)
            .uri(format!("/v1/gates/{entry}/events"))
            .header("host", addr)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", tokens.at(facility)?))
            .body(Full::new(Bytes::from(serde_json::to_vec(&body)?)))?;
        sender.ready().await?;
        let bytes = sender.send_request(req).await?.into_body().collect().await?.to_bytes();
        let decision: serde_json::Value = serde_json::from_slice(&bytes)?;
        if let Some(ticket) = decision["ticket"]["id"].as_str() {
            tickets.push(ticket.to_owned());
        }
    }
    anyhow::ensure!(!tickets.is_empty(), "no vehicle was let in");
    Ok(tickets)
}

pub(crate) async fn spot_codes(addr: &str, facilities: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for id in facilities {
        let layout = get_json(addr, &format!("/v1/facilities/{id}/layout")).await?;
        for spot in layout["spots"].as_array().context("layout")? {
            out.push((id.clone(), spot["code"].as_str().context("code")?.to_owned()));
        }
    }
    Ok(out)
}
