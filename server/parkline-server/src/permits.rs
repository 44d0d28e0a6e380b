//! Permits and pools: which plates park free. Kept in memory for the gates, saved first.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use parkline_domain::permit::Permit;
use parkline_domain::plate::Plate;
use parkline_protocol::ErrorCode;

use crate::error::{Error, Result};
use parkline_store::Store;

/// Every active permit, by id and by plate, and every pool's limit.
#[derive(Debug, Default)]
pub struct PermitBook {
    by_id: HashMap<String, Arc<Permit>>,
    by_plate: HashMap<Plate, Arc<Permit>>,
    pools: HashMap<String, u32>,
}

impl PermitBook {
    pub fn by_plate(&self, plate: &Plate) -> Option<Arc<Permit>> {
        self.by_plate.get(plate).cloned()
    }
    pub fn get(&self, id: &str) -> Option<Arc<Permit>> {
        self.by_id.get(id).cloned()
    }
    /// Every active permit.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Permit>> {
        self.by_id.values()
    }
    pub fn pool_limit(&self, pool: &str) -> Option<u32> {
        self.pools.get(pool).copied()
    }

    fn insert(&mut self, permit: Permit) {
        let permit = Arc::new(permit);
        for plate in &permit.plates {
            self.by_plate.insert(plate.clone(), permit.clone());
        }
        self.by_id.insert(permit.id.clone(), permit);
    }

    fn remove(&mut self, id: &str) {
        if let Some(p) = self.by_id.remove(id) {
            for plate in &p.plates {
                self.by_plate.remove(plate);
            }
        }
    }

    /// Why `permit` cannot be added: its id or one of its plates is taken, or its pool is unknown.
    fn conflict(&self, permit: &Permit) -> Option<Error> {
        if self.by_id.contains_key(&permit.id) {
            return Some(Error::api(ErrorCode::Conflict, format!("permit {} already exists", permit.id)));
        }
        if let Some(p) = permit.plates.iter().find(|p| self.by_plate.contains_key(*p)) {
            return Some(Error::api(ErrorCode::Conflict, format!("{p} is already on another active permit")));
        }
        if let Some(pool) = permit.pool.as_deref().filter(|pool| !self.pools.contains_key(*pool)) {
            return Some(Error::validation(format!("no permit pool {pool:?}; create it first")));
        }
        None
    }
}

/// The book, shared by every facility's gates.
#[derive(Debug, Default)]
pub struct Permits(std::sync::RwLock<PermitBook>);

impl Permits {
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, PermitBook> {
        self.0.read().unwrap_or_else(|p| p.into_inner())
    }
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, PermitBook> {
        self.0.write().unwrap_or_else(|p| p.into_inner())
    }

    pub async fn load(&self, store: &dyn Store) -> Result<()> {
        let (pools, permits) = (store.pools().await?, store.permits().await?);
        let mut book = self.write();
        book.pools.extend(pools);
        for permit in permits {
            book.insert(permit);
        }
        Ok(())
    }

    pub async fn add(&self, store: &dyn Store, permit: Permit, now: Timestamp) -> Result<()> {
        permit.validate().map_err(|e| Error::validation(e.to_string()))?;
        if let Some(e) = self.read().conflict(&permit) {
            return Err(e);
        }
        store.insert_permit(&permit, now).await.map_err(|e| match e {
            parkline_store::Error::Duplicate => {
                Error::api(ErrorCode::Conflict, format!("permit {} already exists", permit.id))
            }
            other => other.into(),
        })?;
        self.write().insert(permit);
        Ok(())
    }

    pub async fn revoke(&self, store: &dyn Store, id: &str, now: Timestamp) -> Result<()> {
        if !store.revoke_permit(id, now).await? {
            return Err(Error::api(ErrorCode::NotFound, format!("no active permit {id:?}")));
        }
        self.write().remove(id);
        Ok(())
    }

    pub async fn set_pool(&self, store: &dyn Store, id: &str, limit: u32) -> Result<()> {
        if !parkline_domain::layout::is_slug(id) {
            return Err(Error::validation("pool ids are 1-64 lowercase letters, digits or dashes"));
        }
        store.save_pool(id, limit).await?;
        self.write().pools.insert(id.to_owned(), limit);
        Ok(())
    }
}
