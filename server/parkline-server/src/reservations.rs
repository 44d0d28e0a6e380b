//! Booking, changing and cancelling reservations, and releasing no-shows.
//!
//! Plans are made in memory under the facility's writer lock (no two claims on a spot overlap); the
//! database refuses an overlap too (exclusion constraint or trigger), so two server instances cannot both
//! win a spot.

use std::sync::Arc;

use jiff::Timestamp;
use parkline_domain::allocation::eligible;
use parkline_domain::plate::Plate;
use parkline_domain::pricing::{self, Stay};
use parkline_domain::reservation::{self, Reservation, Status};
use parkline_domain::{Currency, Money, Preferences, SpotIdx, SpotState, Vehicle};
use parkline_protocol::{ErrorCode, ReservationRequest, ReservationWindow};

use crate::app::App;
use crate::error::{Error, Result};
use crate::live::FacilityLive;
use crate::notices;
use parkline_store::{LedgerEntry, LedgerKind};

/// Most spots one group booking may take.
pub const MAX_GROUP: u32 = 50;

fn conflict(e: parkline_store::Error) -> Error {
    match e {
        parkline_store::Error::Duplicate | parkline_store::Error::Conflict => {
            Error::api(ErrorCode::Conflict, "that spot is already booked for an overlapping time")
        }
        other => other.into(),
    }
}

/// Times as the database keeps them (milliseconds), so an answer equals what a later read returns.
fn stored(t: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(t)
}

fn unknown() -> Error {
    Error::api(ErrorCode::NotFound, "no such reservation")
}

/// Books one spot, or `count` spots all or nothing. A `limited` owner (a driver) books within the
/// booking rules; staff book for others.
pub async fn book(
    app: &App,
    req: ReservationRequest,
    owner: Option<i64>,
    limited: bool,
    key: Option<&str>,
) -> Result<Vec<Reservation>> {
    let (live, store, now) = (&app.live, app.store.as_ref(), app.now());
    // A retried booking gets what its first attempt made.
    let key = key.map(|k| format!("{}:{k}", owner.map_or_else(|| "anon".to_owned(), |o| o.to_string())));
    if let Some(key) = &key
        && let Some(done) = store.reservations_for_request(key).await?
    {
        return Ok(done);
    }
    let mut req = req;
    (req.start, req.end) = (stored(req.start), stored(req.end));
    reservation::validate_window(req.start, req.end, now).map_err(|e| Error::validation(e.to_string()))?;
    let plate = Plate::parse(&req.plate).map_err(|e| Error::validation(e.to_string()))?;
    let count = req.count.unwrap_or(1);
    if !(1..=MAX_GROUP).contains(&count) || (count > 1 && req.spot.is_some()) {
        return Err(Error::validation(format!("count must be 1..={MAX_GROUP}, and 1 when a spot is named")));
    }
    let f = live.get(&req.facility).ok_or_else(|| Error::unknown_facility(&req.facility))?;
    let vehicle = Vehicle::new(req.vehicle_class, req.electric);
    let limited = owner.filter(|_| limited);
    let mut booker = match limited {
        Some(user) => Some(booker(app, &f, user).await?),
        None => None,
    };

    let _writer = f.writer.lock().await;
    let quote = quote(&f, vehicle, req.start, req.end)?;
    if let (Some(user), Some(booker)) = (limited, booker.as_mut()) {
        let claims = f.claims();
        booker.held_here = claims.held_by(user).filter(|r| r.overlaps(req.start, req.end)).count() as u32;
        let ask = reservation::Ask { count, capacity: f.facility.capacity() as u32, quote_minor: quote };
        reservation::BookingRules::default()
            .check(booker, &ask)
            .map_err(|e| Error::api(ErrorCode::BookingLimit, e.to_string()))?;
    }
    let group = (count > 1).then(|| crate::auth::random_token("grp_")[..20].to_owned());
    let mut replans = 0;
    let booked = loop {
        let spots = choose_spots(&f, vehicle, req.spot.as_deref(), count as usize, req.start, req.end)?;
        let booked: Vec<Reservation> = spots
            .into_iter()
            .map(|spot| Reservation {
                id: crate::auth::random_token("res_")[..24].to_owned(),
                facility: f.facility.id.clone(),
                spot: f.facility.spot(spot).code.clone(),
                plate: plate.clone(),
                vehicle,
                start: req.start,
                end: req.end,
                status: Status::Confirmed,
                quote_minor: quote,
                fee_minor: 0,
                owner,
                group: group.clone(),
            })
            .collect();
        match store.insert_reservations(&booked, now, key.as_deref()).await {
            Ok(()) => break booked,
            // The same request, racing itself: the attempt that got there first answers both.
            Err(e @ parkline_store::Error::Duplicate) if key.is_some() => {
                if let Some(done) = store.reservations_for_request(key.as_deref().unwrap_or_default()).await?
                {
                    return Ok(done);
                }
                return Err(conflict(e));
            }
            // Another instance booked a spot chosen here first: catch up with its bookings and choose
            // again, so the driver gets another spot rather than an error.
            Err(parkline_store::Error::Conflict) if req.spot.is_none() && replans < 3 => {
                replans += 1;
                for r in store.claiming_reservations_at(&f.facility.id).await? {
                    reload_claim(&f, r);
                }
            }
            Err(e) => return Err(conflict(e)),
        }
    };
    let mut claims = f.claims();
    for r in &booked {
        claims.insert(r.clone());
    }
    Ok(booked)
}

