//! The attendant window (Dioxus desktop): one panel per lane with the latest camera frame, the read and
//! its alternatives, the decision as the driver sees it, the barrier, the amount due, recent passages,
//! and the health of camera, barrier, printer, server link and offline queue. The attendant can type a
//! plate or ticket, issue a ticket, take a payment or open the barrier with a reason.

use base64::Engine;
use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
use dioxus::prelude::*;
use parkline_protocol::GateCommand;

use crate::lane::{Input, LaneHandle, LaneView};

const CSS: &str = include_str!("ui.css");

/// The lanes the window shows (compared by gate: a lane is the same lane for its whole life).
#[derive(Debug, Clone)]
struct Lane(LaneHandle);

impl PartialEq for Lane {
    fn eq(&self, other: &Lane) -> bool {
        self.0.gate == other.0.gate
    }
}

#[derive(Debug, Clone)]
struct Lanes(Vec<LaneHandle>);

/// Opens the window; returns when it closes.
pub fn launch(running: crate::Running) {
    let window = WindowBuilder::new()
        .with_title("Parkline kiosk")
        .with_inner_size(LogicalSize::new(1280.0, 800.0))
        .with_maximized(true);
    let config = Config::new().with_window(window).with_menu(None).with_disable_context_menu(true);
    dioxus::LaunchBuilder::desktop().with_cfg(config).with_context(Lanes(running.lanes)).launch(app);
}

fn app() -> Element {
    let lanes = use_context::<Lanes>();
    rsx! {
        style { {CSS} }
        main { class: "lanes",
            for lane in lanes.0.iter() {
                LanePanel { key: "{lane.gate}", lane: Lane(lane.clone()) }
            }
        }
    }
}

#[component]
fn LanePanel(lane: Lane) -> Element {
    let handle = lane.0.clone();
    let mut view = use_signal(|| handle.view.borrow().clone());
    let rx = handle.view.clone();
    use_future(move || {
        let mut rx = rx.clone();
        async move {
            while rx.changed().await.is_ok() {
                let latest = rx.borrow_and_update().clone();
                view.set(latest);
            }
        }
    });
    let mut typed = use_signal(String::new);
    let mut attendant = use_signal(String::new);
    let send = move |input: Input| {
        let handle = handle.clone();
        spawn(async move { handle.send(input).await });
    };
    let (s1, s2, s3, s4) = (send.clone(), send.clone(), send.clone(), send);
    let v = view.read().clone();
    rsx! {
        section { class: "lane",
            {lane_view(&v)}
            div { class: "actions",
                input {
                    placeholder: "Plate or ticket",
                    value: "{typed}",
                    oninput: move |e| typed.set(e.value().to_uppercase()),
                }
                button {
                    onclick: move |_| {
                        let text = typed.take();
                        let ticket = text.starts_with('L') && text.len() == 11;
                        s1(if ticket { Input::Manual { plate: None, ticket: Some(text) } } else { Input::Manual { plate: Some(text), ticket: None } });
                    },
                    "Use this plate / ticket"
                }
                button { onclick: move |_| s2(Input::Manual { plate: None, ticket: None }), "Issue ticket" }
                if let Some(due) = v.decision.as_ref().and_then(|d| d.amount_due).filter(|_| v.decision.as_ref().is_some_and(|d| d.command == GateCommand::Deny)) {
                    button { class: "pay", onclick: move |_| s3(Input::PaidAtLane { amount_minor: due.minor }), "Paid {due} at the lane" }
                }
                input {
                    placeholder: "Your name",
                    value: "{attendant}",
                    oninput: move |e| attendant.set(e.value()),
                }
                button {
                    class: "override",
                    disabled: attendant.read().trim().is_empty(),
                    onclick: move |_| {
                        let reason = typed.take();
                        let reason = if reason.trim().is_empty() { "opened by the attendant".to_owned() } else { reason };
                        s4(Input::Override { reason, attendant: attendant.read().trim().to_owned() });
                    },
                    "Open barrier (reason)"
                }
            }
        }
    }
}

