//! Monthly and VIP permits: which plates park free, where, and when.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::plate::Plate;
use crate::pricing::{Day, LocalTime};

/// Most plates one permit may cover (a family's or a small fleet's cars).
pub const MAX_PLATES: usize = 10;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermitKind {
    Monthly,
    Vip,
    /// A partner's grant (an event venue, a hotel, a fleet): one plate for a window, billed to the
    /// partner.
    Grant,
}

/// Local hours on some days (`from` < `to`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    pub days: Vec<Day>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "08:30"))]
    pub from: LocalTime,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "08:30"))]
    pub to: LocalTime,
}

fn default_operator() -> String {
    "default".into()
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permit {
    pub id: String,
    pub holder: String,
    pub kind: PermitKind,
    /// The operator that issued it; it is valid only at that operator's facilities. Set by the server
    /// from who creates it (permits made before operators belong to `default`).
    #[serde(default = "default_operator")]
    pub operator: String,
    /// The vehicles it covers, one at a time inside.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub plates: Vec<Plate>,
    /// Facilities it is valid at; empty means all of its operator's.
    #[serde(default)]
    pub facilities: Vec<String>,
    /// Zones its holders park in, as floor label and zone code (`2A`, `GB`); empty means anywhere. When
    /// those zones are full, holders park elsewhere rather than wait at the gate.
    #[serde(default)]
    pub zones: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub valid_from: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub valid_until: Timestamp,
    /// When it may be used, in the facility's local time; empty means any time.
    #[serde(default)]
    pub hours: Vec<Hours>,
    /// A pool shares a limited number of places among several permits (a company's allocation).
    #[serde(default)]
    pub pool: Option<String>,
    /// What the permit costs per month, billed to `account` at the start of each month of validity.
    #[serde(default)]
    pub monthly_fee: Option<crate::Money>,
    /// The person whose account is billed.
    #[serde(default)]
    pub account: Option<i64>,
    /// The partner (its API key) that granted it: the gate admits its plate like a permit's, and the
    /// stay is billed to the partner. Set by the server from who creates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<i64>,
}

/// Why a permit does not apply to an entry; the vehicle may still enter as a paying visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermitRefusal {
    NotYetValid,
    Expired,
    OtherFacility,
    OutsideHours,
    PoolFull,
}

impl Permit {
    /// The billing months that have begun by `now`: `(n, start)` where month `n` starts `n` calendar
    /// months after `valid_from` (in UTC) and before `valid_until`. Empty without a monthly fee.
    pub fn months_begun(&self, now: Timestamp) -> Vec<(u32, Timestamp)> {
        if self.monthly_fee.is_none() {
            return Vec::new();
        }
        let first = self.valid_from.to_zoned_datetime(jiff::tz::TimeZone::UTC);
        let mut out = Vec::new();
        for n in 0..=1200u32 {
            let Ok(start) = first.checked_add(jiff::Span::new().months(i64::from(n))) else { break };
            let start = start.timestamp();
            if start > now || start >= self.valid_until {
                break;
            }
            out.push((n, start));
        }
        out
    }

    /// Whether the two are valid at some common instant.
    pub fn overlaps(&self, other: &Permit) -> bool {
        self.valid_from < other.valid_until && other.valid_from < self.valid_until
    }

    pub fn validate(&self) -> Result<(), Error> {
        let bad = |why: &str| Err(Error::InvalidPermit(format!("{}: {why}", self.id)));
        if !crate::layout::is_slug(&self.id) {
            return bad("ids are 1-64 lowercase letters, digits or dashes");
        }
        if self.holder.trim().is_empty() {
            return bad("the holder's name is missing");
        }
        if self.plates.is_empty() || self.plates.len() > MAX_PLATES {
            return bad("a permit covers 1 to 10 plates");
        }
        if self.valid_from >= self.valid_until {
            return bad("valid_from must be before valid_until");
        }
        if let Some(fee) = self.monthly_fee
            && (fee.minor <= 0 || self.account.is_none())
        {
            return bad("a monthly fee must be positive and billed to an account");
        }
        if self.hours.iter().any(|h| h.days.is_empty() || h.from >= h.to) {
            return bad("hours need days and from < to");
        }
        if (self.kind == PermitKind::Grant) != self.partner.is_some() {
            return bad("grants, and only grants, are made by partners");
        }
        Ok(())
    }

