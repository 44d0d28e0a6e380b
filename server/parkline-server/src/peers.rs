//! Instances sharing one PostgreSQL database stay in step: every commit announces, with `NOTIFY`, what
//! it changed, and every other instance reloads it:
//! - spots are applied (and streamed to its own WebSocket clients);
//! - sessions replace its copy (a vehicle that entered elsewhere can leave here; a payment made
//!   elsewhere opens this exit);
//! - reservations replace its claims (a booking made elsewhere is honoured at this gate and can be
//!   cancelled here);
//! - a permit or pool change reloads the permit book (a permit revoked elsewhere opens no gate here);
//! - a revoked device's cached credential is forgotten (it is refused here at once).
//!
//! PostgreSQL delivers notifications in commit order, so each facility's changes arrive in order.

use parkline_store::Change;
use tokio::sync::watch;

use crate::app::App;

/// Follows other instances' changes until `stopped` (nothing to follow on SQLite).
pub async fn follow(app: App, mut stopped: watch::Receiver<bool>) {
    let Some(mut changes) = app.store.changes() else { return };
    loop {
        tokio::select! {
            change = changes.recv() => match change {
                Some(change) => apply(&app, change).await,
                None => return,
            },
            _ = stopped.changed() => return,
        }
    }
}

async fn apply(app: &App, a: Change) {
    if a.origin == app.store.instance() {
        return;
    }
    for device in &a.devices {
        app.auth.forget_device(*device);
    }
    if a.permits {
        match crate::permits::load(app).await {
            Ok(()) => metrics::counter!("parkline_peer_permit_reloads_total").increment(1),
            Err(e) => tracing::warn!(error = %e, "could not reload permits changed elsewhere"),
        }
    }
    let Some(facility) = app.live.get(&a.facility) else { return };
    // Read under the writer lock, so a change of ours cannot slip in between and be overwritten.
    let _writer = facility.writer.lock().await;
    match app.store.spot_records(&a.facility, &a.spots).await {
        Ok(records) => {
            let changes = records
                .into_iter()
                .filter_map(|r| facility.facility.spot_by_code(&r.spot).map(|idx| (idx, r.status)));
            facility.apply(changes);
            metrics::counter!("parkline_peer_announcements_total").increment(1);
        }
        Err(e) => {
            tracing::warn!(error = %e, facility = a.facility, "could not reload spots changed elsewhere")
        }
    }
    for id in &a.reservations {
        match app.store.reservation(id).await {
            Ok(Some(r)) => crate::reservations::reload_claim(&facility, r),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, reservation = id, "could not reload a reservation changed elsewhere")
            }
        }
    }
    for id in &a.sessions {
        match app.store.session(id).await {
            Ok(Some(session)) => {
                let mut inside = facility.inside();
                inside.remove(id);
                if session.exit.is_none() {
                    inside.insert(session);
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, session = id, "could not reload a session changed elsewhere")
            }
        }
    }
}
