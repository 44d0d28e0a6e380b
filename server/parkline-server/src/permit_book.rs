//! The permits in force, in memory for the gates: by id, by plate, and each pool's size. Replaced whole
//! from the store after every change, here or on another instance (see `permits.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use parkline_domain::permit::Permit;
use parkline_domain::plate::Plate;
use parkline_protocol::ErrorCode;

use crate::error::Error;

/// Every active permit, by id and by plate, and every pool's limit.
#[derive(Debug, Default)]
pub struct PermitBook {
    by_id: HashMap<String, Arc<Permit>>,
    /// By operator and plate: each operator's permits are its own (two may cover one vehicle), and one
    /// operator's may cover a vehicle at different times (a venue's grant for Saturday, a hotel's for
    /// Sunday).
    by_plate: HashMap<(String, Plate), Vec<Arc<Permit>>>,
    pools: HashMap<String, u32>,
}

impl PermitBook {
    /// The operator's active permits covering `plate`, at different times.
    pub fn by_plate(&self, operator: &str, plate: &Plate) -> &[Arc<Permit>] {
        self.by_plate.get(&(operator.to_owned(), plate.clone())).map_or(&[], Vec::as_slice)
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

    /// Creates a pool or changes its size.
    pub(crate) fn set_pool(&mut self, id: String, limit: u32) {
        self.pools.insert(id, limit);
    }

    pub(crate) fn insert(&mut self, permit: Permit) {
        let permit = Arc::new(permit);
        for plate in &permit.plates {
            self.by_plate.entry((permit.operator.clone(), plate.clone())).or_default().push(permit.clone());
        }
        self.by_id.insert(permit.id.clone(), permit);
    }

    /// Why `permit` cannot be added: its id is taken, one of its plates is on another permit of its
    /// operator at some time it covers, or its pool is unknown.
    pub(crate) fn conflict(&self, permit: &Permit) -> Option<Error> {
        if self.by_id.contains_key(&permit.id) {
            return Some(Error::api(ErrorCode::Conflict, format!("permit {} already exists", permit.id)));
        }
        let taken =
            |p: &&Plate| self.by_plate(&permit.operator, p).iter().any(|other| other.overlaps(permit));
        if let Some(p) = permit.plates.iter().find(taken) {
            return Some(Error::api(
                ErrorCode::Conflict,
                format!("{p} is already on another active permit for some of that time"),
            ));
        }
        if let Some(pool) = permit.pool.as_deref().filter(|pool| !self.pools.contains_key(*pool)) {
            return Some(Error::validation(format!("no permit pool {pool:?}; create it first")));
        }
        None
    }
}

/// The book, shared by every facility's gates.
#[derive(Debug, Default)]
pub struct Permits(std::sync::RwLock<PermitBook>, tokio::sync::Mutex<()>);

impl Permits {
    /// Held while the book is read from the store and replaced, so two reloads never cross (an older
    /// reading written over a newer one).
    pub(crate) async fn reloading(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.1.lock().await
    }
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, PermitBook> {
        self.0.read().unwrap_or_else(|p| p.into_inner())
    }
    pub(crate) fn write(&self) -> std::sync::RwLockWriteGuard<'_, PermitBook> {
        self.0.write().unwrap_or_else(|p| p.into_inner())
    }
}
