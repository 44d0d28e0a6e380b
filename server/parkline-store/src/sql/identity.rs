//! People, refresh tokens, devices and API keys. Only hashes of secrets arrive here.

use async_trait::async_trait;
use jiff::Timestamp;
use parkline_protocol::{DeviceKind, DeviceView, Role, UserView};

use super::rows::{count, device_kind, role};
use super::{SqlStore, ms, opt_ts, ts};
use crate::error::Result;
use crate::{ApiKeyRecord, DeviceRecord, Identity, OperatorRecord, PendingSignup, UserRecord};
use sqlx::AssertSqlSafe;

type UserRow = (i64, String, String, String, Option<String>, i64);

const USER_COLUMNS: &str = "id, email, password_hash, role, operator_id, token_epoch";

impl SqlStore {
    /// A user with the facilities they are limited to.
    async fn user(&self, row: Option<UserRow>) -> Result<Option<UserRecord>> {
        let Some((id, email, password_hash, stored, operator, token_epoch)) = row else { return Ok(None) };
        let facilities = sqlx::query_scalar(
            "SELECT facility_id FROM staff_facilities WHERE user_id = $1 ORDER BY facility_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(UserRecord {
            id,
            email,
            password_hash,
            role: role(&stored)?,
            operator,
            facilities,
            token_epoch,
        }))
    }
}

/// Scopes as stored: space-separated.
fn scope_list(stored: &str) -> Vec<String> {
    stored.split_whitespace().map(str::to_owned).collect()
}

impl SqlStore {
    /// Revokes row `id` of `table` (a credential) unless it is revoked already, announcing `change`
    /// if it was not; whether it was.
    async fn revoke(
        &self,
        table: &'static str,
        id: i64,
        now: Timestamp,
        change: crate::Change,
    ) -> Result<bool> {
        let (_guard, mut tx) = self.begin().await?;
        let sql = format!("UPDATE {table} SET revoked_ms = $1 WHERE id = $2 AND revoked_ms IS NULL");
        let done = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ms(now)).bind(id).execute(&mut *tx).await?;
        let revoked = done.rows_affected() == 1;
        if revoked {
            self.announce(&mut tx, change).await?;
        }
        tx.commit().await?;
        Ok(revoked)
    }
}

#[async_trait]
impl Identity for SqlStore {
    async fn insert_operator(&self, id: &str, name: &str, now: Timestamp) -> Result<()> {
        let _guard = self.write_guard().await;
        sqlx::query("INSERT INTO operators (id, name, created_ms) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(name)
            .bind(ms(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn operators(&self) -> Result<Vec<OperatorRecord>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT id, name FROM operators ORDER BY id").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(id, name)| OperatorRecord { id, name }).collect())
    }

    async fn insert_user(
        &self,
        email: &str,
        password_hash: &str,
        role: Role,
        operator: Option<&str>,
        now: Timestamp,
    ) -> Result<i64> {
        let _guard = self.write_guard().await;
        Ok(sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, role, operator_id, created_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(email)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(operator)
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await?)
    }

    async fn put_signup(&self, signup: &PendingSignup, now: Timestamp) -> Result<()> {
        let (_guard, mut tx) = self.begin().await?;
        sqlx::query("DELETE FROM signups WHERE expires_ms <= $1").bind(ms(now)).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO signups (email, password_hash, code_hash, expires_ms, attempts) \
             VALUES ($1, $2, $3, $4, 0) ON CONFLICT (email) DO UPDATE SET \
             password_hash = excluded.password_hash, code_hash = excluded.code_hash, \
             expires_ms = excluded.expires_ms, attempts = 0",
        )
        .bind(&signup.email)
        .bind(&signup.password_hash)
        .bind(&signup.code_hash)
        .bind(ms(signup.expires))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn try_signup(&self, email: &str, now: Timestamp) -> Result<Option<PendingSignup>> {
        let _guard = self.write_guard().await;
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "UPDATE signups SET attempts = attempts + 1 \
             WHERE email = $1 AND expires_ms > $2 AND attempts < 5 \
             RETURNING password_hash, code_hash, expires_ms",
        )
        .bind(email)
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(password_hash, code_hash, expires)| {
            Ok(PendingSignup { email: email.to_owned(), password_hash, code_hash, expires: ts(expires)? })
        })
        .transpose()
    }

    async fn finish_signup(&self, signup: &PendingSignup, now: Timestamp) -> Result<i64> {
        let (_guard, mut tx) = self.begin().await?;
        let id = sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, role, operator_id, created_ms) \
             VALUES ($1, $2, $3, NULL, $4) RETURNING id",
        )
        .bind(&signup.email)
        .bind(&signup.password_hash)
        .bind(Role::Driver.as_str())
        .bind(ms(now))
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM signups WHERE email = $1").bind(&signup.email).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn set_staff_facilities(&self, user: i64, facilities: &[String]) -> Result<()> {
        let (_guard, mut tx) = self.begin().await?;
        sqlx::query("DELETE FROM staff_facilities WHERE user_id = $1").bind(user).execute(&mut *tx).await?;
        for facility in facilities {
            sqlx::query("INSERT INTO staff_facilities (user_id, facility_id) VALUES ($1, $2)")
                .bind(user)
                .bind(facility)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row: Option<UserRow> =
            sqlx::query_as(AssertSqlSafe(sql)).bind(email).fetch_optional(&self.pool).await?;
        self.user(row).await
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row: Option<UserRow> =
            sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
        self.user(row).await
    }

