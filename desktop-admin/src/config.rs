//! Configuration drafts as managers write them: permits and facility layouts in TOML (the format of
//! `assets/layouts/`), read here so a typo is reported with its line before anything is sent.

use parkline_domain::LayoutFile;
use parkline_domain::permit::Permit;

use crate::error::{CommandError, Result};

/// A permit from its TOML text.
pub fn parse_permit(text: &str) -> Result<Permit> {
    toml::from_str(text).map_err(|e| CommandError::new("invalid_permit", e.to_string()))
}

/// A facility layout from its TOML text.
pub fn parse_layout(text: &str) -> Result<LayoutFile> {
    toml::from_str(text).map_err(|e| CommandError::new("invalid_layout", e.to_string()))
}

/// What the permit editor starts from.
pub const PERMIT_TEMPLATE: &str = r#"id = "acme-0001"
holder = "Acme Corp: J. Doe"
kind = "monthly"                  # or "vip"
plates = ["7ABC123"]
facilities = ["pike-place-garage"] # empty: every facility
zones = []                         # e.g. ["2A"]; empty: anywhere
valid_from = "2026-12-01T08:00:00Z"
valid_until = "2027-12-01T08:00:00Z"
# pool = "acme"                    # share a pool's places
# monthly_fee = { minor = 18000, currency = "USD" }
# account = 42                     # the person billed

[[hours]]                          # remove for any time
days = ["mon", "tue", "wed", "thu", "fri"]
from = "07:00"
to = "19:00"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permit_template_is_a_valid_permit() {
        let p = parse_permit(PERMIT_TEMPLATE).unwrap();
        assert_eq!(p.plates[0].as_str(), "7ABC123");
        assert_eq!(p.hours.len(), 1);
    }

    #[test]
    fn the_demo_layouts_read_and_typos_say_where() {
        let lot = parse_layout(include_str!("../../assets/layouts/waterfront-lot.toml")).unwrap();
        assert_eq!(lot.id, "waterfront-lot");
        let e = parse_permit(&PERMIT_TEMPLATE.replace("holder", "holdr")).unwrap_err();
        assert_eq!(e.code, "invalid_permit");
        assert!(e.message.contains("holdr") || e.message.contains("holder"), "{}", e.message);
    }
}
