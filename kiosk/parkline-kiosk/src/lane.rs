//! The lane engine. Frames become plate reads, reads of one vehicle become a passage (the LPR tracker
//! fuses them), a passage becomes a gate event. The server decides when it answers within the deadline;
//! otherwise the kiosk decides from what it knows ([`Book`]), opens, and queues the passage in the SDK's
//! outbox, which replays it exactly once (same event id) when the server is back. What the lane shows
//! is a [`LaneView`] on a watch channel: the attendant UI and the headless mode both read it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use parkline_domain::passage::{PlateTracker, Read};
use parkline_domain::plate::Plate;
use parkline_domain::{Direction, Money};
use parkline_lpr::PlateRecognizer;
use parkline_protocol::{
    DecisionReason, GateCommand, GateDecision, GateEvent, LanePassage, OverrideAction, OverrideRequest,
    PlateRead, TicketView,
};
use parkline_sdk::{Client, Command, Outcome};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use crate::book::{Book, Stay};
use crate::camera::{Camera, Frame};
use crate::gate::{GateController, GateStatus};
use crate::printer::{self, Ticket};
use crate::scene::Scene;

/// A read this confident decides at once; a weaker one waits [`SETTLE`] for more frames of the vehicle
/// (deciding on each would let one vehicle in twice under two readings).
const DECIDE_AT: f64 = 0.5;
/// How long a passage collects frames after its first when no read is confident (cameras send a burst
/// of frames per trigger within a few hundred milliseconds).
const SETTLE: Duration = Duration::from_millis(400);
/// After the server failed to answer, lanes decide on their own for this long before asking again (the
/// upkeep task keeps probing meanwhile), so no driver waits for a dead link.
const ASSUME_OFFLINE: Duration = Duration::from_secs(10);
/// While a vehicle waits at an exit to pay (in the app, say), the lane asks again this often.
const RECHECK: Duration = Duration::from_secs(3);
/// Passages kept on screen.
const RECENT: usize = 12;

/// Something that happens at a lane.
#[derive(Debug)]
pub enum Input {
    Frame(Frame),
    /// A plate read by a camera that reads plates itself.
    Plate(PlateRead),
    /// The attendant typed the plate or the ticket (or neither: issue a ticket without a plate).
    Manual {
        plate: Option<String>,
        ticket: Option<String>,
    },
    /// Money for the waiting vehicle taken at the lane (cash, card terminal), in minor units.
    PaidAtLane {
        amount_minor: i64,
    },
    /// The attendant lifts the barrier, with their name and a reason; recorded on the server.
    Override {
        reason: String,
        attendant: String,
    },
    /// Ask the server again about the waiting vehicle.
    Retry,
}

/// Whether a part of the lane works.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Health {
    pub camera: Option<String>,
    pub gate: Option<String>,
    pub printer: Option<String>,
    pub server_online: bool,
    /// Passages waiting in the outbox for the server.
    pub queued: usize,
}

/// The current plate read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadView {
    pub plate: String,
    pub confidence: f64,
    pub alternatives: Vec<String>,
}

/// What the lane decided for the current vehicle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionView {
    pub command: GateCommand,
    pub reason: DecisionReason,
    pub display: String,
    pub offline: bool,
    pub ticket: Option<TicketView>,
    pub spot: Option<String>,
    pub amount_due: Option<Money>,
}

/// One vehicle through (or turned away at) the lane.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassageView {
    pub at: Timestamp,
    pub plate: Option<String>,
    pub reason: DecisionReason,
    pub opened: bool,
    pub offline: bool,
    /// From the frame's arrival to the gate's open command.
    pub latency_ms: Option<f64>,
}

/// Everything the attendant sees of a lane.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LaneView {
    pub gate: String,
    pub direction: Option<Direction>,
    /// The latest frame, encoded as the camera sent it.
    #[serde(skip)]
    pub frame: Option<Arc<Vec<u8>>>,
    pub read: Option<ReadView>,
    pub decision: Option<DecisionView>,
    pub gate_status: Option<GateStatus>,
    /// The last entry was turned away: no space.
    pub full: bool,
    /// A vehicle is at the lane and no plate could be read: the attendant types it or issues a ticket.
    pub unreadable: bool,
    pub passages: VecDeque<PassageView>,
    /// Frames and passages since the lane started.
    pub frames_total: u64,
    pub passages_total: u64,
    pub health: Health,
    /// Offline decisions the server saw differently once they were replayed.
    pub conflicts: Vec<String>,
    /// The last request the server refused, for the attendant.
    pub error: Option<String>,
}

