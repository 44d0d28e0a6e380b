//! The vehicles inside a facility: its active sessions, indexed by ticket, by plate, and by the plate's
//! OCR-confusion key, so an exit finds its session in constant time.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use parkline_domain::plate::{Plate, PlateMatch, match_plate};

use parkline_store::SessionRecord;

#[derive(Debug, Default)]
pub struct Inside {
    sessions: HashMap<String, SessionRecord>,
    by_ticket: HashMap<String, String>,
    by_plate: HashMap<Plate, String>,
    by_key: HashMap<String, Vec<String>>,
    /// Sessions that ended lately, newest last: a stay looked up in the database before its end is
    /// saved there is not brought back.
    ended: VecDeque<String>,
    /// The index of every live facility's tickets, and this facility's id in it.
    tickets: Option<(Arc<Tickets>, String)>,
}

/// Which facility each ticket inside belongs to, across facilities: kept by each [`Inside`] as
/// sessions come and go.
#[derive(Debug, Default)]
pub struct Tickets(Mutex<HashMap<String, String>>);

impl Tickets {
    pub fn facility(&self, ticket: &str) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(ticket).cloned()
    }
}

/// Ended sessions remembered.
const ENDED: usize = 1024;

impl Inside {
    /// Keeps `tickets` up to date with this facility's sessions, from now on and as they are.
    pub fn index_tickets(&mut self, tickets: Arc<Tickets>, facility: &str) {
        let mut index = tickets.0.lock().unwrap_or_else(|p| p.into_inner());
        for ticket in self.by_ticket.keys() {
            index.insert(ticket.clone(), facility.to_owned());
        }
        drop(index);
        self.tickets = Some((tickets, facility.to_owned()));
    }

    pub fn insert(&mut self, session: SessionRecord) {
        if let Some((tickets, facility)) = &self.tickets {
            let mut index = tickets.0.lock().unwrap_or_else(|p| p.into_inner());
            index.insert(session.ticket.clone(), facility.clone());
        }
        self.by_ticket.insert(session.ticket.clone(), session.id.clone());
        if let Some(plate) = &session.plate {
            self.by_plate.insert(plate.clone(), session.id.clone());
            self.by_key.entry(plate.confusion_key()).or_default().push(session.id.clone());
        }
        self.sessions.insert(session.id.clone(), session);
    }

    pub fn remove(&mut self, id: &str) -> Option<SessionRecord> {
        let session = self.sessions.remove(id)?;
        self.by_ticket.remove(&session.ticket);
        if let Some((tickets, facility)) = &self.tickets {
            let mut index = tickets.0.lock().unwrap_or_else(|p| p.into_inner());
            if index.get(&session.ticket) == Some(facility) {
                index.remove(&session.ticket);
            }
        }
        if let Some(plate) = &session.plate {
            self.by_plate.remove(plate);
            let key = plate.confusion_key();
            if let Some(ids) = self.by_key.get_mut(&key) {
                ids.retain(|i| i != id);
                if ids.is_empty() {
                    self.by_key.remove(&key);
                }
            }
        }
        Some(session)
    }

    /// Removes a session that ended.
    pub fn end(&mut self, id: &str) {
        self.remove(id);
        if self.ended.len() == ENDED {
            self.ended.pop_front();
        }
        self.ended.push_back(id.to_owned());
    }

    /// Whether `id` ended lately.
    pub fn ended_lately(&self, id: &str) -> bool {
        self.ended.iter().any(|e| e == id)
    }

    /// Takes a stay as the database has it: an ended one leaves; an active one replaces this copy,
    /// unless it ended here lately (its end still on its way to disk).
    pub fn reload(&mut self, session: SessionRecord) {
        let id = session.id.clone();
        match session.exit {
            Some(_) => self.end(&id),
            None if !self.ended_lately(&id) => {
                self.remove(&id);
                self.insert(session);
            }
            None => {}
        }
    }

    /// Adds an active stay memory does not know yet (one begun elsewhere), unless it ended here lately.
    pub fn learn(&mut self, session: SessionRecord) {
        if session.exit.is_none() && self.get(&session.id).is_none() && !self.ended_lately(&session.id) {
            self.insert(session);
        }
    }

    pub fn get(&self, id: &str) -> Option<&SessionRecord> {
        self.sessions.get(id)
    }

    /// Records money paid (negative: refunded) on a session inside; `at` for a payment.
    pub fn add_paid(&mut self, id: &str, minor: i64, at: Option<jiff::Timestamp>) {
        if let Some(s) = self.sessions.get_mut(id) {
            s.paid_minor += minor;
            if at.is_some() {
                s.last_paid = at;
            }
        }
    }

    /// Records a merchant validation on a session inside.
    pub fn add_validation(
        &mut self,
        id: &str,
        code: String,
        discount: parkline_domain::validation::Discount,
    ) {
        if let Some(s) = self.sessions.get_mut(id)
            && !s.validations.iter().any(|(c, _)| *c == code)
        {
            s.validations.push((code, discount));
        }
    }

    pub fn by_ticket(&self, ticket: &str) -> Option<&SessionRecord> {
        self.by_ticket.get(ticket).and_then(|id| self.sessions.get(id))
    }

    pub fn has_plate(&self, plate: &Plate) -> bool {
        self.by_plate.contains_key(plate)
    }

    /// Finds the session of the vehicle whose plate was read as `candidates`.
    pub fn match_plates(&self, candidates: &[Plate]) -> PlateMatch<String> {
        match_plate(
            candidates,
            |p| self.by_plate.get(p).cloned(),
            |key| self.by_key.get(key).cloned().unwrap_or_default(),
        )
    }

    pub fn sessions(&self) -> impl Iterator<Item = &SessionRecord> {
        self.sessions.values()
    }

    /// The permit of each session that entered on one.
    pub fn permits(&self) -> impl Iterator<Item = &str> {
        self.sessions.values().filter_map(|s| s.permit.as_deref())
    }
}
