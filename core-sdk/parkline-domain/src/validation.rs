//! Merchant validations: a shop or hotel takes part of a visitor's parking off their bill. Each kind
//! works on the price the stay would have had, so it composes with bands, daily maxima and minimums.

use jiff::SignedDuration;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::pricing::{RatePlan, Stay, price};

/// What a validation takes off.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Discount {
    /// A fixed amount, in minor units.
    FixedMinor(i64),
    /// A share of the price, 1-100.
    Percent(u8),
    /// The stay is priced as if it were this many hours shorter.
    FreeHours(u16),
}

impl Discount {
    pub fn validate(&self) -> Result<(), Error> {
        let ok = match *self {
            Discount::FixedMinor(m) => (1..=100_000_000).contains(&m),
            Discount::Percent(p) => (1..=100).contains(&p),
            Discount::FreeHours(h) => (1..=24 * 31).contains(&h),
        };
        if ok { Ok(()) } else { Err(Error::InvalidStay(format!("{self:?} is not a sensible discount"))) }
    }
}

/// How much each discount takes off the stay's price, in order: never more than is left, so the
/// total is never negative. Returns the full price and each discount's amount.
pub fn apply(
    plan: &RatePlan,
    tz: &TimeZone,
    stay: &Stay,
    discounts: &[Discount],
) -> Result<(i64, Vec<i64>), Error> {
    let full = price(plan, tz, stay)?.total.minor;
    let mut left = full;
    let mut amounts = Vec::with_capacity(discounts.len());
    for d in discounts {
        let off = match *d {
            Discount::FixedMinor(m) => m,
            Discount::Percent(p) => full * i64::from(p) / 100,
            Discount::FreeHours(h) => {
                let shorter = (stay.exit - SignedDuration::from_hours(i64::from(h))).max(stay.entry);
                full - price(plan, tz, &Stay { exit: shorter, ..*stay })?.total.minor
            }
        }
        .clamp(0, left);
        left -= off;
        amounts.push(off);
    }
    Ok((full, amounts))
}
