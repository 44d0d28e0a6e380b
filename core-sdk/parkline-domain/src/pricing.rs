//! Pricing a stay from a facility's rate plan.
//!
//! A stay is walked as real time: it is cut at every local midnight, every band boundary (rush hours,
//! nights, weekends, in the facility's time zone) and every surge start or end, and each piece is paid at
//! the rate in force during it. So a stay across bands, midnight, several days or a daylight-saving change
//! pays each part at its own rate for the time that really passed, and the daily maximum applies to each
//! local calendar day. Amounts are integer minor units; each line is rounded down on its own and the total
//! is the sum of the lines, so an itemised quote always adds up.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ZonedDateTime};
use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money};
use crate::{Error, VehicleClass};

/// Multipliers are basis points: 10,000 is x1.0, 15,000 is x1.5.
pub const BP: i64 = 10_000;

/// Longest stay priced: a year. Longer ones are refused rather than walked.
pub const MAX_STAY: SignedDuration = SignedDuration::from_hours(24 * 366);

/// Hourly base rate per vehicle class, in minor units.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassRates {
    pub motorcycle: i64,
    pub compact: i64,
    pub sedan: i64,
    pub suv: i64,
}

impl ClassRates {
    pub fn get(&self, class: VehicleClass) -> i64 {
        match class {
            VehicleClass::Motorcycle => self.motorcycle,
            VehicleClass::Compact => self.compact,
            VehicleClass::Sedan => self.sedan,
            VehicleClass::Suv => self.suv,
        }
    }
}

/// A day of the week, as written in rate plans.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    pub fn of(weekday: Weekday) -> Day {
        [Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri, Day::Sat, Day::Sun]
            [weekday.to_monday_zero_offset() as usize]
    }
}

/// A local time of day as `HH:MM`, from `00:00` to `24:00` (the end of the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTime(u16);

impl LocalTime {
    pub const END_OF_DAY: LocalTime = LocalTime(24 * 60);

    pub fn new(hour: u16, minute: u16) -> Result<LocalTime, Error> {
        let minutes = hour * 60 + minute;
        if minute >= 60 || minutes > 24 * 60 {
            return Err(Error::InvalidRatePlan(format!("{hour:02}:{minute:02} is not a time of day")));
        }
        Ok(LocalTime(minutes))
    }
    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl Serialize for LocalTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:02}:{:02}", self.0 / 60, self.0 % 60))
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let parsed = text
            .split_once(':')
            .filter(|(h, m)| h.len() == 2 && m.len() == 2)
            .and_then(|(h, m)| Some((h.parse().ok()?, m.parse().ok()?)));
        let (h, m) = parsed.ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not HH:MM")))?;
        LocalTime::new(h, m).map_err(serde::de::Error::custom)
    }
}

/// A rate that applies on some days between two local times (`from` < `to`; a night band that crosses
/// midnight is written as two bands).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub name: String,
    pub days: Vec<Day>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "08:30"))]
    pub from: LocalTime,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "08:30"))]
    pub to: LocalTime,
    pub multiplier_bp: i64,
}

/// A surge for an event, between two instants.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Surge {
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub start: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub end: Timestamp,
    pub multiplier_bp: i64,
}

/// Demand pricing: the multiplier rises linearly from `floor_bp` at `from_permille` occupancy to
/// `ceiling_bp` at `to_permille`, and stays within them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OccupancyPricing {
    pub from_permille: u16,
    pub to_permille: u16,
    pub floor_bp: i64,
    pub ceiling_bp: i64,
}

impl OccupancyPricing {
    pub fn multiplier_bp(&self, occupancy_permille: u16) -> i64 {
        let o = i64::from(occupancy_permille.min(1000));
        let (lo, hi) = (i64::from(self.from_permille), i64::from(self.to_permille));
        if o <= lo {
            return self.floor_bp;
        }
        if o >= hi {
            return self.ceiling_bp;
        }
        self.floor_bp + (self.ceiling_bp - self.floor_bp) * (o - lo) / (hi - lo)
    }
}

/// Everything that sets a facility's prices.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatePlan {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "USD"))]
    pub currency: Currency,
    pub hourly: ClassRates,
    #[serde(default)]
    pub bands: Vec<Band>,
    #[serde(default)]
    pub surges: Vec<Surge>,
    #[serde(default)]
    pub occupancy: Option<OccupancyPricing>,
    /// Charged at least, for any stay longer than the grace period.
    #[serde(default)]
    pub minimum_charge: i64,
    /// Stays this short are free.
    #[serde(default)]
    pub grace_minutes: u32,
    /// Most a vehicle pays for parking in one local calendar day.
    #[serde(default)]
    pub daily_max: Option<i64>,
    /// Flat price when the entry time cannot be known.
    pub lost_ticket: i64,
    /// Added per hour while the vehicle charges; not subject to the daily maximum.
    #[serde(default)]
    pub ev_charging_per_hour: i64,
    /// A session inside longer than this is an overstay (staff are alerted); none when unset.
    #[serde(default)]
    pub max_stay_hours: Option<u32>,
}

