//! The gate rules, one set for the server (which knows everything) and for a kiosk deciding while the
//! server is out of reach (which knows what it last heard): from what is known about a vehicle at a
//! lane, what the barrier does, why, and what the lane's screen says. Callers find the facts (a stay
//! inside, a permit, a held spot) and record the outcome; the choice and its words are made here, once.
//!
//! Entry, in order: anti-passback, then a spot (refused when full), then the welcome. Exit: the stay
//! found by ticket or plate is priced ([`fee`]), money offered at the lane goes toward it, and the
//! barrier opens once nothing is owed; nobody found pays the lost-ticket price; a plate that could be
//! several vehicles is for an attendant.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::pricing::{self, RatePlan};
use crate::validation::Discount;
use crate::{Currency, Error, Money, VehicleClass};

/// After paying, a driver has this long to leave at the price paid.
pub const LEAVE_AFTER_PAYING: SignedDuration = SignedDuration::from_mins(15);

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateCommand {
    Open,
    /// Keep the barrier down.
    Deny,
}

/// Why the gate opens or stays closed; lanes branch on this.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionReason {
    /// Entry: a spot is held and a session started.
    Admitted,
    /// Entry: this plate is already inside (anti-passback).
    AlreadyInside,
    /// Entry: no spot for this vehicle.
    Full,
    /// Exit: the stay is settled.
    Paid,
    /// Exit: the vehicle entered on a permit.
    PermitHolder,
    /// Exit: nothing to pay (grace period, free facility).
    NothingDue,
    /// Exit: `amount_due` must be paid first.
    PaymentRequired,
    /// Exit: no session found for this vehicle; the lost-ticket price applies.
    LostTicket,
    /// Exit: the plate could belong to more than one vehicle inside; an attendant must decide.
    AmbiguousPlate,
    /// Exit, replayed from a lane that was offline: the vehicle left with `amount_due` still owed; the
    /// stay keeps the balance.
    LeftOwing,
}

/// What the gate does and says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub command: GateCommand,
    pub reason: DecisionReason,
    /// The lane's screen. It never names the plate: decisions are stored.
    pub display: String,
    /// What is still owed, when something is.
    pub amount_due: Option<Money>,
}

impl Verdict {
    fn new(command: GateCommand, reason: DecisionReason, display: impl Into<String>) -> Verdict {
        Verdict { command, reason, display: display.into(), amount_due: None }
    }

    fn owing(self, due: Money) -> Verdict {
        Verdict { amount_due: Some(due), ..self }
    }
}

const GOODBYE: &str = "Thank you. Drive safely.";

/// On what an admitted vehicle comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission<'a> {
    Visitor,
    Permit { holder: &'a str },
    Reservation,
}

/// Where to park, as the screen says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Directions<'a> {
    pub spot: &'a str,
    pub floor: &'a str,
    pub level: &'a str,
    pub zone: &'a str,
}

/// The spot for an arriving vehicle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spot<'a> {
    /// Held for it.
    Held(Directions<'a>),
    /// None fits: the facility is full for this vehicle.
    NoneFree,
    /// Not known here: a kiosk offline does not know the spots (the server assigns one on replay).
    Unknown,
}

/// What is known at an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival<'a> {
    /// The plate read is on a vehicle inside already (anti-passback).
    pub already_inside: bool,
    pub admission: Admission<'a>,
    pub spot: Spot<'a>,
    /// The lane let this vehicle in while offline and the server is recording it: it is in, full or not.
    pub replay: bool,
}

/// The entry rule.
pub fn entry(a: &Arrival) -> Verdict {
    use {DecisionReason::*, GateCommand::*};
    if a.already_inside {
        return Verdict::new(
            Deny,
            AlreadyInside,
            "This vehicle is already inside. Please see the attendant.",
        );
    }
    if a.spot == Spot::NoneFree && !a.replay {
        return Verdict::new(Deny, Full, "FULL. No space for this vehicle.");
    }
    let greeting = match a.admission {
        Admission::Permit { holder } => format!("Welcome, {holder}"),
        Admission::Reservation => "Welcome, your reservation is ready".to_owned(),
        Admission::Visitor => "Welcome".to_owned(),
    };
    let display = match a.spot {
        Spot::Held(d) => {
            format!("{greeting}. Park at {}, {} ({}), zone {}.", d.spot, d.floor, d.level, d.zone)
        }
        Spot::NoneFree | Spot::Unknown => format!("{greeting}. Please keep your ticket."),
    };
    Verdict::new(Open, Admitted, display)
}

