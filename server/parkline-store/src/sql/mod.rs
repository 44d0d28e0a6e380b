//! The queries both backends share. SQL here is portable between SQLite and PostgreSQL (`$n` parameters,
//! `ON CONFLICT`, `RETURNING`, integer milliseconds for time); what differs lives in the backend modules.
//! One file per concern, each implementing its trait; rows map to records through [`rows`].

mod bookings;
pub(crate) mod commit;
mod identity;
pub(crate) mod ledger;
mod outbox;
mod privacy;
mod rows;
mod sessions;
mod spots;

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use parkline_domain::plate::Plate;
use sqlx::AnyPool;
use tokio::sync::{Mutex, MutexGuard, mpsc};

use crate::error::{Error, Result, corrupt};
use crate::{Change, Store, Vault};
use commit::GroupCommit;

/// What writes need besides a connection: the keys that seal plates, and which database this is.
#[derive(Debug)]
pub(crate) struct WriteCtx {
    pub vault: Arc<Vault>,
    /// PostgreSQL: take advisory locks where instances could race.
    pub pg: bool,
}

impl WriteCtx {
    /// A plate sealed for `purpose`, and its blind index.
    fn seal(&self, purpose: &str, plate: &Plate) -> (String, String) {
        (self.vault.seal(purpose, plate.as_str()), self.vault.index(plate.as_str()))
    }

    fn open_plate(&self, purpose: &str, sealed: Option<String>) -> Result<Option<Plate>> {
        let Some(sealed) = sealed else { return Ok(None) };
        let text = self.vault.open(purpose, &sealed)?;
        Ok(Some(Plate::parse(&text).map_err(|e| corrupt(format_args!("{purpose}: {e}")))?))
    }
}

/// Rows per multi-row statement: keeps parameter counts well under both databases' limits.
const CHUNK: usize = 500;

/// The store on either database, through sqlx's `Any` driver.
#[derive(Debug)]
pub struct SqlStore {
    pool: AnyPool,
    backend: &'static str,
    /// SQLite allows one writer at a time; queueing writers here is fairer and faster than its busy loop.
    write_lock: Option<Arc<Mutex<()>>>,
    /// The hot writes (sensor changes, gate events, money) share commits.
    committer: GroupCommit,
    /// Statement that opens a write transaction.
    begin_write: &'static str,
    /// Tells this instance's change announcements from other instances'.
    instance: String,
    /// PostgreSQL: the database, for following the change feed.
    feed_url: Option<String>,
    ctx: Arc<WriteCtx>,
}

impl SqlStore {
    pub(crate) fn new(
        pool: AnyPool,
        backend: &'static str,
        serialize_writes: bool,
        begin_write: &'static str,
        feed_url: Option<String>,
        vault: Arc<Vault>,
    ) -> Self {
        let write_lock = serialize_writes.then(|| Arc::new(Mutex::new(())));
        let instance = format!("{:016x}", rand::random::<u64>());
        let announce = feed_url.is_some().then(|| instance.clone());
        let ctx = Arc::new(WriteCtx { vault, pg: backend == "postgres" });
        let committer =
            GroupCommit::start(pool.clone(), write_lock.clone(), begin_write, announce, ctx.clone());
        SqlStore { pool, backend, write_lock, committer, begin_write, instance, feed_url, ctx }
    }

    async fn write_guard(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }

    /// A change of this instance's that names nothing yet.
    pub(super) fn change(&self) -> crate::Change {
        crate::Change { origin: self.instance.clone(), ..Default::default() }
    }

    /// Announces `change` to the other instances when `tx` commits (PostgreSQL only). Call it last
    /// before committing ([`crate::feed::append`]).
    pub(super) async fn announce(&self, tx: &mut sqlx::AnyConnection, change: crate::Change) -> Result<()> {
        self.announce_all(tx, &[change]).await
    }

    /// [`SqlStore::announce`] for many changes.
    pub(super) async fn announce_all(
        &self,
        tx: &mut sqlx::AnyConnection,
        changes: &[crate::Change],
    ) -> Result<()> {
        if self.feed_url.is_none() {
            return Ok(());
        }
        crate::feed::append(tx, changes).await
    }

    /// A write transaction, with this store's writer lock held for as long as it is open.
    async fn begin(&self) -> Result<(Option<MutexGuard<'_, ()>>, sqlx::Transaction<'static, sqlx::Any>)> {
        let guard = self.write_guard().await;
        Ok((guard, self.pool.begin_with(self.begin_write).await?))
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.backend
    }

    fn instance(&self) -> &str {
        &self.instance
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn changes(&self) -> Result<Option<mpsc::Receiver<Change>>> {
        match &self.feed_url {
            Some(url) => Ok(Some(crate::feed::follow(self.pool.clone(), url, &self.instance).await?)),
            None => Ok(None),
        }
    }
}

pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub(crate) fn ts(ms: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(|e| corrupt(format_args!("time {ms} out of range: {e}")))
}

fn opt_ts(ms: Option<i64>) -> Result<Option<Timestamp>> {
    ms.map(ts).transpose()
}

/// `($1, $2, $3), ($4, $5, $6), ...` for `rows` rows of `cols` columns. (`QueryBuilder` would do this,
/// but through the `Any` driver it writes `?` placeholders, which PostgreSQL refuses: sqlx issue #3000.)
fn placeholders(rows: usize, cols: usize) -> String {
    let row = |r: usize| {
        let cells: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
        format!("({})", cells.join(", "))
    };
    (0..rows).map(row).collect::<Vec<_>>().join(", ")
}

/// The last item for each key, in the order the keys first appeared.
fn last_of<T, K: std::hash::Hash + Eq>(items: impl Iterator<Item = T>, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut index: std::collections::HashMap<K, usize> = std::collections::HashMap::new();
    let mut out: Vec<T> = Vec::new();
    for item in items {
        match index.entry(key(&item)) {
            std::collections::hash_map::Entry::Occupied(slot) => out[*slot.get()] = item,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(out.len());
                out.push(item);
            }
        }
    }
    out
}

/// JSON a record keeps in one column (a layout, a rate plan, a discount).
fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Corrupt(format!("cannot serialise: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| corrupt(format_args!("{what} does not parse: {e}")))
}