    async fn users(&self) -> Result<Vec<UserView>> {
        let rows: Vec<(i64, String, String, Option<String>)> =
            sqlx::query_as("SELECT id, email, role, operator_id FROM users ORDER BY email")
                .fetch_all(&self.pool)
                .await?;
        let limits: Vec<(i64, String)> =
            sqlx::query_as("SELECT user_id, facility_id FROM staff_facilities ORDER BY facility_id")
                .fetch_all(&self.pool)
                .await?;
        let mut facilities: std::collections::HashMap<i64, Vec<String>> = Default::default();
        for (user, facility) in limits {
            facilities.entry(user).or_default().push(facility);
        }
        rows.into_iter()
            .map(|(id, email, stored, operator)| {
                let facilities = facilities.remove(&id).unwrap_or_default();
                Ok(UserView { id, email, role: role(&stored)?, operator, facilities })
            })
            .collect()
    }

    async fn token_epoch(&self, user: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT token_epoch FROM users WHERE id = $1")
            .bind(user)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn sign_out_everywhere(&self, user: i64) -> Result<()> {
        let (_guard, mut tx) = self.begin().await?;
        sqlx::query("UPDATE users SET token_epoch = token_epoch + 1 WHERE id = $1")
            .bind(user)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM refresh_tokens WHERE user_id = $1").bind(user).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_refresh_token(&self, token_hash: &str, user_id: i64, expires: Timestamp) -> Result<()> {
        let _guard = self.write_guard().await;
        sqlx::query("INSERT INTO refresh_tokens (token_hash, user_id, expires_ms) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(user_id)
            .bind(ms(expires))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn consume_refresh_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<i64>> {
        let _guard = self.write_guard().await;
        // One statement, so two concurrent refreshes with the same token cannot both succeed.
        Ok(sqlx::query_scalar(
            "UPDATE refresh_tokens SET used_ms = $2 \
             WHERE token_hash = $1 AND used_ms IS NULL AND expires_ms > $2 RETURNING user_id",
        )
        .bind(token_hash)
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn insert_device(
        &self,
        name: &str,
        kind: DeviceKind,
        operator: &str,
        facility: Option<&str>,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<i64> {
        let _guard = self.write_guard().await;
        Ok(sqlx::query_scalar(
            "INSERT INTO devices (name, kind, operator_id, facility_id, token_hash, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(name)
        .bind(kind.as_str())
        .bind(operator)
        .bind(facility)
        .bind(token_hash)
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await?)
    }

    async fn set_device_mqtt_hash(&self, device: i64, hash: &str) -> Result<()> {
        let _guard = self.write_guard().await;
        sqlx::query("UPDATE devices SET mqtt_hash = $2 WHERE id = $1")
            .bind(device)
            .bind(hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn mqtt_gateways(&self) -> Result<Vec<(i64, String, Option<String>)>> {
        Ok(sqlx::query_as(
            "SELECT id, facility_id, mqtt_hash FROM devices \
             WHERE kind = 'sensor_gateway' AND revoked_ms IS NULL AND facility_id IS NOT NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn device_by_token(&self, token_hash: &str) -> Result<Option<DeviceRecord>> {
        let row: Option<(i64, String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, name, kind, operator_id, facility_id FROM devices \
             WHERE token_hash = $1 AND revoked_ms IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(id, name, kind, operator, facility)| {
            Ok(DeviceRecord { id, name, kind: device_kind(&kind)?, operator, facility })
        })
        .transpose()
    }

    async fn devices(&self) -> Result<Vec<DeviceView>> {
        let rows: Vec<(i64, String, String, String, Option<String>, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, name, kind, operator_id, facility_id, created_ms, revoked_ms FROM devices \
             ORDER BY id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, name, kind, operator, facility, created, revoked)| {
                Ok(DeviceView {
                    id,
                    name,
                    kind: device_kind(&kind)?,
                    operator,
                    facility,
                    created_at: ts(created)?,
                    revoked_at: opt_ts(revoked)?,
                })
            })
            .collect()
    }

    async fn bind_device(&self, id: i64, facility: &str) -> Result<()> {
        let _guard = self.write_guard().await;
        sqlx::query("UPDATE devices SET facility_id = $2 WHERE id = $1 AND facility_id IS NULL")
            .bind(id)
            .bind(facility)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn revoke_device(&self, id: i64, now: Timestamp) -> Result<bool> {
        self.revoke("devices", id, now, crate::Change { devices: vec![id], ..self.change() }).await
    }

    async fn insert_api_key(
        &self,
        name: &str,
        key_hash: &str,
        requests_per_minute: u32,
        operator: &str,
        scopes: &[String],
        now: Timestamp,
    ) -> Result<i64> {
        let _guard = self.write_guard().await;
        Ok(sqlx::query_scalar(
            "INSERT INTO api_keys (name, key_hash, requests_per_minute, operator_id, scopes, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(name)
        .bind(key_hash)
        .bind(i64::from(requests_per_minute))
        .bind(operator)
        .bind(scopes.join(" "))
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await?)
    }

    async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>> {
        self.api_key_where("key_hash = $1", key_hash.to_owned()).await
    }

    async fn api_key(&self, id: i64) -> Result<Option<ApiKeyRecord>> {
        self.api_key_where("id = $1", id).await
    }

    async fn api_keys(&self) -> Result<Vec<parkline_protocol::ApiKeyView>> {
        let rows: Vec<(i64, String, String, String, i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, name, operator_id, scopes, requests_per_minute, created_ms, revoked_ms \
             FROM api_keys ORDER BY id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, name, operator, scopes, rpm, created, revoked)| {
                Ok(parkline_protocol::ApiKeyView {
                    id,
                    name,
                    operator,
                    scopes: scope_list(&scopes),
                    requests_per_minute: count(rpm),
                    created_at: ts(created)?,
                    revoked_at: opt_ts(revoked)?,
                })
            })
            .collect()
    }

    async fn revoke_api_key(&self, id: i64, now: Timestamp) -> Result<bool> {
        self.revoke("api_keys", id, now, crate::Change { api_keys: vec![id], ..self.change() }).await
    }
}

impl SqlStore {
    /// The active API key matching `condition` on `$1`.
    async fn api_key_where<T>(&self, condition: &str, bind: T) -> Result<Option<ApiKeyRecord>>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Send,
    {
        let sql = format!(
            "SELECT id, name, requests_per_minute, operator_id, scopes FROM api_keys \
             WHERE {condition} AND revoked_ms IS NULL"
        );
        let row: Option<(i64, String, i64, String, String)> =
            sqlx::query_as(AssertSqlSafe(sql)).bind(bind).fetch_optional(&self.pool).await?;
        Ok(row.map(|(id, name, rpm, operator, scopes)| ApiKeyRecord {
            id,
            name,
            requests_per_minute: count(rpm),
            operator,
            scopes: scope_list(&scopes),
        }))
    }
}
