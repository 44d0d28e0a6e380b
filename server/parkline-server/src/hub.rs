//! Where people's notices go: their open stream connections (the hub) and a sender for email, SMS or
//! push. The notices themselves (what to tell whom, once) are in `notices.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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

/// The stream connections of each signed-in person, by user id.
#[derive(Debug, Default)]
pub struct Hub {
    people: Mutex<HashMap<i64, broadcast::Sender<Arc<Update>>>>,
}

impl Hub {
    pub fn subscribe(&self, user: i64) -> broadcast::Receiver<Arc<Update>> {
        let mut people = self.people.lock().unwrap_or_else(|p| p.into_inner());
        people.retain(|_, tx| tx.receiver_count() > 0);
        people.entry(user).or_insert_with(|| broadcast::channel(16).0).subscribe()
    }

    pub fn publish(&self, user: i64, notice: Notice) {
        let people = self.people.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = people.get(&user) {
            let _ = tx.send(Update::new(StreamMessage::Notice { notice }));
        }
    }
}
