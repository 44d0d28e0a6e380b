//! Rate plans as managers edit them: TOML text in the format of `assets/rates/`, checked as it is typed,
//! and a quote of the draft ("a sedan from 08:00 to 19:30 on a Friday costs ...") before it is saved.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use parkline_domain::VehicleClass;
use parkline_domain::money::Money;
use parkline_domain::pricing::{self, LineKind, RatePlan, Stay};
use serde::{Deserialize, Serialize};

use crate::error::{CommandError, Result};

/// The plan as the editor shows it.
pub fn to_text(plan: &RatePlan) -> Result<String> {
    toml::to_string_pretty(plan).map_err(|e| CommandError::new("invalid_rate_plan", e.to_string()))
}

/// Reads and checks a draft; the message says what is wrong and where.
pub fn parse(text: &str) -> Result<RatePlan> {
    let plan: RatePlan =
        toml::from_str(text).map_err(|e| CommandError::new("invalid_rate_plan", e.to_string()))?;
    plan.validate().map_err(|e| CommandError::new("invalid_rate_plan", e.to_string()))?;
    Ok(plan)
}

/// A planned stay in the facility's local time; `to` at or before `from` means the next day.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PreviewRequest {
    pub vehicle_class: VehicleClass,
    pub date: Date,
    pub from: Time,
    pub to: Time,
    #[serde(default)]
    pub charging: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preview {
    /// "A sedan from 08:00 to 19:30 on Fri 27 Nov 2026 costs 36.00 USD."
    pub sentence: String,
    pub total_minor: i64,
    pub currency: String,
    pub lines: Vec<PreviewLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreviewLine {
    pub label: String,
    /// Local times, `HH:MM`.
    pub from: String,
    pub to: String,
    pub amount: String,
}

/// What the draft charges for the planned stay (at ordinary occupancy: demand pricing left out).
pub fn preview(plan: &RatePlan, tz: &TimeZone, request: &PreviewRequest) -> Result<Preview> {
    let bad = |e: String| CommandError::new("invalid_stay", e);
    let entry = request
        .date
        .to_datetime(request.from)
        .to_zoned_datetime(tz.clone())
        .map_err(|e| bad(e.to_string()))?;
    let end_date = if request.to <= request.from {
        request.date.tomorrow().map_err(|e| bad(e.to_string()))?
    } else {
        request.date
    };
    let exit =
        end_date.to_datetime(request.to).to_zoned_datetime(tz.clone()).map_err(|e| bad(e.to_string()))?;
    let stay = Stay {
        class: request.vehicle_class,
        entry: entry.timestamp(),
        exit: exit.timestamp(),
        charging: request.charging,
        occupancy_permille: None,
    };
    let quote = pricing::price(plan, tz, &stay).map_err(|e| bad(e.to_string()))?;
    let hhmm = |t: jiff::Timestamp| t.to_zoned_datetime(tz.clone()).strftime("%H:%M").to_string();
    let lines = quote
        .lines
        .iter()
        .map(|l| PreviewLine {
            label: match &l.kind {
                LineKind::Parking { rate, multiplier_bp } => {
                    format!("{rate} (x{}.{:02})", multiplier_bp / 10_000, multiplier_bp % 10_000 / 100)
                }
                LineKind::DailyMaximum { date } => format!("daily maximum {date}"),
                LineKind::MinimumCharge => "minimum charge".into(),
                LineKind::GracePeriod => "grace period".into(),
                LineKind::EvCharging => "EV charging".into(),
                LineKind::LostTicket => "lost ticket".into(),
            },
            from: hhmm(l.from),
            to: hhmm(l.to),
            amount: Money::new(l.amount, quote.total.currency).to_string(),
        })
        .collect();
    let next_day = if end_date != request.date { " the next day" } else { "" };
    let sentence = format!(
        "A {} from {} to {}{next_day} on {} costs {}.",
        request.vehicle_class.as_str(),
        request.from.strftime("%H:%M"),
        request.to.strftime("%H:%M"),
        request.date.strftime("%a %-d %b %Y"),
        quote.total
    );
    Ok(Preview {
        sentence,
        total_minor: quote.total.minor,
        currency: quote.total.currency.to_string(),
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOWNTOWN: &str = include_str!("../../assets/rates/downtown.toml");

    fn friday(from: &str, to: &str) -> PreviewRequest {
        PreviewRequest {
            vehicle_class: VehicleClass::Sedan,
            date: "2026-11-27".parse().unwrap(),
            from: from.parse().unwrap(),
            to: to.parse().unwrap(),
            charging: false,
        }
    }

    #[test]
    fn the_editor_text_reads_back_as_the_same_plan() {
        let plan = parse(DOWNTOWN).unwrap();
        assert_eq!(parse(&to_text(&plan).unwrap()).unwrap(), plan);
    }

    #[test]
    fn a_raised_sedan_rate_raises_the_preview() {
        let tz = TimeZone::get("America/Los_Angeles").unwrap();
        let before = preview(&parse(DOWNTOWN).unwrap(), &tz, &friday("11:00", "13:00")).unwrap();
        let raised = DOWNTOWN.replace("sedan = 450", "sedan = 900");
        let after = preview(&parse(&raised).unwrap(), &tz, &friday("11:00", "13:00")).unwrap();
        // Two plain midday hours: 2 x 4.50, then 2 x 9.00.
        assert_eq!(before.total_minor, 900);
        assert_eq!(after.total_minor, 1800);
        assert_eq!(after.sentence, "A sedan from 11:00 to 13:00 on Fri 27 Nov 2026 costs 18.00 USD.");
    }

    #[test]
    fn a_whole_working_day_is_itemised_and_capped_by_the_daily_maximum() {
        let tz = TimeZone::get("America/Los_Angeles").unwrap();
        let p = preview(&parse(DOWNTOWN).unwrap(), &tz, &friday("08:00", "19:30")).unwrap();
        assert!(p.lines.iter().any(|l| l.label.starts_with("morning rush")), "{:?}", p.lines);
        assert!(p.lines.iter().any(|l| l.label.starts_with("daily maximum")), "{:?}", p.lines);
        assert_eq!(p.total_minor, 3600);
    }

    #[test]
    fn an_end_before_the_start_is_the_next_morning() {
        let tz = TimeZone::get("America/Los_Angeles").unwrap();
        let p = preview(&parse(DOWNTOWN).unwrap(), &tz, &friday("22:00", "06:00")).unwrap();
        assert!(p.sentence.contains("to 06:00 the next day"), "{}", p.sentence);
        assert!(p.lines.iter().any(|l| l.label.starts_with("night")));
    }

    #[test]
    fn a_broken_draft_says_what_is_wrong() {
        let e = parse("currency = \"USD\"\nhourly = { sedan = 450 }").unwrap_err();
        assert_eq!(e.code, "invalid_rate_plan");
        assert!(e.message.contains("motorcycle") || e.message.contains("lost_ticket"), "{}", e.message);
        let e = parse(&DOWNTOWN.replace("sedan = 450", "sedan = -5")).unwrap_err();
        assert_eq!(e.code, "invalid_rate_plan");
    }
}
