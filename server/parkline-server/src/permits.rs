//! Permits and pools: which plates park free. Kept in memory for the gates, saved first.

use std::sync::Arc;

use parkline_domain::permit::Permit;
use parkline_protocol::ErrorCode;

use crate::app::App;
use crate::error::{Error, Result};

/// Loads every active permit and pool, as the server starts.
pub async fn load(app: &App) -> Result<()> {
    let (pools, permits) = (app.store.pools().await?, app.store.permits().await?);
    let mut book = app.permits.write();
    for (id, limit) in pools {
        book.set_pool(id, limit);
    }
    for permit in permits {
        book.insert(permit);
    }
    Ok(())
}

/// Saves a new permit and puts it in force at every gate.
pub async fn add(app: &App, permit: Permit) -> Result<()> {
    permit.validate().map_err(|e| Error::validation(e.to_string()))?;
    if let Some(e) = app.permits.read().conflict(&permit) {
        return Err(e);
    }
    app.store.insert_permit(&permit, app.now()).await.map_err(|e| match e {
        parkline_store::Error::Duplicate => {
            Error::api(ErrorCode::Conflict, format!("permit {} already exists", permit.id))
        }
        other => other.into(),
    })?;
    app.permits.write().insert(permit);
    Ok(())
}

/// An active permit by its id.
pub fn get(app: &App, id: &str) -> Result<Arc<Permit>> {
    app.permits.read().get(id).ok_or_else(|| Error::api(ErrorCode::NotFound, "no such permit"))
}

/// Every permit (active or not) and the pools' sizes.
pub async fn list(app: &App) -> Result<parkline_protocol::PermitList> {
    Ok(parkline_protocol::PermitList { permits: app.store.permits().await?, pools: app.store.pools().await? })
}

pub async fn revoke(app: &App, id: &str) -> Result<()> {
    if !app.store.revoke_permit(id, app.now()).await? {
        return Err(Error::api(ErrorCode::NotFound, format!("no active permit {id:?}")));
    }
    app.permits.write().remove(id);
    Ok(())
}

/// Creates a pool or changes its size.
pub async fn set_pool(app: &App, id: &str, limit: u32) -> Result<()> {
    if !parkline_domain::layout::is_slug(id) {
        return Err(Error::validation("pool ids are 1-64 lowercase letters, digits or dashes"));
    }
    app.store.save_pool(id, limit).await?;
    app.permits.write().set_pool(id.to_owned(), limit);
    Ok(())
}
