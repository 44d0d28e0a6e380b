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
