//! The app's screens. Each takes what it shows as a prop ([`Load`] of a view-model), so every state —
//! loading, empty, error, offline, data — renders the same on a phone, on the desktop and headless in
//! tests. Buttons act through the [`Actions`] context when the app provides it.

use dioxus::prelude::*;
use jiff::{SignedDuration, Timestamp};
use parkline_domain::LatLon;
use parkline_domain::pricing::{LineKind, Quote};

use crate::model::{Bookings, Detail, Finds, Load, Parked, Place};

/// What the screens' buttons do (the app provides it; tests render without it).
#[derive(Debug, Clone, Copy)]
pub struct Actions {
    pub open_facility: Callback<String>,
    pub reserve: Callback<String>,
    pub pay: Callback<()>,
    pub back: Callback<()>,
    pub cancel: Callback<String>,
    pub extend: Callback<String>,
    pub notify_me: Callback<String>,
    pub toggle_favourite: Callback<String>,
    /// Email, password, and whether to create the account first (which mails a code).
    pub sign_in: Callback<(String, String, bool)>,
    /// Email and the code from the sign-up mail.
    pub confirm_sign_up: Callback<(String, String)>,
}

fn actions() -> Option<Actions> {
    try_use_context::<Actions>()
}

/// "3 min ago" for data fetched at `at`.
pub fn age(at: Timestamp, now: Timestamp) -> String {
    let s = now.duration_since(at).as_secs().max(0);
    match s {
        0..=9 => "just now".into(),
        10..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        _ => format!("{} h ago", s / 3600),
    }
}

fn distance(m: f64) -> String {
    if m < 1000.0 { format!("{m:.0} m") } else { format!("{:.1} km", m / 1000.0) }
}

fn line_label(kind: &LineKind) -> String {
    match kind {
        LineKind::Parking { rate, .. } => format!("Parking ({rate})"),
        LineKind::DailyMaximum { date } => format!("Daily maximum {date}"),
        LineKind::MinimumCharge => "Minimum charge".into(),
        LineKind::GracePeriod => "Grace period".into(),
        LineKind::EvCharging => "EV charging".into(),
        LineKind::LostTicket => "Lost ticket".into(),
    }
}

#[component]
fn Freshness(fetched_at: Timestamp, offline: bool) -> Element {
    let text = age(fetched_at, Timestamp::now());
    rsx! {
        if offline {
            div { class: "offline", "Offline — showing data from {text}" }
        } else {
            div { class: "age", "Updated {text}" }
        }
    }
}

#[component]
fn Status(text: String, kind: String) -> Element {
    rsx! { div { class: "status {kind}", "{text}" } }
}

#[component]
fn QuoteLines(quote: Quote) -> Element {
    rsx! {
        table { class: "quote",
            for line in quote.lines.iter() {
                tr { td { {line_label(&line.kind)} } td { class: "money", {format_money(line.amount, &quote)} } }
            }
            tr { class: "total", td { "Total" } td { class: "money", "{quote.total}" } }
        }
    }
}

fn format_money(minor: i64, quote: &Quote) -> String {
    parkline_domain::Money::new(minor, quote.total.currency).to_string()
}

/// A map drawn from coordinates alone (no tile server): the destination in the middle, each facility a
/// pin, north up, scaled to the farthest one.
#[component]
pub fn MiniMap(center: LatLon, places: Vec<Place>) -> Element {
    let (w, h) = (340.0, 200.0);
    let metres_per_deg_lon = 111_320.0 * center.lat.to_radians().cos();
    let reach = places.iter().map(|p| p.distance_m).fold(200.0f64, f64::max) * 1.15;
    let scale = (h / 2.0) / reach;
    let pins: Vec<(f64, f64, String, bool)> = places
        .iter()
        .map(|p| {
            let dx = (p.location.lon - center.lon) * metres_per_deg_lon * scale;
            let dy = (p.location.lat - center.lat) * 111_320.0 * scale;
            (w / 2.0 + dx, h / 2.0 - dy, p.name.clone(), p.free_for_me > 0)
        })
        .collect();
    rsx! {
        svg { class: "map", width: "{w}", height: "{h}", view_box: "0 0 {w} {h}",
            rect { width: "{w}", height: "{h}", fill: "#e8eef3" }
            circle { cx: "{w / 2.0}", cy: "{h / 2.0}", r: "6", fill: "#1a73e8" }
            for (x, y, name, free) in pins {
                g {
                    circle { cx: "{x}", cy: "{y}", r: "7", fill: if free { "#188038" } else { "#b3261e" } }
                    text { x: "{x + 9.0}", y: "{y + 4.0}", font_size: "11", "{name}" }
                }
            }
        }
    }
}