/// What the lanes of one kiosk share: the SDK client (its cache holds the outbox), what is known for
/// offline decisions, and the plate reader.
#[derive(Debug)]
pub struct Kiosk {
    pub client: Client,
    pub facility: String,
    book: Mutex<Book>,
    reader: Option<Arc<PlateRecognizer>>,
    deadline: Duration,
    /// When the server last failed to answer.
    offline_since: Mutex<Option<Instant>>,
    /// One replay at a time, and decisions wait for it: the server sees passages in the order they were.
    sync: tokio::sync::Mutex<()>,
    queued: AtomicUsize,
    conflicts: Mutex<Vec<String>>,
    /// Bumped when something every lane shows changes (link, queue, conflicts).
    shared: watch::Sender<u64>,
    /// The traces of the vehicles this kiosk let in, so each one's exit continues its entry's trace.
    journeys: parkline_telemetry::Journeys,
}

impl Kiosk {
    /// `client` must have a cache (the outbox lives in it) and the kiosk's device token.
    pub fn new(
        client: Client,
        facility: &str,
        reader: Option<Arc<PlateRecognizer>>,
        deadline: Duration,
    ) -> Arc<Kiosk> {
        let queued = client.pending().map(|p| p.len()).unwrap_or(0);
        // Each request carries the lane's trace context, so the server's spans join its passage.
        client.set_headers_hook(Some(Arc::new(parkline_telemetry::outgoing)));
        Arc::new(Kiosk {
            client,
            facility: facility.to_owned(),
            book: Mutex::new(Book::default()),
            reader,
            deadline,
            offline_since: Mutex::new(None),
            sync: tokio::sync::Mutex::new(()),
            queued: AtomicUsize::new(queued),
            conflicts: Mutex::new(Vec::new()),
            shared: watch::channel(0).0,
            journeys: Default::default(),
        })
    }

    pub fn online(&self) -> bool {
        self.offline_since.lock().unwrap_or_else(|p| p.into_inner()).is_none()
    }

    fn set_online(&self, online: bool) {
        let mut since = self.offline_since.lock().unwrap_or_else(|p| p.into_inner());
        let changed = since.is_none() != online;
        // Offline counts from the latest failure: lanes ask again only a while after it.
        *since = (!online).then(Instant::now);
        drop(since);
        if changed {
            self.shared.send_modify(|v| *v += 1);
        }
    }

    fn worth_asking(&self) -> bool {
        self.offline_since
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none_or(|since| since.elapsed() > ASSUME_OFFLINE)
    }

    /// Passages waiting for the server.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    pub fn conflicts(&self) -> Vec<String> {
        self.conflicts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What a lane of this kiosk would decide on its own now, from what it last heard from the server.
    pub fn offline_verdict(
        &self,
        direction: Direction,
        event: &GateEvent,
        now: Timestamp,
    ) -> parkline_domain::gate::Verdict {
        self.book().verdict(direction, event, now).0
    }

    /// Takes the server's list of stays, its rate plan and time zone, for deciding offline.
    pub async fn refresh(&self) -> Result<(), parkline_sdk::Error> {
        let sessions = self.client.sessions(&self.facility, false).await?;
        self.book().refresh(&sessions, Timestamp::now());
        let plan = self.client.rates(&self.facility).await?;
        let facilities = self.client.facilities().await?;
        if let Some(tz) = facilities
            .value
            .iter()
            .find(|f| f.id == self.facility)
            .and_then(|f| jiff::tz::TimeZone::get(&f.time_zone).ok())
        {
            self.book().set_pricing(plan, tz);
        }
        Ok(())
    }

