//! An OTLP/HTTP receiver on loopback for tests: it decodes what it is sent with OpenTelemetry's own
//! protobuf message definitions (`opentelemetry-proto`), as a collector would.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use prost::Message;

/// A span as received: ids in lower-case hex (`parent` empty for a root).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    pub service: String,
    pub name: String,
    pub trace: String,
    pub id: String,
    pub parent: String,
    pub attributes: Vec<(String, String)>,
    /// Spans it follows from in other traces: `(trace, span)`.
    pub links: Vec<(String, String)>,
}

impl ReceivedSpan {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Every span received so far.
pub type Received = Arc<Mutex<Vec<ReceivedSpan>>>;

/// Starts a receiver; its base URL (for [`crate::Telemetry::otlp`]) and what it receives.
pub async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: Bytes| async move {
            if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/x-protobuf") {
                return (axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE, Bytes::new());
            }
            let Ok(request) = ExportTraceServiceRequest::decode(body) else {
                return (axum::http::StatusCode::BAD_REQUEST, Bytes::new());
            };
            let mut spans = Vec::new();
            for resource in request.resource_spans {
                let service = resource
                    .resource
                    .iter()
                    .flat_map(|r| &r.attributes)
                    .find(|a| a.key == "service.name")
                    .map(|a| text(a.value.as_ref()))
                    .unwrap_or_default();
                for span in resource.scope_spans.into_iter().flat_map(|s| s.spans) {
                    spans.push(ReceivedSpan {
                        service: service.clone(),
                        name: span.name,
                        trace: hex(&span.trace_id),
                        id: hex(&span.span_id),
                        parent: hex(&span.parent_span_id),
                        attributes: span
                            .attributes
                            .iter()
                            .map(|a| (a.key.clone(), text(a.value.as_ref())))
                            .collect(),
                        links: span.links.iter().map(|l| (hex(&l.trace_id), hex(&l.span_id))).collect(),
                    });
                }
            }
            keep.lock().unwrap_or_else(|p| p.into_inner()).extend(spans);
            // An empty ExportTraceServiceResponse.
            (axum::http::StatusCode::OK, Bytes::new())
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}
