//! Real databases for tests (feature `testing`): a temporary SQLite file, or a fresh database on the
//! PostgreSQL that `PARKLINE_TEST_POSTGRES_URL` names (`tests/run` starts one when none is running).

use std::sync::Arc;

use sqlx::Connection;

use crate::Vault;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database for one test, removed afterwards where that is possible.
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    /// A directory the test may use; the SQLite file lives here.
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl TestDb {
    /// A new, empty database on `backend`; `None` (with a loud message) if PostgreSQL is not configured
    /// and the test run does not require it (`PARKLINE_REQUIRE_SERVICES`).
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                Some(TestDb { url: format!("sqlite://{}", dir.path().join("t.db").display()), dir, pg: None })
            }
            Backend::Postgres => {
                let Ok(admin) = std::env::var("PARKLINE_TEST_POSTGRES_URL") else {
                    if std::env::var_os("PARKLINE_REQUIRE_SERVICES").is_some() {
                        panic!("PARKLINE_TEST_POSTGRES_URL is not set but PARKLINE_REQUIRE_SERVICES is");
                    }
                    eprintln!(
                        "\n*** SKIPPED: PARKLINE_TEST_POSTGRES_URL is not set; run ./tests/run for PostgreSQL ***\n"
                    );
                    return None;
                };
                let name = format!("parkline_test_{:016x}", rand::random::<u64>());
                let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to PostgreSQL");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let url = match admin.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/{name}"),
                    None => panic!("PARKLINE_TEST_POSTGRES_URL must name a database"),
                };
                Some(TestDb { url, dir, pg: Some((admin, name)) })
            }
        }
    }

    /// Runs a SQL script (a dump) on the empty database, on one connection of its own. Lines that are
    /// `psql` commands (`\restrict` and the like) are left out.
    pub async fn load_script(&self, script: &str) {
        let script: String =
            script.lines().filter(|l| !l.starts_with('\\')).map(|l| format!("{l}\n")).collect();
        let script = sqlx::AssertSqlSafe(script);
        if self.pg.is_some() {
            let mut conn = sqlx::PgConnection::connect(&self.url).await.expect("connect to PostgreSQL");
            sqlx::raw_sql(script).execute(&mut conn).await.expect("load the script");
            conn.close().await.ok();
        } else {
            let url = format!("{}?mode=rwc", self.url);
            let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open the SQLite file");
            sqlx::raw_sql(script).execute(&mut conn).await.expect("load the script");
            conn.close().await.ok();
        }
    }

    /// Lets new connections to this PostgreSQL database in, or not (connections already open stay).
    pub async fn allow_connections(&self, allow: bool) {
        let (admin, name) = self.pg.as_ref().expect("a PostgreSQL test database");
        let mut conn = sqlx::PgConnection::connect(admin).await.expect("connect to PostgreSQL");
        let sql = format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {allow}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.expect("alter the database");
        conn.close().await.ok();
    }

    /// Drops a PostgreSQL test database (SQLite files go with the temp dir).
    pub async fn cleanup(self) {
        if let Some((admin, name)) = self.pg
            && let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await
        {
            let _ =
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                    .execute(&mut conn)
                    .await;
        }
    }
}

/// Fresh plate keys, for tests that open a store directly.
pub fn vault() -> Arc<Vault> {
    let (keys, index) = Vault::generate_settings();
    Arc::new(Vault::from_settings(&keys, &index).expect("generated keys are valid"))
}

/// The database as tests see it from outside the store's code: what is on disk after a server wrote
/// it (and, for the audit tests, what someone with database access could change). Every query a test
/// needs is here, so only this crate knows SQL.
#[derive(Debug)]
pub struct Disk(sqlx::AnyPool);

impl Disk {
    pub async fn open(url: &str) -> Disk {
        sqlx::any::install_default_drivers();
        Disk(sqlx::AnyPool::connect(url).await.expect("connect to the test database"))
    }

    pub async fn close(self) {
        self.0.close().await;
    }

