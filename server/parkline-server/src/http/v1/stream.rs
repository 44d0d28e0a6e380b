//! `GET /v1/stream`: live spot changes over WebSocket, per facility, resumable without gaps.
//!
//! Each subscription runs a small forwarder task: it sends the replay or snapshot from
//! [`FacilityLive::follow`](crate::live::FacilityLive::follow), then every live update with a higher
//! sequence number. Forwarders feed the connection through a bounded queue, and the facility's broadcast
//! never waits for anyone: a client too slow to keep up lags behind, and its forwarder sends a fresh
//! snapshot instead of the backlog.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use parkline_protocol::{ErrorCode, StreamMessage, StreamRequest};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

use crate::app::App;
use crate::live::Update;

/// Messages waiting for one connection before its forwarders wait.
const OUTBOX: usize = 64;
/// Most queued messages written to a connection before one flush (one syscall for a burst).
const BURST: usize = 32;
/// Server pings this often; a connection silent for three pings is closed.
const PING_EVERY: Duration = Duration::from_secs(20);
/// Most facilities one connection may follow.
const MAX_SUBSCRIPTIONS: usize = 64;
/// How often a person's connection checks that they have not signed out (on any instance).
const SIGNED_OUT_CHECK: Duration = Duration::from_secs(5);
/// The close code for a connection whose person signed out or was erased (4000-4999: the
/// application's own; 4401 reads as HTTP's 401).
const SIGNED_OUT: u16 = 4401;

/// Opens the stream. Send `{"type":"subscribe","facility":ID,"since":SEQ?}` to follow a facility.
#[utoipa::path(get, path = "/v1/stream", tag = "stream", security(("bearer" = [])),
    responses(
        (status = 101, description = "WebSocket of StreamMessage; send StreamRequest"),
        (status = 400, body = parkline_protocol::ApiError, description = "malformed_request: not a WebSocket upgrade"),
        (status = 426, body = parkline_protocol::ApiError, description = "malformed_request: the connection cannot be upgraded"),
    ))]
pub async fn stream(
    State(app): State<App>,
    axum::Extension(principal): axum::Extension<crate::auth::Principal>,
    ws: WebSocketUpgrade,
) -> Response {
    // The token was just checked against the person's token epoch: the connection lives while it holds.
    let person = match principal {
        crate::auth::Principal::User { id, .. } => match app.store.token_epoch(id).await {
            Ok(Some(epoch)) => Some((id, epoch)),
            _ => {
                return crate::error::Error::api(ErrorCode::Unauthenticated, "signed out: sign in again")
                    .into_response();
            }
        },
        _ => None,
    };
    ws.max_message_size(16 * 1024)
        .max_frame_size(16 * 1024)
        // Frames of a burst collect here and go out in one write; see `connection`.
        .write_buffer_size(8 * 1024)
        // tungstenite reads into a 128 KiB buffer by default; requests here are a few hundred bytes (a
        // longer one still arrives whole, over several reads), and every idle connection keeps its buffer.
        .read_buffer_size(1024)
        .on_upgrade(move |socket| connection(app, socket, person))
}

