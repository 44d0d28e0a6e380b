//! Embedded SQLite: one file in the data directory, write-ahead logging, one writer at a time.

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

use crate::error::Result;
use crate::sql::SqlStore;

static MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");

/// Opens (creating if needed) the database at `url` (`sqlite://path/to/parkline.db`).
pub(crate) async fn open(url: &str, vault: std::sync::Arc<crate::Vault>) -> Result<SqlStore> {
    sqlx::any::install_default_drivers();
    keep_private(url)?;
    let url = if url.contains('?') { url.to_owned() } else { format!("{url}?mode=rwc") };
    let pool = AnyPoolOptions::new()
        // Readers run in parallel under WAL; writers are queued by SqlStore.
        .max_connections(8)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // WAL lets readers proceed during writes. synchronous=FULL syncs every commit: a commit
                // that returned is on disk, even across a power cut. Pages are read through a memory
                // map (no copy per page read, and one copy shared by every connection), and statement
                // journals (an upsert's undo) are kept in memory rather than a temporary file. The log
                // is copied into the database by `checkpoints`, off the writers' path; a commit checks
                // it only past 10,000 pages (40 MB), should that fall behind.
                sqlx::raw_sql(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                     PRAGMA busy_timeout = 10000; PRAGMA mmap_size = 1073741824; PRAGMA temp_store = MEMORY; \
                     PRAGMA wal_autocheckpoint = 10000;",
                )
                .execute(conn)
                .await?;
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    MIGRATIONS.run(&pool).await?;
    tokio::spawn(checkpoints(pool.clone()));
    Ok(SqlStore::new(pool, "sqlite", true, "BEGIN IMMEDIATE", None, vault))
}

/// Copies the write-ahead log into the database every second, beside the writers (a passive
/// checkpoint waits for no one). Left to the committing writer, as by default every 1,000 pages, a
/// checkpoint and its sync to disk would sit in a commit's path, and a batch of sensor readings spread
/// over many facilities writes that much in one commit. Ends when the pool closes.
async fn checkpoints(pool: sqlx::AnyPool) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::raw_sql("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "could not checkpoint the write-ahead log");
        }
    }
}

/// Creates the database file readable by its owner only (it holds sealed plates, password hashes and the
/// ledger), and narrows one made before. SQLite gives its `-wal` and `-shm` files the main file's mode;
/// ones left from before are narrowed too.
fn keep_private(url: &str) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        return Ok(());
    }
    let io = |e| crate::Error::Database(sqlx::Error::Io(e));
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path).map_err(io)?;
    for file in [path.to_owned(), format!("{path}-wal"), format!("{path}-shm")] {
        match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => other.map_err(io)?,
        }
    }
    Ok(())
}