/// What the booking rules need to know of `user` beyond this facility's claims: their confirmed
/// bookings everywhere (from the store, so every instance counts the same), the fees those would owe,
/// and their balance, both in the facility's currency.
async fn booker(app: &App, f: &FacilityLive, user: i64) -> Result<reservation::Booker> {
    let currency = &f.facility.currency;
    let same_currency =
        |r: &Reservation| app.live.get(&r.facility).is_some_and(|g| g.facility.currency == *currency);
    let active: Vec<Reservation> = app
        .store
        .user_reservations(user)
        .await?
        .into_iter()
        .filter(|r| r.status == Status::Confirmed)
        .collect();
    Ok(reservation::Booker {
        active: active.len() as u32,
        held_here: 0,
        fees_at_risk_minor: active.iter().filter(|r| same_currency(r)).map(Reservation::no_show_fee).sum(),
        balance_minor: crate::accounts::balance(app, user, currency).await?,
    })
}

/// The spots to book: the one asked for, if it can be, or the best ones free of claims for the window.
fn choose_spots(
    f: &FacilityLive,
    vehicle: Vehicle,
    wanted: Option<&str>,
    count: usize,
    start: Timestamp,
    end: Timestamp,
) -> Result<Vec<SpotIdx>> {
    let claims = f.claims();
    let state = f.read();
    let bookable = |idx: SpotIdx| {
        let spot = f.facility.spot(idx);
        eligible(vehicle, &Preferences::default(), spot.size, spot.features)
            && state.occupancy.state(idx) != SpotState::OutOfService
            && claims.spot_free(&spot.code, start, end, None)
    };
    if let Some(code) = wanted {
        let idx = f.facility.spot_by_code(code).ok_or_else(|| {
            Error::api(ErrorCode::UnknownSpot, format!("no spot {code:?} in {}", f.facility.id))
        })?;
        if !bookable(idx) {
            return Err(Error::api(ErrorCode::Conflict, format!("{code} cannot be booked for that time")));
        }
        return Ok(vec![idx]);
    }
    // Best first: the size that fits most closely, then nearest the entrance.
    let mut candidates: Vec<SpotIdx> =
        (0..f.facility.capacity() as SpotIdx).filter(|i| bookable(*i)).collect();
    candidates.sort_by_key(|&i| {
        let s = f.facility.spot(i);
        (s.size, s.distance_cm, i)
    });
    if candidates.len() < count {
        return Err(Error::api(
            ErrorCode::Conflict,
            format!("only {} spots are free for that time", candidates.len()),
        ));
    }
    candidates.truncate(count);
    Ok(candidates)
}

fn quote(f: &FacilityLive, vehicle: Vehicle, start: Timestamp, end: Timestamp) -> Result<i64> {
    let Some(plan) = f.rates() else { return Ok(0) };
    let stay =
        Stay { class: vehicle.class, entry: start, exit: end, charging: false, occupancy_permille: None };
    Ok(pricing::price(&plan, &f.tz, &stay).map_err(|e| Error::validation(e.to_string()))?.total.minor)
}

