//! What a kiosk knows to decide on its own while the server is out of reach: the stays inside (from the
//! server when it last answered, plus those its lanes let in offline since), and the rate plan and time
//! zone to price an exit. The server has the last word: everything decided here is replayed to it.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use parkline_domain::gate::{self, Admission, Arrival, Departure, Leaving, Spot, Verdict};
use parkline_domain::plate::Plate;
use parkline_domain::pricing::RatePlan;
use parkline_domain::{Currency, Direction, Money, VehicleClass};
use parkline_protocol::{GateEvent, SessionView};

/// A vehicle inside, as far as the kiosk knows.
#[derive(Debug, Clone, PartialEq)]
pub struct Stay {
    pub ticket: String,
    pub plate: Option<Plate>,
    pub entered_at: Timestamp,
    pub class: VehicleClass,
    /// Entered on a permit: nothing to pay.
    pub permit: bool,
    pub paid_minor: i64,
    /// Let in by this kiosk while offline, not yet seen in the server's list.
    pub local: bool,
}

#[derive(Debug, Default)]
pub struct Book {
    stays: Vec<Stay>,
    plan: Option<RatePlan>,
    tz: Option<TimeZone>,
    /// When the server's list was last taken.
    pub refreshed: Option<Timestamp>,
}

impl Book {
    /// Replaces what the server said is inside; stays let in offline that the server does not list yet
    /// are kept.
    pub fn refresh(&mut self, sessions: &[SessionView], at: Timestamp) {
        let mut stays: Vec<Stay> = sessions
            .iter()
            .filter(|s| s.exited_at.is_none())
            .map(|s| Stay {
                ticket: s.ticket.clone(),
                plate: s.plate.as_deref().and_then(|p| Plate::parse(p).ok()),
                entered_at: s.entered_at,
                class: s.vehicle_class.unwrap_or(VehicleClass::Sedan),
                permit: s.permit,
                paid_minor: s.paid.minor,
                local: false,
            })
            .collect();
        let known: std::collections::HashSet<String> = stays.iter().map(|s| s.ticket.clone()).collect();
        stays.extend(self.stays.iter().filter(|s| s.local && !known.contains(&s.ticket)).cloned());
        self.stays = stays;
        self.refreshed = Some(at);
    }

    pub fn set_pricing(&mut self, plan: RatePlan, tz: TimeZone) {
        self.plan = Some(plan);
        self.tz = Some(tz);
    }

    /// A vehicle let in offline.
    pub fn admit(&mut self, stay: Stay) {
        self.stays.push(stay);
    }

    /// The stay with this ticket, else the one with this plate.
    pub fn find(&self, ticket: Option<&str>, plate: Option<&Plate>) -> Option<&Stay> {
        let by_ticket =
            ticket.and_then(|t| self.stays.iter().find(|s| s.ticket.eq_ignore_ascii_case(t.trim())));
        by_ticket.or_else(|| plate.and_then(|p| self.stays.iter().find(|s| s.plate.as_ref() == Some(p))))
    }

    pub fn is_inside(&self, plate: &Plate) -> bool {
        self.stays.iter().any(|s| s.plate.as_ref() == Some(plate))
    }

    /// A vehicle let out.
    pub fn release(&mut self, ticket: &str) {
        self.stays.retain(|s| s.ticket != ticket);
    }

    pub fn len(&self) -> usize {
        self.stays.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stays.is_empty()
    }

    /// What `stay` costs if it left at `now`, by the rate plan last seen (the server's rule,
    /// `parkline_domain::gate::fee`); `None` without a plan (the server prices it when the passage is
    /// replayed).
    fn fee(&self, stay: &Stay, now: Timestamp) -> Option<i64> {
        let (plan, tz) = (self.plan.as_ref()?, self.tz.as_ref()?);
        let priced = gate::Stay {
            class: stay.class,
            entered_at: stay.entered_at,
            permit: stay.permit,
            last_paid: None,
            occupancy_permille: None,
            discounts: Vec::new(),
        };
        let (full, off) = gate::fee(&priced, Some(plan), tz, now).ok()?;
        Some(full - off.iter().sum::<i64>())
    }