/// One connection; `person` is the signed-in person and the token epoch they connected with.
async fn connection(app: App, socket: WebSocket, person: Option<(i64, i64)>) {
    let (mut sink, mut incoming) = socket.split();
    // A signed-in person hears their notices on every connection they open.
    let mut notices = person.map(|(id, _)| app.hub.subscribe(id));
    let mut signed_in = tokio::time::interval(SIGNED_OUT_CHECK);
    let (outbox, mut queued) = mpsc::channel::<Arc<Update>>(OUTBOX);
    let mut subscriptions: HashMap<String, JoinHandle<()>> = HashMap::new();
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut heard = Instant::now();
    metrics::gauge!("parkline_stream_connections").increment(1.0);
    loop {
        tokio::select! {
            message = incoming.next() => {
                heard = Instant::now();
                match message {
                    Some(Ok(Message::Text(text))) => {
                        let who = person.map(|(id, _)| id);
                        if let Err((code, message, facility)) = request(&app, &text, who, &outbox, &mut subscriptions) {
                            metrics::counter!("parkline_stream_refused_total").increment(1);
                            tracing::debug!(?code, message, "stream request refused");
                            let refused = StreamMessage::Error { code, message, facility };
                            let _ = outbox.try_send(Update::new(refused));
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                }
            }
            Some(update) = queued.recv() => {
                if send_burst(&mut sink, update, &mut queued).await.is_err() {
                    break;
                }
            }
            Some(notice) = next_notice(&mut notices) => {
                let _ = outbox.try_send(notice);
            }
            _ = signed_in.tick(), if person.is_some() => {
                let Some((id, epoch)) = person else { continue };
                // A database that does not answer now is no reason to drop the connection.
                if app.store.token_epoch(id).await.is_ok_and(|now| now != Some(epoch)) {
                    let close = axum::extract::ws::CloseFrame { code: SIGNED_OUT, reason: "signed out".into() };
                    let _ = sink.send(Message::Close(Some(close))).await;
                    break;
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() > PING_EVERY * 3 || sink.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
        }
    }
    for (_, task) in subscriptions {
        task.abort();
    }
    metrics::gauge!("parkline_stream_connections").decrement(1.0);
}

/// Writes `first` and whatever else is already queued (up to [`BURST`]), then flushes once: under load a
/// connection pays one syscall per burst instead of one per message.
async fn send_burst(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    first: Arc<Update>,
    queued: &mut mpsc::Receiver<Arc<Update>>,
) -> Result<(), axum::Error> {
    sink.feed(frame(&first)).await?;
    for _ in 1..BURST {
        let Ok(next) = queued.try_recv() else { break };
        sink.feed(frame(&next)).await?;
    }
    sink.flush().await
}

/// An update as a text frame. Its bytes are shared by every subscriber; they are JSON from a `String`,
/// so the UTF-8 check cannot fail.
fn frame(update: &Update) -> Message {
    Message::Text(Utf8Bytes::try_from(update.text.clone()).unwrap_or_default())
}

/// The next notice for this connection's person; never, for other callers.
async fn next_notice(notices: &mut Option<broadcast::Receiver<Arc<Update>>>) -> Option<Arc<Update>> {
    let Some(rx) = notices else { return std::future::pending().await };
    loop {
        match rx.recv().await {
            Ok(update) => return Some(update),
            // Missed some: they are in `GET /v1/me/notices`.
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return std::future::pending().await,
        }
    }
}

/// Why a request was refused, and the facility it named; sent back as an error message.
type Refusal = (ErrorCode, String, Option<String>);

fn error(code: ErrorCode, message: impl Into<String>) -> Refusal {
    (code, message.into(), None)
}

fn request(
    app: &App,
    text: &str,
    person: Option<i64>,
    outbox: &mpsc::Sender<Arc<Update>>,
    subscriptions: &mut HashMap<String, JoinHandle<()>>,
) -> Result<(), Refusal> {
    let req: StreamRequest = serde_json::from_str(text)
        .map_err(|e| error(ErrorCode::MalformedRequest, format!("bad request: {e}")))?;
    match req {
        StreamRequest::Subscribe { facility, since, level, zone, watch, navigating } => {
            let named = |(code, message, _): Refusal| (code, message, Some(facility.clone()));
            let live = app.live.get(&facility).ok_or_else(|| {
                named(error(ErrorCode::UnknownFacility, format!("no facility {facility:?}")))
            })?;
            if !subscriptions.contains_key(&facility) && subscriptions.len() >= MAX_SUBSCRIPTIONS {
                return Err(named(error(
                    ErrorCode::ValidationFailed,
                    format!("at most {MAX_SUBSCRIPTIONS} subscriptions"),
                )));
            }
            if let Some(old) = subscriptions.remove(&facility) {
                old.abort();
            }
            let (app, outbox) = (app.clone(), outbox.clone());
            let filter = Filter { level, zone, watch };
            // A signed-in person watching or driving here hears if it becomes nearly full.
            let coming =
                person.zip(navigating.or(watch)).map(|(user, class)| app.hub.coming(&facility, user, class));
            let task = tokio::spawn(async move {
                let _coming = coming;
                let follow = live.follow(since, app.stale_before());
                forward(&app, &live, follow, &filter, &outbox).await;
            });
            subscriptions.insert(facility, task);
        }
        StreamRequest::Unsubscribe { facility } => {
            if let Some(task) = subscriptions.remove(&facility) {
                task.abort();
            }
        }
    }
    Ok(())
}

/// What a subscription wants to hear about.
#[derive(Debug)]
struct Filter {
    level: Option<i16>,
    zone: Option<String>,
    watch: Option<parkline_domain::VehicleClass>,
}

impl Filter {
    fn passes(&self, live: &crate::live::FacilityLive, message: &StreamMessage) -> bool {
        let StreamMessage::Spot { spot, state, .. } = message else { return true };
        let f = &live.facility;
        let Some(idx) = f.spot_by_code(spot) else { return false };
        let s = f.spot(idx);
        let level_ok = self.level.is_none_or(|l| f.floors[usize::from(s.floor)].level == l);
        let zone_ok = self.zone.as_ref().is_none_or(|z| f.zones[usize::from(s.zone)].code == *z);
        let watch_ok = self.watch.is_none_or(|class| {
            let plain = parkline_domain::Vehicle::new(class, false);
            *state == parkline_domain::SpotState::Free
                && parkline_domain::allocation::eligible(plain, &Default::default(), s.size, s.features)
        });
        level_ok && zone_ok && watch_ok
    }
}

/// Sends a subscription's first messages, then its live updates in order, until the connection ends.
async fn forward(
    app: &App,
    live: &crate::live::FacilityLive,
    mut follow: crate::live::Follow,
    filter: &Filter,
    outbox: &mpsc::Sender<Arc<Update>>,
) {
    loop {
        for message in follow.first.drain(..) {
            if outbox.send(message).await.is_err() {
                return;
            }
        }
        let mut seen = follow.seq;
        loop {
            match follow.live.recv().await {
                Ok(update) => {
                    let Some(seq) = update.message.seq() else { continue };
                    if seq <= seen {
                        continue;
                    }
                    seen = seq;
                    if !filter.passes(live, &update.message) {
                        continue;
                    }
                    if outbox.send(update).await.is_err() {
                        return;
                    }
                }
                // Too slow: start again from a snapshot rather than the backlog.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    metrics::counter!("parkline_stream_lagged_total").increment(1);
                    follow = live.follow(None, app.stale_before());
                    break;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}
