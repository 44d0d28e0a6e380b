//! PostgreSQL: for several server instances sharing one database. Each commit announces what it changed
//! with `NOTIFY` (see `sql::commit`); [`follow`] listens for the other instances' announcements.

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use crate::Change;
use crate::error::Result;
use crate::sql::SqlStore;
use crate::sql::commit::CHANNEL;

static MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

pub(crate) async fn open(url: &str, vault: std::sync::Arc<crate::Vault>) -> Result<SqlStore> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new().max_connections(16).connect(url).await?;
    // Migrations take an advisory lock, so instances starting together migrate once.
    MIGRATIONS.run(&pool).await?;
    Ok(SqlStore::new(pool, "postgres", false, "BEGIN", Some(url.to_owned()), vault))
}

/// Every change announced on the database at `url`, in commit order, until the receiver is dropped. A
/// dropped connection is made again after a second; what is announced meanwhile is not seen.
pub(crate) fn follow(url: &str) -> mpsc::Receiver<Change> {
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(listen(url.to_owned(), tx));
    rx
}

async fn listen(url: String, tx: mpsc::Sender<Change>) {
    loop {
        match PgListener::connect(&url).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => loop {
                    tokio::select! {
                        note = listener.recv() => match note {
                            Ok(note) => match serde_json::from_str::<Change>(note.payload()) {
                                Ok(change) => {
                                    if tx.send(change).await.is_err() {
                                        return;
                                    }
                                }
                                Err(_) => tracing::warn!(payload = note.payload(), "unreadable announcement"),
                            },
                            Err(e) => {
                                tracing::warn!(error = %e, "lost the announcement channel; reconnecting");
                                break;
                            }
                        },
                        _ = tx.closed() => return,
                    }
                },
                Err(e) => tracing::warn!(error = %e, "could not listen for other instances"),
            },
            Err(e) => tracing::warn!(error = %e, "could not connect to listen for other instances"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = tx.closed() => return,
        }
    }
}