    /// What `stay` still owes if it left at `now`; `None` without a plan.
    pub fn due(&self, stay: &Stay, now: Timestamp) -> Option<Money> {
        let currency = self.plan.as_ref()?.currency;
        Some(Money::new((self.fee(stay, now)? - stay.paid_minor).max(0), currency))
    }

    /// The gate rules (the server's: `parkline_domain::gate`) applied to what this kiosk knows: the
    /// verdict, and the ticket of the stay an exit found. Offline, nobody can be checked against permits
    /// or reservations, nor given a spot: everyone enters as a visitor and keeps the printed ticket.
    pub fn verdict(
        &self,
        direction: Direction,
        event: &GateEvent,
        now: Timestamp,
    ) -> (Verdict, Option<String>) {
        let plate = event.plate.as_ref().and_then(|r| Plate::parse(&r.text).ok());
        match direction {
            Direction::Entry => {
                let already_inside = plate.as_ref().is_some_and(|p| self.is_inside(p));
                let arrival = Arrival {
                    already_inside,
                    admission: Admission::Visitor,
                    spot: Spot::Unknown,
                    replay: false,
                };
                (gate::entry(&arrival), None)
            }
            Direction::Exit => {
                let stay = self.find(event.ticket.as_deref(), plate.as_ref());
                let leaving = match stay {
                    Some(s) => Leaving::Stay {
                        fee: self.fee(s, now).unwrap_or(0),
                        paid_minor: s.paid_minor,
                        permit: s.permit,
                    },
                    None => Leaving::Unknown { lost_ticket: self.plan.as_ref().map_or(0, |p| p.lost_ticket) },
                };
                let currency = self.plan.as_ref().map_or(Currency::USD, |p| p.currency);
                let paid_now = event.paid_at_gate.unwrap_or(0);
                let plan = gate::exit(&Departure { leaving, paid_now, currency, replay: false });
                (plan.verdict, stay.map(|s| s.ticket.clone()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn plan() -> RatePlan {
        toml::from_str(include_str!("../../../assets/rates/downtown.toml")).unwrap()
    }

    fn stay(ticket: &str, plate: &str, entered_at: Timestamp) -> Stay {
        Stay {
            ticket: ticket.into(),
            plate: Some(Plate::parse(plate).unwrap()),
            entered_at,
            class: VehicleClass::Sedan,
            permit: false,
            paid_minor: 0,
            local: true,
        }
    }

    #[test]
    fn offline_exits_are_priced_by_the_last_plan_seen_and_offline_entries_survive_a_refresh() {
        let now: Timestamp = "2026-11-24T20:00:00Z".parse().unwrap();
        let mut book = Book::default();
        book.admit(stay("LOCAL1", "ABC123", now - SignedDuration::from_mins(5)));
        book.admit(stay("LOCAL2", "XYZ789", now - SignedDuration::from_hours(3)));
        let grace = book.find(None, Some(&Plate::parse("abc 123").unwrap())).unwrap().clone();
        assert_eq!(book.due(&grace, now), None, "no plan seen yet: the server will price it");

        book.set_pricing(plan(), TimeZone::get("America/Los_Angeles").unwrap());
        assert_eq!(book.due(&grace, now).unwrap().minor, 0, "within the grace period");
        let long = book.find(Some("local2"), None).unwrap().clone();
        let due = book.due(&long, now).unwrap().minor;
        assert!(due >= 3 * 450 * 6 / 10, "three hours cost something: {due}");

        // The server's list does not have the offline entries yet: they stay.
        book.refresh(&[], now);
        assert_eq!(book.len(), 2);
        book.release("LOCAL1");
        assert!(!book.is_inside(&Plate::parse("ABC123").unwrap()));
    }
}
