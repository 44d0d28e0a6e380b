//! Reservations: a specific spot held for a plate over a window, booked up to 30 days ahead.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::plate::Plate;
use crate::{Error, Vehicle};

/// How far ahead a spot can be booked.
pub const HORIZON: SignedDuration = SignedDuration::from_hours(24 * 30);
/// Longest reservation.
pub const MAX_LENGTH: SignedDuration = SignedDuration::from_hours(24 * 7);
/// Shortest reservation: a spot held for minutes is a spot kept from walk-ins for nothing.
pub const MIN_LENGTH: SignedDuration = SignedDuration::from_mins(30);
/// A reserved vehicle may check in this long before or after the start; later it is a no-show.
pub const GRACE: SignedDuration = SignedDuration::from_mins(15);
/// Walk-ins are not sent to a spot whose reservation starts within this long.
pub const WALK_IN_LOOKAHEAD: SignedDuration = SignedDuration::from_hours(2);
/// Cancelling this long before the start is free.
pub const FREE_CANCELLATION: SignedDuration = SignedDuration::from_hours(1);
/// Share of the quote charged for a no-show or a late cancellation, in percent.
pub const NO_SHOW_FEE_PERCENT: i64 = 20;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Confirmed,
    CheckedIn,
    Cancelled,
    NoShow,
}

impl Status {
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Confirmed => "confirmed",
            Status::CheckedIn => "checked_in",
            Status::Cancelled => "cancelled",
            Status::NoShow => "no_show",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        [Status::Confirmed, Status::CheckedIn, Status::Cancelled, Status::NoShow]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
    /// Whether the reservation still claims its spot for its window.
    pub fn claims_spot(self) -> bool {
        matches!(self, Status::Confirmed | Status::CheckedIn)
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub id: String,
    pub facility: String,
    pub spot: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub plate: Plate,
    pub vehicle: Vehicle,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub start: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub end: Timestamp,
    pub status: Status,
    /// The price quoted at booking, minor units.
    pub quote_minor: i64,
    /// What the driver owes in fees: a no-show or late cancellation, and moves inside the fee window.
    pub fee_minor: i64,
    /// The user who booked it.
    pub owner: Option<i64>,
    /// Reservations booked together, all or nothing.
    pub group: Option<String>,
}

/// Checks a requested window against the booking rules.
pub fn validate_window(start: Timestamp, end: Timestamp, now: Timestamp) -> Result<(), Error> {
    let bad = |why: &str| Err(Error::InvalidReservation(why.to_owned()));
    if end <= start {
        return bad("the end must be after the start");
    }
    if start < now - GRACE {
        return bad("the start is in the past");
    }
    if start > now + HORIZON {
        return bad("reservations open 30 days ahead");
    }
    if end.duration_since(start) > MAX_LENGTH {
        return bad("a reservation lasts at most 7 days");
    }
    if end.duration_since(start) < MIN_LENGTH {
        return bad("a reservation lasts at least 30 minutes");
    }
    Ok(())
}

/// What one account may hold, so that one free sign-up cannot hold a facility: fees are what make a
/// booking cost something to abandon, so beyond a few bookings the account must hold the money its
/// no-show fees would take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingRules {
    /// Confirmed bookings one account may hold at once, at every facility together.
    pub max_active: u32,
    /// Share of a facility's spots one account may hold over any moment, per mille (at least one spot).
    pub max_share_permille: u32,
    /// Bookings an account may hold with nothing on its account to cover their no-show fees.
    pub free_without_deposit: u32,
}

impl Default for BookingRules {
    fn default() -> Self {
        BookingRules { max_active: 60, max_share_permille: 250, free_without_deposit: 4 }
    }
}

/// The account asking to book, as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Booker {
    /// Confirmed bookings it holds now, everywhere.
    pub active: u32,
    /// Spots it holds at this facility over part of the requested window.
    pub held_here: u32,
    /// The no-show fees its confirmed bookings would owe, in the facility's currency (minor units).
    pub fees_at_risk_minor: i64,
    /// Its account balance in the facility's currency; below zero it owes money.
    pub balance_minor: i64,
}

