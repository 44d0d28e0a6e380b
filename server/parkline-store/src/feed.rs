//! The change feed (PostgreSQL): how instances sharing one database learn what the others changed.
//!
//! Every transaction that changes something another instance holds in memory appends a [`Change`] to
//! the `changes` table, in that transaction: the change is in the feed if and only if it committed.
//! Appending takes one advisory lock, held until commit, so sequence order is commit order and a reader
//! reading by sequence never sees a later change before an earlier one. Readers follow the table by
//! sequence; `NOTIFY` only wakes them, so a notification lost with a dropped connection loses nothing.
//!
//! Why a table and not NATS JetStream fed from an outbox: the table is written in the same transaction
//! as the change itself, so there is no second system to keep in step, no relay to crash between the
//! two, and no payload limit (`NOTIFY` carries at most 8,000 bytes; it now carries none).

use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{AnyConnection, AnyPool};
use tokio::sync::mpsc;

use crate::Change;
use crate::error::{Error, Result};

/// The channel that wakes readers.
const CHANNEL: &str = "parkline_changes";
/// Any number: the advisory lock writers take to append one at a time.
const FEED_LOCK: i64 = 7_265_722_001;
/// Read even without a wake-up this often, in case one was lost.
const POLL: Duration = Duration::from_secs(2);
/// Changes are kept this long (a busy city appends thousands a second). An instance that has read
/// nothing for longer may have missed some, so it stops following (and reports itself not ready, to
/// be restarted: a restart loads everything) instead of serving stale state.
pub const KEEP: Duration = Duration::from_secs(15 * 60);
/// Changes read per query.
const PAGE: i64 = 1000;

/// Appends `changes` to the feed; they reach the other instances if and when `tx` commits. Call it
/// last before committing: the lock it takes is then held only for the commit.
pub(crate) async fn append(tx: &mut AnyConnection, changes: &[Change]) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(FEED_LOCK).execute(&mut *tx).await?;
    for chunk in changes.chunks(500) {
        let rows: Vec<String> = (1..=chunk.len()).map(|i| format!("(${i})")).collect();
        let sql = format!("INSERT INTO changes (change) VALUES {}", rows.join(", "));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for change in chunk {
            q = q.bind(serde_json::to_string(change).map_err(|e| Error::Corrupt(e.to_string()))?);
        }
        q.execute(&mut *tx).await?;
    }
    sqlx::query("SELECT pg_notify($1, '')").bind(CHANNEL).execute(&mut *tx).await?;
    Ok(())
}

/// Every change committed from now on, in commit order, until the receiver is dropped; the receiver
/// closes if the instance falls out of touch for longer than [`KEEP`]. `instance` names the listening
/// connection (`application_name` `parkline-feed-<instance>`), so an operator can find it.
pub(crate) async fn follow(pool: AnyPool, url: &str, instance: &str) -> Result<mpsc::Receiver<Change>> {
    let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM changes").fetch_one(&pool).await?;
    let options: PgConnectOptions = url.parse()?;
    let options = options.application_name(&format!("parkline-feed-{instance}"));
    let wake = PgPoolOptions::new().max_connections(1).max_lifetime(None).idle_timeout(None);
    let wake = wake.connect_lazy_with(options);
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(Reader { pool, wake, last, read_at: Instant::now(), pruned_at: None }.run(tx));
    Ok(rx)
}

struct Reader {
    pool: AnyPool,
    /// The one connection that listens for wake-ups.
    wake: sqlx::PgPool,
    /// The last sequence number delivered.
    last: i64,
    /// When the feed was last read.
    read_at: Instant,
    pruned_at: Option<Instant>,
}

impl Reader {
    async fn run(mut self, tx: mpsc::Sender<Change>) {
        let mut listener: Option<PgListener> = None;
        loop {
            if listener.is_none() {
                listener = self.listen().await;
            }
            // Read after (re)listening: whatever committed while no one listened is in the table.
            match self.read(&tx).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) if self.read_at.elapsed() > KEEP => {
                    tracing::error!(error = %e, "out of touch with the change feed for too long; stopping");
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "could not read the change feed; will retry"),
            }
            self.prune().await;
            let woken = async {
                match listener.as_mut() {
                    Some(l) => l.try_recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                note = woken => match note {
                    Ok(Some(_)) => {
                        // One read serves every wake-up already waiting.
                        while listener.as_mut().and_then(PgListener::next_buffered).is_some() {}
                    }
                    // Lost and already listening again: the read catches up.
                    Ok(None) => tracing::warn!("the change feed's listening connection was lost"),
                    Err(e) => {
                        tracing::warn!(error = %e, "the change feed's listening connection failed");
                        listener = None;
                    }
                },
                _ = tokio::time::sleep(POLL) => {}
                _ = tx.closed() => return,
            }
        }
    }

    async fn listen(&self) -> Option<PgListener> {
        let mut listener = match PgListener::connect_with(&self.wake).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "could not connect to listen for changes");
                return None;
            }
        };
        match listener.listen(CHANNEL).await {
            Ok(()) => Some(listener),
            Err(e) => {
                tracing::warn!(error = %e, "could not listen for changes");
                None
            }
        }
    }

    /// Delivers every change after the last one delivered; `false` once no one receives them.
    async fn read(&mut self, tx: &mpsc::Sender<Change>) -> Result<bool> {
        loop {
            let rows: Vec<(i64, String)> =
                sqlx::query_as("SELECT seq, change FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2")
                    .bind(self.last)
                    .bind(PAGE)
                    .fetch_all(&self.pool)
                    .await?;
            self.read_at = Instant::now();
            let full = rows.len() as i64 == PAGE;
            for (seq, text) in rows {
                self.last = seq;
                match serde_json::from_str::<Change>(&text) {
                    Ok(change) => {
                        if tx.send(change).await.is_err() {
                            return Ok(false);
                        }
                    }
                    Err(e) => tracing::warn!(seq, error = %e, "unreadable change in the feed"),
                }
            }
            if !full {
                return Ok(true);
            }
        }
    }

    /// Forgets changes older than [`KEEP`], every minute (any instance may; all do).
    async fn prune(&mut self) {
        if self.pruned_at.is_some_and(|at| at.elapsed() < Duration::from_secs(60)) {
            return;
        }
        self.pruned_at = Some(Instant::now());
        let keep = format!("{} seconds", KEEP.as_secs());
        let pruned = sqlx::query("DELETE FROM changes WHERE at < now() - CAST($1 AS interval)")
            .bind(keep)
            .execute(&self.pool)
            .await;
        if let Err(e) = pruned {
            tracing::warn!(error = %e, "could not prune the change feed");
        }
    }
}
