//! Money: integer minor units (cents) with an ISO 4217 currency. Never floats.

use serde::{Deserialize, Serialize};

use crate::Error;

/// A three-letter ISO 4217 currency code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const USD: Currency = Currency(*b"USD");
    pub const EUR: Currency = Currency(*b"EUR");

    /// A current ISO 4217 currency with minor units: not a test code (`XTS`), a fund, a metal or a
    /// superseded code; not any three capital letters.
    pub fn new(code: &str) -> Result<Currency, Error> {
        match (code.as_bytes(), Self::iso(code)) {
            (&[a, b, c], Some(_)) => Ok(Currency([a, b, c])),
            _ => Err(Error::InvalidCurrency(code.to_owned())),
        }
    }

    fn iso(code: &str) -> Option<iso_currency::Currency> {
        iso_currency::Currency::from_code(code).filter(|c| {
            c.exponent().is_some() && !c.is_fund() && !c.is_special() && c.is_superseded().is_none()
        })
    }

    /// Digits after the decimal point: 2 for USD, 0 for JPY, 3 for KWD.
    pub fn exponent(&self) -> u32 {
        Self::iso(self.as_str()).and_then(|c| c.exponent()).map_or(2, u32::from)
    }

    pub fn as_str(&self) -> &str {
        // Only ever built from three ASCII uppercase letters.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl std::fmt::Debug for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::new(&code).map_err(serde::de::Error::custom)
    }
}

/// An amount in a currency's minor unit (cents for USD).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "USD"))]
    pub currency: Currency,
}

impl Money {
    pub const fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// The amount as a decimal with as many places as the currency has: `12.50`, `1250` (JPY).
    pub fn decimal(&self) -> String {
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        match self.currency.exponent() {
            0 => format!("{sign}{abs}"),
            e => {
                let unit = 10u64.pow(e);
                format!("{sign}{}.{:0w$}", abs / unit, abs % unit, w = e as usize)
            }
        }
    }
}

impl std::fmt::Display for Money {
    /// `12.50 USD`, `1250 JPY`: as many decimals as the currency has.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.decimal(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_current_iso_4217_codes() {
        assert_eq!(Currency::new("USD").unwrap(), Currency::USD);
        for good in ["EUR", "GBP", "BRL", "JPY", "KWD", "CHF"] {
            assert_eq!(Currency::new(good).unwrap().as_str(), good);
        }
        for bad in ["usd", "US", "USDX", "U$D", "", "ABC", "QQQ", "XTS", "XXX", "XAU", "DEM", "USN"] {
            assert!(Currency::new(bad).is_err(), "{bad:?}");
        }
        assert_eq!(serde_json::to_string(&Currency::EUR).unwrap(), "\"EUR\"");
        assert!(serde_json::from_str::<Currency>("\"eur\"").is_err());
    }

    #[test]
    fn money_displays_minor_units_as_decimals() {
        assert_eq!(Money::new(1250, Currency::USD).to_string(), "12.50 USD");
        assert_eq!(Money::new(-5, Currency::EUR).to_string(), "-0.05 EUR");
        assert_eq!(Money::new(1250, Currency::new("JPY").unwrap()).to_string(), "1250 JPY");
        assert_eq!(Money::new(1250, Currency::new("KWD").unwrap()).to_string(), "1.250 KWD");
    }
}