/// A booking of `count` spots at a facility of `capacity`, each quoted `quote_minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask {
    pub count: u32,
    pub capacity: u32,
    pub quote_minor: i64,
}

impl BookingRules {
    /// Whether `booker` may make the booking `ask`; the error says which rule refuses and what to do.
    pub fn check(&self, booker: &Booker, ask: &Ask) -> Result<(), Error> {
        let no = |why: String| Err(Error::BookingRefused(why));
        if booker.balance_minor < 0 {
            return no("the account owes money (a fee); settle it before booking again".into());
        }
        if booker.active + ask.count > self.max_active {
            return no(format!("an account holds at most {} bookings at a time", self.max_active));
        }
        let share = (u64::from(ask.capacity) * u64::from(self.max_share_permille) / 1000).max(1);
        if u64::from(booker.held_here + ask.count) > share {
            return no(format!("an account holds at most {share} of this facility's spots at a time"));
        }
        if booker.active + ask.count > self.free_without_deposit {
            let needed = booker.fees_at_risk_minor + i64::from(ask.count) * fee_of(ask.quote_minor);
            if booker.balance_minor < needed {
                return no(format!(
                    "beyond {} bookings the account must hold what their no-show fees would be \
                     ({needed} minor units); top it up",
                    self.free_without_deposit
                ));
            }
        }
        Ok(())
    }
}

/// The no-show fee of a booking quoted `quote_minor`.
pub const fn fee_of(quote_minor: i64) -> i64 {
    quote_minor * NO_SHOW_FEE_PERCENT / 100
}

impl Reservation {
    pub fn overlaps(&self, start: Timestamp, end: Timestamp) -> bool {
        self.status.claims_spot() && self.start < end && start < self.end
    }

    /// Whether a vehicle arriving at `at` checks in on this reservation.
    pub fn can_check_in(&self, at: Timestamp) -> bool {
        self.status == Status::Confirmed && self.start - GRACE <= at && at <= self.start + GRACE
    }

    /// Whether the check-in window has passed with no vehicle.
    pub fn is_no_show(&self, now: Timestamp) -> bool {
        self.status == Status::Confirmed && now > self.start + GRACE
    }

    /// Whether walk-ins arriving at `now` should be kept off this reservation's spot.
    pub fn keeps_walk_ins_out(&self, now: Timestamp) -> bool {
        self.status == Status::Confirmed && self.start - WALK_IN_LOOKAHEAD <= now && now <= self.start + GRACE
    }

    /// The fee for missing the reservation: a share of its quote.
    pub fn no_show_fee(&self) -> i64 {
        fee_of(self.quote_minor)
    }

    /// The fee for cancelling at `now`: free until an hour before the start, the no-show fee after.
    pub fn cancellation_fee(&self, now: Timestamp) -> i64 {
        if now <= self.start - FREE_CANCELLATION { 0 } else { self.no_show_fee() }
    }

