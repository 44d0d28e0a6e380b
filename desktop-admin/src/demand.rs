//! The demand page: occupancy over today against a typical day, the utilisation heat map by weekday and
//! hour, and the next 24 hours forecast from past weeks, shown against the last 24 hours' actuals. The
//! arithmetic is `parkline_domain::demand`; this turns it into charts.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use parkline_domain::demand::{self, Sample, WeekProfile};
use parkline_sdk::protocol::OccupancyHistory;

use crate::charts::{HeatMap, LineChart, Series};
use crate::error::{CommandError, Result};

/// Days of history the profile is built from.
pub const HISTORY_DAYS: i64 = 28;
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The three demand charts of one facility.
#[derive(Debug, Clone, PartialEq)]
pub struct DemandCharts {
    pub today: LineChart,
    pub heat_map: HeatMap,
    pub forecast: LineChart,
    /// The busiest hour of the next 24 by the forecast: local `HH:MM` and percent.
    pub next_peak: Option<(String, u16)>,
}

fn percent(permille: Option<u16>) -> Option<f64> {
    permille.map(|p| f64::from(p) / 10.0)
}

/// Builds the charts from a facility's samples, as of `now`.
pub fn charts(history: &OccupancyHistory, now: Timestamp) -> Result<DemandCharts> {
    let tz = TimeZone::get(&history.time_zone).map_err(|e| CommandError::new("time_zone", e.to_string()))?;
    let samples: Vec<Sample> =
        history.samples.iter().map(|s| Sample { at: s.at, permille: s.permille() }).collect();
    let profile: WeekProfile = demand::profile(&samples, &tz);
    let local_now = now.to_zoned_datetime(tz.clone());
    let bad = |e: jiff::Error| CommandError::new("time_zone", e.to_string());

    // Today, hour by hour from local midnight, against the same weekday's profile.
    let midnight = local_now.start_of_day().map_err(bad)?.timestamp();
    let weekday = local_now.weekday().to_monday_zero_offset() as usize;
    let today = LineChart {
        title: format!("Occupancy today ({})", local_now.strftime("%a %-d %b")),
        y_label: "% taken".into(),
        y_max: Some(100.0),
        x_labels: (0..24).map(|h| format!("{h:02}")).collect(),
        series: vec![
            Series {
                name: "today".into(),
                values: demand::hourly(&samples, midnight, 24).into_iter().map(|(_, v)| percent(v)).collect(),
            },
            Series {
                name: format!("typical {}", DAYS[weekday]),
                values: profile.cells[weekday].iter().map(|v| percent(*v)).collect(),
            },
        ],
    };

    let heat_map = HeatMap {
        title: format!("Utilisation by weekday and hour, last {HISTORY_DAYS} days (% taken)"),
        rows: DAYS.iter().map(|d| (*d).to_owned()).collect(),
        columns: (0..24).map(|h| format!("{h:02}")).collect(),
        values: profile.cells.iter().map(|day| day.iter().map(|v| percent(*v)).collect()).collect(),
        max: 100.0,
    };

    // The last 24 hours and the next 24, from the start of the current hour.
    let hour_start =
        local_now.with().minute(0).second(0).subsec_nanosecond(0).build().map_err(bad)?.timestamp();
    let start = hour_start - SignedDuration::from_hours(24);
    let actual: Vec<Option<f64>> = demand::hourly(&samples, start, 25)
        .into_iter()
        .map(|(_, v)| percent(v))
        .chain(std::iter::repeat_n(None, 23))
        .collect();
    let predicted = profile.forecast(&tz, start, 48);
    let label = |t: Timestamp| t.to_zoned_datetime(tz.clone()).strftime("%a %H").to_string();
    let next_peak = predicted[24..]
        .iter()
        .filter_map(|(t, v)| v.map(|v| (*t, v)))
        .max_by_key(|(_, v)| *v)
        .map(|(t, v)| (t.to_zoned_datetime(tz.clone()).strftime("%a %H:%M").to_string(), v / 10));
    let forecast = LineChart {
        title: "Forecast: the next 24 hours against the last 24".into(),
        y_label: "% taken".into(),
        y_max: Some(100.0),
        x_labels: predicted.iter().map(|(t, _)| label(*t)).collect(),
        series: vec![
            Series { name: "actual".into(), values: actual },
            Series { name: "forecast".into(), values: predicted.iter().map(|(_, v)| percent(*v)).collect() },
        ],
    };
    Ok(DemandCharts { today, heat_map, forecast, next_peak })
}

#[cfg(test)]
mod tests {
    use super::*;
    use parkline_sdk::protocol::OccupancySample;

    fn at(local: &str) -> Timestamp {
        let tz = TimeZone::get("America/Los_Angeles").unwrap();
        local.parse::<jiff::civil::DateTime>().unwrap().to_zoned_datetime(tz).unwrap().timestamp()
    }

    #[test]
    fn a_week_of_samples_makes_the_heat_map_and_tomorrows_forecast() {
        // Every hour of the week before, half full at 09:00 and empty otherwise.
        let mut samples = Vec::new();
        let mut t = at("2026-11-16T00:00"); // a Monday
        while t < at("2026-11-23T00:00") {
            let hour = t.to_zoned_datetime(TimeZone::get("America/Los_Angeles").unwrap()).hour();
            samples.push(OccupancySample { at: t, taken: if hour == 9 { 50 } else { 0 }, in_service: 100 });
            t += SignedDuration::from_hours(1);
        }
        let history =
            OccupancyHistory { facility: "lot".into(), time_zone: "America/Los_Angeles".into(), samples };
        let c = charts(&history, at("2026-11-23T12:30")).unwrap();
        assert_eq!(c.heat_map.values[0][9], Some(50.0));
        assert_eq!(c.heat_map.values[6][10], Some(0.0));
        assert_eq!(c.today.series[1].values[9], Some(50.0), "a typical Monday at 09:00");
        assert_eq!(c.today.series[0].values[9], None, "no samples today yet");
        assert_eq!(c.forecast.x_labels.len(), 48);
        assert_eq!(c.forecast.x_labels[24], "Mon 12");
        assert_eq!(c.next_peak, Some(("Tue 09:00".into(), 50)));
    }
}
