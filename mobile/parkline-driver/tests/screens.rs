//! Every screen rendered headless (dioxus-ssr) in each of its states: loading, empty, error, offline, data.

use dioxus::prelude::*;
use jiff::{SignedDuration, Timestamp};
use parkline_domain::pricing::{LineKind, Quote, QuoteLine};
use parkline_domain::{Currency, LatLon, Money};
use parkline_driver::model::{Bookings, Detail};
use parkline_driver::model::{Finds, Load, Parked, Place};
use parkline_driver::route::Route;
use parkline_driver::screens::{
    AccountScreen, AccountScreenProps, ReservationsScreen, ReservationsScreenProps,
};
use parkline_driver::screens::{
    DetailScreen, DetailScreenProps, FindScreen, FindScreenProps, ParkScreen, ParkScreenProps,
};

const HERE: LatLon = LatLon { lat: 47.6097, lon: -122.3422 };

fn render<P: Clone + 'static>(component: fn(P) -> Element, props: P) -> String {
    let mut dom = VirtualDom::new_with_props(component, props);
    dom.rebuild_in_place();
    dioxus_ssr::render(&dom)
}

fn quote(minor: i64) -> Quote {
    let now = Timestamp::now();
    let line = QuoteLine {
        kind: LineKind::Parking { rate: "standard".into(), multiplier_bp: 10_000 },
        from: now,
        to: now,
        amount: minor,
    };
    Quote { lines: vec![line], total: Money::new(minor, Currency::USD) }
}

fn place(name: &str, free: u32, price: Option<i64>) -> Place {
    Place {
        id: name.to_lowercase(),
        name: name.into(),
        address: "1 Pike St".into(),
        location: LatLon { lat: 47.61, lon: -122.34 },
        distance_m: 420.0,
        free_for_me: free,
        free_ev: 2,
        favourite: name == "Harbor Garage",
        quote: price.map(quote),
    }
}

fn find(state: Load<Finds>) -> String {
    render(FindScreen, FindScreenProps { state, destination: "Pike Place".into(), center: HERE })
}

#[test]
fn find_shows_each_state() {
    assert!(find(Load::Loading).contains("Finding parking"));
    assert!(find(Load::Failed("HTTP 503".into())).contains("Could not load parking: HTTP 503"));
    let now = Timestamp::now();
    let empty = find(Load::Ready(Finds { places: vec![], fetched_at: now, offline: false }));
    assert!(empty.contains("No parking within reach") && empty.contains("Updated just now"));

    let data = find(Load::Ready(Finds {
        places: vec![place("Harbor Garage", 12, Some(900)), place("Pier Lot", 0, Some(500))],
        fetched_at: now - SignedDuration::from_secs(30),
        offline: false,
    }));
    assert!(data.contains("Harbor Garage") && data.contains("12 free for your car") && data.contains("2 EV"));
    assert!(data.contains("9.00 USD for your stay") && data.contains("420 m"));
    assert!(data.contains("Full for your car"), "a full place says so");
    assert!(data.contains("<svg") && data.matches("<circle").count() == 3, "the map: me and two pins");
    assert!(data.contains("Updated 30 s ago"));
    assert_eq!(data.matches("★").count(), 1, "the favourite is starred");

    let offline = find(Load::Ready(Finds {
        places: vec![place("Harbor Garage", 12, None)],
        fetched_at: now - SignedDuration::from_mins(7),
        offline: true,
    }));
    assert!(offline.contains("Offline — showing data from 7 min ago"));
    assert!(offline.contains("Price unavailable offline"));
}

