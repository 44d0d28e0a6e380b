//! What goes out: people's notices, and the webhook outbox (events written in the transaction of the
//! change they announce, one row per subscribed endpoint, delivered by the server's dispatcher), and
//! staff's acknowledgements of alerts.

use async_trait::async_trait;
use jiff::Timestamp;
use parkline_protocol::{Acknowledgement, Alternative, Notice};
use sqlx::{AnyConnection, AssertSqlSafe};

use super::rows::DeliveryRow;
use super::{SqlStore, from_json, ms, to_json, ts};
use crate::error::Result;
use crate::{Delivery, Outbox, OutboxEvent, WebhookRecord};

/// Queues `events` for every enabled endpoint subscribed to their topic whose operator owns the facility
/// the event happened at: one statement per hundred events, which costs next to nothing when no
/// endpoint is registered. An event of no facility (a driver's top-up) goes to no operator.
pub(super) async fn enqueue(conn: &mut AnyConnection, events: &[OutboxEvent]) -> Result<()> {
    for chunk in events.chunks(100) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let n = 6 * i;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, CAST(${} AS BIGINT))",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5,
                    n + 6
                )
            })
            .collect();
        let sql = format!(
            "WITH e (event_id, topic, body, at_ms, facility_id, partner_key_id) AS (VALUES {}) \
             INSERT INTO outbox (event_id, endpoint_id, topic, body, next_attempt_ms, created_ms) \
             SELECT e.event_id, w.id, e.topic, e.body, e.at_ms, e.at_ms FROM e \
             JOIN facilities f ON f.id = e.facility_id \
             JOIN webhook_endpoints w ON w.operator_id = f.operator_id AND w.disabled_ms IS NULL \
             AND (w.partner_key_id IS NULL OR w.partner_key_id = e.partner_key_id) \
             AND (w.topics = '*' OR (' ' || w.topics || ' ') LIKE ('% ' || e.topic || ' %')) \
             ON CONFLICT (event_id, endpoint_id) DO NOTHING",
            values.join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for e in chunk {
            q = q.bind(&e.id).bind(e.topic).bind(&e.body).bind(ms(e.at)).bind(&e.facility).bind(e.partner);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// `(note, email of who acknowledged, at)`; the person may have been erased since, and the
/// acknowledgement stays.
fn acknowledgement((note, email, at): (String, Option<String>, i64)) -> Result<Acknowledgement> {
    Ok(Acknowledgement { note, by: email.unwrap_or_else(|| "(erased user)".into()), at: ts(at)? })
}

#[async_trait]
impl Outbox for SqlStore {
    async fn insert_notice(
        &self,
        user: i64,
        kind: &str,
        subject: &str,
        text: &str,
        alternatives: &[Alternative],
        now: Timestamp,
    ) -> Result<Option<i64>> {
        let (_guard, mut tx) = self.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO notices (user_id, kind, subject, body, created_ms, alternatives) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id, kind, subject) DO NOTHING RETURNING id",
        )
        .bind(user)
        .bind(kind)
        .bind(subject)
        .bind(text)
        .bind(ms(now))
        .bind((!alternatives.is_empty()).then(|| to_json(&alternatives)).transpose()?)
        .fetch_optional(&mut *tx)
        .await?;
        if id.is_some() {
            // The stay or booking the notice is about says which operator's partners hear of it.
            let facility: Option<String> = sqlx::query_scalar(
                "SELECT facility_id FROM sessions WHERE id = $1 \
                 UNION ALL SELECT facility_id FROM reservations WHERE id = $1",
            )
            .bind(subject)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(event) = crate::events::notice_event(kind, subject, facility.as_deref(), now) {
                enqueue(&mut tx, &[event]).await?;
            }
        }
        if let Some(id) = id {
            self.announce(&mut tx, crate::Change { notices: vec![id], ..self.change() }).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    async fn notice(&self, id: i64) -> Result<Option<(i64, Notice)>> {
        let row: Option<(i64, i64, String, String, String, i64, Option<String>)> = sqlx::query_as(
            "SELECT id, user_id, kind, subject, body, created_ms, alternatives FROM notices WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(id, user, kind, subject, text, at, alternatives)| {
            Ok((user, notice(id, kind, subject, text, at, alternatives)?))
        })
        .transpose()
    }

    async fn notices(&self, user: i64, limit: u32) -> Result<Vec<Notice>> {
        let rows: Vec<(i64, String, String, String, i64, Option<String>)> = sqlx::query_as(
            "SELECT id, kind, subject, body, created_ms, alternatives FROM notices WHERE user_id = $1 \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(user)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, kind, subject, text, at, alternatives)| {
                notice(id, kind, subject, text, at, alternatives)
            })
            .collect()
    }

    async fn insert_webhook(&self, w: &WebhookRecord) -> Result<()> {
        let _guard = self.write_guard().await;
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, operator_id, url, secret_sealed, topics, created_ms, partner_key_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&w.id)
        .bind(&w.operator)
        .bind(&w.url)
        .bind(self.ctx.vault.seal("webhook_endpoints.secret", &w.secret))
        .bind(w.topics.join(" "))
        .bind(ms(w.created))
        .bind(w.partner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn webhooks(&self) -> Result<Vec<WebhookRecord>> {
        type Row = (String, String, String, String, String, i64, Option<i64>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, operator_id, url, secret_sealed, topics, created_ms, partner_key_id FROM webhook_endpoints \
             WHERE disabled_ms IS NULL ORDER BY created_ms, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, operator, url, sealed, topics, created, partner)| {
                Ok(WebhookRecord {
                    id,
                    operator,
                    partner,
                    url,
                    secret: self.open_secret(&sealed)?,
                    topics: topics.split_whitespace().map(str::to_owned).collect(),
                    created: ts(created)?,
                })
            })
            .collect()
    }

    async fn disable_webhook(&self, id: &str, now: Timestamp) -> Result<bool> {
        let _guard = self.write_guard().await;
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET disabled_ms = $2 WHERE id = $1 AND disabled_ms IS NULL",
        )
        .bind(id)
        .bind(ms(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn due_deliveries(&self, now: Timestamp, limit: u32) -> Result<Vec<Delivery>> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(
            "SELECT o.id, o.event_id, o.topic, o.body, o.attempts, o.next_attempt_ms, w.url, w.secret_sealed \
             FROM outbox o JOIN webhook_endpoints w ON w.id = o.endpoint_id \
             WHERE o.delivered_ms IS NULL AND o.next_attempt_ms <= $1 AND w.disabled_ms IS NULL \
             ORDER BY o.next_attempt_ms, o.id LIMIT $2",
        )
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Delivery::from).collect())
    }

    async fn claim_delivery(&self, d: &Delivery, until: Timestamp) -> Result<bool> {
        let _guard = self.write_guard().await;
        let done = sqlx::query(
            "UPDATE outbox SET next_attempt_ms = $3 WHERE id = $1 AND next_attempt_ms = $2 AND delivered_ms IS NULL",
        )
        .bind(d.id)
        .bind(d.next_attempt_ms)
        .bind(ms(until))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delivery_attempted(
        &self,
        id: i64,
        now: Timestamp,
        retry_at: Option<(Timestamp, String)>,
    ) -> Result<()> {
        let _guard = self.write_guard().await;
        let q = match retry_at {
            None => sqlx::query("UPDATE outbox SET delivered_ms = $2, attempts = attempts + 1 WHERE id = $1")
                .bind(id)
                .bind(ms(now)),
            Some((at, error)) => sqlx::query(
                "UPDATE outbox SET next_attempt_ms = $2, attempts = attempts + 1, last_error = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(ms(at))
            .bind(error),
        };
        q.execute(&self.pool).await?;
        Ok(())
    }

    fn open_secret(&self, sealed: &str) -> Result<String> {
        self.ctx.vault.open("webhook_endpoints.secret", sealed)
    }

    async fn acknowledge_alert(
        &self,
        alert: &str,
        note: &str,
        user: i64,
        now: Timestamp,
    ) -> Result<Acknowledgement> {
        {
            let _guard = self.write_guard().await;
            sqlx::query(
                "INSERT INTO alert_acks (alert_id, note, user_id, at_ms) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (alert_id) DO NOTHING",
            )
            .bind(alert)
            .bind(note)
            .bind(user)
            .bind(ms(now))
            .execute(&self.pool)
            .await?;
        }
        let row = sqlx::query_as(
            "SELECT a.note, u.email, a.at_ms FROM alert_acks a LEFT JOIN users u ON u.id = a.user_id \
             WHERE a.alert_id = $1",
        )
        .bind(alert)
        .fetch_one(&self.pool)
        .await?;
        acknowledgement(row)
    }

    async fn alert_acks(&self) -> Result<Vec<(String, Acknowledgement)>> {
        let rows: Vec<(String, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT a.alert_id, a.note, u.email, a.at_ms FROM alert_acks a LEFT JOIN users u ON u.id = a.user_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|(id, note, by, at)| Ok((id, acknowledgement((note, by, at))?))).collect()
    }
}

fn notice(
    id: i64,
    kind: String,
    subject: String,
    text: String,
    at: i64,
    alternatives: Option<String>,
) -> Result<Notice> {
    let alternatives = match alternatives {
        Some(json) => from_json("a notice's alternatives", &json)?,
        None => Vec::new(),
    };
    Ok(Notice { id, kind, subject, text, at: ts(at)?, alternatives })
}
