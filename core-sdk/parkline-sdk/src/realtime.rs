//! The live stream, kept up by a background task: it reconnects with exponential backoff and jitter,
//! subscribes again, and resumes each facility from the last sequence number it delivered. The server
//! replays what was missed (or sends a snapshot when the gap is too old); the task drops anything it
//! has delivered already, so consumers see each change once, in order. A refusal that retrying cannot
//! change (no or a revoked token, a caller the stream is not for, a person who signed out, a facility
//! that does not exist) ends it with [`Event::Refused`] instead.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use parkline_protocol::{ErrorCode, StreamMessage};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::client::Client;

/// What a [`Realtime`] consumer receives.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// (Re)connected and subscribed.
    Connected,
    /// The connection dropped, or could not be made; reconnecting.
    Disconnected { reason: String },
    /// The server refused the stream for good; nothing follows. `code` is its stable error code
    /// (`unauthenticated`, `token_expired`, `forbidden`, ...).
    Refused { code: String, reason: String },
    /// A message from the server: a snapshot, a change, a notice.
    Message(StreamMessage),
}

enum Cmd {
    Subscribe(String),
    Unsubscribe(String),
}

/// A live subscription to some facilities. Dropping it stops the stream.
#[derive(Debug)]
pub struct Realtime {
    commands: mpsc::UnboundedSender<Cmd>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cmd::Subscribe(id) => write!(f, "Subscribe({id})"),
            Cmd::Unsubscribe(id) => write!(f, "Unsubscribe({id})"),
        }
    }
}

impl Drop for Realtime {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Realtime {
    /// Starts following `facilities` with the client's server and token.
    pub fn start(client: &Client, facilities: &[String]) -> (Realtime, mpsc::Receiver<Event>) {
        let (tx, rx) = mpsc::channel(1024);
        let (commands, cmd_rx) = mpsc::unbounded_channel();
        let url = client.base_url().replacen("http", "ws", 1) + "/v1/stream";
        let subs = facilities.iter().map(|f| (f.clone(), None)).collect();
        let task = tokio::spawn(run(url, client.clone(), subs, tx, cmd_rx));
        (Realtime { commands, task }, rx)
    }

    pub fn subscribe(&self, facility: &str) {
        let _ = self.commands.send(Cmd::Subscribe(facility.to_owned()));
    }

    pub fn unsubscribe(&self, facility: &str) {
        let _ = self.commands.send(Cmd::Unsubscribe(facility.to_owned()));
    }
}

/// 100 ms doubling to 5 s, times a random 50-100% so clients do not all come back at once.
fn backoff(attempt: u32) -> Duration {
    let ms = (100u64 << attempt.min(6)).min(5_000);
    Duration::from_millis(ms / 2 + rand::random_range(0..=ms / 2))
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn run(
    url: String,
    client: Client,
    mut subs: BTreeMap<String, Option<u64>>,
    out: mpsc::Sender<Event>,
    mut commands: mpsc::UnboundedReceiver<Cmd>,
) {
    let mut attempt = 0;
    loop {
        let ended = match connect(&url, &client).await {
            Ok(mut ws) => {
                attempt = 0;
                let mut ok = true;
                for (facility, since) in &subs {
                    ok &= subscribe(&mut ws, facility, *since).await;
                }
                if ok && out.send(Event::Connected).await.is_err() {
                    return;
                }
                follow(&mut ws, &mut subs, &out, &mut commands).await
            }
            Err(e) => e,
        };
        if out.is_closed() {
            return;
        }
        let reason = match ended {
            Ended::Refused { code, reason } => {
                let _ = out.send(Event::Refused { code, reason }).await;
                return;
            }
            Ended::Dropped(reason) => reason,
        };
        let _ = out.send(Event::Disconnected { reason }).await;
        tokio::time::sleep(backoff(attempt)).await;
        attempt += 1;
    }
}

/// Why a connection ended.
enum Ended {
    /// For good: retrying cannot change the answer.
    Refused { code: String, reason: String },
    /// For now: worth connecting again.
    Dropped(String),
}

impl From<&str> for Ended {
    fn from(reason: &str) -> Ended {
        Ended::Dropped(reason.to_owned())
    }
}

/// The close code with which the server ends a person's stream after they signed out (or were erased).
const SIGNED_OUT: u16 = 4401;

async fn connect(url: &str, client: &Client) -> Result<Ws, Ended> {
    let mut req = url.into_client_request().map_err(|e| Ended::Dropped(e.to_string()))?;
    if let Some(token) = client.token() {
        let refused =
            || Ended::Refused { code: "unauthenticated".into(), reason: "a malformed token".into() };
        let value = format!("Bearer {token}").parse().map_err(|_| refused())?;
        req.headers_mut().insert("authorization", value);
    }
    let connecting = tokio_tungstenite::connect_async(req);
    match tokio::time::timeout(Duration::from_secs(5), connecting).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(answer))) => Err(refusal(&answer)),
        Ok(Err(e)) => Err(Ended::Dropped(e.to_string())),
        Err(_) => Err("timed out connecting".into()),
    }
}