#[test]
fn the_active_stay_shows_spot_time_fee_and_pay() {
    let park = |state: Load<Parked>, paid: bool| render(ParkScreen, ParkScreenProps { state, paid });
    assert!(park(Load::Loading, false).contains("Loading your stay"));
    assert!(park(Load::Failed("not_found: no such ticket".into()), false).contains("no such ticket"));
    let entered = Timestamp::now() - SignedDuration::from_mins(95);
    let session: parkline_protocol::SessionView = serde_json::from_value(serde_json::json!({
        "id": "ses_1", "facility": "waterfront-lot", "ticket": "ACDE3479", "plate": "JRN4521", "spot": "G-012",
        "entered_at": entered.to_string(), "exited_at": null,
        "fee": {"minor": 900, "currency": "USD"}, "paid": {"minor": 0, "currency": "USD"}, "overstay": false
    }))
    .unwrap();
    let parked = Parked {
        session,
        facility_name: "Waterfront Lot".into(),
        elapsed: SignedDuration::from_mins(95),
        due: Money::new(900, Currency::USD),
        route: Some(Route {
            spot: "G-012".into(),
            landing: (0.0, 0.0),
            at: (12.0, 30.0),
            floor_spots: vec![(0.0, 5.0), (12.0, 30.0), (24.0, 30.0)],
            steps: vec!["Drive 30 m ahead along the aisle.".into(), "Your spot is G-012 in zone B.".into()],
            distance_m: 42.0,
        }),
    };
    let html = park(Load::Ready(parked.clone()), false);
    for text in [
        "Parked at Waterfront Lot",
        "G-012",
        "ACDE3479",
        "1h 35m",
        "Pay 9.00 USD",
        "Find your car",
        "Drive 30 m ahead",
    ] {
        assert!(html.contains(text), "{text} in {html}");
    }
    assert_eq!(html.matches("<rect").count(), 4, "the floor and its three spots");
    assert!(html.contains("stroke-dasharray"), "the way from the ramp");
    let paid = park(Load::Ready(parked), true);
    assert!(paid.contains("the exit opens") && !paid.contains("Pay 9.00"));
}

#[test]
fn facility_detail_shows_floors_quote_and_reserve() {
    let detail = |state: Load<Detail>| render(DetailScreen, DetailScreenProps { state });
    assert!(detail(Load::Loading).contains("Loading the facility"));
    assert!(detail(Load::Failed("offline: refused".into())).contains("Could not load the facility: offline"));
    let counts = |free: u32, capacity: u32| serde_json::json!({"capacity": capacity, "free": free, "occupied": capacity - free, "held": 0, "out_of_service": 0});
    let by_class = serde_json::json!({"motorcycle": 3, "compact": 20, "sedan": 30, "suv": 5});
    let fresh = serde_json::json!({"last_reading_at": null, "last_change_at": null, "spots_never_reported": 0, "stale_sensors": 0});
    let availability = serde_json::json!({
        "facility": "harbor", "counts": counts(30, 100), "free_by_class": by_class, "free_ev_charger": 4,
        "free_accessible": 2, "freshness": fresh,
        "floors": [{"level": 0, "label": "G", "name": "Ground", "counts": counts(10, 50), "zones": []},
                   {"level": 1, "label": "1", "name": "Level 1", "counts": counts(20, 50), "zones": []}]
    });
    let summary = serde_json::json!({
        "id": "harbor", "name": "Harbor Garage", "address": "1 Pike St", "location": {"lat": 47.61, "lon": -122.34},
        "time_zone": "America/Los_Angeles", "counts": counts(30, 100), "free_by_class": by_class,
        "free_ev_charger": 4, "free_accessible": 2, "freshness": fresh
    });
    // Monday 1 December 2036, 10:00 in Seattle: about 4 free then, from past weeks.
    let forecast = serde_json::json!({
        "usually_full": [{"days": "weekdays", "by": "09:00", "text": "Usually full by 09:00 on weekdays"}],
        "hours": [], "at_arrival": {"at": "2036-12-01T18:00:00Z", "free": 4, "occupancy_permille": 960},
        "history_days": 28
    });
    let ready = |offline: bool, quoted: Option<Quote>| Detail {
        summary: serde_json::from_value(summary.clone()).unwrap(),
        forecast: serde_json::from_value(forecast.clone()).unwrap(),
        availability: serde_json::from_value(availability.clone()).unwrap(),
        quote: quoted,
        fetched_at: Timestamp::now(),
        offline,
    };
    let html = detail(Load::Ready(ready(false, Some(quote(1250)))));
    for text in [
        "Harbor Garage",
        "free of 100",
        "EV 4",
        "Accessible 2",
        "Ground",
        "10 / 50",
        "Level 1",
        "12.50 USD",
        "Reserve",
        "cancellation",
        "Notify me when a spot",
        "Usually full by 09:00 on weekdays",
        "About 4 free at your arrival (Mon 10:00)",
    ] {
        assert!(html.contains(text), "{text} in {html}");
    }
    // Without history there is nothing to say, and nothing is said.
    let unknown = Detail { forecast: Default::default(), ..ready(false, None) };
    assert!(!detail(Load::Ready(unknown)).contains("outlook"));
    assert!(html.contains("width: 20%") && html.contains("width: 40%"), "floor bars in proportion");
    let offline = detail(Load::Ready(ready(true, None)));
    assert!(offline.contains("Offline") && offline.contains("No price while offline"));
    assert!(offline.contains("disabled"), "no booking offline");
}

