//! Settings from three places, strongest first: command-line flags, `PARKLINE_*` environment variables,
//! and a TOML file (`--config`). Anything unset takes the documented default.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use parkline_protocol::Secret;
use serde::Deserialize;

/// Every setting, each optional so sources can be layered.
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to serve HTTP on [default: 127.0.0.1:8080].
    #[arg(long, env = "PARKLINE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// `sqlite://FILE` or `postgres://...` [default: SQLite in the data directory].
    #[arg(long, env = "PARKLINE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Directory for the SQLite database and generated secrets [default: ./parkline-data].
    #[arg(long, env = "PARKLINE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Secret for signing access tokens; generated into the data directory when unset. Set the same
    /// value on every instance that shares a database.
    #[arg(long, env = "PARKLINE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
    /// Keys that encrypt plates at rest, `ID:BASE64[,ID:BASE64...]` (32 bytes each; the first encrypts,
    /// the rest only decrypt); generated into the data directory when unset. Same on every instance.
    #[arg(long, env = "PARKLINE_PLATE_KEYS", hide_env_values = true)]
    pub plate_keys: Option<Secret>,
    /// Key of the plates' blind index (BASE64 of 32 bytes); generated with `plate_keys` when unset.
    #[arg(long, env = "PARKLINE_PLATE_INDEX_KEY", hide_env_values = true)]
    pub plate_index_key: Option<Secret>,
    /// Days to keep plates and plate images of finished stays [default: 90].
    #[arg(long, env = "PARKLINE_PII_RETENTION_DAYS")]
    pub pii_retention_days: Option<u32>,
    /// `stripe`, `paypal`, or `simulated` (accepts test cards, moves no money: demos and tests only). Required to
    /// serve: a server never takes fake payments unless told to; `demo` uses `simulated`.
    #[arg(long, env = "PARKLINE_PAYMENT_PROVIDER")]
    pub payment_provider: Option<String>,
    /// Stripe secret key (`sk_...`), with `payment_provider = stripe`.
    #[arg(long, env = "PARKLINE_STRIPE_SECRET_KEY", hide_env_values = true)]
    pub stripe_secret_key: Option<Secret>,
    /// Stripe's API address [default: https://api.stripe.com].
    #[arg(long, env = "PARKLINE_STRIPE_API_BASE")]
    pub stripe_api_base: Option<String>,
    /// PayPal REST app's client id, with `payment_provider = paypal`.
    #[arg(long, env = "PARKLINE_PAYPAL_CLIENT_ID")]
    pub paypal_client_id: Option<String>,
    /// PayPal REST app's secret, with `payment_provider = paypal`.
    #[arg(long, env = "PARKLINE_PAYPAL_SECRET", hide_env_values = true)]
    pub paypal_secret: Option<Secret>,
    /// PayPal's API address [default: https://api-m.paypal.com; the sandbox is https://api-m.sandbox.paypal.com].
    #[arg(long, env = "PARKLINE_PAYPAL_API_BASE")]
    pub paypal_api_base: Option<String>,
    /// Lifetime of access tokens in seconds [default: 900].
    #[arg(long, env = "PARKLINE_ACCESS_TOKEN_TTL_S")]
    pub access_token_ttl_s: Option<u32>,
    /// Sensor readings below this confidence are ignored [default: 0.85].
    #[arg(long, env = "PARKLINE_MIN_CONFIDENCE")]
    pub min_confidence: Option<f64>,
    /// A spot change within this many milliseconds of the previous one is held [default: 5000].
    #[arg(long, env = "PARKLINE_DEBOUNCE_MS")]
    pub debounce_ms: Option<u32>,
    /// Most readings in one sensor batch [default: 1000].
    #[arg(long, env = "PARKLINE_MAX_BATCH")]
    pub max_batch: Option<usize>,
    /// Stream updates kept for resuming clients, across all facilities: bounds that memory (about
    /// 400 bytes each) however many facilities are busy [default: 200000].
    #[arg(long, env = "PARKLINE_REPLAY_BUDGET")]
    pub replay_budget: Option<usize>,
    /// Anonymous requests per minute per client address; 0 disables [default: 1200].
    #[arg(long, env = "PARKLINE_PUBLIC_RATE_PER_MINUTE")]
    pub public_rate_per_minute: Option<u32>,
    /// Requests per minute per signed-in caller (API keys have their own); 0 disables [default: 12000].
    #[arg(long, env = "PARKLINE_CALLER_RATE_PER_MINUTE")]
    pub caller_rate_per_minute: Option<u32>,
    /// Sensor readings older than this many seconds are rejected [default: 3600].
    #[arg(long, env = "PARKLINE_MAX_READING_AGE_S")]
    pub max_reading_age_s: Option<u32>,
    /// Sign-ins and sign-ups per minute per client address (and 5 sign-ins at once, then one a minute,
    /// per account); 0 disables [default: 20].
    #[arg(long, env = "PARKLINE_LOGIN_RATE_PER_MINUTE")]
    pub login_rate_per_minute: Option<u32>,
    /// A sensor silent for longer than this many seconds is shown as stale [default: 60].
    #[arg(long, env = "PARKLINE_SENSOR_STALE_AFTER_S")]
    pub sensor_stale_after_s: Option<u32>,
    /// Take sensor readings from this MQTT broker too: `mqtt://[user:password@]host[:1883]`, or
    /// `mqtts://...[:8883]` for TLS [default: none].
    #[arg(long, env = "PARKLINE_MQTT_URL", hide_env_values = true)]
    pub mqtt_url: Option<Secret>,
    /// Trust only this CA (PEM) for the `mqtts://` broker [default: the system's roots].
    #[arg(long, env = "PARKLINE_MQTT_CA_FILE")]
    pub mqtt_ca_file: Option<PathBuf>,
    /// Keep the broker's password and ACL files (Mosquitto's formats: each sensor gateway signs in as
    /// itself and publishes its own facility's readings only) in this directory [default: none].
    #[arg(long, env = "PARKLINE_MQTT_AUTH_DIR")]
    pub mqtt_auth_dir: Option<PathBuf>,
    /// `pretty` or `json` [default: pretty].
    #[arg(long, env = "PARKLINE_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// OTLP/HTTP collector to send spans to (`http://collector:4318`); none are sent without it.
    #[arg(long, env = "PARKLINE_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// Where mail goes (sign-up codes): `smtp://[user:password@]host[:port]` (add `?tls=required` for
    /// STARTTLS), `smtps://...` for TLS, or `log` (into the server's log: demos and tests only). Unset,
    /// drivers cannot sign up by themselves [default: none; `demo` uses `log`].
    #[arg(long, env = "PARKLINE_MAIL_URL", hide_env_values = true)]
    pub mail_url: Option<Secret>,
    /// The sender of the server's mail [default: Parkline <no-reply@parkline.localhost>].
    #[arg(long, env = "PARKLINE_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Private address ranges webhooks may reach besides the public internet, `CIDR[,CIDR...]` (a
    /// partner on the operator's own network) [default: none].
    #[arg(long, env = "PARKLINE_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: Option<String>,
}

