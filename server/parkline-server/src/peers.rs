//! Instances sharing one PostgreSQL database stay in step: every commit announces, with `NOTIFY`, the
//! spots and sessions it changed; every other instance reloads them: spots are applied (and streamed to
//! its own WebSocket clients), sessions replace its copy (a vehicle that entered elsewhere can leave
//! here; a payment made elsewhere opens this exit). PostgreSQL delivers notifications in commit order,
//! so each facility's changes arrive in order.

use std::time::Duration;

use serde::Deserialize;
use sqlx::postgres::PgListener;
use tokio::sync::watch;

use crate::http::App;
use crate::store::ANNOUNCE_CHANNEL;

#[derive(Debug, Deserialize)]
struct Announcement {
    origin: String,
    facility: String,
    spots: Vec<String>,
    #[serde(default)]
    sessions: Vec<String>,
}

/// Follows other instances' announcements until `stopped`, reconnecting when the connection drops.
pub async fn follow(app: App, url: String, mut stopped: watch::Receiver<bool>) {
    loop {
        match PgListener::connect(&url).await {
            Ok(mut listener) => match listener.listen(ANNOUNCE_CHANNEL).await {
                Ok(()) => loop {
                    tokio::select! {
                        note = listener.recv() => match note {
                            Ok(note) => apply(&app, note.payload()).await,
                            Err(e) => {
                                tracing::warn!(error = %e, "lost the announcement channel; reconnecting");
                                break;
                            }
                        },
                        _ = stopped.changed() => return,
                    }
                },
                Err(e) => tracing::warn!(error = %e, "could not listen for other instances"),
            },
            Err(e) => tracing::warn!(error = %e, "could not connect to listen for other instances"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stopped.changed() => return,
        }
    }
}

async fn apply(app: &App, payload: &str) {
    let Ok(a) = serde_json::from_str::<Announcement>(payload) else {
        tracing::warn!(payload, "unreadable announcement");
        return;
    };
    if a.origin == app.store.instance() {
        return;
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
