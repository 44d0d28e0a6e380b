//! Test helpers: real databases (a temporary SQLite file, or a fresh PostgreSQL database), a real server
//! on a loopback port, and a real HTTP client.

#![allow(dead_code)]

/// Runs each named `async fn(Backend)` as two tests, `sqlite::name` and `postgres::name`.
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Sqlite).await }
            )*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Postgres).await }
            )*
        }
    };
}

pub mod lane;
pub mod process;

use std::path::PathBuf;
use std::sync::Arc;

use parkline_protocol::{DeviceKind, Role, TokenResponse};
use parkline_server::clock::ShiftedClock;
use parkline_server::config::{Config, Settings};
use parkline_server::mail::catcher::Catcher;
use parkline_server::{Server, demo, start_with_clock};
use serde_json::{Value, json};

pub const PASSWORD: &str = demo::PASSWORD;
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// An HTTP client for tests (TLS set up the server's way).
pub fn http() -> reqwest::Client {
    parkline_server::http_client().build().unwrap()
}

/// A PostgreSQL client tool (`pg_dump`, ...): on the PATH, else from the server's installation.
#[allow(dead_code)]
pub fn pg_tool(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    let installed = || {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin").join(name))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        found.pop()
    };
    on_path.or_else(installed).unwrap_or_else(|| panic!("{name} is not installed (tests/run installs it)"))
}

pub use parkline_store::testing::Backend;

/// A database for one test (the store's), with the server settings that use it.
#[derive(Debug)]
pub struct TestDb(parkline_store::testing::TestDb);

impl std::ops::Deref for TestDb {
    type Target = parkline_store::testing::TestDb;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl TestDb {
    /// A new, empty database on `backend`; `None` (with a loud message) if PostgreSQL is not configured
    /// and the test run does not require it.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        parkline_store::testing::TestDb::new(backend).await.map(TestDb)
    }

    /// Drops a PostgreSQL test database (SQLite files go with the temp dir).
    pub async fn cleanup(self) {
        self.0.cleanup().await
    }

    pub fn config(&self) -> Config {
        self.settings().resolve().unwrap()
    }

    /// Test settings: loopback on a free port, known secret, short debounce, no rate limits.
    pub fn settings(&self) -> Settings {
        Settings {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            database_url: Some(self.url.clone()),
            data_dir: Some(PathBuf::from(self.dir.path())),
            jwt_secret: Some(JWT_SECRET.into()),
            debounce_ms: Some(300),
            public_rate_per_minute: Some(0),
            caller_rate_per_minute: Some(0),
            login_rate_per_minute: Some(0),
            payment_provider: Some("simulated".into()),
            // Tests' webhook receivers listen on loopback.
            webhook_allow_private: Some("127.0.0.0/8".into()),
            ..Settings::default()
        }
    }
}

/// A running server with the demo city loaded, and a client for it.
#[derive(Debug)]
pub struct TestServer {
    pub server: Server,
    /// The server's clock: `clock.advance(...)` makes time pass.
    pub clock: Arc<ShiftedClock>,
    pub http: reqwest::Client,
    /// The demo's sensor-gateway token for the lot (`waterfront-lot`).
    pub sensors: String,
    /// Every demo facility's sensor-gateway token, by facility.
    pub gateways: std::collections::BTreeMap<String, String>,
    /// Where the server's mail goes (over SMTP), unless the settings name a mail channel.
    pub mail: Catcher,
}

impl TestServer {
    pub async fn start(config: &Config) -> TestServer {
        let mail = Catcher::start();
        let mut config = config.clone();
        config.mail_url.get_or_insert_with(|| mail.url().into());
        let clock = Arc::new(ShiftedClock::default());
        let server = start_with_clock(&config, clock.clone()).await.expect("server starts");
        let gateways = demo::seed(&server.app).await.expect("demo data");
        let sensors = gateways["waterfront-lot"].clone();
        TestServer { server, clock, http: http(), sensors, gateways, mail }
    }

    /// The `n`th mail to `address` (waiting for it).
    pub async fn mail_to(&self, address: &str, n: usize) -> parkline_server::mail::catcher::Caught {
        let (mail, address) = (self.mail.clone(), address.trim().to_lowercase());
        tokio::task::spawn_blocking(move || mail.wait_for(&address, n)).await.unwrap()
    }

    /// Makes a driver's account the way a person does: sign up, read the code in the mail, confirm.
    /// The confirmation's answer (201 and the tokens).
    pub async fn sign_up(&self, email: &str, password: &str) -> (u16, Value) {
        let before = self.mail.to(email.trim()).len();
        let (status, body) =
            self.post_as(None, "/v1/auth/signup", &json!({"email": email, "password": password})).await;
        assert_eq!(status, 202, "{body}");
        let code = self.mail_to(email, before + 1).await.code().expect("a sign-up code");
        self.post_as(None, "/v1/auth/signup/confirm", &json!({"email": email, "code": code})).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(self.url(path)).send().await.expect("request");
        split(r).await
    }

