//! The offline cache: one SQLite file per app, migrated on open.

use std::path::Path;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::seal::Seal;

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
    /// Seals every value written; without it, values are kept in the clear.
    seal: Option<Arc<Seal>>,
}

/// Where values live, as `(table, column, key column)`: each sealed for its own purpose.
const SEALED_COLUMNS: [(&str, &str, &str); 3] =
    [("cached", "value", "key"), ("outbox", "command", "id"), ("outbox", "result", "id")];

impl Cache {
    /// Opens (creating and migrating) the cache at `path`, values in the clear. A new file is readable
    /// by its owner only.
    pub fn open(path: impl AsRef<Path>) -> Result<Cache> {
        Ok(Cache { db: Arc::new(Mutex::new(open_file(path.as_ref())?)), seal: None })
    }

    /// Opens the cache at `path` with every value sealed by `seal`: the plates in cached answers and
    /// queued gate events never reach the disk in the clear. Values written before sealing are sealed
    /// now, and the file is rewritten so no clear copy stays in its free pages.
    pub fn open_sealed(path: impl AsRef<Path>, seal: Seal) -> Result<Cache> {
        let db = open_file(path.as_ref())?;
        db.execute_batch("PRAGMA secure_delete = ON;")?;
        let mut resealed = 0;
        for (table, column, key) in SEALED_COLUMNS {
            let clear: Vec<(rusqlite::types::Value, String)> = db
                .prepare(&format!(
                    "SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL AND {column} NOT LIKE 's1:%'"
                ))?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            for (id, text) in clear {
                let sealed = seal.seal_text(&format!("{table}.{column}"), &text);
                db.execute(
                    &format!("UPDATE {table} SET {column} = ?1 WHERE {key} = ?2"),
                    params![sealed, id],
                )?;
                resealed += 1;
            }
        }
        if resealed > 0 {
            db.execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")?;
        }
        Ok(Cache { db: Arc::new(Mutex::new(db)), seal: Some(Arc::new(seal)) })
    }

    /// An in-memory cache (nothing survives the process).
    pub fn in_memory() -> Result<Cache> {
        let db = Connection::open_in_memory()?;
        migrate(&db)?;
        Ok(Cache { db: Arc::new(Mutex::new(db)), seal: None })
    }

    pub(crate) fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `text` as it is stored in `table.column`: sealed, if this cache seals.
    pub(crate) fn store_text(&self, purpose: &str, text: &str) -> String {
        match &self.seal {
            Some(seal) => seal.seal_text(purpose, text),
            None => text.to_owned(),
        }
    }

    /// A value read from `table.column`, opened.
    pub(crate) fn read_text(&self, purpose: &str, stored: &str) -> Result<String> {
        crate::seal::open_text(self.seal.as_deref(), purpose, stored)
    }

    pub fn put<T: Serialize>(&self, key: &str, value: &T, fetched_at: Timestamp) -> Result<()> {
        let json = serde_json::to_string(value).map_err(|e| crate::Error::Protocol(e.to_string()))?;
        self.conn().execute(
            "INSERT INTO cached (key, value, fetched_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, fetched_ms = excluded.fetched_ms",
            params![key, self.store_text("cached.value", &json), fetched_at.as_millisecond()],
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
        let Some((stored, ms)) = row else { return Ok(None) };
        let json = self.read_text("cached.value", &stored)?;
        let value = serde_json::from_str(&json).map_err(|e| crate::Error::Protocol(e.to_string()))?;
        let fetched_at = Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH);
        Ok(Some(Cached { value, fetched_at, offline: true }))
    }

    /// Forgets what is older than `before`: cached answers fetched before it, and commands the server
    /// answered before it. Commands not yet answered stay, however old: nothing queued is lost. Returns
    /// how many rows went.
    pub fn forget_before(&self, before: Timestamp) -> Result<usize> {
        let ms = before.as_millisecond();
        let db = self.conn();
        let cached = db.execute("DELETE FROM cached WHERE fetched_ms < ?1", params![ms])?;
        let answered =
            db.execute("DELETE FROM outbox WHERE state <> 'pending' AND done_ms < ?1", params![ms])?;
        Ok(cached + answered)
    }
}

/// Opens the file (made readable by its owner only when new) and migrates it.
fn open_file(path: &Path) -> Result<Connection> {
    #[cfg(unix)]
    if !path.exists() {
        use std::os::unix::fs::OpenOptionsExt;
        let made = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
        if let Err(e) = made
            && e.kind() != std::io::ErrorKind::AlreadyExists
        {
            return Err(crate::Error::Disk(format!("{}: {e}", path.display())));
        }
    }
    let db = Connection::open(path)?;
    db.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
    migrate(&db)?;
    Ok(db)
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
