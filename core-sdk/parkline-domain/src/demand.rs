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

impl WeekProfile {
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