    pub async fn get_as(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self.http.get(self.url(path)).bearer_auth(token).send().await.expect("request");
        split(r).await
    }

    pub async fn post_as(&self, token: Option<&str>, path: &str, body: &Value) -> (u16, Value) {
        let mut req = self.http.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        split(req.send().await.expect("request")).await
    }

    pub async fn login(&self, role: Role) -> TokenResponse {
        let email = format!("{}@demo.parkline", role.as_str());
        let (status, body) =
            self.post_as(None, "/v1/auth/login", &json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_value(body).unwrap()
    }

    /// A new device's token, at the lot.
    pub async fn device_token(&self, kind: DeviceKind) -> String {
        let admin = self.login(Role::Admin).await.access_token;
        let device = json!({"name": "test device", "kind": kind, "facility": "waterfront-lot"});
        let (status, body) = self.post_as(Some(&admin), "/v1/admin/devices", &device).await;
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// Posts readings `(facility, spot, occupied, confidence, seconds ago)` as the demo sensor gateway.
    pub async fn report(&self, readings: &[(&str, &str, bool, f64, i64)]) -> (u16, Value) {
        let now = self.server.app.now();
        let readings: Vec<Value> = readings
            .iter()
            .map(|(facility, spot, occupied, confidence, ago)| {
                json!({
                    "facility": facility, "spot": spot, "occupied": occupied, "confidence": confidence,
                    "kind": "ultrasonic", "observed_at": (now - jiff::SignedDuration::from_secs(*ago)).to_string(),
                })
            })
            .collect();
        self.post_as(Some(&self.sensors.clone()), "/v1/sensors/events", &json!({ "readings": readings }))
            .await
    }

    /// Pays what `ticket` owes by card (as `payer`, if signed in); returns the receipt.
    pub async fn pay_by_card(&self, ticket: &str, key: &str, payer: Option<&str>) -> Value {
        let (status, receipt) = self.pay_as(payer, ticket, key, &json!({"card_token": "tok_visa"})).await;
        assert_eq!(status, 201, "{receipt}");
        receipt
    }

    /// Posts a payment `body` for `ticket` with the idempotency `key` (as `payer`, if signed in).
    pub async fn pay_as(&self, payer: Option<&str>, ticket: &str, key: &str, body: &Value) -> (u16, Value) {
        let mut req = self.http.post(self.url(&format!("/v1/tickets/{ticket}/payments")));
        if let Some(t) = payer {
            req = req.bearer_auth(t);
        }
        split(req.header("idempotency-key", key).json(body).send().await.expect("request")).await
    }

    pub async fn availability(&self, facility: &str) -> Value {
        let (status, body) = self.get(&format!("/v1/facilities/{facility}/availability")).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}

pub async fn split(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// A WebSocket client for `/v1/stream`.
pub mod ws {
    use std::time::Duration;

    use futures_util::{SinkExt, StreamExt};
    use serde_json::Value;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    use super::TestServer;

    pub type Ws =
        tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

    pub async fn connect(s: &TestServer, token: &str) -> Ws {
        connect_at(s.server.addr, token).await
    }

    /// Connects to the server at `addr` (another instance, say).
    pub async fn connect_at(addr: std::net::SocketAddr, token: &str) -> Ws {
        let mut req = format!("ws://{addr}/v1/stream").into_client_request().unwrap();
        req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        tokio_tungstenite::connect_async(req).await.expect("websocket connects").0
    }

    /// The close code the server ends the connection with, if it does within `wait`.
    pub async fn closed(ws: &mut Ws, wait: Duration) -> Option<u16> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(until, ws.next()).await.ok()? {
                Some(Ok(Message::Close(frame))) => return Some(frame.map_or(1005, |f| f.code.into())),
                None | Some(Err(_)) => return Some(1006),
                Some(Ok(_)) => {}
            }
        }
    }

    pub async fn send(ws: &mut Ws, body: Value) {
        ws.send(Message::Text(body.to_string().into())).await.unwrap();
    }

    /// The next JSON message, or `None` if none comes within `wait`.
    pub async fn next(ws: &mut Ws, wait: Duration) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(wait, ws.next()).await.ok()??.ok()?;
            if let Message::Text(text) = message {
                return Some(serde_json::from_str(&text).unwrap());
            }
        }
    }

    pub async fn expect(ws: &mut Ws) -> Value {
        next(ws, Duration::from_secs(5)).await.expect("a message")
    }
}
