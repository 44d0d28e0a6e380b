//! The server binary as a process of its own, on the demo's data: started, killed with SIGKILL (no
//! shutdown, no flush) and started again, on the same port.

use std::path::PathBuf;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::TestDb;

#[derive(Debug)]
pub struct Process {
    database_url: String,
    data_dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl Process {
    /// A server for `db` on a free loopback port, not started yet.
    pub fn new(db: &TestDb) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Process { database_url: db.url.clone(), data_dir: db.dir.path().to_owned(), port, child: None }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the demo (no simulated traffic, no rate limits) and waits until it is ready.
    pub async fn start(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_parkline-server"))
            .args(["demo", "--simulate-every-s", "0", "--database-url", &self.database_url])
            .args(["--listen", &format!("127.0.0.1:{}", self.port), "--jwt-secret", super::JWT_SECRET])
            .args([
                "--public-rate-per-minute",
                "0",
                "--caller-rate-per-minute",
                "0",
                "--login-rate-per-minute",
                "0",
            ])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env("RUST_LOG", "warn")
            .stdout(self.log_file())
            .stderr(self.log_file())
            .kill_on_drop(true)
            .spawn()
            .expect("server binary starts");
        self.child = Some(child);
        let http = super::http();
        for _ in 0..600 {
            if let Ok(r) = http.get(format!("{}/readyz", self.base())).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not become ready");
    }

    /// Where the process writes its log (appended to across restarts).
    fn log_file(&self) -> std::fs::File {
        let path = self.data_dir.join(format!("server-{}.log", self.port));
        std::fs::OpenOptions::new().create(true).append(true).open(path).expect("a log file")
    }

    /// The warnings and errors the process logged, for a failing test to show.
    pub fn problems(&self) -> String {
        let path = self.data_dir.join(format!("server-{}.log", self.port));
        let log = std::fs::read_to_string(path).unwrap_or_default();
        log.lines().filter(|l| l.contains("WARN") || l.contains("ERROR")).collect::<Vec<_>>().join("\n")
    }

    /// SIGKILL: no shutdown, no flush.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    /// `verify-audit` on the database: its report, and whether the chain verified.
    pub fn verify_audit(&self) -> (bool, String) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_parkline-server"))
            .args(["verify-audit", "--database-url", &self.database_url, "--data-dir"])
            .arg(&self.data_dir)
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.success() && report.contains("verified"), report)
    }
}