/// Find: parking near the destination for the planned stay.
#[component]
pub fn FindScreen(state: Load<Finds>, destination: String, center: LatLon) -> Element {
    let act = actions();
    rsx! {
        section { class: "screen find",
            h1 { "Parking near {destination}" }
            match state {
                Load::Loading => rsx! { Status { text: "Finding parking…", kind: "loading" } },
                Load::Failed(why) => rsx! { Status { text: "Could not load parking: {why}", kind: "error" } },
                Load::Ready(finds) if finds.places.is_empty() => rsx! {
                    Freshness { fetched_at: finds.fetched_at, offline: finds.offline }
                    Status { text: "No parking within reach. Try a wider search.", kind: "empty" }
                },
                Load::Ready(finds) => rsx! {
                    Freshness { fetched_at: finds.fetched_at, offline: finds.offline }
                    MiniMap { center, places: finds.places.clone() }
                    ul { class: "places",
                        for p in finds.places.iter().cloned() {
                            li {
                                class: if p.free_for_me == 0 { "place full" } else { "place" },
                                onclick: {
                                    let id = p.id.clone();
                                    move |_| if let Some(a) = act { a.open_facility.call(id.clone()) }
                                },
                                div { class: "name",
                                    if p.favourite { span { class: "star", "★ " } }
                                    "{p.name}"
                                    button {
                                        class: "fav",
                                        onclick: {
                                            let id = p.id.clone();
                                            move |e: Event<MouseData>| {
                                                e.stop_propagation();
                                                if let Some(a) = act { a.toggle_favourite.call(id.clone()) }
                                            }
                                        },
                                        if p.favourite { "Unfavourite" } else { "Favourite" }
                                    }
                                }
                                div { class: "meta", "{distance(p.distance_m)} · {p.address}" }
                                div { class: "free",
                                    if p.free_for_me == 0 { "Full for your car" } else { "{p.free_for_me} free for your car" }
                                    if p.free_ev > 0 { span { class: "ev", " · {p.free_ev} EV" } }
                                }
                                div { class: "price",
                                    match &p.quote { Some(q) => rsx! { "{q.total} for your stay" }, None => rsx! { "Price unavailable offline" } }
                                }
                            }
                        }
                    }
                },
            }
        }
    }
}

/// Facility detail: per-floor availability, EV and accessible spots, the itemised quote, reserve.
#[component]
pub fn DetailScreen(state: Load<Detail>) -> Element {
    let act = actions();
    rsx! {
        section { class: "screen detail",
            button { class: "back", onclick: move |_| if let Some(a) = act { a.back.call(()) }, "‹ Back" }
            match state {
                Load::Loading => rsx! { Status { text: "Loading the facility…", kind: "loading" } },
                Load::Failed(why) => rsx! { Status { text: "Could not load the facility: {why}", kind: "error" } },
                Load::Ready(d) => {
                    let id = d.summary.id.clone();
                    let watch = id.clone();
                    let a = &d.availability;
                    rsx! {
                        h1 { "{d.summary.name}" }
                        div { class: "meta", "{d.summary.address}" }
                        Freshness { fetched_at: d.fetched_at, offline: d.offline }
                        div { class: "totals",
                            div { class: "big", "{a.counts.free}" } div { "free of {a.counts.capacity}" }
                            div { class: "chip", "EV {a.free_ev_charger}" }
                            div { class: "chip", "Accessible {a.free_accessible}" }
                        }
                        Outlook { forecast: d.forecast.clone(), time_zone: d.summary.time_zone.clone() }
                        h2 { "Floors" }
                        table { class: "floors",
                            for f in a.floors.iter() {
                                tr {
                                    td { "{f.label}" } td { "{f.name}" }
                                    td { class: "bar",
                                        div { class: "fill", style: "width: {pct(f.counts.free, f.counts.capacity)}%" }
                                    }
                                    td { "{f.counts.free} / {f.counts.capacity}" }
                                }
                            }
                        }
                        h2 { "Your stay" }
                        match &d.quote {
                            Some(q) => rsx! { QuoteLines { quote: q.clone() } },
                            None => rsx! { Status { text: "No price while offline", kind: "empty" } },
                        }
                        div { class: "policy", "Free cancellation up to 1 hour before; a no-show is charged 20% of the quote." }
                        button {
                            class: "primary",
                            disabled: d.offline,
                            onclick: move |_| if let Some(a) = act { a.reserve.call(id.clone()) },
                            "Reserve"
                        }
                        button {
                            class: "secondary",
                            disabled: d.offline,
                            onclick: move |_| if let Some(a) = act { a.notify_me.call(watch.clone()) },
                            "Notify me when a spot for my car frees up"
                        }
                    }
                }
            }
        }
    }
}