    /// Replays queued passages, in order. Decisions the server saw differently are kept as conflicts.
    pub async fn sync(&self) -> Result<usize, parkline_sdk::Error> {
        let _one = self.sync.lock().await;
        let outcomes = self.client.sync().await;
        let pending = self.client.pending().map(|p| p.len()).unwrap_or(0);
        self.queued.store(pending, Ordering::SeqCst);
        let outcomes = match outcomes {
            Ok(o) => o,
            Err(e) => {
                self.shared.send_modify(|v| *v += 1);
                return Err(e);
            }
        };
        // Stopped short of the end: the server is out of reach. Delivered something: it is back. An empty
        // outbox says nothing about the link (the upkeep's refresh does).
        if pending > 0 {
            self.set_online(false);
        } else if !outcomes.is_empty() {
            self.set_online(true);
        }
        let mut conflicts = Vec::new();
        for outcome in &outcomes {
            match outcome {
                Outcome::Applied { command: Command::GateEvent { gate, event }, answer, .. } => {
                    let decision: Option<GateDecision> = serde_json::from_value(answer.clone()).ok();
                    if let Some(d) = decision.filter(|d| d.command == GateCommand::Deny) {
                        conflicts.push(format!(
                            "{gate}: the server refused a passage the lane let through ({:?}): {}",
                            d.reason, event.event_id
                        ));
                    }
                }
                Outcome::Rejected { command, message, .. } => {
                    conflicts.push(format!("{}: refused by the server: {message}", command.key()));
                }
                _ => {}
            }
        }
        if !conflicts.is_empty() {
            self.conflicts.lock().unwrap_or_else(|p| p.into_inner()).extend(conflicts);
        }
        self.shared.send_modify(|v| *v += 1);
        Ok(outcomes.len())
    }

