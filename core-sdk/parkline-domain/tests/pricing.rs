//! Pricing: worked examples a driver could check by hand, then properties over random stays, including
//! daylight-saving nights in three time zones.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use parkline_domain::VehicleClass::{self, Sedan};
use parkline_domain::pricing::{LineKind, RatePlan, Stay, lost_ticket, price};
use proptest::prelude::*;

const PLAN: &str = r#"
currency = "USD"
hourly = { motorcycle = 150, compact = 300, sedan = 400, suv = 500 }
minimum_charge = 200
grace_minutes = 10
daily_max = 3000
lost_ticket = 5000
ev_charging_per_hour = 150

[[bands]]
name = "morning rush"
days = ["mon", "tue", "wed", "thu", "fri"]
from = "07:00"
to = "10:00"
multiplier_bp = 15000

[[bands]]
name = "evening rush"
days = ["mon", "tue", "wed", "thu", "fri"]
from = "17:00"
to = "20:00"
multiplier_bp = 15000

[[bands]]
name = "night"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
from = "22:00"
to = "24:00"
multiplier_bp = 8000

[[bands]]
name = "night"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
from = "00:00"
to = "06:00"
multiplier_bp = 8000

[[bands]]
name = "weekend"
days = ["sat", "sun"]
from = "06:00"
to = "22:00"
multiplier_bp = 12000
"#;

fn plan() -> RatePlan {
    let plan: RatePlan = toml::from_str(PLAN).unwrap();
    plan.validate().unwrap();
    plan
}

