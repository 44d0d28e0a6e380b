//! The Parkline server: an axum API over an in-memory live model of every facility, backed by SQLite or
//! PostgreSQL. See `ARCHITECTURE.md` at the repository root for the map.

pub mod accounts;
pub mod alerts;
pub mod auth;
pub mod billing;
pub mod clock;
pub mod config;
pub mod demo;
pub mod error;
pub mod facilities;
pub mod gates;
pub mod http;
pub mod inside;
pub mod live;
pub mod mqtt;
pub mod notices;
pub mod occupancy;
pub mod overrides;
pub mod payments;
pub mod peers;
pub mod permits;
pub mod privacy;
pub mod ratelimit;
pub mod reports;
pub mod reservations;
pub mod stripe;
pub mod users;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use jiff::SignedDuration;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use parkline_domain::sensor::SensorRules;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use parkline_store::Vault;

use crate::http::{App, AppInner};

/// A running server.
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    pub app: App,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Stops accepting requests, lets in-flight ones finish, and stops background work.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The process-wide metrics recorder (installed once, shared by every server in the process).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Opens the database, loads every facility, and starts serving on `config.listen`.
pub async fn start(config: &Config) -> anyhow::Result<Server> {
    start_with_clock(config, std::sync::Arc::new(clock::SystemClock)).await
}

/// [`start`] with a chosen clock (tests make time pass with [`clock::ShiftedClock`]).
pub async fn start_with_clock(
    config: &Config,
    clock: std::sync::Arc<dyn clock::Clock>,
) -> anyhow::Result<Server> {
    if config.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    }
    let store = parkline_store::open(&config.database_url, Arc::new(vault(config)?))
        .await
        .context("opening the database")?;
    let secret = jwt_secret(config)?;
    let app = App::new(AppInner {
        store,
        live: live::Live::default(),
        auth: auth::Auth::new(&secret, SignedDuration::from_secs(i64::from(config.access_token_ttl_s))),
        limits: ratelimit::RateLimits::new(config.public_rate_per_minute, config.caller_rate_per_minute),
        rules: SensorRules {
            min_confidence: config.min_confidence,
            debounce: SignedDuration::from_millis(i64::from(config.debounce_ms)),
            ..SensorRules::default()
        },
        ingest: occupancy::IngestLimits { max_batch: config.max_batch },
        metrics: metrics_handle(),
        clock,
        permits: permits::Permits::default(),
        payments: payments::provider(config)?,
        pii_retention_days: config.pii_retention_days,
        hub: notices::Hub::default(),
        notify_sender: Arc::new(notices::LogSender),
        stale_after: SignedDuration::from_secs(i64::from(config.sensor_stale_after_s)),
        ready: false.into(),
    });
    let loaded = facilities::load_all(app.store.as_ref(), &app.live).await?;
    app.permits.load(app.store.as_ref()).await?;
    tracing::info!(facilities = loaded, backend = app.store.backend(), "state loaded");

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);

    let router = http::router(app.clone());
    let mut until_stop = stopped.clone();
    let serve = tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let shutdown = async move {
            let _ = until_stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, service).with_graceful_shutdown(shutdown).await {
            tracing::error!(error = %e, "server stopped with an error");
        }
    });
    let mut tasks = vec![serve];
    if let Some(url) = &config.mqtt_url {
        // A stable client id keeps the broker's session (and its undelivered readings) across restarts.
        let client_id = format!("parkline-{}", &auth::sha256_hex(&config.database_url)[..12]);
        let opts = mqtt::options(url, &client_id).context("MQTT settings")?;
        tasks.push(tokio::spawn(mqtt::run(app.clone(), opts, stopped.clone())));
    }
    tasks.push(tokio::spawn(peers::follow(app.clone(), stopped.clone())));
    tasks.push(tokio::spawn(webhooks::run(app.clone(), stopped.clone())));
    tasks.push(tokio::spawn(background(app.clone(), stopped)));
    app.set_ready(true);
    tracing::info!(%addr, "serving");
    Ok(Server { addr, app, stop, tasks })
}

