//! Parkline's domain rules, free of I/O and async: what a facility is, which vehicle may park where, how
//! occupancy is counted, how the best free spot is chosen, what a sensor reading means, and what a stay
//! costs.
//!
//! Everything here is deterministic given its inputs (the clock is always a parameter), so every rule can
//! be tested at any instant and shared by the server and the clients.

pub mod allocation;
pub mod camera;
pub mod claims;
pub mod demand;
pub mod fusion;
pub mod gate;
pub mod gate_health;
pub mod layout;
pub mod money;
pub mod occupancy;
pub mod passage;
pub mod permit;
pub mod plate;
pub mod plate_format;
pub mod pricing;
pub mod reservation;
pub mod sensor;
pub mod validation;
mod vehicle;

pub use allocation::{Candidate, Charging, Preferences};
pub use layout::{Direction, Facility, Feature, Features, LatLon, LayoutFile, SpotIdx};
pub use money::{Currency, Money};
pub use occupancy::{Counts, Occupancy, SpotState, SpotStatus};
pub use vehicle::{Vehicle, VehicleClass};

/// Everything the domain can refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("invalid layout: {0}")]
    InvalidLayout(String),
    #[error("unknown vehicle class {0:?} (expected motorcycle, compact, sedan or suv)")]
    UnknownVehicleClass(String),
    #[error("unknown spot state {0:?}")]
    UnknownSpotState(String),
    #[error("no spot with index {0}")]
    UnknownSpotIndex(SpotIdx),
    #[error("{0:?} is not an ISO 4217 currency code")]
    InvalidCurrency(String),
    #[error("invalid rate plan: {0}")]
    InvalidRatePlan(String),
    #[error("invalid stay: {0}")]
    InvalidStay(String),
    #[error("invalid plate: {0}")]
    InvalidPlate(String),
    #[error("invalid permit: {0}")]
    InvalidPermit(String),
    #[error("invalid reservation: {0}")]
    InvalidReservation(String),
    #[error("booking refused: {0}")]
    BookingRefused(String),
}