#[test]
fn reservations_list_with_cancel_for_the_upcoming() {
    let screen = |state: Load<Bookings>| render(ReservationsScreen, ReservationsScreenProps { state });
    assert!(screen(Load::Loading).contains("Loading your reservations"));
    assert!(screen(Load::Failed("offline: refused".into())).contains("Could not load your reservations"));
    let now = Timestamp::now();
    assert!(
        screen(Load::Ready(Bookings { list: vec![], fetched_at: now, offline: false }))
            .contains("No reservations yet")
    );
    let reservation = |id: &str, status: &str| -> parkline_driver::model::Reservation {
        serde_json::from_value(serde_json::json!({
            "id": id, "facility": "waterfront-lot", "spot": "G-007", "plate": "JRN4521",
            "vehicle": {"class": "sedan", "electric": false},
            "start": "2026-12-02T16:00:00Z", "end": "2026-12-02T18:00:00Z", "status": status,
            "quote_minor": 1250, "fee_minor": 0, "owner": 1, "group": null
        }))
        .unwrap()
    };
    let list = vec![reservation("r1", "confirmed"), reservation("r2", "cancelled")];
    let html = screen(Load::Ready(Bookings { list: list.clone(), fetched_at: now, offline: false }));
    assert!(html.contains("spot G-007") && html.contains("Wed 02 Dec 16:00") && html.contains("12.50 USD"));
    assert_eq!(html.matches(">Extend 1 h<").count(), 1);
    assert_eq!(html.matches(">Cancel<").count(), 1, "only the confirmed one can be cancelled");
    let offline =
        screen(Load::Ready(Bookings { list, fetched_at: now - SignedDuration::from_mins(3), offline: true }));
    assert!(offline.contains("Offline") && !offline.contains(">Cancel<"));
}

#[test]
fn the_account_screen_signs_in_or_creates_an_account() {
    let screen = |signed_in_as: Option<&str>, error: Option<&str>, awaiting_code: Option<&str>| {
        render(
            AccountScreen,
            AccountScreenProps {
                signed_in_as: signed_in_as.map(Into::into),
                error: error.map(Into::into),
                awaiting_code: awaiting_code.map(Into::into),
            },
        )
    };
    let out = screen(None, None, None);
    assert!(
        out.contains("Sign in") && out.contains("Create an account") && out.contains("type=\"password\"")
    );
    assert!(!out.contains("Signed in as") && !out.contains("Finish signing up"));
    assert!(
        screen(None, Some("invalid_credentials: wrong email or password"), None)
            .contains("wrong email or password")
    );
    assert!(screen(Some("driver@demo.parkline"), None, None).contains("Signed in as driver@demo.parkline"));
    // After "Create an account": the code from the mail, not the password again.
    let waiting = screen(None, None, Some("new@example.com"));
    assert!(waiting.contains("Check your mail at new@example.com") && waiting.contains("Finish signing up"));
    assert!(waiting.contains("one-time-code") && !waiting.contains("type=\"password\""));
}