/// A person's reservations, newest first.
pub async fn of_user(app: &App, user: i64) -> Result<Vec<Reservation>> {
    Ok(app.store.user_reservations(user).await?)
}

/// A reservation, if `owner` (a driver) or staff (`None`) may see it.
pub async fn get(app: &App, id: &str, owner: Option<i64>) -> Result<Reservation> {
    let r = app.store.reservation(id).await?.ok_or_else(unknown)?;
    if owner.is_some() && r.owner != owner {
        return Err(unknown());
    }
    Ok(r)
}

/// The reservation as memory has it now (memory runs ahead of the database while gate events are being
/// committed), if it is still confirmed; else as stored, if confirmed there (made through another
/// instance, not announced here yet). Call with the facility's writer lock held. The write that follows
/// is guarded in SQL: if another instance moved it on meanwhile, it fails as [`moved_on`].
fn confirmed_claim(f: &FacilityLive, stored: &Reservation) -> Result<Reservation> {
    let claim = f.claims().get(&stored.id).cloned();
    match claim {
        Some(r) if r.status == Status::Confirmed => Ok(r),
        Some(r) => Err(Error::api(ErrorCode::Conflict, format!("the reservation is {}", r.status.as_str()))),
        None if stored.status == Status::Confirmed => Ok(stored.clone()),
        None => {
            Err(Error::api(ErrorCode::Conflict, format!("the reservation is {}", stored.status.as_str())))
        }
    }
}

/// A guarded write found the reservation no longer confirmed: memory takes the stored state, and the
/// caller hears what it is now.
async fn moved_on(app: &App, f: &FacilityLive, id: &str, e: parkline_store::Error) -> Error {
    if !matches!(e, parkline_store::Error::Conflict) {
        return e.into();
    }
    match app.store.reservation(id).await {
        Ok(Some(now)) => {
            let status = now.status;
            reload_claim(f, now);
            Error::api(ErrorCode::Conflict, format!("the reservation is {}", status.as_str()))
        }
        Ok(None) => unknown(),
        Err(e) => e.into(),
    }
}

/// Memory's claim set to a reservation as stored: held while confirmed or checked in, released after.
pub fn reload_claim(f: &FacilityLive, r: Reservation) {
    let mut claims = f.claims();
    claims.remove(&r.id);
    if matches!(r.status, Status::Confirmed | Status::CheckedIn) {
        claims.insert(r);
    }
}

/// Cancels a confirmed reservation; late cancellations owe the no-show fee.
pub async fn cancel(app: &App, id: &str, owner: Option<i64>) -> Result<Reservation> {
    let (live, store, now) = (&app.live, app.store.as_ref(), app.now());
    let current = get(app, id, owner).await?;
    let f = live.get(&current.facility).ok_or_else(|| Error::unknown_facility(&current.facility))?;
    let _writer = f.writer.lock().await;
    let mut r = confirmed_claim(&f, &current)?;
    let fee_minor = r.cancellation_fee(now);
    r.fee_minor += fee_minor;
    r.status = Status::Cancelled;
    let fee = fee_charge(&f, &r, fee_minor, "late_cancellation", "fee", now);
    if let Err(e) = store.update_reservation(&r, Status::Confirmed, &fee).await {
        return Err(moved_on(app, &f, &r.id, e).await);
    }
    f.claims().remove(&r.id);
    Ok(r)
}