/// Periodic work: releasing debounced spot changes, forgetting idle rate-limit state.
async fn background(app: App, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut ticks: u64 = 0;
    // The slot last sampled and how many facilities there were: a facility added (at start-up, or by
    // an import) is sampled at once rather than at the next slot.
    let mut sampled = (0, 0);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        ticks += 1;
        if let Err(e) = occupancy::settle(&app.live, app.store.as_ref(), &app.rules, app.now()).await {
            tracing::warn!(error = %e, "settling held spot changes failed; will retry");
        }
        if ticks.is_multiple_of(4) {
            match reservations::release_no_shows(&app.live, app.store.as_ref(), app.now()).await {
                Ok(missed) => {
                    for r in missed {
                        let Some(owner) = r.owner else { continue };
                        let currency = app.live.get(&r.facility).map(|f| f.facility.currency.clone());
                        let currency = currency.and_then(|c| parkline_domain::Currency::new(&c).ok());
                        let fee = parkline_domain::Money::new(
                            r.fee_minor,
                            currency.unwrap_or(parkline_domain::Currency::USD),
                        );
                        let text = format!(
                            "You did not arrive for your reservation; a no-show fee of {fee} applies."
                        );
                        notices::notify(&app, owner, "no_show", &r.id, text).await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "releasing no-shows failed; will retry"),
            }
            notices::check(&app).await;
            for facility in app.live.all() {
                let flips = facility.check_silent_sensors(app.stale_before());
                metrics::counter!("parkline_sensor_silence_changes_total").increment(flips as u64);
            }
        }
        // One instant for both the slot and the sample: read twice, a slot's edge could fall between.
        let at = app.now();
        let now = (at.as_millisecond() / reports::SAMPLE_EVERY_MS, app.live.all().len());
        if now != sampled {
            match app.store.save_occupancy_samples(&reports::sample(&app, at)).await {
                Ok(()) => sampled = now,
                Err(e) => tracing::warn!(error = %e, "sampling occupancy failed; will retry"),
            }
        }
        if ticks.is_multiple_of(240) {
            app.limits.forget_idle();
        }
        // Hourly, and once soon after start.
        if ticks % 14_400 == 20
            && let Err(e) = privacy::purge(&app).await
        {
            tracing::warn!(error = %e, "removing personal data past retention failed; will retry");
        }
        if ticks % 240 == 30
            && let Err(e) = billing::bill_permits(&app).await
        {
            tracing::warn!(error = %e, "billing permits failed; will retry");
        }
    }
}

/// An HTTP client builder for outgoing calls (Stripe, webhooks, the demo's sensors). TLS is rustls
/// with the `ring` provider, installed here once: no C toolchain beyond a compiler, no OpenSSL.
pub fn http_client() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// The plate keys from the settings, else from (or generated into) `plate.keys` in the data directory.
pub fn vault(config: &Config) -> anyhow::Result<Vault> {
    let (keys, index) = match (&config.plate_keys, &config.plate_index_key) {
        (Some(k), Some(i)) => (k.clone(), i.clone()),
        (None, None) => {
            let path = config.data_dir.join("plate.keys");
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(_) => {
                    std::fs::create_dir_all(&config.data_dir)?;
                    let (k, i) = Vault::generate_settings();
                    let text = format!("{k}\n{i}\n");
                    write_private(&path, &text).with_context(|| format!("writing {}", path.display()))?;
                    text
                }
            };
            let mut lines = text.lines();
            match (lines.next(), lines.next()) {
                (Some(k), Some(i)) => (k.to_owned(), i.to_owned()),
                _ => anyhow::bail!(
                    "{}: expected the plate keys and the index key, a line each",
                    path.display()
                ),
            }
        }
        _ => anyhow::bail!("set both plate_keys and plate_index_key, or neither"),
    };
    Ok(Vault::from_settings(&keys, &index)?)
}

/// The token-signing secret: configured, or generated once into the data directory.
fn jwt_secret(config: &Config) -> anyhow::Result<Vec<u8>> {
    if let Some(s) = &config.jwt_secret {
        anyhow::ensure!(s.len() >= 32, "jwt_secret must be at least 32 characters");
        return Ok(s.as_bytes().to_vec());
    }
    let path = config.data_dir.join("jwt.secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(existing.trim().as_bytes().to_vec());
    }
    std::fs::create_dir_all(&config.data_dir)?;
    let secret = auth::random_token("");
    write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    Ok(secret.into_bytes())
}

/// Writes a file only its owner can read.
pub fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(contents.as_bytes())
}
