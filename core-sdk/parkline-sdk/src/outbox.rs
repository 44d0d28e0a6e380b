//! The command outbox: what a user or a lane did while offline, kept in the cache with its idempotency
//! key and replayed in order when the server is back. A command is sent with the same key every time,
//! so the server applies it once however often it is sent; nothing leaves the outbox unanswered.

use jiff::Timestamp;
use parkline_protocol::{GateEvent, PaymentRequest, ReservationWindow};
use reqwest::Method;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, Result};

/// Something to do on the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Command {
    /// A vehicle at a gate (its `event_id` is the key).
    GateEvent { gate: String, event: GateEvent },
    /// Paying for a stay.
    Payment { ticket: String, payment: PaymentRequest, key: String },
    /// Moving (extending) a reservation to a new window.
    ModifyReservation { id: String, window: ReservationWindow },
}

impl Command {
    /// The key that makes sending it again harmless.
    pub fn key(&self) -> String {
        match self {
            Command::GateEvent { gate, event } => format!("gate:{gate}:{}", event.event_id),
            Command::Payment { ticket, key, .. } => format!("pay:{ticket}:{key}"),
            Command::ModifyReservation { id, window } => {
                format!("reservation:{id}:{}:{}", window.start, window.end)
            }
        }
    }

    async fn send(&self, client: &Client) -> Result<serde_json::Value> {
        match self {
            Command::GateEvent { gate, event } => {
                client.call(Method::POST, &format!("/v1/gates/{gate}/events"), Some(event), None, false).await
            }
            Command::Payment { ticket, payment, key } => {
                let path = format!("/v1/tickets/{ticket}/payments");
                client.call(Method::POST, &path, Some(payment), Some(key), false).await
            }
            // Setting a window is the same request however often it is sent.
            Command::ModifyReservation { id, window } => {
                client.call(Method::PUT, &format!("/v1/reservations/{id}"), Some(window), None, false).await
            }
        }
    }
}

/// A command waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub id: i64,
    pub command: Command,
    pub queued_at: Timestamp,
}

/// What became of a queued command.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The server applied it (or had already): its answer.
    Applied { id: i64, command: Command, answer: serde_json::Value },
    /// The server refused it, with its stable code; it will not be sent again.
    Rejected { id: i64, command: Command, code: String, message: String },
}

impl Client {
    fn outbox_cache(&self) -> Result<&crate::Cache> {
        self.cache()
            .ok_or_else(|| Error::Protocol("the outbox needs a cache (Client::new with a Cache)".into()))
    }

    /// Stores a command to send; durable when this returns. Queuing the same command (same key) again
    /// returns the first one.
    pub fn queue(&self, command: Command) -> Result<Queued> {
        let cache = self.outbox_cache()?;
        let json = serde_json::to_string(&command).map_err(|e| Error::Protocol(e.to_string()))?;
        let now = Timestamp::now();
        let db = cache.conn();
        db.execute(
            "INSERT INTO outbox (command, key, queued_ms) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO NOTHING",
            params![cache.store_text("outbox.command", &json), command.key(), now.as_millisecond()],
        )?;
        let (id, ms): (i64, i64) =
            db.query_row("SELECT id, queued_ms FROM outbox WHERE key = ?1", params![command.key()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        Ok(Queued { id, command, queued_at: Timestamp::from_millisecond(ms).unwrap_or(now) })
    }

    /// Commands not yet answered, in the order they were queued.
    pub fn pending(&self) -> Result<Vec<Queued>> {
        self.in_state("pending")
    }

    /// Commands the server applied, in the order they were queued (kept for the record).
    pub fn applied(&self) -> Result<Vec<Queued>> {
        self.in_state("applied")
    }

    fn in_state(&self, state: &str) -> Result<Vec<Queued>> {
        let cache = self.outbox_cache()?;
        let db = cache.conn();
        let mut stmt =
            db.prepare("SELECT id, command, queued_ms FROM outbox WHERE state = ?1 ORDER BY id")?;
        let rows = stmt
            .query_map([state], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, stored, ms) = row?;
            let json = cache.read_text("outbox.command", &stored)?;
            let command = serde_json::from_str(&json).map_err(|e| Error::Protocol(e.to_string()))?;
            out.push(Queued { id, command, queued_at: Timestamp::from_millisecond(ms).unwrap_or_default() });
        }
        Ok(out)
    }

    /// Sends pending commands in order until one cannot be delivered (offline, or the server failing):
    /// that one and those after it stay queued for the next call. Returns what happened to the others.
    pub async fn sync(&self) -> Result<Vec<Outcome>> {
        let mut outcomes = Vec::new();
        for q in self.pending()? {
            let (state, result, outcome) = match q.command.send(self).await {
                Ok(answer) => {
                    let text = answer.to_string();
                    ("applied", text, Outcome::Applied { id: q.id, command: q.command, answer })
                }
                Err(e) if e.is_transient() => break,
                Err(e) => {
                    let (code, message) = (e.code(), e.to_string());
                    let text = serde_json::json!({"code": code, "message": message}).to_string();
                    ("rejected", text, Outcome::Rejected { id: q.id, command: q.command, code, message })
                }
            };
            let cache = self.outbox_cache()?;
            cache.conn().execute(
                "UPDATE outbox SET state = ?2, result = ?3, done_ms = ?4 WHERE id = ?1",
                params![
                    q.id,
                    state,
                    cache.store_text("outbox.result", &result),
                    Timestamp::now().as_millisecond()
                ],
            )?;
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// What became of one queued command, once answered.
    pub fn outcome(&self, id: i64) -> Result<Option<(String, serde_json::Value)>> {
        let cache = self.outbox_cache()?;
        let row: Option<(String, Option<String>)> = cache
            .conn()
            .query_row("SELECT state, result FROM outbox WHERE id = ?1", params![id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        Ok(match row {
            Some((state, Some(stored))) => {
                let result = cache.read_text("outbox.result", &stored)?;
                Some((state, serde_json::from_str(&result).unwrap_or_default()))
            }
            _ => None,
        })
    }
}
