//! Reservations: a specific spot held for a plate over a window, booked up to 30 days ahead.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::plate::Plate;
use crate::{Error, Vehicle};

/// How far ahead a spot can be booked.
pub const HORIZON: SignedDuration = SignedDuration::from_hours(24 * 30);
/// Longest reservation.
pub const MAX_LENGTH: SignedDuration = SignedDuration::from_hours(24 * 7);
/// A reserved vehicle may check in this long before or after the start; later it is a no-show.
pub const GRACE: SignedDuration = SignedDuration::from_mins(15);
/// Walk-ins are not sent to a spot whose reservation starts within this long.
pub const WALK_IN_LOOKAHEAD: SignedDuration = SignedDuration::from_hours(2);
/// Cancelling this long before the start is free.
pub const FREE_CANCELLATION: SignedDuration = SignedDuration::from_hours(1);
/// Share of the quote charged for a no-show or a late cancellation, in percent.
pub const NO_SHOW_FEE_PERCENT: i64 = 20;

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub id: String,
    pub facility: String,
    pub spot: String,
    pub plate: Plate,
    pub vehicle: Vehicle,
    pub start: Timestamp,
    pub end: Timestamp,
    pub status: Status,
    /// The price quoted at booking, minor units.
    pub quote_minor: i64,
    /// What the driver owes for a no-show or a late cancellation.
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
    Ok(())
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
        self.quote_minor * NO_SHOW_FEE_PERCENT / 100
    }

    /// The fee for cancelling at `now`: free until an hour before the start, the no-show fee after.
    pub fn cancellation_fee(&self, now: Timestamp) -> i64 {
        if now <= self.start - FREE_CANCELLATION { 0 } else { self.no_show_fee() }
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
