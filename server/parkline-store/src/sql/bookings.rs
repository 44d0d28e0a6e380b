//! Reservations (the database refuses two claims on one spot overlapping), permits, permit pools.

use async_trait::async_trait;
use jiff::Timestamp;
use parkline_domain::permit::Permit;
use parkline_domain::reservation::{Reservation, Status};
use sqlx::AnyConnection;

use super::rows::{ReservationRow, count};
use super::{SqlStore, from_json, ms, to_json};
use crate::error::{Error, Result};
use crate::{Bookings, LedgerEntry, PoolRecord};

macro_rules! reservation_columns {
    () => {
        "id, facility_id, spot, plate_sealed, vehicle_class, electric, start_ms, end_ms, status, quote_minor, fee_minor, \
         owner_id, group_id"
    };
}

/// `SELECT` of reservations, followed by a condition.
macro_rules! select_reservations {
    ($where:literal) => {
        concat!("SELECT ", reservation_columns!(), " FROM reservations ", $where)
    };
}

/// Writes a reservation's new state if it is still in state `from`, and says whether it was: the guard
/// that keeps instances from overwriting each other's transitions (a no-show over a check-in, say).
pub(super) async fn update_reservation(
    conn: &mut AnyConnection,
    r: &Reservation,
    from: Status,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE reservations SET spot = $2, start_ms = $3, end_ms = $4, status = $5, fee_minor = $6 \
         WHERE id = $1 AND status = $7",
    )
    .bind(&r.id)
    .bind(&r.spot)
    .bind(ms(r.start))
    .bind(ms(r.end))
    .bind(r.status.as_str())
    .bind(r.fee_minor)
    .bind(from.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

impl SqlStore {
    fn reservations(&self, rows: Vec<ReservationRow>) -> Result<Vec<Reservation>> {
        rows.into_iter().map(|row| row.record(&self.ctx)).collect()
    }

    /// On PostgreSQL, tells the other instances (when `tx` commits) which of a facility's reservations
    /// changed, so their gates and bookings see them.
    async fn announce_reservations(
        &self,
        tx: &mut AnyConnection,
        facility: &str,
        ids: &[&str],
    ) -> Result<()> {
        let reservations = ids.iter().map(|id| id.to_string()).collect();
        self.announce(tx, crate::Change { facility: facility.to_owned(), reservations, ..self.change() })
            .await
    }

    /// On PostgreSQL, tells the other instances (when `tx` commits) that permits or pools changed.
    async fn announce_permits(&self, tx: &mut AnyConnection) -> Result<()> {
        self.announce(tx, crate::Change { permits: true, ..self.change() }).await
    }
}

#[async_trait]
impl Bookings for SqlStore {
    async fn insert_reservations(
        &self,
        reservations: &[Reservation],
        now: Timestamp,
        request_key: Option<&str>,
    ) -> Result<()> {
        let (_guard, mut tx) = self.begin().await?;
        if let Some(key) = request_key {
            let ids: Vec<&str> = reservations.iter().map(|r| r.id.as_str()).collect();
            sqlx::query("INSERT INTO reservation_requests (request_key, reservation_ids, created_ms) VALUES ($1, $2, $3)")
                .bind(key)
                .bind(to_json(&ids)?)
                .bind(ms(now))
                .execute(&mut *tx)
                .await?;
        }
        for r in reservations {
            sqlx::query(concat!(
                "INSERT INTO reservations (",
                reservation_columns!(),
                ", created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ))
            .bind(&r.id)
            .bind(&r.facility)
            .bind(&r.spot)
            .bind(self.ctx.vault.seal("reservations.plate", r.plate.as_str()))
            .bind(r.vehicle.class.as_str())
            .bind(i64::from(r.vehicle.electric))
            .bind(ms(r.start))
            .bind(ms(r.end))
            .bind(r.status.as_str())
            .bind(r.quote_minor)
            .bind(r.fee_minor)
            .bind(r.owner)
            .bind(r.group.as_deref())
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
        }
        let mut by_facility: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for r in reservations {
            by_facility.entry(r.facility.as_str()).or_default().push(r.id.as_str());
        }
        for (facility, ids) in by_facility {
            self.announce_reservations(&mut tx, facility, &ids).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn reservations_for_request(&self, request_key: &str) -> Result<Option<Vec<Reservation>>> {
        let ids: Option<String> =
            sqlx::query_scalar("SELECT reservation_ids FROM reservation_requests WHERE request_key = $1")
                .bind(request_key)
                .fetch_optional(&self.pool)
                .await?;
        let Some(ids) = ids else { return Ok(None) };
        let ids: Vec<String> = from_json("a booking request", &ids)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(self.reservation(&id).await?);
        }
        Ok(Some(out))
    }

    async fn update_reservation(
        &self,
        reservation: &Reservation,
        from: Status,
        charges: &[LedgerEntry],
    ) -> Result<()> {
        let (_guard, mut tx) = self.begin().await?;
        if !update_reservation(&mut tx, reservation, from).await? {
            return Err(Error::Conflict);
        }
        super::ledger::write_ledger(&mut tx, self.ctx.pg, &charges.iter().collect::<Vec<_>>()).await?;
        self.announce_reservations(&mut tx, &reservation.facility, &[reservation.id.as_str()]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn reservation(&self, id: &str) -> Result<Option<Reservation>> {
        let row: Option<ReservationRow> =
            sqlx::query_as(select_reservations!("WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.map(|row| row.record(&self.ctx)).transpose()
    }

    async fn claiming_reservations(&self) -> Result<Vec<Reservation>> {
        let rows = sqlx::query_as(select_reservations!(
            "WHERE status IN ('confirmed', 'checked_in') ORDER BY start_ms"
        ))
        .fetch_all(&self.pool)
        .await?;
        self.reservations(rows)
    }

    async fn claiming_reservations_at(&self, facility: &str) -> Result<Vec<Reservation>> {
        let rows = sqlx::query_as(select_reservations!(
            "WHERE facility_id = $1 AND status IN ('confirmed', 'checked_in') ORDER BY start_ms"
        ))
        .bind(facility)
        .fetch_all(&self.pool)
        .await?;
        self.reservations(rows)
    }

    async fn no_shows_since(&self, since: Timestamp) -> Result<Vec<Reservation>> {
        let rows = sqlx::query_as(select_reservations!(
            "WHERE status = 'no_show' AND start_ms >= $1 ORDER BY start_ms"
        ))
        .bind(ms(since))
        .fetch_all(&self.pool)
        .await?;
        self.reservations(rows)
    }

    async fn user_reservations(&self, user: i64) -> Result<Vec<Reservation>> {
        let rows = sqlx::query_as(select_reservations!("WHERE owner_id = $1 ORDER BY start_ms DESC"))
            .bind(user)
            .fetch_all(&self.pool)
            .await?;
        self.reservations(rows)
    }

    async fn insert_permit(&self, permit: &Permit, now: Timestamp) -> Result<()> {
        let body = self.ctx.vault.seal("permits.body", &to_json(permit)?);
        let (_guard, mut tx) = self.begin().await?;
        sqlx::query("INSERT INTO permits (id, body, created_ms) VALUES ($1, $2, $3)")
            .bind(&permit.id)
            .bind(body)
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
        self.announce_permits(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_permit(&self, id: &str, now: Timestamp) -> Result<bool> {
        let (_guard, mut tx) = self.begin().await?;
        let done = sqlx::query("UPDATE permits SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL")
            .bind(id)
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
        let revoked = done.rows_affected() == 1;
        if revoked {
            self.announce_permits(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(revoked)
    }

    async fn permits(&self) -> Result<Vec<Permit>> {
        let bodies: Vec<String> =
            sqlx::query_scalar("SELECT body FROM permits WHERE revoked_ms IS NULL ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        bodies
            .iter()
            .map(|sealed| from_json("a permit", &self.ctx.vault.open("permits.body", sealed)?))
            .collect()
    }

    async fn save_pool(&self, id: &str, operator: &str, limit: u32) -> Result<bool> {
        let (_guard, mut tx) = self.begin().await?;
        let done = sqlx::query(
            "INSERT INTO permit_pools (id, operator_id, concurrent_limit) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET concurrent_limit = excluded.concurrent_limit \
             WHERE permit_pools.operator_id = excluded.operator_id",
        )
        .bind(id)
        .bind(operator)
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await?;
        let saved = done.rows_affected() == 1;
        if saved {
            self.announce_permits(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(saved)
    }

    async fn pools(&self) -> Result<Vec<PoolRecord>> {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT id, operator_id, concurrent_limit FROM permit_pools ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, operator, limit)| PoolRecord { id, operator, limit: count(limit) })
            .collect())
    }
}
