//! Instances sharing one PostgreSQL database stay in step: every commit appends what it changed to the
//! store's change feed, and every other instance reloads it:
//! - spots are applied (and streamed to its own WebSocket clients), except those with a gate write of
//!   this instance still on its way to disk: they are read back once it lands;
//! - sessions replace its copy (a vehicle that entered elsewhere can leave here; a payment made
//!   elsewhere opens this exit);
//! - reservations replace its claims (a booking made elsewhere is honoured at this gate and can be
//!   cancelled here);
//! - a permit or pool change reloads the permit book (a permit revoked elsewhere opens no gate here);
//! - a revoked device's or API key's cached credential is forgotten (it is refused here at once);
//! - a facility added elsewhere is loaded, a rate plan replaced elsewhere is put in force here;
//! - a notice saved elsewhere is pushed to its person's connections here (each instance pushes to the
//!   connections it holds; mail and SMS go out once, from the instance that saved it).
//!
//! The feed delivers changes in commit order, once each, across dropped connections; reloading is
//! idempotent, so a change also read while loading state at start-up does no harm.

use parkline_store::Change;
use tokio::sync::watch;

use crate::app::App;

/// Other instances' changes, in commit order.
pub type Changes = tokio::sync::mpsc::Receiver<Change>;

/// Follows other instances' changes until `stopped`. If the feed closes (the database was out of
/// reach for longer than it keeps changes), this instance may have missed some: it reports itself
/// not ready, to be restarted.
pub async fn follow(app: App, mut changes: Changes, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            change = changes.recv() => match change {
                Some(change) => apply(&app, change).await,
                None => {
                    tracing::error!("the change feed closed; this instance is no longer ready");
                    app.set_ready(false);
                    return;
                }
            },
            _ = stopped.changed() => return,
        }
    }
}

async fn apply(app: &App, a: Change) {
    if a.origin == app.store.instance() {
        return;
    }
    metrics::counter!("parkline_peer_changes_total").increment(1);
    for device in &a.devices {
        app.auth.forget_device(*device);
    }
    for key in &a.api_keys {
        app.auth.forget_api_key(*key);
    }
    if a.permits {
        warn_on(crate::permits::load(app).await, "permits", "");
    }
    for id in &a.notices {
        match app.store.notice(*id).await {
            Ok(Some((user, notice))) => app.hub.publish(user, notice),
            Ok(None) => {}
            Err(e) => warn_on(Err(e.into()), "a notice", &id.to_string()),
        }
    }
    if a.added && app.live.get(&a.facility).is_none() {
        warn_on(crate::facilities::load(app, &a.facility).await, "a new facility", &a.facility);
    }
    let Some(facility) = app.live.get(&a.facility) else { return };
    if a.rates {
        match app.store.rate_plan(&a.facility).await {
            Ok(Some(plan)) => facility.set_rates(plan),
            Ok(None) => {}
            Err(e) => warn_on(Err(e.into()), "rates", &a.facility),
        }
    }
    // Read under the writer lock, so a change of ours cannot slip in between and be overwritten.
    let _writer = facility.writer.lock().await;
    let spots = facility.settled(a.spots.iter().filter_map(|code| facility.facility.spot_by_code(code)));
    warn_on(
        crate::occupancy::reload_spots(app.store.as_ref(), &facility, &spots).await,
        "spots",
        &a.facility,
    );
    for id in &a.reservations {
        match app.store.reservation(id).await {
            Ok(Some(r)) => crate::reservations::reload_claim(&facility, r),
            Ok(None) => {}
            Err(e) => warn_on(Err(e.into()), "a reservation", id),
        }
    }
    for id in &a.sessions {
        match app.store.session(id).await {
            Ok(Some(session)) => facility.inside().reload(session),
            Ok(None) => {}
            Err(e) => warn_on(Err(e.into()), "a session", id),
        }
    }
}

fn warn_on(result: crate::error::Result<()>, what: &str, id: &str) {
    if let Err(e) = result {
        tracing::warn!(error = %e, id, "could not reload {what} changed elsewhere");
    }
}