/// A stay inside, as far as whoever decides knows it: enough to price it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stay {
    pub class: VehicleClass,
    pub entered_at: Timestamp,
    /// Entered on a permit: already paid for.
    pub permit: bool,
    /// When the last payment was made.
    pub last_paid: Option<Timestamp>,
    /// How full the facility was at entry (per mille), for demand-priced plans; `None` where unknown.
    pub occupancy_permille: Option<u16>,
    /// Merchant validations applied, in order.
    pub discounts: Vec<Discount>,
}

/// What a stay costs if it leaves at `now`: the full price and what each validation takes off it.
/// Nothing on a permit or without a rate plan. A driver who paid is charged up to the payment if they
/// leave within [`LEAVE_AFTER_PAYING`].
pub fn fee(
    stay: &Stay,
    plan: Option<&RatePlan>,
    tz: &TimeZone,
    now: Timestamp,
) -> Result<(i64, Vec<i64>), Error> {
    let Some(plan) = plan.filter(|_| !stay.permit) else {
        return Ok((0, vec![0; stay.discounts.len()]));
    };
    let until = match stay.last_paid {
        Some(paid) if now <= paid + LEAVE_AFTER_PAYING => paid.min(now),
        _ => now,
    };
    let priced = pricing::Stay {
        class: stay.class,
        entry: stay.entered_at,
        exit: until.max(stay.entered_at),
        charging: false,
        occupancy_permille: stay.occupancy_permille,
    };
    crate::validation::apply(plan, tz, &priced, &stay.discounts)
}

/// Who is leaving, as found among the vehicles inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaving {
    /// One stay matched (by ticket or plate): what it costs now (after validations), what was paid.
    Stay { fee: i64, paid_minor: i64, permit: bool },
    /// The plate could be more than one vehicle inside.
    Ambiguous,
    /// Nobody inside matches: the lost-ticket price applies.
    Unknown { lost_ticket: i64 },
}

/// What is known at an exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Departure {
    pub leaving: Leaving,
    /// Money taken at the lane (cash, a terminal) with this event.
    pub paid_now: i64,
    pub currency: Currency,
    /// The lane let this vehicle out while offline and the server is recording it: it is out, paid or not.
    pub replay: bool,
}

/// What an exit decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitPlan {
    pub verdict: Verdict,
    /// How much of the money offered at the lane is taken (never more than is owed).
    pub taken: i64,
}

