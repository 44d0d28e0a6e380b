//! Facilities, spot states and their history, rate plans, occupancy samples.

use async_trait::async_trait;
use jiff::Timestamp;
use parkline_domain::LayoutFile;
use parkline_domain::pricing::RatePlan;
use parkline_protocol::OccupancySample;
use sqlx::{AnyConnection, AssertSqlSafe};

use super::commit::Job;
use super::rows::{FacilitySpotRow, SPOT_COLUMNS, SpotRow, count};
use super::{CHUNK, SqlStore, from_json, ms, placeholders, to_json, ts};
use crate::error::Result;
use crate::{HistoryEntry, NewFacility, SpotRecord, Spots, StoredFacility};

/// Saves spot states, of any facilities, `(facility, spot)` rows; a spot named twice keeps its last.
pub(super) async fn write_spots(conn: &mut AnyConnection, spots: &[(&str, &SpotRecord)]) -> Result<()> {
    let spots = super::last_of(spots.iter().copied(), |(facility, s)| (*facility, s.spot.as_str()));
    if spots.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = spots
        .iter()
        .map(|(facility, s)| {
            let t = &s.status.sensor;
            Ok(serde_json::json!([
                facility,
                s.spot,
                i64::from(t.occupied),
                i64::from(s.status.out_of_service),
                i64::from(s.status.held),
                t.last_reading.map(ms),
                t.last_change.map(ms),
                t.pending.map(|(v, _)| i64::from(v)),
                t.pending.map(|(_, since)| ms(since)),
                t.evidence.iter().any(Option::is_some).then(|| to_json(&t.evidence)).transpose()?,
            ]))
        })
        .collect::<Result<_>>()?;
    let sql = format!(
        "INSERT INTO spot_status (facility_id, spot, occupied, out_of_service, held, last_reading_ms, \
         last_change_ms, pending_occupied, pending_since_ms, evidence) \
         SELECT value->>0, value->>1, CAST(value->>2 AS BIGINT), CAST(value->>3 AS BIGINT), \
         CAST(value->>4 AS BIGINT), CAST(value->>5 AS BIGINT), CAST(value->>6 AS BIGINT), \
         CAST(value->>7 AS BIGINT), CAST(value->>8 AS BIGINT), value->>9 FROM {} WHERE true \
         ON CONFLICT (facility_id, spot) DO UPDATE SET occupied = excluded.occupied, \
         out_of_service = excluded.out_of_service, held = excluded.held, \
         last_reading_ms = excluded.last_reading_ms, last_change_ms = excluded.last_change_ms, \
         pending_occupied = excluded.pending_occupied, pending_since_ms = excluded.pending_since_ms, \
         evidence = excluded.evidence",
        json_rows(conn)
    );
    sqlx::query(AssertSqlSafe(sql)).bind(to_json(&rows)?).execute(&mut *conn).await?;
    Ok(())
}

/// Appends history, of any facilities, `(facility, entry)` rows in order.
pub(super) async fn write_history(conn: &mut AnyConnection, history: &[(&str, &HistoryEntry)]) -> Result<()> {
    if history.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = history
        .iter()
        .map(|(facility, h)| serde_json::json!([facility, h.spot, h.state, ms(h.at), h.source, h.confidence]))
        .collect();
    let sql = format!(
        "INSERT INTO occupancy_history (facility_id, spot, state, at_ms, source, confidence) \
         SELECT value->>0, value->>1, value->>2, CAST(value->>3 AS BIGINT), value->>4, \
         CAST(value->>5 AS DOUBLE PRECISION) FROM {} ORDER BY key",
        json_rows(conn)
    );
    sqlx::query(AssertSqlSafe(sql)).bind(to_json(&rows)?).execute(&mut *conn).await?;
    Ok(())
}

/// The rows of a JSON array of arrays, bound as the statement's only parameter, as `value` in the
/// order of `key`. Many rows go in one statement with one parameter: binding a statement's
/// parameters costs the square of their number in sqlx's SQLite driver (it looks each one's name up
/// in a list), and a statement per few rows costs a round trip to the database each.
fn json_rows(conn: &AnyConnection) -> &'static str {
    if conn.backend_name() == "PostgreSQL" {
        "jsonb_array_elements(CAST($1 AS jsonb)) WITH ORDINALITY AS j(value, key)"
    } else {
        "json_each($1)"
    }
}

