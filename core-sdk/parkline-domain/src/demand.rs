//! Demand from history: how full a facility is, on average, at each local hour of each weekday, and a
//! seasonal forecast from that profile (the next hours look like the same hours of past weeks).
//! Hours are local to the facility, so a daylight-saving change moves nothing.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// How full a facility was at an instant: taken spots per thousand in service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub at: Timestamp,
    pub permille: u16,
}

/// Mean occupancy (per mille) by local weekday (Monday first) and hour; `None` where there is no data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekProfile {
    pub cells: [[Option<u16>; 24]; 7],
}

fn local_slot(at: Timestamp, tz: &TimeZone) -> (usize, usize) {
    let local = at.to_zoned_datetime(tz.clone());
    (local.weekday().to_monday_zero_offset() as usize, local.hour() as usize)
}

/// Averages samples by local weekday and hour.
pub fn profile(samples: &[Sample], tz: &TimeZone) -> WeekProfile {
    let mut sums = [[(0u64, 0u64); 24]; 7];
    for s in samples {
        let (day, hour) = local_slot(s.at, tz);
        sums[day][hour].0 += u64::from(s.permille);
        sums[day][hour].1 += 1;
    }
    WeekProfile { cells: sums.map(|day| day.map(|(sum, n)| sum.checked_div(n).map(|mean| mean as u16))) }
}

/// Mean occupancy of each hour from `from` (whole hours, `hours` of them), from samples; `None` for an
/// hour without samples.
pub fn hourly(samples: &[Sample], from: Timestamp, hours: u32) -> Vec<(Timestamp, Option<u16>)> {
    (0..hours)
        .map(|h| {
            let start = from + SignedDuration::from_hours(i64::from(h));
            let end = start + SignedDuration::from_hours(1);
            let inside: Vec<u64> = samples
                .iter()
                .filter(|s| s.at >= start && s.at < end)
                .map(|s| u64::from(s.permille))
                .collect();
            let mean = inside.iter().sum::<u64>().checked_div(inside.len() as u64).map(|m| m as u16);
            (start, mean)
        })
        .collect()
}

/// Which days a "usually full by" sentence speaks of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Days {
    Weekdays,
    Weekends,
}

impl Days {
    const fn range(self) -> std::ops::Range<usize> {
        match self {
            Days::Weekdays => 0..5,
            Days::Weekends => 5..7,
        }
    }
}

/// Free spots left when a facility with `in_service` spots is `permille` full (rounded down, so a
/// forecast never promises a spot that half exists).
pub fn free_at(permille: u16, in_service: u32) -> u32 {
    let taken = (u64::from(in_service) * u64::from(permille.min(1000))).div_ceil(1000);
    in_service - taken as u32
}

impl WeekProfile {
    /// The first local hour at which the facility is usually at least `full` per mille taken on
    /// `days`: the mean over those days that have data for the hour, counted only where most of the
    /// days do, so one busy Monday does not make every weekday "usually full".
    pub fn usually_full_by(&self, days: Days, full: u16) -> Option<u8> {
        let range = days.range();
        let needed = range.len() / 2 + 1;
        (0..24u8).find(|&hour| {
            let known: Vec<u32> = self.cells[range.clone()]
                .iter()
                .filter_map(|d| d[usize::from(hour)])
                .map(u32::from)
                .collect();
            known.len() >= needed && known.iter().sum::<u32>() / known.len() as u32 >= u32::from(full)
        })
    }

