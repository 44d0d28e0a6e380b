//! The Parkline server: an axum API over an in-memory live model of every facility, backed by SQLite or
//! PostgreSQL. See `ARCHITECTURE.md` at the repository root for the map.

pub mod accounts;
pub mod alerts;
pub mod app;
pub mod auth;
pub mod billing;
pub mod broker;
pub mod city;
pub mod clock;
pub mod config;
pub mod demo;
pub mod devices;
pub mod directory;
pub mod error;
pub mod facilities;
pub mod feeds;
pub mod forecast;
pub mod gates;
pub mod grants;
pub mod http;
pub mod hub;
pub mod inside;
pub mod live;
pub mod mail;
pub mod mqtt;
pub mod notices;
pub mod occupancy;
pub mod operators;
pub mod outbound;
pub mod overrides;
pub mod payments;
pub mod paypal;
pub mod peers;
pub mod permit_book;
pub mod permits;
pub mod privacy;
pub mod provider;
pub mod ratelimit;
pub mod reports;
pub mod reservations;
pub mod setup;
pub mod stays;
pub mod stripe;
pub mod users;
pub mod validations;
pub mod webhooks;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::app::App;
use crate::config::Config;

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

/// Opens the database, loads every facility, and starts serving on `config.listen`.
pub async fn start(config: &Config) -> anyhow::Result<Server> {
    start_with_clock(config, std::sync::Arc::new(clock::SystemClock)).await
}

/// [`start`] with a chosen clock (tests make time pass with [`clock::ShiftedClock`]).
pub async fn start_with_clock(
    config: &Config,
    clock: std::sync::Arc<dyn clock::Clock>,
) -> anyhow::Result<Server> {
    setup::check_payments(config)?;
    let (app, changes) = setup::open_following(config, clock, true).await?;
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
    broker::write(app.broker.as_ref(), app.store.as_ref()).await.context("the MQTT broker's files")?;
    if let Some(url) = &config.mqtt_url {
        // A stable client id keeps the broker's session (and its undelivered readings) across restarts.
        let client_id = format!("parkline-{}", &auth::sha256_hex(&config.database_url)[..12]);
        let opts = mqtt::BrokerUrl::parse(url)
            .and_then(|u| u.options(&client_id, None, config.mqtt_ca_file.as_deref()))
            .context("MQTT settings")?;
        tasks.push(tokio::spawn(mqtt::run(app.clone(), opts, stopped.clone())));
    }
    if let Some(changes) = changes {
        tasks.push(tokio::spawn(peers::follow(app.clone(), changes, stopped.clone())));
    }
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
        if let Err(e) = occupancy::settle(&app).await {
            tracing::warn!(error = %e, "settling held spot changes failed; will retry");
        }
        if ticks.is_multiple_of(4) {
            if let Err(e) = reservations::release_no_shows(&app).await {
                tracing::warn!(error = %e, "releasing no-shows failed; will retry");
            }
            notices::check(&app).await;
            notices::nearly_full(&app).await;
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