/// History names are a closed set; anything else stored reads as the nearest safe name.
fn state_name(stored: &str) -> &'static str {
    match stored {
        "occupied" => "occupied",
        "held" => "held",
        "out_of_service" => "out_of_service",
        _ => "free",
    }
}

fn source_name(stored: &str) -> &'static str {
    ["ultrasonic", "magnetic", "camera", "infrared", "debounce", "staff", "gate"]
        .into_iter()
        .find(|s| *s == stored)
        .unwrap_or("unknown")
}

impl SqlStore {
    /// A facility's stored row with its spots' states.
    async fn stored_facility(
        &self,
        (id, json, operator, created): (String, String, String, i64),
    ) -> Result<StoredFacility> {
        let layout: LayoutFile = from_json(&format!("the layout of {id}"), &json)?;
        let sql = format!("SELECT {SPOT_COLUMNS} FROM spot_status WHERE facility_id = $1");
        let spots = sqlx::query_as::<_, SpotRow>(AssertSqlSafe(sql))
            .bind(&id)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(SpotRow::record)
            .collect::<Result<Vec<_>>>()?;
        Ok(StoredFacility { layout, operator, created: ts(created)?, spots })
    }
}

#[async_trait]
impl Spots for SqlStore {
    async fn insert_facilities(&self, facilities: &[NewFacility<'_>], now: Timestamp) -> Result<()> {
        let (_guard, mut tx) = self.begin().await?;
        for chunk in facilities.chunks(CHUNK / 5) {
            let sql = format!(
                "INSERT INTO facilities (id, name, layout, operator_id, created_ms) VALUES {}",
                placeholders(chunk.len(), 5)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for f in chunk {
                q = q
                    .bind(&f.layout.id)
                    .bind(&f.layout.name)
                    .bind(to_json(f.layout)?)
                    .bind(f.operator)
                    .bind(ms(now));
            }
            q.execute(&mut *tx).await?;
        }
        let spots: Vec<(&str, &String)> =
            facilities.iter().flat_map(|f| f.spots.iter().map(|code| (f.layout.id.as_str(), code))).collect();
        for chunk in spots.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO spot_status (facility_id, spot) VALUES {}",
                placeholders(chunk.len(), 2)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (facility, code) in chunk {
                q = q.bind(*facility).bind(*code);
            }
            q.execute(&mut *tx).await?;
        }
        let added: Vec<_> = facilities
            .iter()
            .map(|f| crate::Change { facility: f.layout.id.clone(), added: true, ..self.change() })
            .collect();
        self.announce_all(&mut tx, &added).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn load_facilities(&self) -> Result<Vec<StoredFacility>> {
        // Two queries for all of them: facilities, then every spot ordered the same way.
        let facilities: Vec<(String, String, String, i64)> =
            sqlx::query_as("SELECT id, layout, operator_id, created_ms FROM facilities ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        let sql = format!("SELECT facility_id, {SPOT_COLUMNS} FROM spot_status ORDER BY facility_id");
        let mut spots: std::collections::HashMap<String, Vec<SpotRecord>> = Default::default();
        for row in sqlx::query_as::<_, FacilitySpotRow>(AssertSqlSafe(sql)).fetch_all(&self.pool).await? {
            spots.entry(row.facility_id).or_default().push(row.spot.record()?);
        }
        facilities
            .into_iter()
            .map(|(id, json, operator, created)| {
                let layout = from_json(&format!("the layout of {id}"), &json)?;
                let spots = spots.remove(&id).unwrap_or_default();
                Ok(StoredFacility { layout, operator, created: ts(created)?, spots })
            })
            .collect()
    }

    async fn facility(&self, id: &str) -> Result<Option<StoredFacility>> {
        let row: Option<(String, String, String, i64)> =
            sqlx::query_as("SELECT id, layout, operator_id, created_ms FROM facilities WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        match row {
            Some(row) => Ok(Some(self.stored_facility(row).await?)),
            None => Ok(None),
        }
    }

    async fn spot_records(&self, facility: &str, spots: &[String]) -> Result<Vec<SpotRecord>> {
        let mut out = Vec::with_capacity(spots.len());
        for chunk in spots.chunks(CHUNK) {
            let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT {SPOT_COLUMNS} FROM spot_status WHERE facility_id = $1 AND spot IN ({})",
                list.join(", ")
            );
            let mut q = sqlx::query_as::<_, SpotRow>(AssertSqlSafe(sql)).bind(facility);
            for code in chunk {
                q = q.bind(code);
            }
            for row in q.fetch_all(&self.pool).await? {
                out.push(row.record()?);
            }
        }
        Ok(out)
    }

    fn queue_spots(&self, facility: &str, spots: &[SpotRecord], history: &[HistoryEntry]) -> crate::Durable {
        if spots.is_empty() && history.is_empty() {
            return Box::pin(async { Ok(()) });
        }
        let job =
            Job::Spots { facility: facility.to_owned(), spots: spots.to_vec(), history: history.to_vec() };
        Box::pin(self.committer.queue(job))
    }

    async fn history(&self, facility: &str, since: Timestamp, limit: u32) -> Result<Vec<HistoryEntry>> {
        let rows: Vec<(String, String, i64, String, Option<f64>)> = sqlx::query_as(
            "SELECT spot, state, at_ms, source, confidence FROM occupancy_history \
             WHERE facility_id = $1 AND at_ms >= $2 ORDER BY id LIMIT $3",
        )
        .bind(facility)
        .bind(ms(since))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(spot, state, at, source, confidence)| {
                Ok(HistoryEntry {
                    spot,
                    state: state_name(&state),
                    at: ts(at)?,
                    source: source_name(&source),
                    confidence,
                })
            })
            .collect()
    }

    async fn save_rate_plan(&self, facility: &str, plan: &RatePlan, now: Timestamp) -> Result<()> {
        let json = to_json(plan)?;
        let (_guard, mut tx) = self.begin().await?;
        sqlx::query(
            "INSERT INTO rate_plans (facility_id, plan, updated_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (facility_id) DO UPDATE SET plan = excluded.plan, updated_ms = excluded.updated_ms",
        )
        .bind(facility)
        .bind(json)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        self.announce(&mut tx, crate::Change { facility: facility.to_owned(), rates: true, ..self.change() })
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rate_plan(&self, facility: &str) -> Result<Option<RatePlan>> {
        let json: Option<String> = sqlx::query_scalar("SELECT plan FROM rate_plans WHERE facility_id = $1")
            .bind(facility)
            .fetch_optional(&self.pool)
            .await?;
        json.map(|json| from_json(&format!("the rate plan of {facility}"), &json)).transpose()
    }

    async fn rate_plans(&self) -> Result<Vec<(String, RatePlan)>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT facility_id, plan FROM rate_plans ORDER BY facility_id")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(id, json)| {
                let plan = from_json(&format!("the rate plan of {id}"), &json)?;
                Ok((id, plan))
            })
            .collect()
    }

    async fn save_occupancy_samples(&self, samples: &[(String, OccupancySample)]) -> Result<()> {
        let (_guard, mut tx) = self.begin().await?;
        for (facility, s) in samples {
            sqlx::query(
                "INSERT INTO occupancy_samples (facility_id, at_ms, taken, in_service) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (facility_id, at_ms) DO NOTHING",
            )
            .bind(facility)
            .bind(ms(s.at))
            .bind(i64::from(s.taken))
            .bind(i64::from(s.in_service))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn occupancy_samples(
        &self,
        facility: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<OccupancySample>> {
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT at_ms, taken, in_service FROM occupancy_samples \
             WHERE facility_id = $1 AND at_ms >= $2 AND at_ms < $3 ORDER BY at_ms",
        )
        .bind(facility)
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(at, taken, in_service)| {
                Ok(OccupancySample { at: ts(at)?, taken: count(taken), in_service: count(in_service) })
            })
            .collect()
    }
}
