//! Embedded SQLite: one file in the data directory, write-ahead logging, one writer at a time.

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

use crate::error::Result;
use crate::sql::SqlStore;

static MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");

/// Opens (creating if needed) the database at `url` (`sqlite://path/to/parkline.db`).
pub(crate) async fn open(url: &str, vault: std::sync::Arc<crate::Vault>) -> Result<SqlStore> {
    sqlx::any::install_default_drivers();
    let url = if url.contains('?') { url.to_owned() } else { format!("{url}?mode=rwc") };
    let pool = AnyPoolOptions::new()
        // Readers run in parallel under WAL; writers are queued by SqlStore.
        .max_connections(8)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // WAL lets readers proceed during writes. synchronous=FULL syncs every commit: a commit
                // that returned is on disk, even across a power cut.
                sqlx::raw_sql(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                     PRAGMA busy_timeout = 10000;",
                )
                .execute(conn)
                .await?;
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    MIGRATIONS.run(&pool).await?;
    Ok(SqlStore::new(pool, "sqlite", true, "BEGIN IMMEDIATE", None, vault))
}
