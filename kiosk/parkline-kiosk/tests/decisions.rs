//! One set of gate rules: the same situations, decided by the server and by a kiosk on its own (from what
//! it last heard from that server), give the same command, reason, amount and words. Both call
//! `parkline_domain::gate`; this table is what keeps them from drifting apart.

mod common;

use std::time::Duration;

use common::{IN, LOT, OUT, Server};
use jiff::SignedDuration;
use parkline_domain::Direction;
use parkline_domain::gate::Verdict;
use parkline_kiosk::Kiosk;
use parkline_protocol::{DecisionReason, GateCommand, GateDecision, GateEvent, PlateRead};
use parkline_sdk::{Cache, Client};

struct Case {
    name: &'static str,
    direction: Direction,
    plate: Option<&'static str>,
    /// `Some("T1")`: the ticket the first car got at entry; anything else is used as written.
    ticket: Option<&'static str>,
    /// Money taken at the lane: `-1` for exactly what the server says is due.
    paid: i64,
    expect: (GateCommand, DecisionReason),
    /// The screen's words, where the kiosk knows what the server knows (at an entry it knows no spots).
    display: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        name: "a plate already inside is refused at the entry",
        direction: Direction::Entry,
        plate: Some("TBL001"),
        ticket: None,
        paid: 0,
        expect: (GateCommand::Deny, DecisionReason::AlreadyInside),
        display: Some("This vehicle is already inside. Please see the attendant."),
    },
    Case {
        name: "a ticket with the fee unpaid keeps the barrier down",
        direction: Direction::Exit,
        plate: None,
        ticket: Some("T1"),
        paid: 0,
        expect: (GateCommand::Deny, DecisionReason::PaymentRequired),
        display: None,
    },
    Case {
        name: "a plate with the fee unpaid keeps the barrier down",
        direction: Direction::Exit,
        plate: Some("TBL002"),
        ticket: None,
        paid: 0,
        expect: (GateCommand::Deny, DecisionReason::PaymentRequired),
        display: None,
    },
    Case {
        name: "part of the fee at the lane is not enough",
        direction: Direction::Exit,
        plate: Some("TBL002"),
        ticket: None,
        paid: 100,
        expect: (GateCommand::Deny, DecisionReason::PaymentRequired),
        display: None,
    },
    Case {
        name: "nobody inside with this ticket: the lost-ticket price",
        direction: Direction::Exit,
        plate: None,
        ticket: Some("NOSUCHTICKET"),
        paid: 0,
        expect: (GateCommand::Deny, DecisionReason::LostTicket),
        display: Some("Lost ticket: please pay 60.00 USD."),
    },
    Case {
        name: "the lost-ticket price paid at the lane opens",
        direction: Direction::Exit,
        plate: Some("ZZZ999"),
        ticket: None,
        paid: 6000,
        expect: (GateCommand::Open, DecisionReason::Paid),
        display: Some("Thank you. Drive safely."),
    },
    Case {
        name: "the fee paid at the lane opens",
        direction: Direction::Exit,
        plate: None,
        ticket: Some("T1"),
        paid: -1,
        expect: (GateCommand::Open, DecisionReason::Paid),
        display: Some("Thank you. Drive safely."),
    },
    Case {
        name: "a new plate is let in",
        direction: Direction::Entry,
        plate: Some("TBL003"),
        ticket: None,
        paid: 0,
        expect: (GateCommand::Open, DecisionReason::Admitted),
        display: None,
    },
];

fn event(id: &str, plate: Option<&str>, ticket: Option<String>, paid: i64) -> GateEvent {
    GateEvent {
        event_id: id.to_owned(),
        plate: plate.map(|p| PlateRead {
            text: p.into(),
            confidence: 0.95,
            alternatives: vec![],
            image_ref: None,
        }),
        ticket,
        paid_at_gate: (paid > 0).then_some(paid),
        ..GateEvent::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_and_a_kiosk_on_its_own_decide_the_same_cases_alike() {
    let server = Server::start();
    let lane = Client::new(&server.url(), None).unwrap();
    lane.set_token(Some(server.kiosk.clone()));
    let first = lane.gate_event(IN, &event("in-1", Some("TBL001"), None, 0)).await.unwrap();
    lane.gate_event(IN, &event("in-2", Some("TBL002"), None, 0)).await.unwrap();
    let t1 = first.ticket.unwrap().id;
    server.clock.advance(SignedDuration::from_mins(137));

    // A kiosk that has heard from the server: the stays inside, the rate plan, the time zone.
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(&server.url(), Some(Cache::open(dir.path().join("kiosk.db")).unwrap())).unwrap();
    client.set_token(Some(server.kiosk.clone()));
    let kiosk = Kiosk::new(client, LOT, None, Duration::from_millis(1500));
    kiosk.refresh().await.unwrap();

    for (i, case) in CASES.iter().enumerate() {
        let ticket = case.ticket.map(|t| if t == "T1" { t1.clone() } else { t.to_owned() });
        let gate = if case.direction == Direction::Entry { IN } else { OUT };
        // The fee grows by the minute: decide both within one minute of the server's clock (a refusal
        // changes nothing, so asking again is harmless).
        let mut decided: Option<(Verdict, GateDecision)> = None;
        for attempt in 0..3 {
            let now = server.now();
            let due = match case.paid {
                -1 => {
                    let probe = event(&format!("probe-{i}-{attempt}"), case.plate, ticket.clone(), 0);
                    lane.gate_event(gate, &probe).await.unwrap().amount_due.map_or(0, |m| m.minor)
                }
                paid => paid,
            };
            let e = event(&format!("case-{i}-{attempt}"), case.plate, ticket.clone(), due);
            let local = kiosk.offline_verdict(case.direction, &e, now);
            let remote = lane.gate_event(gate, &e).await.unwrap();
            let same_minute = now.as_second() / 60 == server.now().as_second() / 60;
            let settled = remote.command == GateCommand::Open || same_minute;
            decided = Some((local, remote));
            if settled {
                break;
            }
        }
        let (local, remote) = decided.unwrap();
        let name = case.name;
        assert_eq!((remote.command, remote.reason), case.expect, "{name}: the server said {remote:?}");
        assert_eq!((local.command, local.reason), case.expect, "{name}: the kiosk said {local:?}");
        assert_eq!(local.amount_due, remote.amount_due, "{name}: the amount due");
        match case.display {
            Some(text) => {
                assert_eq!(remote.display, text, "{name}: the server's words");
                assert_eq!(local.display, text, "{name}: the kiosk's words");
            }
            // An admitted visitor: the server names the spot it holds, the kiosk asks to keep the ticket.
            None if case.expect.0 == GateCommand::Open => {
                assert!(remote.display.starts_with("Welcome. Park at "), "{name}: {}", remote.display);
                assert_eq!(local.display, "Welcome. Please keep your ticket.", "{name}");
            }
            None => {
                assert_eq!(local.display, remote.display, "{name}: the same words");
                assert!(remote.display.starts_with("Please pay "), "{name}: {}", remote.display);
            }
        }
    }
}