    async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.0).await.expect(sql)
    }

    /// Every session's id, ticket and status.
    pub async fn sessions(&self) -> Vec<(String, String, String)> {
        sqlx::query_as("SELECT id, ticket, status FROM sessions").fetch_all(&self.0).await.unwrap()
    }

    /// The only session's status, what it was charged and paid, and its entry image.
    pub async fn only_stay(&self) -> (String, i64, i64, String) {
        sqlx::query_as(
            "SELECT status, \
             (SELECT CAST(SUM(amount_minor) AS BIGINT) FROM ledger WHERE session_id = sessions.id AND kind = 'charge'), \
             (SELECT CAST(SUM(amount_minor) AS BIGINT) FROM ledger WHERE session_id = sessions.id AND kind = 'payment'), \
             entry_image FROM sessions",
        )
        .fetch_one(&self.0)
        .await
        .unwrap()
    }

    /// Sessions still holding a plate or an image.
    pub async fn sessions_with_personal_data(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM sessions WHERE plate_sealed IS NOT NULL OR entry_image IS NOT NULL")
            .await
    }

    /// Sessions not charged exactly once, or whose charges, payments and refunds do not balance.
    pub async fn unbalanced_sessions(&self) -> i64 {
        self.count(
            "SELECT COUNT(*) FROM sessions s WHERE \
             (SELECT COALESCE(SUM(CASE kind WHEN 'charge' THEN amount_minor WHEN 'payment' THEN -amount_minor \
              WHEN 'refund' THEN amount_minor ELSE 0 END), 0) FROM ledger l WHERE l.session_id = s.id) <> 0 \
             OR NOT EXISTS (SELECT 1 FROM ledger l WHERE l.session_id = s.id AND l.kind = 'charge')",
        )
        .await
    }

    pub async fn held_spots(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM spot_status WHERE held <> 0").await
    }

    /// The amounts of the ledger entries with this key.
    pub async fn ledger_amounts(&self, key: &str) -> Vec<i64> {
        sqlx::query_scalar("SELECT amount_minor FROM ledger WHERE entry_key = $1")
            .bind(key)
            .fetch_all(&self.0)
            .await
            .unwrap()
    }

    pub async fn ledger_entries(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM ledger").await
    }

    /// Every ledger entry's kind and amount, oldest first.
    pub async fn ledger_kinds(&self) -> Vec<(String, i64)> {
        sqlx::query_as("SELECT kind, amount_minor FROM ledger ORDER BY id").fetch_all(&self.0).await.unwrap()
    }

    /// The sum of every ledger amount.
    pub async fn ledger_total(&self) -> i64 {
        self.count("SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM ledger").await
    }

    pub async fn reservations(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM reservations").await
    }

    pub async fn reservations_with_id(&self, id: &str) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM reservations WHERE id = $1")
            .bind(id)
            .fetch_one(&self.0)
            .await
            .unwrap()
    }

    /// Pairs of claiming reservations that overlap on one spot.
    pub async fn overlapping_reservations(&self) -> i64 {
        self.count(
            "SELECT COUNT(*) FROM reservations a JOIN reservations b ON a.facility_id = b.facility_id \
             AND a.spot = b.spot AND a.id < b.id AND a.start_ms < b.end_ms AND b.start_ms < a.end_ms \
             WHERE a.status IN ('confirmed', 'checked_in') AND b.status IN ('confirmed', 'checked_in')",
        )
        .await
    }

    /// Every gate override's action and reason, oldest first.
    pub async fn overrides(&self) -> Vec<(String, String)> {
        sqlx::query_as("SELECT action, reason FROM gate_overrides ORDER BY id")
            .fetch_all(&self.0)
            .await
            .unwrap()
    }

    /// The partner outbox's topics, oldest first.
    pub async fn outbox_topics(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT topic FROM outbox ORDER BY id").fetch_all(&self.0).await.unwrap()
    }

    /// Each outbox row's delivery attempts and when it was delivered, oldest first.
    pub async fn outbox_deliveries(&self) -> Vec<(i64, Option<i64>)> {
        sqlx::query_as("SELECT attempts, delivered_ms FROM outbox ORDER BY id")
            .fetch_all(&self.0)
            .await
            .unwrap()
    }

    /// Tries to change the amount of every charge, as someone with database access might: the
    /// append-only ledger refuses.
    pub async fn try_rewrite_charges(&self) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE ledger SET amount_minor = 1 WHERE kind = 'charge'")
            .execute(&self.0)
            .await
            .map(drop)
    }

    /// Drops the ledger's append-only guard and sets the first charge's amount to 1.
    pub async fn tamper_with_first_charge(&self, backend: Backend) {
        let unguard = match backend {
            Backend::Sqlite => "DROP TRIGGER ledger_no_update",
            Backend::Postgres => "DROP TRIGGER ledger_append_only ON ledger",
        };
        sqlx::query(unguard).execute(&self.0).await.unwrap();
        sqlx::query(
            "UPDATE ledger SET amount_minor = 1 WHERE id = (SELECT MIN(id) FROM ledger WHERE kind = 'charge')",
        )
        .execute(&self.0)
        .await
        .unwrap();
    }

    /// Drops the audit log's append-only guard and rewrites record 2's amount to match.
    pub async fn tamper_with_audit_record_2(&self, backend: Backend) {
        let unguard = match backend {
            Backend::Sqlite => "DROP TRIGGER audit_no_update",
            Backend::Postgres => "DROP TRIGGER audit_append_only ON audit_log",
        };
        sqlx::query(unguard).execute(&self.0).await.unwrap();
        sqlx::query(
            "UPDATE audit_log SET body = REPLACE(body, '\"amount_minor\":', '\"amount_minor\":1') WHERE seq = 2",
        )
        .execute(&self.0)
        .await
        .unwrap();
    }

    /// Terminates, from the database side, the connection on which `instance` listens for the change
    /// feed's wake-ups (PostgreSQL); how many connections that was.
    pub async fn terminate_feed_listener(&self, instance: &str) -> i64 {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1) AS t",
        )
        .bind(format!("parkline-feed-{instance}"))
        .fetch_one(&self.0)
        .await
        .unwrap()
    }

    /// Terminates one instance's change-feed listening connection (any one on this database), from the
    /// database side; how many connections that was (0 if none listens).
    pub async fn terminate_any_feed_listener(&self) -> i64 {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name LIKE 'parkline-feed-%' AND datname = current_database() \
             ORDER BY pid LIMIT 1) AS t",
        )
        .fetch_one(&self.0)
        .await
        .unwrap()
    }

    /// Parks a vehicle in `spot` as another instance would (an active session and the spot held),
    /// without telling anyone through the change feed: an instance that plans on its memory now
    /// races a commit it has not heard of.
    pub async fn park_unannounced(&self, facility: &str, spot: &str, ticket: &str) {
        sqlx::query(
            "INSERT INTO sessions (id, facility_id, ticket, vehicle_class, electric, spot, entry_gate, \
             entry_ms, occupancy_permille, status) VALUES ($1, $2, $3, 'sedan', 0, $4, 'elsewhere', 0, 0, 'active')",
        )
        .bind(format!("ses_{ticket}"))
        .bind(facility)
        .bind(ticket)
        .bind(spot)
        .execute(&self.0)
        .await
        .unwrap();
        sqlx::query("UPDATE spot_status SET held = 1 WHERE facility_id = $1 AND spot = $2")
            .bind(facility)
            .bind(spot)
            .execute(&self.0)
            .await
            .unwrap();
    }
}