/// Largest rate or charge accepted, in minor units (1,000,000.00).
const MAX_AMOUNT: i64 = 100_000_000;

/// Multipliers are kept within x0.01 to x10 so no product can overflow.
const MULTIPLIER_RANGE: std::ops::RangeInclusive<i64> = 100..=100_000;

impl RatePlan {
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |why: String| Err(Error::InvalidRatePlan(why));
        let h = &self.hourly;
        let money = [
            h.motorcycle,
            h.compact,
            h.sedan,
            h.suv,
            self.minimum_charge,
            self.lost_ticket,
            self.ev_charging_per_hour,
        ];
        if money.iter().any(|m| !(0..=MAX_AMOUNT).contains(m)) {
            return bad("rates and charges must be between 0 and 1,000,000.00".into());
        }
        if let Some(max) = self.daily_max {
            if !(0..=MAX_AMOUNT).contains(&max) {
                return bad("daily_max must be between 0 and 1,000,000.00".into());
            }
            if self.minimum_charge > max {
                return bad("minimum_charge cannot exceed daily_max".into());
            }
        }
        for b in &self.bands {
            if b.from >= b.to || b.days.is_empty() {
                return bad(format!("band {:?} needs days and from < to", b.name));
            }
            if !MULTIPLIER_RANGE.contains(&b.multiplier_bp) {
                return bad(format!("band {:?}: multiplier_bp must be within 100..=100000", b.name));
            }
        }
        for s in &self.surges {
            if s.start >= s.end || !MULTIPLIER_RANGE.contains(&s.multiplier_bp) {
                return bad(format!(
                    "surge {:?} needs start < end and multiplier_bp within 100..=100000",
                    s.name
                ));
            }
        }
        if let Some(o) = &self.occupancy {
            let ok = o.from_permille < o.to_permille
                && o.to_permille <= 1000
                && o.floor_bp <= o.ceiling_bp
                && MULTIPLIER_RANGE.contains(&o.floor_bp)
                && MULTIPLIER_RANGE.contains(&o.ceiling_bp);
            if !ok {
                return bad(
                    "occupancy pricing needs from < to <= 1000 and floor <= ceiling within 100..=100000"
                        .into(),
                );
            }
        }
        Ok(())
    }
}

/// A stay to price (or quote before it happens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stay {
    pub class: VehicleClass,
    pub entry: Timestamp,
    pub exit: Timestamp,
    /// The vehicle charges during the stay.
    pub charging: bool,
    /// Facility occupancy when the price is set (entry or quote time), for demand pricing.
    pub occupancy_permille: Option<u16>,
}

/// What a line of a quote is for.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LineKind {
    /// Parking time at one rate. `rate` names the band and surge in force ("standard" when none).
    Parking {
        rate: String,
        multiplier_bp: i64,
    },
    /// Takes a local day's parking down to the daily maximum (negative).
    DailyMaximum {
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
        date: Date,
    },
    /// Brings a short stay up to the minimum charge.
    MinimumCharge,
    /// The stay was within the free grace period.
    GracePeriod,
    EvCharging,
    LostTicket,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteLine {
    #[serde(flatten)]
    pub kind: LineKind,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub from: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub to: Timestamp,
    pub amount: i64,
}

/// An itemised price: `total` is exactly the sum of the lines' amounts.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub lines: Vec<QuoteLine>,
    pub total: Money,
}

impl Quote {
    fn from_lines(currency: Currency, lines: Vec<QuoteLine>) -> Quote {
        let total = lines.iter().map(|l| l.amount).sum();
        Quote { lines, total: Money::new(total, currency) }
    }
}

/// `rate_per_hour * elapsed * multiplier`, rounded down, in minor units.
fn charge(rate_per_hour: i64, elapsed: SignedDuration, multiplier_bp: i64) -> i64 {
    let ms = elapsed.as_millis().max(0);
    let amount = i128::from(rate_per_hour) * ms * i128::from(multiplier_bp) / (3_600_000 * i128::from(BP));
    i64::try_from(amount).unwrap_or(i64::MAX)
}

fn local(date: Date, time: LocalTime, tz: &TimeZone) -> Result<Timestamp, Error> {
    let zoned = if time == LocalTime::END_OF_DAY {
        date.tomorrow().and_then(|d| d.to_zoned_datetime(tz.clone()))
    } else {
        date.at((time.0 / 60) as i8, (time.0 % 60) as i8, 0, 0).to_zoned_datetime(tz.clone())
    };
    zoned.map(|z| z.timestamp()).map_err(|e| Error::InvalidStay(format!("local time out of range: {e}")))
}