fn tz(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

/// A local wall-clock time in `zone`, e.g. `at("America/New_York", "2026-11-25T11:00")`.
fn at(zone: &str, local: &str) -> Timestamp {
    local.parse::<DateTime>().unwrap().to_zoned_datetime(tz(zone)).unwrap().timestamp()
}

/// Prices a sedan (not charging) in New York from `from` to `to`, local times, and returns the total and
/// each line as (kind label, amount).
fn check(plan: &RatePlan, from: &str, to: &str) -> (i64, Vec<(String, i64)>) {
    const NY: &str = "America/New_York";
    let stay = Stay {
        class: Sedan,
        entry: at(NY, from),
        exit: at(NY, to),
        charging: false,
        occupancy_permille: None,
    };
    let quote = price(plan, &tz(NY), &stay).unwrap();
    let lines = quote
        .lines
        .iter()
        .map(|l| {
            let label = match &l.kind {
                LineKind::Parking { rate, .. } => rate.clone(),
                LineKind::DailyMaximum { date } => format!("daily max {date}"),
                other => format!("{other:?}"),
            };
            (label, l.amount)
        })
        .collect();
    (quote.total.minor, lines)
}

fn lines(items: &[(&str, i64)]) -> Vec<(String, i64)> {
    items.iter().map(|(l, a)| (l.to_string(), *a)).collect()
}

#[test]
fn a_weekday_stay_pays_each_part_at_its_own_rate() {
    // Wednesday 25 November 2026.
    assert_eq!(check(&plan(), "2026-11-25T11:00", "2026-11-25T13:00"), (800, lines(&[("standard", 800)])));
    assert_eq!(
        check(&plan(), "2026-11-25T08:00", "2026-11-25T11:00"),
        (1600, lines(&[("morning rush", 1200), ("standard", 400)]))
    );
    assert_eq!(
        check(&plan(), "2026-11-25T21:00", "2026-11-25T23:30"),
        (400 + 480, lines(&[("standard", 400), ("night", 480)]))
    );
}

#[test]
fn grace_period_is_free_and_short_stays_pay_the_minimum() {
    assert_eq!(check(&plan(), "2026-11-25T11:00", "2026-11-25T11:08"), (0, lines(&[("GracePeriod", 0)])));
    assert_eq!(
        check(&plan(), "2026-11-25T11:00", "2026-11-25T11:20"),
        (200, lines(&[("standard", 133), ("MinimumCharge", 67)]))
    );
}

#[test]
fn several_days_are_capped_one_local_day_at_a_time() {
    // Wednesday 09:00 to Friday 09:00: three local days, each over the 30.00 maximum.
    let (total, items) = check(&plan(), "2026-11-25T09:00", "2026-11-27T09:00");
    assert_eq!(total, 9000);
    let caps: Vec<&str> =
        items.iter().filter(|(l, _)| l.starts_with("daily max")).map(|(l, _)| l.as_str()).collect();
    assert_eq!(caps, ["daily max 2026-11-25", "daily max 2026-11-26", "daily max 2026-11-27"]);
    // A day under the cap pays what it used: Friday 00:00-06:00 at night rate only.
    let (total, _) = check(&plan(), "2026-11-26T23:00", "2026-11-27T06:00");
    assert_eq!(total, 320 + 6 * 320);
}

#[test]
fn daylight_saving_nights_charge_the_hours_that_really_passed() {
    // New York springs forward on 8 March 2026: 23:00 to 05:00 on the clock is 5 real hours, all at night.
    assert_eq!(check(&plan(), "2026-03-07T23:00", "2026-03-08T05:00").0, 5 * 320);
    // ...and falls back on 1 November 2026: 23:00 to 05:00 on the clock is 7 real hours.
    assert_eq!(check(&plan(), "2026-10-31T23:00", "2026-11-01T05:00").0, 7 * 320);

    // London springs forward on 29 March 2026 at 01:00: midnight to 04:00 is 3 real hours.
    const LDN: &str = "Europe/London";
    let stay = Stay {
        class: Sedan,
        entry: at(LDN, "2026-03-29T00:00"),
        exit: at(LDN, "2026-03-29T04:00"),
        charging: false,
        occupancy_permille: None,
    };
    assert_eq!(price(&plan(), &tz(LDN), &stay).unwrap().total.minor, 3 * 320);
}

#[test]
fn surges_and_demand_multiply_the_rate_in_force() {
    let mut p = plan();
    p.surges = toml::from_str::<toml::Table>(&format!(
        "surges = [{{ name = \"concert\", start = \"{}\", end = \"{}\", multiplier_bp = 20000 }}]",
        at("America/New_York", "2026-11-25T18:00"),
        at("America/New_York", "2026-11-25T23:00")
    ))
    .unwrap()["surges"]
        .clone()
        .try_into()
        .unwrap();
    p.validate().unwrap();
    assert_eq!(
        check(&p, "2026-11-25T17:00", "2026-11-25T19:00"),
        (1800, lines(&[("evening rush", 600), ("evening rush + concert", 1200)]))
    );

    p.occupancy = Some(parkline_domain::pricing::OccupancyPricing {
        from_permille: 500,
        to_permille: 900,
        floor_bp: 10_000,
        ceiling_bp: 15_000,
    });
    let occ = |permille| {
        let stay = Stay {
            class: Sedan,
            entry: at("America/New_York", "2026-11-25T11:00"),
            exit: at("America/New_York", "2026-11-25T13:00"),
            charging: false,
            occupancy_permille: Some(permille),
        };
        price(&p, &tz("America/New_York"), &stay).unwrap().total.minor
    };
    assert_eq!([occ(100), occ(700), occ(950)], [800, 1000, 1200]);
}

#[test]
fn charging_is_added_on_top_and_lost_tickets_pay_the_flat_price() {
    let stay = Stay {
        class: Sedan,
        entry: at("America/New_York", "2026-11-25T11:00"),
        exit: at("America/New_York", "2026-11-25T13:00"),
        charging: true,
        occupancy_permille: None,
    };
    let quote = price(&plan(), &tz("America/New_York"), &stay).unwrap();
    assert_eq!(quote.total.minor, 800 + 300);
    assert!(matches!(quote.lines.last().unwrap().kind, LineKind::EvCharging));
    assert_eq!(lost_ticket(&plan(), stay.exit).total.minor, 5000);
}

#[test]
fn impossible_plans_and_stays_are_refused() {
    let refused = |edit: fn(&mut RatePlan)| {
        let mut p = plan();
        edit(&mut p);
        p.validate().is_err()
    };
    assert!(refused(|p| p.bands[0].to = p.bands[0].from));
    assert!(refused(|p| p.bands[0].days.clear()));
    assert!(refused(|p| p.bands[0].multiplier_bp = 0));
    assert!(refused(|p| p.minimum_charge = 5000));
    assert!(refused(|p| p.hourly.suv = -1));
    assert!(toml::from_str::<RatePlan>(&PLAN.replace("\"10:00\"", "\"25:00\"")).is_err());
    assert!(toml::from_str::<RatePlan>(&PLAN.replace("USD", "usd")).is_err());

    let ny = tz("America/New_York");
    let t = at("America/New_York", "2026-11-25T11:00");
    let stay = |exit| Stay { class: Sedan, entry: t, exit, charging: false, occupancy_permille: None };
    assert!(price(&plan(), &ny, &stay(t - SignedDuration::from_secs(1))).is_err());
    assert!(price(&plan(), &ny, &stay(t + SignedDuration::from_hours(24 * 400))).is_err());
}

// ----- properties ---------------------------------------------------------------------------------

const ZONES: [&str; 3] = ["America/New_York", "Europe/London", "Australia/Sydney"];

/// Stays starting anywhere in 2026 (every DST change of the three zones included), up to 80 hours long.
fn arb_stay() -> impl Strategy<Value = (usize, Stay)> {
    let year_start = Timestamp::from_second(1_767_225_600).unwrap(); // 2026-01-01T00:00Z
    (
        0..ZONES.len(),
        0i64..365 * 24 * 60,
        0i64..80 * 60 * 60,
        prop::sample::select(VehicleClass::ALL.to_vec()),
        any::<bool>(),
        prop::option::of(0u16..=1000),
    )
        .prop_map(move |(zone, start_min, secs, class, charging, occupancy_permille)| {
            let entry = year_start + SignedDuration::from_mins(start_min);
            let exit = entry + SignedDuration::from_secs(secs);
            (zone, Stay { class, entry, exit, charging, occupancy_permille })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn quotes_add_up_never_go_negative_and_respect_the_daily_maximum((zone, stay) in arb_stay()) {
        let mut p = plan();
        p.occupancy = Some(parkline_domain::pricing::OccupancyPricing {
            from_permille: 300, to_permille: 950, floor_bp: 9_000, ceiling_bp: 14_000,
        });
        let tz = tz(ZONES[zone]);
        let quote = price(&p, &tz, &stay).unwrap();
        prop_assert!(quote.total.minor >= 0);
        prop_assert_eq!(quote.lines.iter().map(|l| l.amount).sum::<i64>(), quote.total.minor);
        let charging: i64 = quote.lines.iter().filter(|l| matches!(l.kind, LineKind::EvCharging)).map(|l| l.amount).sum();
        let first = stay.entry.to_zoned_datetime(tz.clone()).date();
        let last = stay.exit.to_zoned_datetime(tz.clone()).date();
        let days = i64::from((last - first).get_days()) + 1;
        prop_assert!(quote.total.minor - charging <= days * p.daily_max.unwrap(), "{quote:?}");
        for line in &quote.lines {
            prop_assert!(line.from <= line.to && line.from >= stay.entry && line.to <= stay.exit);
        }
    }

    #[test]
    fn staying_longer_never_costs_less((zone, stay) in arb_stay(), extra in 0i64..20 * 3600) {
        let tz = tz(ZONES[zone]);
        let longer = Stay { exit: stay.exit + SignedDuration::from_secs(extra), ..stay };
        let a = price(&plan(), &tz, &stay).unwrap().total.minor;
        let b = price(&plan(), &tz, &longer).unwrap().total.minor;
        prop_assert!(a <= b, "{a} for {stay:?} but {b} when staying {extra} s longer");
    }

    /// With a flat rate, every stay costs its real elapsed hours, whatever the clocks did that night.
    #[test]
    fn a_flat_rate_charges_real_elapsed_time((zone, stay) in arb_stay()) {
        let flat: RatePlan = toml::from_str(
            "currency = \"EUR\"\nhourly = { motorcycle = 360, compact = 360, sedan = 360, suv = 360 }\nlost_ticket = 0",
        ).unwrap();
        let quote = price(&flat, &tz(ZONES[zone]), &stay).unwrap();
        let exact = stay.exit.duration_since(stay.entry).as_millis() * 360 / 3_600_000;
        let total = i128::from(quote.total.minor);
        // Each line rounds down on its own; nothing else may differ.
        prop_assert!(total <= exact && total + quote.lines.len() as i128 >= exact, "{total} vs {exact}");
    }
}

mod validations {
    use super::*;
    use parkline_domain::validation::{Discount, apply};

    /// The demo plan at its plain hourly rate: $4.50 an hour for a sedan.
    fn plan() -> parkline_domain::pricing::RatePlan {
        let mut plan: parkline_domain::pricing::RatePlan =
            toml::from_str(include_str!("../../../assets/rates/downtown.toml")).unwrap();
        plan.bands.clear();
        plan
    }

    fn stay(hours: i64) -> Stay {
        // A Sunday afternoon in Seattle: no rush bands.
        let entry: jiff::Timestamp = "2026-11-22T21:00:00Z".parse().unwrap();
        Stay {
            class: parkline_domain::VehicleClass::Sedan,
            entry,
            exit: entry + jiff::SignedDuration::from_hours(hours),
            charging: false,
            occupancy_permille: None,
        }
    }

    #[test]
    fn each_kind_takes_off_what_it_says_and_never_more_than_is_left() {
        let tz = jiff::tz::TimeZone::get("America/Los_Angeles").unwrap();
        let (full, off) = apply(&plan(), &tz, &stay(3), &[Discount::FixedMinor(200)]).unwrap();
        assert_eq!((full, off), (1350, vec![200]));
        let (_, off) = apply(&plan(), &tz, &stay(3), &[Discount::Percent(50)]).unwrap();
        assert_eq!(off, [675]);
        // Two free hours of three: priced as one hour.
        let (_, off) = apply(&plan(), &tz, &stay(3), &[Discount::FreeHours(2)]).unwrap();
        assert_eq!(off, [1350 - 450]);
        // Stacked, the total never goes below zero.
        let (full, off) =
            apply(&plan(), &tz, &stay(3), &[Discount::Percent(80), Discount::FixedMinor(5_000)]).unwrap();
        assert_eq!(off, [1080, 270]);
        assert_eq!(full - off.iter().sum::<i64>(), 0);
        assert!(Discount::Percent(0).validate().is_err() && Discount::Percent(101).validate().is_err());
        assert!(Discount::FixedMinor(-1).validate().is_err() && Discount::FreeHours(0).validate().is_err());
    }
}