    /// The fee for changing the booking to `[start, end)` at `now`: inside the fee window a change costs
    /// what cancelling would (otherwise moving it far out and then cancelling would be free), except
    /// staying longer (the same start, a later end), which gives nothing up.
    pub fn change_fee(&self, now: Timestamp, start: Timestamp, end: Timestamp) -> i64 {
        if start == self.start && end >= self.end { 0 } else { self.cancellation_fee(now) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VehicleClass;

    fn at(mins: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap() + SignedDuration::from_mins(mins)
    }

    fn booking(start: i64, end: i64) -> Reservation {
        Reservation {
            id: "r".into(),
            facility: "f".into(),
            spot: "GA-001".into(),
            plate: Plate::parse("ABC123").unwrap(),
            vehicle: Vehicle::new(VehicleClass::Sedan, false),
            start: at(start),
            end: at(end),
            status: Status::Confirmed,
            quote_minor: 1000,
            fee_minor: 0,
            owner: None,
            group: None,
        }
    }

    #[test]
    fn windows_follow_the_booking_rules() {
        let now = at(0);
        assert!(validate_window(at(60), at(120), now).is_ok());
        assert!(validate_window(at(120), at(60), now).is_err());
        assert!(validate_window(at(-60), at(60), now).is_err());
        assert!(validate_window(at(31 * 24 * 60), at(31 * 24 * 60 + 60), now).is_err());
        assert!(validate_window(at(60), at(60 + 8 * 24 * 60), now).is_err());
        assert!(validate_window(at(60), at(89), now).is_err(), "shorter than 30 minutes");
        assert!(validate_window(at(60), at(90), now).is_ok());
    }

    #[test]
    fn one_account_cannot_hold_a_facility() {
        let rules = BookingRules::default();
        let ask = |count| Ask { count, capacity: 188, quote_minor: 450 };
        let fresh = Booker::default();
        assert!(rules.check(&fresh, &ask(4)).is_ok(), "a few bookings need no deposit");
        assert!(rules.check(&fresh, &ask(5)).is_err(), "more need money on the account");
        let refused = |b: &Booker, count| match rules.check(b, &ask(count)) {
            Err(Error::BookingRefused(why)) => why,
            other => panic!("{other:?}"),
        };
        assert!(refused(&fresh, 50).contains("at most 47"), "a quarter of 188 spots");
        assert!(refused(&fresh, 184).contains("at most"));
        // A deposit covering every fee at risk opens more bookings, up to the facility share.
        let deposit = Booker { active: 4, held_here: 4, fees_at_risk_minor: 4 * 90, balance_minor: 8 * 90 };
        assert!(rules.check(&deposit, &ask(4)).is_ok());
        assert!(refused(&deposit, 5).contains("top it up"));
        let rich = Booker { balance_minor: 1_000_000, ..deposit };
        assert!(rules.check(&rich, &ask(43)).is_ok() && rules.check(&rich, &ask(44)).is_err());
        let everywhere = Booker { active: 60, held_here: 0, ..rich };
        assert!(refused(&everywhere, 1).contains("at most 60 bookings"));
        let owing = Booker { balance_minor: -1, ..fresh };
        assert!(refused(&owing, 1).contains("owes money"));
        let tiny = Ask { count: 1, capacity: 2, quote_minor: 0 };
        assert!(rules.check(&fresh, &tiny).is_ok(), "at least one spot, however small the facility");
        assert!(rules.check(&Booker { held_here: 1, ..fresh }, &tiny).is_err());
    }

    #[test]
    fn moving_a_booking_inside_the_fee_window_costs_a_cancellation() {
        let r = booking(120, 180);
        let moved = (at(5000), at(5060));
        assert_eq!(r.change_fee(at(0), moved.0, moved.1), 0, "well ahead: free");
        assert_eq!(r.change_fee(at(61), moved.0, moved.1), 200, "inside the fee window");
        assert_eq!(r.change_fee(at(61), at(120), at(150)), 200, "shorter");
        assert_eq!(r.change_fee(at(61), at(120), at(240)), 0, "staying longer gives nothing up");
    }

    #[test]
    fn check_in_no_show_and_cancellation_follow_the_clock() {
        let r = booking(60, 180);
        assert!(!r.can_check_in(at(44)));
        assert!(r.can_check_in(at(45)) && r.can_check_in(at(75)));
        assert!(!r.can_check_in(at(76)));
        assert!(!r.is_no_show(at(75)) && r.is_no_show(at(76)));
        assert!(
            !r.keeps_walk_ins_out(at(-61)) && r.keeps_walk_ins_out(at(-60)) && !r.keeps_walk_ins_out(at(76))
        );
        assert_eq!((r.cancellation_fee(at(0)), r.cancellation_fee(at(1))), (0, 200));
        assert!(r.overlaps(at(179), at(200)) && !r.overlaps(at(180), at(200)));
        let cancelled = Reservation { status: Status::Cancelled, ..r };
        assert!(!cancelled.overlaps(at(100), at(120)));
    }
}