/// Prices a stay: parking line by line, daily maxima, minimum charge, charging.
pub fn price(plan: &RatePlan, tz: &TimeZone, stay: &Stay) -> Result<Quote, Error> {
    if stay.exit < stay.entry {
        return Err(Error::InvalidStay("exit is before entry".into()));
    }
    if stay.exit.duration_since(stay.entry) > MAX_STAY {
        return Err(Error::InvalidStay("stays longer than a year are not priced".into()));
    }
    let currency = plan.currency;
    let elapsed = stay.exit.duration_since(stay.entry);
    if elapsed <= SignedDuration::from_mins(i64::from(plan.grace_minutes)) {
        let line = QuoteLine { kind: LineKind::GracePeriod, from: stay.entry, to: stay.exit, amount: 0 };
        return Ok(Quote::from_lines(currency, vec![line]));
    }

    let hourly = plan.hourly.get(stay.class);
    let demand = match (&plan.occupancy, stay.occupancy_permille) {
        (Some(o), Some(permille)) => o.multiplier_bp(permille),
        _ => BP,
    };
    let mut lines: Vec<QuoteLine> = Vec::new();
    let mut cursor: ZonedDateTime = stay.entry.to_zoned_datetime(tz.clone());
    let mut day_start_line = 0;
    while cursor.timestamp() < stay.exit {
        let date = cursor.date();
        let next_day = local(date, LocalTime::END_OF_DAY, tz)?;
        let minute = LocalTime(cursor.hour() as u16 * 60 + cursor.minute() as u16);
        let day = Day::of(cursor.weekday());
        let now = cursor.timestamp();

        // The next instant anything changes: end of stay, midnight, a band or surge boundary.
        let mut next = stay.exit.min(next_day);
        for band in plan.bands.iter().filter(|b| b.days.contains(&day)) {
            for edge in [band.from, band.to] {
                let t = local(date, edge, tz)?;
                if t > now && t < next {
                    next = t;
                }
            }
        }
        for surge in &plan.surges {
            for t in [surge.start, surge.end] {
                if t > now && t < next {
                    next = t;
                }
            }
        }

        // The rate in force now: the highest band and the highest surge that cover this moment.
        let band = plan
            .bands
            .iter()
            .filter(|b| b.days.contains(&day) && b.from <= minute && minute < b.to)
            .max_by_key(|b| b.multiplier_bp);
        let surge =
            plan.surges.iter().filter(|s| s.start <= now && now < s.end).max_by_key(|s| s.multiplier_bp);
        let multiplier_bp =
            [band.map_or(BP, |b| b.multiplier_bp), surge.map_or(BP, |s| s.multiplier_bp), demand]
                .iter()
                .fold(i128::from(BP), |acc, m| acc * i128::from(*m) / i128::from(BP)) as i64;
        let rate = match (band, surge) {
            (None, None) => "standard".to_owned(),
            (Some(b), None) => b.name.clone(),
            (None, Some(s)) => s.name.clone(),
            (Some(b), Some(s)) => format!("{} + {}", b.name, s.name),
        };

        // Extend the previous line when nothing but a boundary of an unused band separates them.
        let kind = LineKind::Parking { rate, multiplier_bp };
        let in_today = lines.len() > day_start_line;
        match lines.last_mut() {
            Some(last) if in_today && last.kind == kind && last.to == now => last.to = next,
            _ => lines.push(QuoteLine { kind, from: now, to: next, amount: 0 }),
        }

        if next == next_day || next == stay.exit {
            // Close the local day: price its lines, then apply the daily maximum.
            let day_lines = &mut lines[day_start_line..];
            let mut day_total = 0;
            for line in day_lines.iter_mut() {
                if let LineKind::Parking { multiplier_bp, .. } = line.kind {
                    line.amount = charge(hourly, line.to.duration_since(line.from), multiplier_bp);
                    day_total += line.amount;
                }
            }
            if let Some(max) = plan.daily_max.filter(|max| day_total > *max) {
                let from = day_lines.first().map_or(now, |l| l.from);
                lines.push(QuoteLine {
                    kind: LineKind::DailyMaximum { date },
                    from,
                    to: next,
                    amount: max - day_total,
                });
            }
            day_start_line = lines.len();
        }
        cursor = next.to_zoned_datetime(tz.clone());
    }

    let parking: i64 = lines.iter().map(|l| l.amount).sum();
    if parking < plan.minimum_charge {
        lines.push(QuoteLine {
            kind: LineKind::MinimumCharge,
            from: stay.entry,
            to: stay.exit,
            amount: plan.minimum_charge - parking,
        });
    }
    if stay.charging && plan.ev_charging_per_hour > 0 {
        lines.push(QuoteLine {
            kind: LineKind::EvCharging,
            from: stay.entry,
            to: stay.exit,
            amount: charge(plan.ev_charging_per_hour, elapsed, BP),
        });
    }
    Ok(Quote::from_lines(currency, lines))
}

/// The flat price for a vehicle whose entry cannot be established.
pub fn lost_ticket(plan: &RatePlan, at: Timestamp) -> Quote {
    let line = QuoteLine { kind: LineKind::LostTicket, from: at, to: at, amount: plan.lost_ticket };
    Quote::from_lines(plan.currency, vec![line])
}