/// The exit rule.
pub fn exit(d: &Departure) -> ExitPlan {
    use {DecisionReason::*, GateCommand::*};
    let money = |minor| Money::new(minor, d.currency);
    match d.leaving {
        Leaving::Ambiguous => {
            ExitPlan { verdict: Verdict::new(Deny, AmbiguousPlate, "Please see the attendant."), taken: 0 }
        }
        Leaving::Unknown { lost_ticket: price } => {
            if d.paid_now >= price || d.replay {
                let taken = d.paid_now.min(price);
                let verdict = if taken < price {
                    Verdict::new(Open, LostTicket, GOODBYE).owing(money(price - taken))
                } else {
                    Verdict::new(Open, Paid, GOODBYE)
                };
                return ExitPlan { verdict, taken };
            }
            let due = money(price);
            ExitPlan {
                verdict: Verdict::new(Deny, LostTicket, format!("Lost ticket: please pay {due}.")).owing(due),
                taken: 0,
            }
        }
        Leaving::Stay { fee, paid_minor, permit } => {
            let taken = d.paid_now.min((fee - paid_minor).max(0));
            let outstanding = fee - paid_minor - taken;
            if outstanding > 0 && !d.replay {
                let due = money(outstanding);
                let verdict = Verdict::new(Deny, PaymentRequired, format!("Please pay {due}.")).owing(due);
                return ExitPlan { verdict, taken };
            }
            let reason = match fee {
                _ if permit => PermitHolder,
                // Let out offline before paying in full: the balance stays on the stay.
                _ if outstanding > 0 => LeftOwing,
                0 => NothingDue,
                _ => Paid,
            };
            let verdict = Verdict::new(Open, reason, GOODBYE);
            let verdict = if outstanding > 0 { verdict.owing(money(outstanding)) } else { verdict };
            ExitPlan { verdict, taken }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::USD)
    }

    fn leave(leaving: Leaving, paid_now: i64, replay: bool) -> ExitPlan {
        exit(&Departure { leaving, paid_now, currency: Currency::USD, replay })
    }

    #[test]
    fn entries_refuse_a_plate_inside_then_a_full_facility_then_welcome_by_what_they_come_on() {
        let spot = Spot::Held(Directions { spot: "A-012", floor: "Ground", level: "G", zone: "A" });
        let visitor = Arrival { already_inside: false, admission: Admission::Visitor, spot, replay: false };
        assert_eq!(entry(&visitor).display, "Welcome. Park at A-012, Ground (G), zone A.");
        let inside = Arrival { already_inside: true, ..visitor };
        assert_eq!(entry(&inside).reason, DecisionReason::AlreadyInside);
        assert_eq!(entry(&Arrival { replay: true, ..inside }).reason, DecisionReason::AlreadyInside);
        let full = Arrival { spot: Spot::NoneFree, ..visitor };
        assert_eq!((entry(&full).command, entry(&full).reason), (GateCommand::Deny, DecisionReason::Full));
        // A lane that let it in offline: it is in.
        assert_eq!(entry(&Arrival { replay: true, ..full }).display, "Welcome. Please keep your ticket.");
        let permit =
            Arrival { admission: Admission::Permit { holder: "Acme" }, spot: Spot::Unknown, ..visitor };
        assert_eq!(entry(&permit).display, "Welcome, Acme. Please keep your ticket.");
    }

    #[test]
    fn exits_take_what_is_owed_at_most_and_open_only_when_settled() {
        let stay = Leaving::Stay { fee: 900, paid_minor: 300, permit: false };
        let short = leave(stay, 500, false);
        assert_eq!((short.verdict.command, short.taken), (GateCommand::Deny, 500));
        assert_eq!(short.verdict.amount_due, Some(usd(100)));
        assert_eq!(short.verdict.display, "Please pay 1.00 USD.");
        let more = leave(stay, 1000, false);
        assert_eq!(
            (more.verdict.reason, more.taken, more.verdict.amount_due),
            (DecisionReason::Paid, 600, None)
        );
        // Offline, the vehicle left: the balance stays owed.
        let replayed = leave(stay, 0, true);
        assert_eq!(
            (replayed.verdict.reason, replayed.verdict.amount_due),
            (DecisionReason::LeftOwing, Some(usd(600)))
        );
        let prepaid = Leaving::Stay { fee: 900, paid_minor: 900, permit: false };
        assert_eq!(leave(prepaid, 0, false).verdict.reason, DecisionReason::Paid);
        let free = Leaving::Stay { fee: 0, paid_minor: 0, permit: false };
        assert_eq!(leave(free, 0, false).verdict.reason, DecisionReason::NothingDue);
        let permit = Leaving::Stay { fee: 0, paid_minor: 0, permit: true };
        assert_eq!(leave(permit, 0, false).verdict.reason, DecisionReason::PermitHolder);
    }

    #[test]
    fn nobody_found_pays_the_lost_ticket_price_and_an_ambiguous_plate_waits_for_an_attendant() {
        let lost = Leaving::Unknown { lost_ticket: 6000 };
        let unpaid = leave(lost, 100, false);
        assert_eq!((unpaid.verdict.command, unpaid.taken), (GateCommand::Deny, 0));
        assert_eq!(unpaid.verdict.display, "Lost ticket: please pay 60.00 USD.");
        assert_eq!(leave(lost, 6000, false).verdict.reason, DecisionReason::Paid);
        let replayed = leave(lost, 1000, true);
        assert_eq!((replayed.verdict.reason, replayed.taken), (DecisionReason::LostTicket, 1000));
        assert_eq!(replayed.verdict.amount_due, Some(usd(5000)));
        assert_eq!(leave(Leaving::Ambiguous, 0, false).verdict.reason, DecisionReason::AmbiguousPlate);
    }

    #[test]
    fn a_payment_holds_the_price_for_a_while_and_permits_pay_nothing() {
        let plan: RatePlan = toml::from_str(include_str!("../../../assets/rates/downtown.toml")).unwrap();
        let tz = TimeZone::get("America/Los_Angeles").unwrap();
        let entered: Timestamp = "2026-12-02T20:00:00Z".parse().unwrap(); // noon in Seattle
        let stay = Stay {
            class: VehicleClass::Sedan,
            entered_at: entered,
            permit: false,
            last_paid: None,
            occupancy_permille: None,
            discounts: vec![],
        };
        let at = |mins: i64| entered + SignedDuration::from_mins(mins);
        let (two_hours, _) = fee(&stay, Some(&plan), &tz, at(120)).unwrap();
        assert!(two_hours > 0);
        let paid = Stay { last_paid: Some(at(120)), ..stay.clone() };
        assert_eq!(fee(&paid, Some(&plan), &tz, at(130)).unwrap().0, two_hours, "within the window");
        assert!(fee(&paid, Some(&plan), &tz, at(200)).unwrap().0 > two_hours, "after it");
        let permit = Stay { permit: true, ..stay.clone() };
        assert_eq!(fee(&permit, Some(&plan), &tz, at(600)).unwrap(), (0, vec![]));
        assert_eq!(fee(&stay, None, &tz, at(600)).unwrap(), (0, vec![]));
    }
}
