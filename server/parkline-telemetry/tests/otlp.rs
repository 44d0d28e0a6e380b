//! Spans reach an OTLP/HTTP receiver in OpenTelemetry's protobuf wire format, and a trace continues
//! across a W3C `traceparent` header.

use parkline_telemetry::testing::receiver;
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_over_otlp_and_a_trace_continues_across_a_traceparent_header() {
    let (url, got) = receiver().await;
    let telemetry = parkline_telemetry::Telemetry::otlp("parkline-test", &url).unwrap();
    let subscriber = tracing_subscriber::registry().with(telemetry.layer());
    let _default = tracing::subscriber::set_default(subscriber);

    let outer = tracing::info_span!("kiosk.passage");
    let headers = outer.in_scope(parkline_telemetry::outgoing);
    let traceparent = headers.iter().find(|(k, _)| k == "traceparent").expect("a traceparent").1.clone();
    // `00-<trace id>-<span id>-01`
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!((parts.len(), parts[0], parts[1].len(), parts[2].len()), (4, "00", 32, 16), "{traceparent}");

    let mut incoming = http::HeaderMap::new();
    incoming.insert("traceparent", traceparent.parse().unwrap());
    let inner = tracing::info_span!("server.request");
    parkline_telemetry::incoming(&incoming, &inner);
    drop(inner);
    // A malformed header starts a trace of its own.
    let mut junk = http::HeaderMap::new();
    junk.insert("traceparent", "00-zz-zz-01".parse().unwrap());
    let lone = tracing::info_span!("lone.request");
    parkline_telemetry::incoming(&junk, &lone);
    drop(lone);
    drop(outer);
    // Nothing outside a span: no header.
    assert!(parkline_telemetry::outgoing().is_empty());
    tokio::task::spawn_blocking(move || telemetry.flush().unwrap()).await.unwrap();

    let got = got.lock().unwrap().clone();
    let span = |name: &str| {
        got.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("{name} in {got:?}")).clone()
    };
    let (outer, inner, lone) = (span("kiosk.passage"), span("server.request"), span("lone.request"));
    assert_eq!(outer.service, "parkline-test");
    assert_eq!((outer.trace.as_str(), outer.id.as_str()), (parts[1], parts[2]));
    assert_eq!(inner.trace, outer.trace, "one trace");
    assert_eq!(inner.parent, outer.id, "the server's span is the kiosk span's child");
    assert_ne!(lone.trace, outer.trace);
    assert!(lone.parent.is_empty(), "a root");
}