    /// Whether the permit lets a vehicle in at `facility` (of `operator`) at `at` (pools are checked by
    /// the caller, who knows who is inside).
    pub fn admits(
        &self,
        operator: &str,
        facility: &str,
        at: Timestamp,
        tz: &TimeZone,
    ) -> Result<(), PermitRefusal> {
        if operator != self.operator {
            return Err(PermitRefusal::OtherFacility);
        }
        if at < self.valid_from {
            return Err(PermitRefusal::NotYetValid);
        }
        if at >= self.valid_until {
            return Err(PermitRefusal::Expired);
        }
        if !self.facilities.is_empty() && !self.facilities.iter().any(|f| f == facility) {
            return Err(PermitRefusal::OtherFacility);
        }
        if self.hours.is_empty() {
            return Ok(());
        }
        let local = at.to_zoned_datetime(tz.clone());
        let day = Day::of(local.weekday());
        let minute = LocalTime::new(local.hour() as u16, local.minute() as u16)
            .map_err(|_| PermitRefusal::OutsideHours)?;
        let open = self.hours.iter().any(|h| h.days.contains(&day) && h.from <= minute && minute < h.to);
        if open { Ok(()) } else { Err(PermitRefusal::OutsideHours) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permit() -> Permit {
        serde_json::from_value(serde_json::json!({
            "id": "acme-01", "holder": "Acme Corp", "kind": "monthly", "plates": ["abc 123", "XYZ-789"],
            "facilities": ["pike-place-garage"],
            "valid_from": "2026-11-01T00:00:00Z", "valid_until": "2026-12-01T00:00:00Z",
            "hours": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "06:00", "to": "20:00"}],
        }))
        .unwrap()
    }

    #[test]
    fn a_permit_admits_only_where_and_when_it_is_valid() {
        let p = permit();
        p.validate().unwrap();
        assert_eq!(p.plates[0].as_str(), "ABC123");
        let tz = TimeZone::get("America/Los_Angeles").unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        // Wednesday 25 November, 09:00 in Seattle.
        assert_eq!(p.admits("default", "pike-place-garage", at("2026-11-25T17:00:00Z"), &tz), Ok(()));
        assert_eq!(
            p.admits("default", "waterfront-lot", at("2026-11-25T17:00:00Z"), &tz),
            Err(PermitRefusal::OtherFacility)
        );
        // 22:00 local, and a Saturday.
        assert_eq!(
            p.admits("default", "pike-place-garage", at("2026-11-26T06:00:00Z"), &tz),
            Err(PermitRefusal::OutsideHours)
        );
        assert_eq!(
            p.admits("default", "pike-place-garage", at("2026-11-28T17:00:00Z"), &tz),
            Err(PermitRefusal::OutsideHours)
        );
        assert_eq!(
            p.admits("default", "pike-place-garage", at("2026-10-30T17:00:00Z"), &tz),
            Err(PermitRefusal::NotYetValid)
        );
        assert_eq!(
            p.admits("default", "pike-place-garage", at("2026-12-02T17:00:00Z"), &tz),
            Err(PermitRefusal::Expired)
        );
        // Another operator's garage, even one the permit leaves unnamed, is not its operator's.
        let anywhere = Permit { facilities: vec![], ..p.clone() };
        assert_eq!(anywhere.admits("default", "waterfront-lot", at("2026-11-25T17:00:00Z"), &tz), Ok(()));
        assert_eq!(
            anywhere.admits("hospital", "ward-lot", at("2026-11-25T17:00:00Z"), &tz),
            Err(PermitRefusal::OtherFacility)
        );
    }

    #[test]
    fn impossible_permits_are_refused() {
        let check = |edit: fn(&mut Permit)| {
            let mut p = permit();
            edit(&mut p);
            p.validate().is_err()
        };
        assert!(check(|p| p.plates.clear()));
        assert!(check(|p| p.plates = vec![Plate::parse("AB1").unwrap(); 11]));
        assert!(check(|p| p.valid_until = p.valid_from));
        assert!(check(|p| p.id = "Acme 01".into()));
        assert!(check(|p| p.hours[0].days.clear()));
        assert!(serde_json::from_value::<Permit>(serde_json::json!({"plates": ["$$"]})).is_err());
    }
}