macro_rules! layer {
    ($strong:expr, $weak:expr, $($field:ident),*) => {
        Settings { $($field: $strong.$field.or($weak.$field)),* }
    };
}

impl Settings {
    /// `self` where set, else `weaker`.
    pub fn or(self, weaker: Settings) -> Settings {
        layer!(
            self,
            weaker,
            listen,
            database_url,
            data_dir,
            jwt_secret,
            plate_keys,
            plate_index_key,
            pii_retention_days,
            payment_provider,
            stripe_secret_key,
            stripe_api_base,
            paypal_client_id,
            paypal_secret,
            paypal_api_base,
            access_token_ttl_s,
            min_confidence,
            debounce_ms,
            max_batch,
            replay_budget,
            public_rate_per_minute,
            caller_rate_per_minute,
            mqtt_url,
            mqtt_ca_file,
            mqtt_auth_dir,
            sensor_stale_after_s,
            max_reading_age_s,
            login_rate_per_minute,
            log_format,
            otlp_endpoint,
            mail_url,
            mail_from,
            webhook_allow_private
        )
    }

    /// Reads a TOML settings file.
    pub fn from_file(path: &std::path::Path) -> anyhow::Result<Settings> {
        let text =
            std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    pub fn resolve(self) -> anyhow::Result<Config> {
        let data_dir = self.data_dir.unwrap_or_else(|| PathBuf::from("parkline-data"));
        let min_confidence = self.min_confidence.unwrap_or(0.85);
        anyhow::ensure!((0.0..=1.0).contains(&min_confidence), "min_confidence must be within 0..=1");
        let database_url = self
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("parkline.db").display()));
        Ok(Config {
            listen: self.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            database_url,
            data_dir,
            jwt_secret: self.jwt_secret,
            plate_keys: self.plate_keys,
            plate_index_key: self.plate_index_key,
            pii_retention_days: self.pii_retention_days.unwrap_or(90).max(1),
            payment_provider: self.payment_provider,
            stripe_secret_key: self.stripe_secret_key,
            stripe_api_base: self.stripe_api_base,
            paypal_client_id: self.paypal_client_id,
            paypal_secret: self.paypal_secret,
            paypal_api_base: self.paypal_api_base,
            access_token_ttl_s: self.access_token_ttl_s.unwrap_or(900),
            min_confidence,
            debounce_ms: self.debounce_ms.unwrap_or(5_000),
            max_batch: self.max_batch.unwrap_or(1_000).max(1),
            replay_budget: self.replay_budget.unwrap_or(200_000).max(1),
            public_rate_per_minute: self.public_rate_per_minute.unwrap_or(1_200),
            caller_rate_per_minute: self.caller_rate_per_minute.unwrap_or(12_000),
            login_rate_per_minute: self.login_rate_per_minute.unwrap_or(20),
            mqtt_url: self.mqtt_url,
            mqtt_ca_file: self.mqtt_ca_file,
            mqtt_auth_dir: self.mqtt_auth_dir,
            sensor_stale_after_s: self.sensor_stale_after_s.unwrap_or(60),
            max_reading_age_s: self.max_reading_age_s.unwrap_or(3600).max(1),
            json_logs: self.log_format.as_deref() == Some("json"),
            otlp_endpoint: self.otlp_endpoint,
            mail_url: self.mail_url,
            mail_from: self.mail_from.unwrap_or_else(|| "Parkline <no-reply@parkline.localhost>".into()),
            outbound: crate::outbound::Outbound::parse(self.webhook_allow_private.as_deref())?,
        })
    }
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub jwt_secret: Option<Secret>,
    pub plate_keys: Option<Secret>,
    pub plate_index_key: Option<Secret>,
    pub pii_retention_days: u32,
    pub payment_provider: Option<String>,
    pub stripe_secret_key: Option<Secret>,
    pub stripe_api_base: Option<String>,
    pub paypal_client_id: Option<String>,
    pub paypal_secret: Option<Secret>,
    pub paypal_api_base: Option<String>,
    pub access_token_ttl_s: u32,
    pub min_confidence: f64,
    pub debounce_ms: u32,
    pub max_batch: usize,
    pub replay_budget: usize,
    pub public_rate_per_minute: u32,
    pub caller_rate_per_minute: u32,
    pub login_rate_per_minute: u32,
    pub mqtt_url: Option<Secret>,
    pub mqtt_ca_file: Option<PathBuf>,
    pub mqtt_auth_dir: Option<PathBuf>,
    pub sensor_stale_after_s: u32,
    pub max_reading_age_s: u32,
    pub json_logs: bool,
    pub otlp_endpoint: Option<String>,
    pub mail_url: Option<Secret>,
    pub mail_from: String,
    /// Where webhooks may be sent.
    pub outbound: crate::outbound::Outbound,
}

