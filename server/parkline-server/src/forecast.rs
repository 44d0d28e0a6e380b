//! Predicted availability for drivers: "usually full by 09:00 on weekdays" and the free spots to expect
//! at a planned arrival, from the occupancy the server samples every five minutes. The rules are
//! `parkline_domain::demand`'s; this reads the last four weeks of samples, keeps each facility's
//! profile for an hour (history changes slowly, and a public read must not query the database every
//! time), and words the answer.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use parkline_domain::demand::{self, Days, Sample};
use parkline_protocol::{FacilityDetail, FacilityDetailQuery, Forecast, ForecastHour, UsuallyFull};

use crate::alerts::CAPACITY_ALERT_PERMILLE;
use crate::app::App;
use crate::error::{Error, Result};
use crate::live::{Demand, FacilityLive};

/// History the profile is made from.
const HISTORY: SignedDuration = SignedDuration::from_hours(24 * 28);
/// How long a facility's profile is kept before it is made again.
const KEEP: SignedDuration = SignedDuration::from_hours(1);
/// Hours ahead in every answer.
const AHEAD: u32 = 12;
/// History a forecast needs: a week, so every weekday has been seen at least once.
const MIN_HISTORY_DAYS: u32 = 7;

/// The facility with its forecast; `arrival`, if given, must be within the next seven days.
pub async fn detail(app: &App, id: &str, q: &FacilityDetailQuery) -> Result<FacilityDetail> {
    let live = app.live.get(id).ok_or_else(|| Error::unknown_facility(id))?;
    let now = app.now();
    if let Some(arrival) = q.arrival
        && (arrival < now - SignedDuration::from_hours(1)
            || arrival > now + SignedDuration::from_hours(24 * 7))
    {
        return Err(Error::validation("arrival must be within the next seven days"));
    }
    let (profile, history_days) = &*profile(app, &live, now).await?;
    let in_service = {
        let t = live.read().occupancy.totals();
        t.free + t.occupied + t.held
    };
    let hour = |(at, permille): (Timestamp, Option<u16>)| ForecastHour {
        at,
        free: permille.map(|p| demand::free_at(p, in_service)),
        occupancy_permille: permille,
    };
    let start = start_of_hour(now, &live.tz);
    let usually_full =
        [(Days::Weekdays, "weekdays", "on weekdays"), (Days::Weekends, "weekends", "at weekends")]
            .into_iter()
            .filter_map(|(days, name, words)| {
                let by = format!("{:02}:00", profile.usually_full_by(days, CAPACITY_ALERT_PERMILLE)?);
                Some(UsuallyFull { days: name.into(), text: format!("Usually full by {by} {words}"), by })
            })
            .collect();
    let forecast = Forecast {
        usually_full,
        hours: profile.forecast(&live.tz, start, AHEAD).into_iter().map(hour).collect(),
        at_arrival: q.arrival.map(|at| {
            let slot = start_of_hour(at, &live.tz);
            hour(profile.forecast(&live.tz, slot, 1).remove(0))
        }),
        history_days: *history_days,
    };
    Ok(FacilityDetail { facility: live.summary(None, now - app.stale_after), forecast })
}

/// The facility's weekly profile and the days of history behind it, made again once an hour old.
async fn profile(app: &App, live: &FacilityLive, now: Timestamp) -> Result<Arc<Demand>> {
    let kept = live.demand.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some((made, profile)) = kept
        && now.duration_since(made) < KEEP
        && made <= now
    {
        return Ok(profile);
    }
    let samples = app.store.occupancy_samples(&live.facility.id, now - HISTORY, now).await?;
    let days = samples.first().map_or(0, |first| (now.duration_since(first.at).as_hours() / 24) as u32);
    let samples: Vec<Sample> = samples.iter().map(|s| Sample { at: s.at, permille: s.permille() }).collect();
    // Too little history says nothing about a weekday's hours: no forecast rather than a guess.
    let samples = if days >= MIN_HISTORY_DAYS { samples.as_slice() } else { &[] };
    let profile = Arc::new((demand::profile(samples, &live.tz), days));
    *live.demand.lock().unwrap_or_else(|p| p.into_inner()) = Some((now, profile.clone()));
    Ok(profile)
}

/// The start of the local hour `at` falls in (whole-hour zones and half-hour ones alike).
fn start_of_hour(at: Timestamp, tz: &jiff::tz::TimeZone) -> Timestamp {
    let local = at.to_zoned_datetime(tz.clone());
    let into = SignedDuration::from_secs(i64::from(local.minute()) * 60 + i64::from(local.second()))
        + SignedDuration::from_nanos(i64::from(local.subsec_nanosecond()));
    at - into
}