/// What an HTTP answer instead of a WebSocket means: 401 and 403 for good (with the server's code),
/// anything else (a restarting server's 503, a proxy's 502) for now.
fn refusal(answer: &tokio_tungstenite::tungstenite::http::Response<Option<Vec<u8>>>) -> Ended {
    let status = answer.status().as_u16();
    let said = answer.body().as_deref().and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok());
    let said = said.and_then(|e| Some((e["code"].as_str()?.to_owned(), e["message"].as_str()?.to_owned())));
    match (status, said) {
        (401 | 403, Some((code, reason))) => Ended::Refused { code, reason },
        (401, None) => Ended::Refused { code: "unauthenticated".into(), reason: "HTTP 401".into() },
        (403, None) => Ended::Refused { code: "forbidden".into(), reason: "HTTP 403".into() },
        (status, _) => Ended::Dropped(format!("HTTP {status}")),
    }
}

async fn subscribe(ws: &mut Ws, facility: &str, since: Option<u64>) -> bool {
    let req = json!({"type": "subscribe", "facility": facility, "since": since});
    ws.send(Message::Text(req.to_string().into())).await.is_ok()
}

/// Delivers messages until the connection ends; returns why it ended.
async fn follow(
    ws: &mut Ws,
    subs: &mut BTreeMap<String, Option<u64>>,
    out: &mpsc::Sender<Event>,
    commands: &mut mpsc::UnboundedReceiver<Cmd>,
) -> Ended {
    loop {
        tokio::select! {
            message = ws.next() => {
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(Some(frame)))) if u16::from(frame.code) == SIGNED_OUT => {
                        return Ended::Refused { code: "unauthenticated".into(), reason: frame.reason.to_string() };
                    }
                    Some(Ok(Message::Close(_))) | None => return "closed by the server".into(),
                    Some(Err(e)) => return Ended::Dropped(e.to_string()),
                    Some(Ok(_)) => continue,
                };
                let Ok(message) = serde_json::from_str::<StreamMessage>(&text) else { continue };
                // A facility asked for that does not exist will not exist on a retry either.
                if let StreamMessage::Error { code: ErrorCode::UnknownFacility, message, facility: Some(f) } = &message
                    && subs.contains_key(f)
                {
                    return Ended::Refused { code: "unknown_facility".into(), reason: message.clone() };
                }
                if let Some(deliver) = sequence(subs, message, ws).await
                    && out.send(Event::Message(deliver)).await.is_err()
                {
                    return "consumer gone".into();
                }
            }
            command = commands.recv() => match command {
                Some(Cmd::Subscribe(f)) => {
                    let since = *subs.entry(f.clone()).or_insert(None);
                    if !subscribe(ws, &f, since).await {
                        return "send failed".into();
                    }
                }
                Some(Cmd::Unsubscribe(f)) => {
                    subs.remove(&f);
                    let req = json!({"type": "unsubscribe", "facility": f});
                    if ws.send(Message::Text(req.to_string().into())).await.is_err() {
                        return "send failed".into();
                    }
                }
                None => return "stopped".into(),
            },
        }
    }
}

/// Whether to deliver a message, keeping each facility's last sequence: snapshots reset it, repeats
/// are dropped, and a gap (which the server should never leave) asks for a replay from the last one.
async fn sequence(
    subs: &mut BTreeMap<String, Option<u64>>,
    message: StreamMessage,
    ws: &mut Ws,
) -> Option<StreamMessage> {
    let (facility, seq, snapshot) = match &message {
        StreamMessage::Snapshot { facility, seq, .. } => (facility, *seq, true),
        StreamMessage::Spot { facility, seq, .. } | StreamMessage::SensorSilent { facility, seq, .. } => {
            (facility, *seq, false)
        }
        StreamMessage::Notice { .. } | StreamMessage::Error { .. } => return Some(message),
    };
    let last = subs.get_mut(facility)?;
    match *last {
        _ if snapshot => {}
        Some(seen) if seq <= seen => return None,
        Some(seen) if seq > seen + 1 => {
            let facility = facility.clone();
            subscribe(ws, &facility, Some(seen)).await;
            return None;
        }
        _ => {}
    }
    *last = Some(seq);
    Some(message)
}
