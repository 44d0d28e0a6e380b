//! The offline cache: one SQLite file per app, migrated on open.

use std::path::Path;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Result;

/// Schema versions, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] =
    &["CREATE TABLE cached (key TEXT PRIMARY KEY, value TEXT NOT NULL, fetched_ms INTEGER NOT NULL);
     CREATE TABLE outbox (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        command     TEXT NOT NULL,
        key         TEXT NOT NULL UNIQUE,
        queued_ms   INTEGER NOT NULL,
        state       TEXT NOT NULL DEFAULT 'pending',   -- pending | applied | rejected
        result      TEXT,
        done_ms     INTEGER
     );"];

/// A value read from the server, or from the cache when offline, with when it was fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached<T> {
    pub value: T,
    pub fetched_at: Timestamp,
    /// Read from the cache because the server could not be reached.
    pub offline: bool,
}

impl<T> Cached<T> {
    /// How old the value is.
    pub fn age(&self) -> SignedDuration {
        Timestamp::now().duration_since(self.fetched_at)
    }
}

/// The cache file. Cheap to clone; calls are short and run under one lock.
#[derive(Debug, Clone)]
pub struct Cache {
    pub(crate) db: Arc<Mutex<Connection>>,
}

impl Cache {
    /// Opens (creating and migrating) the cache at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Cache> {
        let db = Connection::open(path)?;
        db.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
        migrate(&db)?;
        Ok(Cache { db: Arc::new(Mutex::new(db)) })
    }

    /// An in-memory cache (nothing survives the process).
    pub fn in_memory() -> Result<Cache> {
        let db = Connection::open_in_memory()?;
        migrate(&db)?;
        Ok(Cache { db: Arc::new(Mutex::new(db)) })
    }

    pub(crate) fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn put<T: Serialize>(&self, key: &str, value: &T, fetched_at: Timestamp) -> Result<()> {
        let json = serde_json::to_string(value).map_err(|e| crate::Error::Protocol(e.to_string()))?;
        self.conn().execute(
            "INSERT INTO cached (key, value, fetched_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, fetched_ms = excluded.fetched_ms",
            params![key, json, fetched_at.as_millisecond()],
        )?;
        Ok(())
    }

    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<Cached<T>>> {
        let row: Option<(String, i64)> = self
            .conn()
            .query_row("SELECT value, fetched_ms FROM cached WHERE key = ?1", params![key], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let Some((json, ms)) = row else { return Ok(None) };
        let value = serde_json::from_str(&json).map_err(|e| crate::Error::Protocol(e.to_string()))?;
        let fetched_at = Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH);
        Ok(Some(Cached { value, fetched_at, offline: true }))
    }
}

fn migrate(db: &Connection) -> Result<()> {
    let done: usize = db.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        db.execute_batch(&format!("BEGIN; {sql} PRAGMA user_version = {}; COMMIT;", i + 1))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_with_their_age_and_migrations_run_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.db");
        let at = Timestamp::now() - SignedDuration::from_mins(5);
        Cache::open(&path).unwrap().put("k", &vec![1, 2, 3], at).unwrap();
        let again = Cache::open(&path).unwrap();
        let got: Cached<Vec<i32>> = again.get("k").unwrap().unwrap();
        assert_eq!(got.value, [1, 2, 3]);
        assert!(got.age() >= SignedDuration::from_mins(5));
        let version: i64 = again.conn().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
        assert!(again.get::<Vec<i32>>("missing").unwrap().is_none());
    }
}