/// Moves a confirmed reservation to a new window on the same spot. Inside the fee window the move
/// costs what cancelling would.
pub async fn modify(
    app: &App,
    id: &str,
    owner: Option<i64>,
    window: ReservationWindow,
) -> Result<Reservation> {
    let (live, store, now) = (&app.live, app.store.as_ref(), app.now());
    let window = ReservationWindow { start: stored(window.start), end: stored(window.end) };
    reservation::validate_window(window.start, window.end, now)
        .map_err(|e| Error::validation(e.to_string()))?;
    let current = get(app, id, owner).await?;
    let f = live.get(&current.facility).ok_or_else(|| Error::unknown_facility(&current.facility))?;
    let _writer = f.writer.lock().await;
    let mut r = confirmed_claim(&f, &current)?;
    if !f.claims().spot_free(&r.spot, window.start, window.end, Some(&r.id)) {
        return Err(Error::api(ErrorCode::Conflict, format!("{} is booked for part of that time", r.spot)));
    }
    let change_fee = r.change_fee(now, window.start, window.end);
    let fee = fee_charge(
        &f,
        &r,
        change_fee,
        "late_change",
        &format!("change:{}:{}", r.start.as_millisecond(), r.end.as_millisecond()),
        now,
    );
    r.fee_minor += change_fee;
    r.start = window.start;
    r.end = window.end;
    r.quote_minor = quote(&f, r.vehicle, r.start, r.end)?;
    if let Err(e) = store.update_reservation(&r, Status::Confirmed, &fee).await {
        // Refused: the new window overlaps a claim the database knows, or the booking moved on.
        let overlaps = matches!(e, parkline_store::Error::Conflict)
            && store.reservation(&r.id).await?.is_some_and(|s| s.status == Status::Confirmed);
        return Err(if overlaps { conflict(e) } else { moved_on(app, &f, &r.id, e).await });
    }
    f.claims().insert(r.clone());
    Ok(r)
}

/// Marks reservations whose check-in window passed with no vehicle as no-shows (owing the fee), which
/// releases their spots, and tells their holders. Returns how many.
pub async fn release_no_shows(app: &App) -> Result<usize> {
    let missed = mark_no_shows(app).await?;
    for r in &missed {
        let Some(owner) = r.owner else { continue };
        let currency = app.live.get(&r.facility).and_then(|f| Currency::new(&f.facility.currency).ok());
        let fee = Money::new(r.fee_minor, currency.unwrap_or(Currency::USD));
        let text = format!("You did not arrive for your reservation; a no-show fee of {fee} applies.");
        notices::notify(app, owner, "no_show", &r.id, text).await;
    }
    Ok(missed.len())
}

async fn mark_no_shows(app: &App) -> Result<Vec<Reservation>> {
    let (live, store, now) = (&app.live, app.store.as_ref(), app.now());
    let mut released = Vec::new();
    for f in live.all() {
        if f.claims().no_shows(now).next().is_none() {
            continue;
        }
        let _writer = f.writer.lock().await;
        let missed: Vec<Reservation> = f.claims().no_shows(now).cloned().collect();
        for mut r in missed {
            r.status = Status::NoShow;
            let fee = r.no_show_fee();
            r.fee_minor += fee;
            let charges = fee_charge(&f, &r, fee, "no_show", "fee", now);
            match store.update_reservation(&r, Status::Confirmed, &charges).await {
                Ok(()) => {
                    f.claims().remove(&r.id);
                    released.push(r);
                }
                // Checked in or cancelled through another instance first: no fee, and memory catches up.
                Err(parkline_store::Error::Conflict) => {
                    if let Some(now) = store.reservation(&r.id).await? {
                        reload_claim(&f, now);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(released)
}

/// The ledger charge for one of a reservation's fees (a no-show, a late cancellation or change), billed
/// to its owner; `which` tells the reservation's fees apart (one cancellation or no-show, one per move).
fn fee_charge(
    f: &FacilityLive,
    r: &Reservation,
    amount_minor: i64,
    why: &str,
    which: &str,
    now: Timestamp,
) -> Vec<LedgerEntry> {
    if amount_minor <= 0 {
        return Vec::new();
    }
    vec![LedgerEntry {
        key: format!("reservation:{}:{which}", r.id),
        kind: LedgerKind::Charge,
        amount_minor,
        currency: f.facility.currency.clone(),
        facility: Some(f.facility.id.clone()),
        session: None,
        reservation: Some(r.id.clone()),
        user: r.owner,
        actor: None,
        method: Some(why.to_owned()),
        provider_ref: None,
        refund_of: None,
        memo: None,
        at: now,
    }]
}

/// The reservation a vehicle arriving now checks in on, if any.
pub fn for_check_in(f: &Arc<FacilityLive>, plate: &Plate, now: Timestamp) -> Option<Reservation> {
    f.claims().check_in(plate, now).cloned()
}
