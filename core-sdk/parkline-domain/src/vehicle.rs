//! Vehicle classes and the size-compatibility rule.

use serde::{Deserialize, Serialize};

/// Size class of a vehicle, and of the spot built for it. Ordered from smallest to largest, so
/// `a <= b` reads "a fits where b fits".
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VehicleClass {
    Motorcycle,
    Compact,
    Sedan,
    Suv,
}

impl VehicleClass {
    /// Every class, smallest first.
    pub const ALL: [VehicleClass; 4] =
        [VehicleClass::Motorcycle, VehicleClass::Compact, VehicleClass::Sedan, VehicleClass::Suv];

    /// Position in [`Self::ALL`]; used for dense per-class tables.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// A vehicle fits a spot of its own class or a larger one, never a smaller one.
    pub fn fits_in(self, spot: VehicleClass) -> bool {
        self <= spot
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            VehicleClass::Motorcycle => "motorcycle",
            VehicleClass::Compact => "compact",
            VehicleClass::Sedan => "sedan",
            VehicleClass::Suv => "suv",
        }
    }
}

impl std::fmt::Display for VehicleClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for VehicleClass {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VehicleClass::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| crate::Error::UnknownVehicleClass(s.to_owned()))
    }
}

/// What the allocator needs to know about a vehicle.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vehicle {
    pub class: VehicleClass,
    /// Electric vehicles may use spots with a charger; others may not.
    #[serde(default)]
    pub electric: bool,
}

impl Vehicle {
    pub const fn new(class: VehicleClass, electric: bool) -> Self {
        Vehicle { class, electric }
    }
}

#[cfg(test)]
mod tests {
    use super::VehicleClass::*;
    use super::*;

    #[test]
    fn a_vehicle_fits_its_own_class_or_larger_never_smaller() {
        let expected = [
            // vehicle, fits in [motorcycle, compact, sedan, suv]
            (Motorcycle, [true, true, true, true]),
            (Compact, [false, true, true, true]),
            (Sedan, [false, false, true, true]),
            (Suv, [false, false, false, true]),
        ];
        for (vehicle, row) in expected {
            for (spot, fits) in VehicleClass::ALL.into_iter().zip(row) {
                assert_eq!(vehicle.fits_in(spot), fits, "{vehicle} in a {spot} spot");
            }
        }
    }

    #[test]
    fn classes_parse_from_their_names_and_reject_others() {
        for class in VehicleClass::ALL {
            assert_eq!(class.as_str().parse::<VehicleClass>().unwrap(), class);
        }
        assert_eq!("SUV".parse::<VehicleClass>().unwrap(), Suv);
        assert!("truck".parse::<VehicleClass>().is_err());
    }
}