    /// The forecast for each hour from `from`: the same weekday and hour of past weeks, or else the same
    /// hour on any day.
    pub fn forecast(&self, tz: &TimeZone, from: Timestamp, hours: u32) -> Vec<(Timestamp, Option<u16>)> {
        (0..hours)
            .map(|h| {
                let at = from + SignedDuration::from_hours(i64::from(h));
                let (day, hour) = local_slot(at, tz);
                let any_day = || {
                    let known: Vec<u32> = self.cells.iter().filter_map(|d| d[hour]).map(u32::from).collect();
                    known.iter().sum::<u32>().checked_div(known.len() as u32).map(|m| m as u16)
                };
                (at, self.cells[day][hour].or_else(any_day))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usually_full_by_is_the_first_hour_most_such_days_are_full() {
        let mut p = WeekProfile { cells: [[None; 24]; 7] };
        for day in 0..5 {
            for hour in 0..24 {
                p.cells[day][hour] = Some(if (9..17).contains(&hour) { 970 } else { 400 });
            }
        }
        // Mondays alone are full from 08:00: the mean of the weekdays at 08:00 is not.
        p.cells[0][8] = Some(1000);
        assert_eq!(p.usually_full_by(Days::Weekdays, 950), Some(9));
        assert_eq!(p.usually_full_by(Days::Weekdays, 980), None);
        // One full Saturday is not "usually" (half the weekend days is not most of them).
        p.cells[5][10] = Some(990);
        assert_eq!(p.usually_full_by(Days::Weekends, 950), None);
        p.cells[6][10] = Some(960);
        assert_eq!(p.usually_full_by(Days::Weekends, 950), Some(10));
    }

    #[test]
    fn free_counts_round_towards_fewer_spots() {
        assert_eq!(free_at(0, 120), 120);
        assert_eq!(free_at(1000, 120), 0);
        assert_eq!(free_at(950, 120), 6);
        assert_eq!(free_at(951, 120), 5);
        assert_eq!(free_at(1200, 120), 0);
    }

    fn tz() -> TimeZone {
        TimeZone::get("America/Los_Angeles").unwrap()
    }

    fn at(local: &str) -> Timestamp {
        local.parse::<jiff::civil::DateTime>().unwrap().to_zoned_datetime(tz()).unwrap().timestamp()
    }

    #[test]
    fn samples_are_averaged_by_local_weekday_and_hour() {
        let samples = [
            Sample { at: at("2026-11-16T09:00"), permille: 800 }, // Monday
            Sample { at: at("2026-11-16T09:55"), permille: 900 },
            Sample { at: at("2026-11-23T09:10"), permille: 700 }, // the next Monday
            Sample { at: at("2026-11-21T09:10"), permille: 300 }, // Saturday
        ];
        let p = profile(&samples, &tz());
        assert_eq!(p.cells[0][9], Some(800));
        assert_eq!(p.cells[5][9], Some(300));
        assert_eq!(p.cells[0][10], None);
    }

    #[test]
    fn the_forecast_repeats_past_weeks_and_falls_back_to_the_hour_of_any_day() {
        let samples = [
            Sample { at: at("2026-11-16T09:30"), permille: 850 }, // Monday 09:00
            Sample { at: at("2026-11-21T10:30"), permille: 400 }, // Saturday 10:00
        ];
        let p = profile(&samples, &tz());
        let next = p.forecast(&tz(), at("2026-11-30T09:00"), 3); // Monday
        assert_eq!(next.iter().map(|(_, v)| *v).collect::<Vec<_>>(), vec![Some(850), Some(400), None]);
        assert_eq!(next[1].0, at("2026-11-30T10:00"));
    }

    #[test]
    fn local_hours_follow_the_clock_across_a_daylight_saving_change() {
        // 1 November 2026: clocks go back from 02:00 to 01:00 in Los Angeles. A sample at 09:00 local on
        // Sunday the 25th October (PDT) is the 09:00 cell, like one at 09:00 local on the 8th (PST).
        let samples = [
            Sample { at: at("2026-10-25T09:15"), permille: 500 },
            Sample { at: at("2026-11-08T09:15"), permille: 700 },
        ];
        assert_eq!(profile(&samples, &tz()).cells[6][9], Some(600));
    }

    #[test]
    fn hourly_means_leave_empty_hours_empty() {
        let samples = [
            Sample { at: at("2026-11-16T09:00"), permille: 100 },
            Sample { at: at("2026-11-16T09:30"), permille: 300 },
            Sample { at: at("2026-11-16T11:05"), permille: 900 },
        ];
        let h = hourly(&samples, at("2026-11-16T09:00"), 3);
        assert_eq!(h.iter().map(|(_, v)| *v).collect::<Vec<_>>(), vec![Some(200), None, Some(900)]);
    }
}
