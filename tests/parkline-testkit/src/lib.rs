//! What the client-side tests (SDK, kiosk, driver app) run against: a real Parkline server with the demo
//! city on SQLite, on its own thread and runtime, that can be killed as in a crash and started again on
//! the same database, with a clock tests can move forward.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use parkline_protocol::{DeviceKind, NewDevice};
use parkline_server::clock::ShiftedClock;
pub use parkline_server::mail::catcher::Catcher;

pub const LOT: &str = "waterfront-lot";
pub const IN: &str = "waterfront-in-1";
pub const OUT: &str = "waterfront-out-1";
const JWT: &str = "kiosk-test-secret-kiosk-test-secret-012345";

#[derive(Debug)]
pub struct Server {
    dir: tempfile::TempDir,
    pub port: u16,
    running: Option<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)>,
    /// A kiosk device token for the lot.
    pub kiosk: String,
    /// The demo's sensor-gateway token for the lot.
    pub sensors: String,
    pub clock: Arc<ShiftedClock>,
    /// Where the server's mail (sign-up codes) goes, over SMTP.
    pub mail: Catcher,
}

impl Server {
    pub fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let clock = Arc::new(ShiftedClock::default());
        let mail = Catcher::start();
        let mut s =
            Server { dir, port, running: None, kiosk: String::new(), sensors: String::new(), clock, mail };
        (s.kiosk, s.sensors) = s.boot(true).unwrap();
        s
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's "now" (its clock, moved forward by the test).
    pub fn now(&self) -> Timestamp {
        use parkline_server::clock::Clock;
        self.clock.now()
    }

    /// Starts the server; on the first boot, seeds the demo and returns a kiosk token for the lot and the
    /// sensor-gateway token.
    fn boot(&mut self, seed: bool) -> Option<(String, String)> {
        let settings = parkline_server::config::Settings {
            listen: Some(format!("127.0.0.1:{}", self.port).parse().unwrap()),
            data_dir: Some(self.dir.path().to_owned()),
            jwt_secret: Some(JWT.into()),
            debounce_ms: Some(0),
            public_rate_per_minute: Some(0),
            caller_rate_per_minute: Some(0),
            login_rate_per_minute: Some(0),
            payment_provider: Some("simulated".into()),
            mail_url: Some(self.mail.url().into()),
            ..Default::default()
        };
        let config = settings.resolve().unwrap();
        let clock = self.clock.clone();
        let (tokens_tx, tokens_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            let token = rt.block_on(async {
                let server = parkline_server::start_with_clock(&config, clock).await.expect("server starts");
                let token = if seed {
                    let mut gateways = parkline_server::demo::seed(&server.app).await.unwrap();
                    let sensors = gateways.remove(LOT).unwrap();
                    let lane = NewDevice {
                        name: "lane kiosk".into(),
                        kind: DeviceKind::Kiosk,
                        facility: Some(LOT.into()),
                    };
                    let everywhere = parkline_server::auth::Reach::Everywhere;
                    let kiosk =
                        parkline_server::devices::issue(&server.app, &everywhere, lane).await.unwrap().token;
                    Some((kiosk, sensors))
                } else {
                    None
                };
                std::mem::forget(server); // serves until the runtime goes
                token
            });
            tokens_tx.send(token).unwrap();
            let _ = stopped.recv();
            rt.shutdown_background();
        });
        let token = tokens_rx.recv().unwrap();
        self.running = Some((stop, thread));
        token
    }

    /// Stops it as a crash would: connections cut, nothing flushed politely.
    pub fn kill(&mut self) {
        if let Some((stop, thread)) = self.running.take() {
            let _ = stop.send(());
            thread.join().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    pub fn restart(&mut self) {
        self.boot(false);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