/// What the facility's history says: when it usually fills up, and the free spots to expect at the
/// planned arrival. Nothing without history.
#[component]
fn Outlook(forecast: parkline_protocol::Forecast, time_zone: String) -> Element {
    let arrival = forecast.at_arrival.as_ref().and_then(|h| {
        let local = jiff::tz::TimeZone::get(&time_zone).map(|tz| h.at.to_zoned_datetime(tz)).ok()?;
        Some((local.strftime("%a %H:%M").to_string(), h.free?))
    });
    if forecast.usually_full.is_empty() && arrival.is_none() {
        return rsx! {};
    }
    rsx! {
        div { class: "outlook",
            for full in forecast.usually_full.iter() {
                div { class: "usually-full", "{full.text}" }
            }
            if let Some((when, free)) = arrival {
                div { class: "at-arrival", "About {free} free at your arrival ({when}), from past weeks" }
            }
        }
    }
}

fn pct(part: u32, whole: u32) -> u32 {
    (part * 100).checked_div(whole).unwrap_or(0)
}

fn clock(d: SignedDuration) -> String {
    let m = d.as_secs().max(0) / 60;
    format!("{}h {:02}m", m / 60, m % 60)
}

/// Signing in, or creating a driver's account: the code mailed to the address (`awaiting_code`, the
/// address) finishes it.
#[component]
pub fn AccountScreen(
    signed_in_as: Option<String>,
    error: Option<String>,
    awaiting_code: Option<String>,
) -> Element {
    let act = actions();
    let mut email = use_signal(String::new);
    let mut password = use_signal(String::new);
    let mut code = use_signal(String::new);
    let submit = move |create: bool| {
        if let Some(a) = act {
            a.sign_in.call((email(), password(), create));
        }
    };
    rsx! {
        section { class: "screen account",
            h1 { "Account" }
            if let Some(who) = signed_in_as {
                Status { text: "Signed in as {who}", kind: "ok" }
            }
            if let Some(why) = error {
                Status { text: "{why}", kind: "error" }
            }
            if let Some(to) = awaiting_code {
                Status { text: "Check your mail at {to}: enter the code to finish making your account.", kind: "ok" }
                input { class: "field", inputmode: "numeric", autocomplete: "one-time-code", placeholder: "Code from the mail", value: "{code}", oninput: move |e| code.set(e.value()) }
                button {
                    class: "primary",
                    onclick: move |_| {
                        if let Some(a) = act {
                            a.confirm_sign_up.call((to.clone(), code()));
                        }
                    },
                    "Finish signing up"
                }
            } else {
                input { class: "field", r#type: "email", placeholder: "Email", value: "{email}", oninput: move |e| email.set(e.value()) }
                input { class: "field", r#type: "password", placeholder: "Password (10 characters or more)", value: "{password}", oninput: move |e| password.set(e.value()) }
                button { class: "primary", onclick: move |_| submit(false), "Sign in" }
                button { class: "secondary", onclick: move |_| submit(true), "Create an account" }
            }
        }
    }
}

/// My reservations: upcoming and past, with cancel for those not yet begun.
#[component]
pub fn ReservationsScreen(state: Load<Bookings>) -> Element {
    let act = actions();
    rsx! {
        section { class: "screen reservations",
            h1 { "My reservations" }
            match state {
                Load::Loading => rsx! { Status { text: "Loading your reservations…", kind: "loading" } },
                Load::Failed(why) => rsx! { Status { text: "Could not load your reservations: {why}", kind: "error" } },
                Load::Ready(b) if b.list.is_empty() => rsx! {
                    Freshness { fetched_at: b.fetched_at, offline: b.offline }
                    Status { text: "No reservations yet. Find a place and reserve it.", kind: "empty" }
                },
                Load::Ready(b) => rsx! {
                    Freshness { fetched_at: b.fetched_at, offline: b.offline }
                    ul { class: "places",
                        for r in b.list.iter().cloned() {
                            li { class: "place",
                                div { class: "name", "{r.facility} · spot {r.spot}" }
                                div { class: "meta", {format!("{} → {} UTC", r.start.strftime("%a %d %b %H:%M"), r.end.strftime("%H:%M"))} }
                                div { class: "meta", {format!("{} · quoted {}", r.status.as_str(), parkline_domain::Money::new(r.quote_minor, parkline_domain::Currency::USD))} }
                                if r.status == parkline_domain::reservation::Status::Confirmed && !b.offline {
                                    button {
                                        class: "extend",
                                        onclick: {
                                            let id = r.id.clone();
                                            move |_| if let Some(a) = act { a.extend.call(id.clone()) }
                                        },
                                        "Extend 1 h"
                                    }
                                    button {
                                        class: "cancel",
                                        onclick: {
                                            let id = r.id.clone();
                                            move |_| if let Some(a) = act { a.cancel.call(id.clone()) }
                                        },
                                        "Cancel"
                                    }
                                }
                            }
                        }
                    }
                },
            }
        }
    }
}

/// The spot's floor from above: every spot a dot, the driver's spot and the way to it from the ramp.
#[component]
pub fn FloorMap(route: crate::route::Route) -> Element {
    let points: Vec<(f64, f64)> =
        route.floor_spots.iter().copied().chain([route.landing, route.at]).collect();
    let (min_x, max_x) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
    let (min_y, max_y) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let (w, h, pad) = (340.0, 220.0, 12.0);
    let scale = ((w - 2.0 * pad) / (max_x - min_x).max(1.0)).min((h - 2.0 * pad) / (max_y - min_y).max(1.0));
    let px = move |p: (f64, f64)| (pad + (p.0 - min_x) * scale, h - pad - (p.1 - min_y) * scale);
    let (lx, ly) = px(route.landing);
    let (sx, sy) = px(route.at);
    let dots: Vec<(f64, f64)> = route.floor_spots.iter().map(|p| px(*p)).collect();
    rsx! {
        svg { class: "floor-map", width: "{w}", height: "{h}", view_box: "0 0 {w} {h}",
            rect { width: "{w}", height: "{h}", fill: "#eceff3", rx: "10" }
            for (x, y) in dots { rect { x: "{x - 2.0}", y: "{y - 2.0}", width: "4", height: "4", fill: "#b0b8c4" } }
            path { d: "M {lx} {ly} L {lx} {sy} L {sx} {sy}", stroke: "#1a73e8", stroke_width: "3", fill: "none", stroke_dasharray: "6 4" }
            circle { cx: "{lx}", cy: "{ly}", r: "6", fill: "#5f6368" }
            circle { cx: "{sx}", cy: "{sy}", r: "8", fill: "#1a73e8" }
            text { x: "{sx + 10.0}", y: "{sy + 4.0}", font_size: "12", font_weight: "bold", "{route.spot}" }
        }
    }
}

/// The active stay: where the car is, how long, what it costs now, and paying so the exit opens.
#[component]
pub fn ParkScreen(state: Load<Parked>, paid: bool) -> Element {
    let act = actions();
    rsx! {
        section { class: "screen park",
            match state {
                Load::Loading => rsx! { Status { text: "Loading your stay…", kind: "loading" } },
                Load::Failed(why) => rsx! { Status { text: "Could not load your stay: {why}", kind: "error" } },
                Load::Ready(p) => rsx! {
                    h1 { "Parked at {p.facility_name}" }
                    div { class: "spot",
                        div { class: "label", "Your spot" }
                        div { class: "big", {p.session.spot.clone().unwrap_or_else(|| "any free spot".into())} }
                    }
                    div { class: "row", span { "Ticket" } span { "{p.session.ticket}" } }
                    div { class: "row", span { "Since" } span { {p.session.entered_at.strftime("%H:%M UTC").to_string()} } }
                    div { class: "row", span { "Parked for" } span { {clock(p.elapsed)} } }
                    div { class: "row fee", span { "Fee so far" } span { "{p.session.fee}" } }
                    if let Some(r) = &p.route {
                        h2 { "Find your car" }
                        FloorMap { route: r.clone() }
                        ol { class: "steps", for step in r.steps.iter() { li { "{step}" } } }
                    }
                    if paid || p.due.minor == 0 {
                        Status { text: "Nothing to pay: the exit opens for your car.", kind: "ok" }
                    } else {
                        button { class: "primary", onclick: move |_| if let Some(a) = act { a.pay.call(()) }, "Pay {p.due}" }
                    }
                },
            }
        }
    }
}
