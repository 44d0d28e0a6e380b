//! The webhook outbox: events written in the transaction of the change they announce, one row per
//! subscribed endpoint, then delivered by [`crate::webhooks`].

use sqlx::{AnyConnection, Row};

use super::sql::ms;
use super::{Delivery, OutboxEvent};
use crate::error::Result;

/// Queues `events` for every enabled endpoint subscribed to their topic: one statement per hundred
/// events, which costs next to nothing when no endpoint is registered.
pub(super) async fn enqueue(conn: &mut AnyConnection, events: &[OutboxEvent]) -> Result<()> {
    for chunk in events.chunks(100) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${}, ${}, ${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4))
            .collect();
        let sql = format!(
            "WITH e (event_id, topic, body, at_ms) AS (VALUES {}) \
             INSERT INTO outbox (event_id, endpoint_id, topic, body, next_attempt_ms, created_ms) \
             SELECT e.event_id, w.id, e.topic, e.body, e.at_ms, e.at_ms FROM e JOIN webhook_endpoints w \
             ON w.disabled_ms IS NULL AND (w.topics = '*' OR (' ' || w.topics || ' ') LIKE ('% ' || e.topic || ' %')) \
             ON CONFLICT (event_id, endpoint_id) DO NOTHING",
            values.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in chunk {
            q = q.bind(&e.id).bind(e.topic).bind(&e.body).bind(ms(e.at));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub(super) fn delivery(row: &sqlx::any::AnyRow) -> Result<Delivery> {
    Ok(Delivery {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        topic: row.try_get("topic")?,
        body: row.try_get("body")?,
        url: row.try_get("url")?,
        secret_sealed: row.try_get("secret_sealed")?,
        attempts: row.try_get("attempts")?,
        next_attempt_ms: row.try_get("next_attempt_ms")?,
    })
}
