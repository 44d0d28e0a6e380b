//! Permits and pools: which plates park free. Kept in memory for the gates, saved first.

use std::sync::Arc;

use parkline_domain::permit::Permit;
use parkline_protocol::ErrorCode;

use crate::app::App;
use crate::auth::Reach;
use crate::error::{Error, Result};

/// Loads every active permit and pool, as the server starts and whenever another instance changed
/// them: the book is replaced whole, so a permit revoked elsewhere is gone here too.
pub async fn load(app: &App) -> Result<()> {
    let _one_at_a_time = app.permits.reloading().await;
    let (pools, permits) = (app.store.pools().await?, app.store.permits().await?);
    let mut book = crate::permit_book::PermitBook::default();
    for pool in pools {
        book.set_pool(pool.id, pool.limit);
    }
    for permit in permits {
        book.insert(permit);
    }
    *app.permits.write() = book;
    Ok(())
}

/// Saves a new permit of an operator within reach and puts it in force at its gates. It belongs to the
/// caller's operator (an admin's permit, to the one it names); the facilities it lists and its pool
/// must be that operator's.
pub async fn add(app: &App, reach: &Reach, mut permit: Permit) -> Result<()> {
    // Grants are partners' (`grants.rs`): staff cannot bill a partner.
    permit.partner = None;
    permit.operator = match reach {
        Reach::Everywhere => permit.operator,
        _ => reach.home(None)?,
    };
    for id in &permit.facilities {
        if app.facility_in(reach, id)?.operator != permit.operator {
            return Err(Error::unknown_facility(id));
        }
    }
    if let Some(pool) = &permit.pool
        && app.store.pools().await?.iter().any(|p| &p.id == pool && p.operator != permit.operator)
    {
        return Err(Error::api(ErrorCode::NotFound, format!("no permit pool {pool:?}")));
    }
    save(app, &permit).await
}

/// Checks a permit of a known operator (valid, no plate taken for its time), saves it and puts it in
/// force at the gates: staff's permits and partners' grants alike.
pub async fn save(app: &App, permit: &Permit) -> Result<()> {
    permit.validate().map_err(|e| Error::validation(e.to_string()))?;
    if let Some(e) = app.permits.read().conflict(permit) {
        return Err(e);
    }
    app.store.insert_permit(permit, app.now()).await.map_err(|e| match e {
        parkline_store::Error::Duplicate => {
            Error::api(ErrorCode::Conflict, format!("permit {} already exists", permit.id))
        }
        other => other.into(),
    })?;
    // Read back whole, like another instance's change: whichever of two reloads runs last sees both.
    load(app).await
}

/// An active permit by its id.
pub fn get(app: &App, id: &str) -> Result<Arc<Permit>> {
    app.permits.read().get(id).ok_or_else(|| Error::api(ErrorCode::NotFound, "no such permit"))
}

/// The active permits and the pools' sizes within reach: an operator's as a whole to who reaches all of
/// it, and those listing only facilities within reach to staff limited to some.
pub async fn list(app: &App, reach: &Reach) -> Result<parkline_protocol::PermitList> {
    let mut permits = app.store.permits().await?;
    permits.retain(|p| {
        if p.facilities.is_empty() {
            reach.holds_operator(&p.operator)
        } else {
            p.facilities.iter().all(|f| reach.holds(&p.operator, f))
        }
    });
    let pools = app.store.pools().await?.into_iter().filter(|p| reach.holds_operator(&p.operator));
    Ok(parkline_protocol::PermitList {
        permits,
        pools: pools.map(|p| parkline_protocol::PoolView { id: p.id, limit: p.limit }).collect(),
    })
}

pub async fn revoke(app: &App, id: &str) -> Result<()> {
    if !app.store.revoke_permit(id, app.now()).await? {
        return Err(Error::api(ErrorCode::NotFound, format!("no active permit {id:?}")));
    }
    load(app).await
}

/// Creates a pool for the caller's operator (an admin names one) or changes its size.
pub async fn set_pool(app: &App, reach: &Reach, id: &str, limit: u32, operator: Option<&str>) -> Result<()> {
    if !parkline_domain::layout::is_slug(id) {
        return Err(Error::validation("pool ids are 1-64 lowercase letters, digits or dashes"));
    }
    let existing = app.store.pools().await?.into_iter().find(|p| p.id == id);
    let operator = match existing {
        Some(pool) => pool.operator,
        None => app.home_operator(reach, operator).await?,
    };
    if !app.store.save_pool(id, &operator, limit).await? {
        return Err(Error::api(ErrorCode::NotFound, format!("no permit pool {id:?}")));
    }
    load(app).await
}
