//! Where people's notices go: their open stream connections (the hub) and a sender for email, SMS or
//! push. The notices themselves (what to tell whom, once) are in `notices.rs`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use parkline_domain::VehicleClass;
use parkline_protocol::{Notice, StreamMessage};
use tokio::sync::broadcast;

use crate::live::Update;

/// Email, SMS, push: where notices go besides the stream.
pub trait Sender: Send + Sync + std::fmt::Debug {
    fn send(&self, user: i64, notice: &Notice);
}

/// The default sender: writes each notice to the log.
#[derive(Debug, Default)]
pub struct LogSender;

impl Sender for LogSender {
    fn send(&self, user: i64, notice: &Notice) {
        tracing::info!(user, kind = notice.kind, subject = notice.subject, text = notice.text, "notice");
    }
}

/// The stream connections of each signed-in person, by user id, and who is watching or driving to
/// which facility (for the nearly-full notice).
#[derive(Debug, Default)]
pub struct Hub {
    people: Mutex<HashMap<i64, broadcast::Sender<Arc<Update>>>>,
    coming: Arc<Mutex<ComingTo>>,
    next: AtomicU64,
    /// `(person, subject)` of the notices this instance has stored or found stored: not asked of the
    /// database again (a facility stays nearly full for hours, checked every second).
    told: Mutex<std::collections::HashSet<(i64, String)>>,
}

/// Notices remembered as told at most; beyond, the memory starts again (the database still refuses
/// a second notice).
const TOLD: usize = 100_000;

/// By facility, each watching or driving subscription's person and vehicle class, by subscription.
type ComingTo = HashMap<String, HashMap<u64, (i64, VehicleClass)>>;

/// A person watching a facility or driving to it, for as long as this lives (their subscription).
#[derive(Debug)]
pub struct Coming {
    coming: Arc<Mutex<ComingTo>>,
    facility: String,
    id: u64,
}

impl Drop for Coming {
    fn drop(&mut self) {
        let mut coming = self.coming.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(here) = coming.get_mut(&self.facility) {
            here.remove(&self.id);
            if here.is_empty() {
                coming.remove(&self.facility);
            }
        }
    }
}

impl Hub {
    pub fn subscribe(&self, user: i64) -> broadcast::Receiver<Arc<Update>> {
        let mut people = self.people.lock().unwrap_or_else(|p| p.into_inner());
        people.retain(|_, tx| tx.receiver_count() > 0);
        people.entry(user).or_insert_with(|| broadcast::channel(16).0).subscribe()
    }

    /// Notes that `user` wants a spot at `facility` for a vehicle of `class`, until the guard is dropped.
    pub fn coming(&self, facility: &str, user: i64, class: VehicleClass) -> Coming {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut coming = self.coming.lock().unwrap_or_else(|p| p.into_inner());
        coming.entry(facility.to_owned()).or_default().insert(id, (user, class));
        Coming { coming: self.coming.clone(), facility: facility.to_owned(), id }
    }

    /// The people watching or driving to `facility` on this instance, with their vehicle class (a
    /// person with several subscriptions appears once for each).
    pub fn coming_to(&self, facility: &str) -> Vec<(i64, VehicleClass)> {
        let coming = self.coming.lock().unwrap_or_else(|p| p.into_inner());
        coming.get(facility).map(|h| h.values().copied().collect()).unwrap_or_default()
    }

    /// Whether `user` is known to have had the notice about `subject`.
    pub fn told(&self, user: i64, subject: &str) -> bool {
        self.told.lock().unwrap_or_else(|p| p.into_inner()).contains(&(user, subject.to_owned()))
    }

    /// Notes that `user` has had the notice about `subject`.
    pub fn mark_told(&self, user: i64, subject: &str) {
        let mut told = self.told.lock().unwrap_or_else(|p| p.into_inner());
        if told.len() >= TOLD {
            told.clear();
        }
        told.insert((user, subject.to_owned()));
    }

    pub fn publish(&self, user: i64, notice: Notice) {
        let people = self.people.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = people.get(&user) {
            let _ = tx.send(Update::new(StreamMessage::Notice { notice }));
        }
    }
}