    /// Keeps the outbox flowing and the book fresh, for as long as the kiosk runs.
    pub fn spawn_upkeep(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let kiosk = self.clone();
        tokio::spawn(async move {
            let mut refreshed: Option<Instant> = None;
            loop {
                let synced = kiosk.sync().await.is_ok() && kiosk.queued() == 0;
                if synced && refreshed.is_none_or(|r| r.elapsed() > Duration::from_secs(10)) {
                    match kiosk.refresh().await {
                        Ok(()) => {
                            refreshed = Some(Instant::now());
                            kiosk.set_online(true);
                        }
                        Err(e) if e.is_transient() => kiosk.set_online(false),
                        Err(e) => tracing::warn!("refreshing the kiosk's book: {e}"),
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    }

    /// Starts a lane.
    pub fn lane(
        self: &Arc<Self>,
        gate: &str,
        direction: Direction,
        controller: Arc<dyn GateController>,
        printer: Option<String>,
    ) -> LaneHandle {
        let (tx, rx) = mpsc::channel(64);
        let view = LaneView { gate: gate.to_owned(), direction: Some(direction), ..LaneView::default() };
        let (view_tx, view_rx) = watch::channel(view);
        let lane = Lane {
            kiosk: self.clone(),
            gate: gate.to_owned(),
            direction,
            controller,
            printer,
            tracker: PlateTracker::default(),
            view: view_tx,
            passage: None,
            waiting: None,
            scene: None,
        };
        tokio::spawn(lane.run(rx));
        LaneHandle { gate: gate.to_owned(), tx, view: view_rx }
    }
}

/// A running lane: send it inputs, watch what it shows.
#[derive(Debug, Clone)]
pub struct LaneHandle {
    pub gate: String,
    pub tx: mpsc::Sender<Input>,
    pub view: watch::Receiver<LaneView>,
}

impl LaneHandle {
    pub async fn send(&self, input: Input) {
        let _ = self.tx.send(input).await;
    }

    /// Feeds the lane from a camera until the lane stops; camera failures show in the lane's health.
    pub fn attach(&self, mut camera: Box<dyn Camera>) -> tokio::task::JoinHandle<()> {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            loop {
                match camera.next().await {
                    Ok(frame) => {
                        if tx.send(Input::Frame(frame)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!("{e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        })
    }
}

/// A vehicle being read: when its first frame arrived and where the image is.
#[derive(Debug, Clone)]
struct Passage {
    arrived: Instant,
    image: Option<String>,
    settle_by: Instant,
    frames: u32,
    /// The passage's trace: its reads, the server's decision, the barrier.
    span: tracing::Span,
}

/// A vehicle at an exit that must pay first (or at an entry the server refused).
#[derive(Debug, Clone)]
struct Waiting {
    plate: Option<PlateRead>,
    ticket: Option<String>,
    /// The stay the server found for it, if it found one.
    session: Option<String>,
    next_check: Instant,
    /// Its passage's trace, which asking again (after paying at the lane, say) continues.
    span: tracing::Span,
}

struct Lane {
    kiosk: Arc<Kiosk>,
    gate: String,
    direction: Direction,
    controller: Arc<dyn GateController>,
    printer: Option<String>,
    tracker: PlateTracker,
    view: watch::Sender<LaneView>,
    passage: Option<Passage>,
    waiting: Option<Waiting>,
    /// The last frame seen, for cameras that stream continuously.
    scene: Option<Scene>,
}

impl Lane {
    async fn run(mut self, mut rx: mpsc::Receiver<Input>) {
        let mut shared = self.kiosk.shared.subscribe();
        let status = self.controller.status().await;
        self.view.send_modify(|v| match status {
            Ok(s) => v.gate_status = Some(s),
            Err(e) => v.health.gate = Some(e.to_string()),
        });
        self.show_health();
        loop {
            let wake =
                [self.passage.as_ref().map(|p| p.settle_by), self.waiting.as_ref().map(|w| w.next_check)]
                    .into_iter()
                    .flatten()
                    .min();
            let sleep = tokio::time::sleep_until(
                wake.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600)).into(),
            );
            tokio::select! {
                input = rx.recv() => match input {
                    Some(input) => self.handle(input).await,
                    None => return,
                },
                _ = sleep => {
                    if self.passage.as_ref().is_some_and(|p| Instant::now() >= p.settle_by) {
                        self.finish_passage().await;
                    }
                    if self.waiting.as_ref().is_some_and(|w| Instant::now() >= w.next_check) {
                        self.recheck(None).await;
                    }
                }
                _ = shared.changed() => self.show_health(),
            }
        }
    }

    async fn handle(&mut self, input: Input) {
        match input {
            Input::Frame(frame) => self.frame(frame).await,
            Input::Plate(read) => {
                let now = Instant::now();
                let span = self.passage_span();
                let passage =
                    Passage { arrived: now, image: read.image_ref.clone(), settle_by: now, frames: 1, span };
                self.observe(&read.text, read.confidence);
                self.passage = Some(passage);
                self.finish_passage().await;
            }
            Input::Manual { plate, ticket } => {
                let read = plate.map(|text| PlateRead {
                    text,
                    confidence: 1.0,
                    alternatives: vec![],
                    image_ref: None,
                });
                self.passage = None;
                self.tracker = PlateTracker::default();
                let event = GateEvent { ticket, ..self.event(read) };
                let span = self.passage_span();
                self.decide(event, Instant::now()).instrument(span).await;
            }
            Input::PaidAtLane { amount_minor } => self.recheck(Some(amount_minor)).await,
            Input::Retry => self.recheck(None).await,
            Input::Override { reason, attendant } => self.override_gate(reason, attendant).await,
        }
    }

    /// A new passage's span: the root of its trace, which the server's spans join.
    fn passage_span(&self) -> tracing::Span {
        tracing::info_span!(parent: None, "lane.passage", gate = %self.gate, direction = ?self.direction)
    }

    fn event(&self, plate: Option<PlateRead>) -> GateEvent {
        GateEvent { event_id: Client::new_key(), plate, ..GateEvent::default() }
    }

    async fn frame(&mut self, frame: Frame) {
        let bytes = Arc::new(frame.bytes);
        self.view.send_modify(|v| {
            v.frame = Some(bytes.clone());
            v.frames_total += 1;
            v.unreadable = false;
            v.health.camera = None;
        });
        let Some(reader) = self.kiosk.reader.clone() else {
            self.view.send_modify(|v| {
                v.unreadable = true;
                v.health.camera = Some("no plate reader: run tools/fetch-lpr-models".into());
            });
            return;
        };
        // A camera streaming continuously: read a frame only when the scene changed, a vehicle is on
        // the loop, or a passage is being read (cameras triggered per vehicle: every frame).
        let continuous = frame.per_vehicle.is_none();
        let busy =
            self.passage.is_some() || self.view.borrow().gate_status.is_some_and(|s| s.vehicle_on_loop);
        let last = self.scene.take();
        // A frame of a vehicle belongs to its passage's trace from the first read on.
        let span = match &self.passage {
            Some(p) => p.span.clone(),
            None if !continuous || busy => self.passage_span(),
            None => tracing::Span::none(),
        };
        let parent = span.clone();
        let read = tokio::task::spawn_blocking(move || {
            let image = parkline_lpr::decode(&bytes)?;
            let scene = Scene::of(&image);
            let worth = !continuous || busy || last.as_ref().is_none_or(|l| l.differs(&scene));
            let read =
                |image| tracing::info_span!(parent: &parent, "lane.read").in_scope(|| reader.read(image));
            let reading = if worth { Some(read(&image)?) } else { None };
            Ok::<_, parkline_lpr::Error>((scene, reading))
        })
        .await;
        // The frame belongs to a passage even when it cannot be read (a corrupt upload).
        let read = match read {
            Ok(Ok((scene, reading))) => {
                self.scene = Some(scene);
                match reading {
                    Some(reading) => Ok(reading),
                    None => return,
                }
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let passage = self.passage.get_or_insert(Passage {
            arrived: frame.arrived,
            image: Some(frame.source.clone()),
            settle_by: frame.arrived + SETTLE,
            frames: 0,
            span,
        });
        passage.image.get_or_insert(frame.source);
        passage.frames += 1;
        // The camera's last frame of this vehicle: nothing more to wait for.
        let last_frame = frame.per_vehicle.is_some_and(|n| passage.frames >= n);
        match read {
            Ok(reading) => {
                let alternatives: Vec<String> =
                    reading.candidates.iter().skip(1).map(|c| c.text.clone()).collect();
                if let Some(best) = reading.candidates.first() {
                    let confidence = f64::from(best.confidence);
                    self.observe(&best.text, confidence);
                    self.view.send_modify(|v| {
                        v.read = Some(ReadView { plate: best.text.clone(), confidence, alternatives });
                        v.unreadable = false;
                    });
                    if confidence >= DECIDE_AT {
                        self.finish_passage().await;
                        return;
                    }
                }
                if last_frame {
                    self.finish_passage().await;
                }
            }
            Err(e) => self.view.send_modify(|v| v.health.camera = Some(e)),
        }
    }

    fn observe(&mut self, text: &str, confidence: f64) {
        if let Ok(plate) = Plate::parse(text) {
            self.tracker.observe(Read {
                plate,
                confidence: confidence.clamp(0.0, 1.0),
                at: Timestamp::now(),
            });
        }
    }

    /// The vehicle's frames are in: decide on the fused plate, or ask the attendant when none was read.
    async fn finish_passage(&mut self) {
        let Some(passage) = self.passage.take() else { return };
        let read_any = self.tracker.pending() > 0;
        match self.tracker.finish(Timestamp::now()) {
            Some(fused) => {
                let read = PlateRead {
                    text: fused.plate.as_str().to_owned(),
                    confidence: fused.confidence.clamp(0.0, 1.0),
                    alternatives: fused.alternatives.iter().map(|p| p.as_str().to_owned()).collect(),
                    image_ref: passage.image,
                };
                // A vehicle this kiosk let in: its exit continues the trace of its entry.
                let journey = match self.direction {
                    Direction::Exit => self.kiosk.journeys.take(&[read.text.as_str()]),
                    Direction::Entry => None,
                };
                let resumed = journey.map(|journey| {
                    let exit = tracing::info_span!(parent: None, "lane.exit", gate = %self.gate);
                    journey.adopt(&exit, &passage.span);
                    exit
                });
                let event = self.event(Some(read));
                self.decide(event, passage.arrived).instrument(resumed.unwrap_or(passage.span)).await;
            }
            // The vehicle just let through, still in view.
            None if read_any => {}
            None => self.view.send_modify(|v| v.unreadable = true),
        }
    }

    /// Asks the server (within the deadline) or decides locally; then acts on the decision.
    async fn decide(&mut self, event: GateEvent, arrived: Instant) {
        let online = if self.kiosk.worth_asking() {
            let ask = async {
                // Passages queued earlier reach the server first.
                if self.kiosk.queued() > 0 {
                    self.kiosk.sync().await?;
                }
                self.kiosk.client.gate_event(&self.gate, &event).await
            };
            let ask = ask.instrument(tracing::info_span!("lane.ask_server", event = %event.event_id));
            match tokio::time::timeout(self.kiosk.deadline, ask).await {
                Ok(Ok(decision)) => {
                    self.kiosk.set_online(true);
                    Some(decision)
                }
                Ok(Err(e)) if !e.is_transient() => {
                    let message = e.to_string();
                    self.view.send_modify(|v| v.error = Some(message));
                    return;
                }
                _ => {
                    self.kiosk.set_online(false);
                    None
                }
            }
        } else {
            None
        };
        let (decision, offline) = match online {
            Some(d) => (d, false),
            None => match self.decide_locally(&event) {
                Some(d) => (d, true),
                None => return,
            },
        };
        if self.direction == Direction::Entry && decision.command == GateCommand::Open {
            let plate = event.plate.as_ref().map(|p| p.text.as_str());
            let ticket = decision.ticket.as_ref().map(|t| t.id.as_str());
            let keys: Vec<&str> = plate.into_iter().chain(ticket).collect();
            self.kiosk.journeys.remember(&keys);
        }
        let barrier = tracing::info_span!("lane.act", command = ?decision.command, offline);
        self.act(&event, decision, offline, arrived).instrument(barrier).await;
    }

    /// The lane's own decision, by the server's rules as far as the kiosk knows them. A passage that
    /// opens the gate is queued for the server; a refusal changes nothing.
    fn decide_locally(&mut self, event: &GateEvent) -> Option<GateDecision> {
        let now = Timestamp::now();
        let plate = event.plate.as_ref().and_then(|r| Plate::parse(&r.text).ok());
        let (verdict, found) = self.kiosk.book().verdict(self.direction, event, now);
        let mut decision = GateDecision {
            event_id: event.event_id.clone(),
            gate: self.gate.clone(),
            command: verdict.command,
            reason: verdict.reason,
            display: verdict.display,
            session: None,
            ticket: None,
            spot: None,
            amount_due: verdict.amount_due,
        };
        if decision.command == GateCommand::Deny {
            return Some(decision);
        }
        let mut passage = LanePassage { at: now, ticket: None };
        match self.direction {
            Direction::Entry => {
                let ticket = local_ticket();
                self.kiosk.book().admit(Stay {
                    ticket: ticket.clone(),
                    plate,
                    entered_at: now,
                    class: event.vehicle_class.unwrap_or(parkline_domain::VehicleClass::Sedan),
                    permit: false,
                    paid_minor: 0,
                    local: true,
                });
                decision.ticket = Some(TicketView {
                    id: ticket.clone(),
                    qr: format!("PARKLINE1:{}:{ticket}", self.kiosk.facility),
                });
                passage.ticket = Some(ticket);
            }
            Direction::Exit => {
                if let Some(ticket) = found {
                    self.kiosk.book().release(&ticket);
                }
            }
        }
        let mut queued = event.clone();
        queued.offline = Some(passage);
        if let Err(e) = self.kiosk.client.queue(Command::GateEvent { gate: self.gate.clone(), event: queued })
        {
            // Without a durable record the lane must not open on its own.
            let message = format!("cannot record the passage: {e}");
            self.view.send_modify(|v| v.error = Some(message));
            return None;
        }
        self.kiosk.queued.fetch_add(1, Ordering::SeqCst);
        Some(decision)
    }

    async fn act(&mut self, event: &GateEvent, decision: GateDecision, offline: bool, arrived: Instant) {
        let opened = decision.command == GateCommand::Open;
        let mut latency = None;
        // The barrier first (a relay pulse takes a while); the screen and the ticket meanwhile.
        let opening = opened.then(|| {
            latency = Some(arrived.elapsed().as_secs_f64() * 1000.0);
            let controller = self.controller.clone();
            tokio::spawn(async move { controller.open().await })
        });
        self.waiting = match decision.reason {
            DecisionReason::PaymentRequired | DecisionReason::LostTicket | DecisionReason::AmbiguousPlate
                if !opened =>
            {
                Some(Waiting {
                    plate: event.plate.clone(),
                    ticket: event.ticket.clone(),
                    session: decision.session.clone(),
                    next_check: Instant::now() + RECHECK,
                    span: tracing::Span::current(),
                })
            }
            _ => None,
        };
        let mut printer_error = None;
        if let (true, Some(ticket)) = (opened && self.direction == Direction::Entry, &decision.ticket)
            && let Some(address) = &self.printer
        {
            let printed = Ticket {
                facility: self.kiosk.facility.clone(),
                ticket: ticket.id.clone(),
                qr: ticket.qr.clone(),
                entered: Timestamp::now().strftime("%Y-%m-%d %H:%M UTC").to_string(),
                spot: decision.spot.as_ref().map(|s| s.code.clone()),
                offline,
            };
            if let Err(e) = printer::print(address, &printed).await {
                printer_error = Some(e.to_string());
            }
        }
        let passage = PassageView {
            at: Timestamp::now(),
            plate: event.plate.as_ref().map(|p| p.text.clone()),
            reason: decision.reason,
            opened,
            offline,
            latency_ms: latency,
        };
        let view = DecisionView {
            command: decision.command,
            reason: decision.reason,
            display: decision.display.clone(),
            offline,
            ticket: decision.ticket.clone(),
            spot: decision.spot.as_ref().map(|s| s.code.clone()),
            amount_due: decision.amount_due,
        };
        self.view.send_modify(|v| {
            v.decision = Some(view);
            v.error = None;
            v.unreadable = false;
            if self.printer.is_some() {
                v.health.printer = printer_error;
            }
            if self.direction == Direction::Entry {
                v.full = decision.reason == DecisionReason::Full;
            }
            v.passages.push_front(passage);
            v.passages.truncate(RECENT);
            v.passages_total += 1;
        });
        let gate_error = match opening {
            Some(task) => match task.await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(e) => Some(e.to_string()),
            },
            None => None,
        };
        let gate_status = self.controller.status().await.ok();
        self.view.send_modify(|v| {
            v.health.gate = gate_error;
            v.gate_status = gate_status;
        });
        self.show_health();
    }

    /// Asks again about the waiting vehicle, with money taken at the lane if any.
    async fn recheck(&mut self, paid_at_gate: Option<i64>) {
        let Some(waiting) = self.waiting.take() else { return };
        let event = GateEvent {
            ticket: waiting.ticket.clone(),
            paid_at_gate: paid_at_gate.or(Some(0)),
            ..self.event(waiting.plate.clone())
        };
        // Still refused: `act` keeps the vehicle waiting and schedules the next check.
        self.decide(event, Instant::now()).instrument(waiting.span).await;
    }

    /// The attendant lifts the barrier with their name and a reason. The server records it (with the
    /// waiting stay, if the lane knows its ticket); offline, the waiting vehicle's passage is queued as
    /// let out (the server then records what it owes).
    async fn override_gate(&mut self, reason: String, attendant: String) {
        let request = OverrideRequest {
            action: OverrideAction::OpenGate,
            reason: reason.clone(),
            session: self.waiting.as_ref().and_then(|w| w.session.clone().or_else(|| w.ticket.clone())),
            plate: None,
            attendant: Some(attendant.clone()),
        };
        let online =
            tokio::time::timeout(self.kiosk.deadline, self.kiosk.client.override_gate(&self.gate, &request))
                .await;
        let offline = !matches!(online, Ok(Ok(_)));
        if let Ok(Err(e)) = &online
            && !e.is_transient()
        {
            let message = e.to_string();
            self.view.send_modify(|v| v.error = Some(message));
            return;
        }
        if offline {
            self.kiosk.set_online(false);
            if let Some(w) = self.waiting.take() {
                let event = GateEvent {
                    ticket: w.ticket,
                    offline: Some(LanePassage { at: Timestamp::now(), ticket: None }),
                    ..self.event(w.plate)
                };
                if self.kiosk.client.queue(Command::GateEvent { gate: self.gate.clone(), event }).is_ok() {
                    self.kiosk.queued.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        self.waiting = None;
        let opened = self.controller.open().await;
        let status = self.controller.status().await.ok();
        self.view.send_modify(|v| {
            v.decision = Some(DecisionView {
                command: GateCommand::Open,
                reason: DecisionReason::Paid,
                display: format!("Opened by {attendant}: {reason}"),
                offline,
                ticket: None,
                spot: None,
                amount_due: None,
            });
            v.health.gate = opened.err().map(|e| e.to_string());
            v.gate_status = status;
        });
        self.show_health();
    }

    fn show_health(&self) {
        let (online, queued, conflicts) = (self.kiosk.online(), self.kiosk.queued(), self.kiosk.conflicts());
        self.view.send_if_modified(|v| {
            let before = (v.health.server_online, v.health.queued, v.conflicts.len());
            v.health.server_online = online;
            v.health.queued = queued;
            v.conflicts = conflicts;
            before != (online, queued, v.conflicts.len())
        });
    }
}

/// A ticket code for a vehicle let in offline: like the server's (no look-alike characters), with an
/// `L` in front so staff can tell where it came from.
fn local_ticket() -> String {
    const ALPHABET: &[u8] = b"ACDEFGHJKLMNPQRTUVWXY34679";
    let code: String = (0..10).map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char).collect();
    format!("L{code}")
}