/// A lane as the attendant sees it: a pure function of its view, so it renders the same headless.
pub fn lane_view(v: &LaneView) -> Element {
    let direction = match v.direction {
        Some(parkline_domain::Direction::Entry) => "ENTRY",
        Some(parkline_domain::Direction::Exit) => "EXIT",
        None => "",
    };
    let frame = v.frame.as_ref().map(|bytes| {
        let kind = if bytes.starts_with(&[0x89, b'P', b'N', b'G']) { "png" } else { "jpeg" };
        format!(
            "data:image/{kind};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes.as_slice())
        )
    });
    let (banner_class, banner) = match &v.decision {
        Some(d) if d.command == GateCommand::Open && d.offline => ("banner offline", d.display.clone()),
        Some(d) if d.command == GateCommand::Open => ("banner open", d.display.clone()),
        Some(d) => ("banner deny", d.display.clone()),
        None => ("banner idle", "Waiting for a vehicle".to_owned()),
    };
    let gate_state = match v.gate_status {
        Some(s) if s.vehicle_on_loop => "vehicle on loop",
        Some(s) if s.closed => "barrier down",
        Some(_) => "barrier up",
        None => "barrier ?",
    };
    let h = &v.health;
    let ok = |problem: &Option<String>| if problem.is_none() { "ok" } else { "bad" };
    rsx! {
        header {
            h1 { "{v.gate}" }
            span { class: "direction", "{direction}" }
            if v.full { span { class: "full", "FULL" } }
            if !h.server_online { span { class: "offline-badge", "OFFLINE — deciding locally" } }
        }
        div { class: "camera",
            if let Some(src) = frame { img { src: "{src}", alt: "latest camera frame" } } else { div { class: "no-frame", "No frame yet" } }
        }
        div { class: "read",
            if let Some(r) = &v.read {
                span { class: "plate", "{r.plate}" }
                span { class: "confidence", {format!("{:.0}%", r.confidence * 100.0)} }
                if !r.alternatives.is_empty() { span { class: "alternatives", "also: {r.alternatives.join(\", \")}" } }
            } else {
                span { class: "plate none", "—" }
            }
            if v.unreadable { span { class: "unreadable", "Plate unreadable: type it or issue a ticket" } }
        }
        div { class: "{banner_class}",
            "{banner}"
            if let Some(d) = &v.decision {
                if let Some(spot) = &d.spot { div { class: "spot", "Spot {spot}" } }
                if let Some(due) = &d.amount_due { div { class: "due", "Due {due}" } }
                if let Some(t) = &d.ticket { div { class: "ticket", "Ticket {t.id}" } }
            }
        }
        if let Some(e) = &v.error { div { class: "error", "{e}" } }
        ul { class: "health",
            li { class: ok(&h.camera), "Camera" }
            li { class: ok(&h.gate), "Barrier: {gate_state}" }
            li { class: ok(&h.printer), "Printer" }
            li { class: if h.server_online { "ok" } else { "bad" }, "Server" }
            li { class: if h.queued == 0 { "ok" } else { "warn" }, "Queued: {h.queued}" }
        }
        for c in v.conflicts.iter() { div { class: "conflict", "{c}" } }
        table { class: "passages",
            thead { tr { th { "Time" } th { "Plate" } th { "Outcome" } th { "ms" } } }
            tbody {
                for p in v.passages.iter() {
                    tr { class: if p.offline { "offline" } else { "" },
                        td { {p.at.strftime("%H:%M:%S").to_string()} }
                        td { {p.plate.clone().unwrap_or_else(|| "—".into())} }
                        td { {format!("{:?}{}", p.reason, if p.offline { " (offline)" } else { "" })} }
                        td { {p.latency_ms.map(|l| format!("{l:.0}")).unwrap_or_default()} }
                    }
                }
            }
        }
    }
}