impl Config {
    /// Defaults, for tests and embedding.
    pub fn defaults() -> Config {
        Settings::default().resolve().expect("defaults are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_file_and_defaults_fill_the_rest() {
        let file: Settings =
            toml::from_str("listen = \"0.0.0.0:9000\"\nmin_confidence = 0.9\nmax_batch = 10").unwrap();
        let flags = Settings { listen: Some("127.0.0.1:7000".parse().unwrap()), ..Settings::default() };
        let config = flags.or(file).resolve().unwrap();
        assert_eq!(config.listen, "127.0.0.1:7000".parse().unwrap());
        assert_eq!((config.min_confidence, config.max_batch), (0.9, 10));
        assert_eq!(config.debounce_ms, 5_000);
        assert_eq!(config.database_url, "sqlite://parkline-data/parkline.db");
    }

    #[test]
    fn unknown_keys_and_impossible_values_are_refused() {
        assert!(toml::from_str::<Settings>("colour = 1").is_err());
        assert!(Settings { min_confidence: Some(1.5), ..Settings::default() }.resolve().is_err());
    }

    #[test]
    fn secrets_never_reach_a_debug_line() {
        let settings = Settings {
            jwt_secret: Some("jwt-secret-jwt-secret-jwt-secret-42".into()),
            stripe_secret_key: Some("sk_live_secret_key".into()),
            paypal_secret: Some("paypal-app-secret".into()),
            mqtt_url: Some("mqtt://server:broker-password@broker".into()),
            mail_url: Some("smtp://parkline:mail-password@mail.example.com".into()),
            ..Settings::default()
        };
        let shown = format!("{settings:?} {:?}", settings.clone().resolve().unwrap());
        for secret in
            ["jwt-secret-jwt", "sk_live_secret", "paypal-app-secret", "broker-password", "mail-password"]
        {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
