//! One car's stay traced end to end, entry and exit under one trace id: the entry passage's trace runs
//! from the lane's plate read to the barrier, with the server's spans (request, gate decision,
//! allocation, commit) joined through the W3C `traceparent` the kiosk sends; the exit continues it
//! (`lane.exit`, linked to the exit passage's own read) with the server's pricing, payment and commit.
//! An OTLP/HTTP receiver in the test decodes the exported protobuf. Both processes' spans share this
//! test's exporter (the server runs in-process), so what ties them together is only the header.

mod common;

use std::time::Duration;

use common::{IN, LOT, OUT, Server, bench_photos, drop_photo, until};
use jiff::SignedDuration;
use parkline_kiosk::Input;
use parkline_protocol::GateCommand;
use parkline_telemetry::testing::{ReceivedSpan, receiver};
use tracing_subscriber::layer::SubscriberExt;

const PHOTO: &str = "wts-lg-000145.jpg";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_car_s_entry_and_exit_are_traced_from_the_lane_through_the_server() {
    let Some(photos) = bench_photos() else { return };
    let (url, got) = receiver().await;
    let telemetry = parkline_telemetry::Telemetry::otlp("parkline", &url).unwrap();
    // Global: the server's spans happen on its own threads.
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(telemetry.layer())).unwrap();

    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let (cam_in, cam_out) = (dir.path().join("cam-in"), dir.path().join("cam-out"));
    let config = parkline_kiosk::Config::parse(&format!(
        r#"
        server = "{url}"
        device_token = "{token}"
        facility = "{LOT}"
        data_dir = "{data}"
        [[lanes]]
        gate = "{IN}"
        direction = "entry"
        camera = {{ kind = "folder", path = "{cam_in}" }}
        gate_controller = {{ kind = "simulated" }}
        [[lanes]]
        gate = "{OUT}"
        direction = "exit"
        camera = {{ kind = "folder", path = "{cam_out}" }}
        gate_controller = {{ kind = "simulated" }}
        "#,
        url = server.url(),
        token = server.kiosk,
        data = dir.path().join("data").display(),
        cam_in = cam_in.display(),
        cam_out = cam_out.display(),
    ))
    .unwrap();
    let kiosk = parkline_kiosk::start(&config).await.unwrap();
    let (entry, exit) = (&kiosk.lanes[0], &kiosk.lanes[1]);
    let decided = |lane: &parkline_kiosk::LaneHandle, command: GateCommand| {
        lane.view.borrow().decision.as_ref().is_some_and(|d| d.command == command)
    };

    drop_photo(&photos.join(PHOTO), &cam_in, "car-1.jpg");
    assert!(until(Duration::from_secs(30), || decided(entry, GateCommand::Open)).await, "the entry opens");
    // Two hours on, the exit refuses until the driver pays at the lane's terminal.
    server.clock.advance(SignedDuration::from_hours(2));
    drop_photo(&photos.join(PHOTO), &cam_out, "car-1-out.jpg");
    assert!(until(Duration::from_secs(30), || decided(exit, GateCommand::Deny)).await, "payment required");
    let due = exit.view.borrow().decision.as_ref().and_then(|d| d.amount_due).unwrap().minor;
    exit.send(Input::PaidAtLane { amount_minor: due + 100 }).await;
    assert!(until(Duration::from_secs(10), || decided(exit, GateCommand::Open)).await, "the exit opens");

    let spans = {
        let telemetry = telemetry;
        tokio::task::spawn_blocking(move || {
            // Spans end as their futures finish; give the last ones a moment, then export.
            std::thread::sleep(Duration::from_millis(300));
            telemetry.flush().unwrap();
        })
        .await
        .unwrap();
        got.lock().unwrap().clone()
    };
    let passages: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.name == "lane.passage").collect();
    let gate_of = |s: &ReceivedSpan| s.attribute("gate").unwrap_or_default().to_owned();
    let entry = *passages.iter().find(|p| gate_of(p) == IN).expect("the entry passage");
    let exit_read = *passages.iter().find(|p| gate_of(p) == OUT).expect("the exit passage");
    let stay: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.trace == entry.trace).collect();
    let names: Vec<&str> = stay.iter().map(|s| s.name.as_str()).collect();
    for name in [
        "lane.passage",
        "lane.read",
        "lane.ask_server",
        "http.request",
        "gate.event",
        "gate.decide",
        "allocate",
        "commit",
        "lane.act",
        "lane.exit",
        "exit.price",
        "payment",
    ] {
        assert!(names.contains(&name), "{name} in the stay's trace: {names:?}");
    }
    // The exit's plate was read in a passage of its own, which the exit's part of the stay links to.
    assert_ne!(exit_read.trace, entry.trace);
    assert!(spans.iter().any(|s| s.trace == exit_read.trace && s.name == "lane.read"));
    let resumed = stay.iter().find(|s| s.name == "lane.exit").unwrap();
    assert_eq!(resumed.links, [(exit_read.trace.clone(), exit_read.id.clone())]);
    // Every server request span is the child of the lane's call: the header carried it.
    for request in stay.iter().filter(|s| s.name == "http.request") {
        let parent =
            spans.iter().find(|s| s.id == request.parent).expect("the request's parent was exported");
        assert_eq!(parent.name, "lane.ask_server", "{request:?}");
    }
    // The entry, the refused exit and the paid exit: three gate events of one stay.
    let events: Vec<&&ReceivedSpan> = stay.iter().filter(|s| s.name == "gate.event").collect();
    assert_eq!(events.len(), 3, "{events:?}");
    let session = events[0].attribute("session").expect("the stay");
    assert!(events.iter().all(|e| e.attribute("session") == Some(session)), "{events:?}");
}
