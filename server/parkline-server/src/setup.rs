//! Building the application from its settings: the database and its plate keys, the token secret,
//! the payment provider, then the facilities and permits loaded into memory. The crate root and the
//! command line call it; nothing else depends on it.

use std::sync::{Arc, OnceLock};

use anyhow::Context;
use jiff::SignedDuration;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use parkline_domain::sensor::SensorRules;
use parkline_store::Vault;

use crate::app::{App, AppInner};
use crate::auth::Auth;
use crate::clock::Clock;
use crate::config::Config;
use crate::hub::{Hub, LogSender};
use crate::live::Live;
use crate::permit_book::Permits;
use crate::provider::{Provider, Simulated, Unconfigured};
use crate::ratelimit::RateLimits;
use crate::{facilities, permits};

/// Refuses to serve with no payment provider named: a server that quietly took test cards would let
/// every car out unpaid.
pub fn check_payments(config: &Config) -> anyhow::Result<()> {
    if config.payment_provider.is_none() {
        anyhow::bail!(
            "no payment provider is set: set payment_provider (PARKLINE_PAYMENT_PROVIDER, --payment-provider) \
             to `stripe` or `paypal`, or to `simulated` to accept test cards that move no money (demos and tests only)"
        );
    }
    Ok(())
}

/// Opens the database and loads every facility and permit into memory: the server's state, ready
/// to serve (the command line's tools use it without serving).
pub async fn open(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
    Ok(open_following(config, clock, false).await?.0)
}

/// [`open`], and with `follow`, the changes other instances commit from before the state was loaded
/// on (PostgreSQL), for `peers::follow`: nothing committed while loading is missed.
pub async fn open_following(
    config: &Config,
    clock: Arc<dyn Clock>,
    follow: bool,
) -> anyhow::Result<(App, Option<tokio::sync::mpsc::Receiver<parkline_store::Change>>)> {
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
        live: Live::default(),
        auth: Auth::new(&secret, SignedDuration::from_secs(i64::from(config.access_token_ttl_s))),
        limits: RateLimits::new(
            config.public_rate_per_minute,
            config.caller_rate_per_minute,
            config.login_rate_per_minute,
        ),
        rules: SensorRules {
            min_confidence: config.min_confidence,
            debounce: SignedDuration::from_millis(i64::from(config.debounce_ms)),
            max_age: SignedDuration::from_secs(i64::from(config.max_reading_age_s)),
            ..SensorRules::default()
        },
        max_batch: config.max_batch,
        metrics: metrics_handle(),
        clock,
        permits: Permits::default(),
        payments: provider(config)?,
        mailer: Arc::new(crate::mail::Mailer::from_settings(config.mail_url.as_deref(), &config.mail_from)?),
        pii_retention_days: config.pii_retention_days,
        hub: Hub::default(),
        notify_sender: Arc::new(LogSender),
        stale_after: SignedDuration::from_secs(i64::from(config.sensor_stale_after_s)),
        outbound: config.outbound.clone(),
        broker: match &config.mqtt_auth_dir {
            Some(dir) => {
                let url = config.mqtt_url.as_deref().map(crate::mqtt::BrokerUrl::parse).transpose()?;
                Some(crate::broker::BrokerFiles { dir: dir.clone(), server: url.and_then(|u| u.credentials) })
            }
            None => None,
        },
        ready: false.into(),
    });
    crate::live::set_replay_budget(config.replay_budget);
    let changes = if follow { app.store.changes().await.context("following the change feed")? } else { None };
    let loaded = facilities::load_all(&app).await?;
    permits::load(&app).await?;
    crate::devices::bind_unplaced(&app).await?;
    tracing::info!(facilities = loaded, backend = app.store.backend(), "state loaded");
    Ok((app, changes))
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

/// The provider the settings name: `stripe`, `paypal` or `simulated`. With none, payments fail as a provider
/// error (the command-line tools take none); serving needs one named ([`check_payments`]).
fn provider(config: &Config) -> anyhow::Result<Arc<dyn Provider>> {
    let Some(name) = config.payment_provider.as_deref() else { return Ok(Arc::new(Unconfigured)) };
    match name {
        "simulated" => {
            tracing::warn!("payments are SIMULATED: test cards are accepted and no money moves");
            Ok(Arc::new(Simulated))
        }
        "stripe" => {
            let key = config.stripe_secret_key.as_deref().ok_or_else(|| {
                anyhow::anyhow!(
                    "payment_provider = stripe needs stripe_secret_key (PARKLINE_STRIPE_SECRET_KEY)"
                )
            })?;
            let base = config.stripe_api_base.as_deref().unwrap_or("https://api.stripe.com");
            Ok(Arc::new(crate::stripe::Stripe::new(base, key)?))
        }
        "paypal" => {
            let (Some(id), Some(secret)) =
                (config.paypal_client_id.as_deref(), config.paypal_secret.as_deref())
            else {
                anyhow::bail!(
                    "payment_provider = paypal needs paypal_client_id and paypal_secret \
                     (PARKLINE_PAYPAL_CLIENT_ID, PARKLINE_PAYPAL_SECRET)"
                )
            };
            let base = config.paypal_api_base.as_deref().unwrap_or("https://api-m.paypal.com");
            Ok(Arc::new(crate::paypal::PayPal::new(base, id, secret)?))
        }
        other => anyhow::bail!("unknown payment_provider {other:?}: use simulated, stripe or paypal"),
    }
}

/// The plate keys from the settings, else from (or generated into) `plate.keys` in the data directory.
pub fn vault(config: &Config) -> anyhow::Result<Vault> {
    let (keys, index) = match (&config.plate_keys, &config.plate_index_key) {
        (Some(k), Some(i)) => (k.to_string(), i.to_string()),
        (None, None) => {
            let path = config.data_dir.join("plate.keys");
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(_) => {
                    std::fs::create_dir_all(&config.data_dir)?;
                    let (k, i) = Vault::generate_settings();
                    let text = format!("{k}\n{i}\n");
                    crate::write_private(&path, &text)
                        .with_context(|| format!("writing {}", path.display()))?;
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
    let secret = crate::auth::random_token("");
    crate::write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    Ok(secret.into_bytes())
}
