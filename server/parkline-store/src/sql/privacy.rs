//! Personal data: removed past retention, erased on request, sealed again under a new key.

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::AssertSqlSafe;

use super::{SqlStore, ms};
use crate::Privacy;
use crate::error::Result;

/// What an erased reservation's plate reads as.
pub const ERASED_PLATE: &str = "ERASED";

#[async_trait]
impl Privacy for SqlStore {
    async fn purge_pii(&self, before: Timestamp) -> Result<u64> {
        let (_guard, mut tx) = self.begin().await?;
        let sessions = sqlx::query(
            "UPDATE sessions SET plate_sealed = NULL, plate_index = NULL, entry_image = NULL, exit_image = NULL \
             WHERE status = 'completed' AND exit_ms < $1 \
             AND (plate_sealed IS NOT NULL OR entry_image IS NOT NULL OR exit_image IS NOT NULL)",
        )
        .bind(ms(before))
        .execute(&mut *tx)
        .await?;
        let overrides = sqlx::query(
            "UPDATE gate_overrides SET plate_sealed = NULL WHERE at_ms < $1 AND plate_sealed IS NOT NULL",
        )
        .bind(ms(before))
        .execute(&mut *tx)
        .await?;
        let reservations = sqlx::query(
            "UPDATE reservations SET plate_sealed = $2, plate_purged_ms = $1 \
             WHERE end_ms < $1 AND plate_purged_ms IS NULL",
        )
        .bind(ms(before))
        .bind(self.ctx.vault.seal("reservations.plate", ERASED_PLATE))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(sessions.rows_affected() + overrides.rows_affected() + reservations.rows_affected())
    }

    async fn erase_user(&self, user: i64) -> Result<()> {
        let (_guard, mut tx) = self.begin().await?;
        sqlx::query(
            "UPDATE sessions SET plate_sealed = NULL, plate_index = NULL, entry_image = NULL, exit_image = NULL \
             WHERE status = 'completed' AND reservation_id IN (SELECT id FROM reservations WHERE owner_id = $1)",
        )
        .bind(user)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE reservations SET plate_sealed = $2 WHERE owner_id = $1")
            .bind(user)
            .bind(self.ctx.vault.seal("reservations.plate", ERASED_PLATE))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM refresh_tokens WHERE user_id = $1").bind(user).execute(&mut *tx).await?;
        sqlx::query(
            "UPDATE users SET email = 'erased-' || CAST(id AS TEXT) || '@erased.invalid', password_hash = '', \
             token_epoch = token_epoch + 1 WHERE id = $1",
        )
        .bind(user)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rekey(&self) -> Result<u64> {
        // (table, key column, sealed column, purpose)
        const SEALED: [(&str, &str, &str, &str); 5] = [
            ("sessions", "id", "plate_sealed", "sessions.plate"),
            ("reservations", "id", "plate_sealed", "reservations.plate"),
            ("gate_overrides", "id", "plate_sealed", "gate_overrides.plate"),
            ("permits", "id", "body", "permits.body"),
            ("webhook_endpoints", "id", "secret_sealed", "webhook_endpoints.secret"),
        ];
        let vault = &self.ctx.vault;
        let mut moved = 0;
        for (table, key, column, purpose) in SEALED {
            let select = format!(
                "SELECT CAST({key} AS TEXT) AS k, {column} AS v FROM {table} WHERE {column} IS NOT NULL"
            );
            let rows: Vec<(String, String)> =
                sqlx::query_as(AssertSqlSafe(select)).fetch_all(&self.pool).await?;
            let update =
                format!("UPDATE {table} SET {column} = $1 WHERE CAST({key} AS TEXT) = $2 AND {column} = $3");
            for (k, sealed) in rows {
                if !vault.is_stale(&sealed) {
                    continue;
                }
                let plain = vault
                    .open(purpose, &sealed)
                    .map_err(|e| crate::error::corrupt(format_args!("{table} {k}: {e}")))?;
                let _guard = self.write_guard().await;
                let done = sqlx::query(AssertSqlSafe(update.clone()))
                    .bind(vault.seal(purpose, &plain))
                    .bind(&k)
                    .bind(&sealed)
                    .execute(&self.pool)
                    .await?;
                moved += done.rows_affected();
            }
        }
        Ok(moved)
    }
}
