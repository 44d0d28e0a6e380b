//! OpenTelemetry for Parkline's processes. The server and the kiosk trace with `tracing`; when an OTLP
//! collector is configured, [`Telemetry::layer`] turns their spans into OpenTelemetry spans and exports
//! them over OTLP/HTTP (protobuf) in batches. A kiosk's request carries its span's W3C trace context
//! ([`outgoing`]); the server makes its request span a child of it ([`incoming`]), so one vehicle's
//! passage is one trace across both.
//!
//! Exports run on the batch processor's own thread, so the HTTP client is a blocking one (reqwest's,
//! made on that thread when first needed): no async runtime is assumed.

#[cfg(feature = "testing")]
pub mod testing;

use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HeaderExtractor, HeaderInjector, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// An OTLP exporter and the provider that batches spans for it; flushed and shut down when dropped.
#[derive(Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
    service: &'static str,
}

impl Telemetry {
    /// Spans of `service` to the OTLP/HTTP collector at `endpoint` (its base URL, as
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` gives it: `http://collector:4318`).
    pub fn otlp(service: &'static str, endpoint: &str) -> anyhow::Result<Telemetry> {
        let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(Blocking::default())
            .with_endpoint(url)
            .with_timeout(Duration::from_secs(10))
            .build()?;
        let resource = opentelemetry_sdk::Resource::builder().with_service_name(service).build();
        let provider =
            SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
        Ok(Telemetry { provider, service })
    }

    /// The `tracing` layer that records spans for export.
    pub fn layer<S>(&self) -> impl tracing_subscriber::Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        tracing_opentelemetry::layer().with_tracer(self.provider.tracer(self.service))
    }

    /// Exports every finished span now.
    pub fn flush(&self) -> anyhow::Result<()> {
        Ok(self.provider.force_flush()?)
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        let _ = self.provider.shutdown();
    }
}

/// The current span's trace context as W3C `traceparent` (and `tracestate`) headers, for a request
/// that continues its trace elsewhere. Empty when nothing is traced.
pub fn outgoing() -> Vec<(String, String)> {
    let mut headers = http::HeaderMap::new();
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(&mut headers));
    headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect()
}

/// Makes `span` a child of the trace an incoming request's W3C headers name, if they name one (and
/// leaves it a root otherwise: a malformed header starts a new trace, it is not an error).
pub fn incoming(headers: &http::HeaderMap, span: &tracing::Span) {
    let context = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    if opentelemetry::trace::TraceContextExt::span(&context).span_context().is_valid() {
        let _ = span.set_parent(context);
    }
}

/// The traces of vehicles inside, by what identifies them at the exit (plate, ticket): a car's exit
/// continues the trace its entry began, so one trace holds its whole stay. Bounded: the oldest are
/// forgotten first (an exit with no remembered entry is a trace of its own).
#[derive(Debug, Default)]
pub struct Journeys(std::sync::Mutex<Remembered>);

#[derive(Debug, Default)]
struct Remembered {
    /// Key -> (when remembered, the trace).
    traces: std::collections::HashMap<String, (u64, opentelemetry::Context)>,
    /// Keys in the order remembered, with when: a key remembered again is not forgotten early.
    order: std::collections::VecDeque<(String, u64)>,
    next: u64,
}

/// Journeys remembered at most.
const JOURNEYS: usize = 4096;

impl Journeys {
    /// Remembers the current span's trace under each of `keys`.
    pub fn remember(&self, keys: &[&str]) {
        let context = tracing::Span::current().context();
        if !opentelemetry::trace::TraceContextExt::span(&context).span_context().is_valid() {
            return;
        }
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for key in keys {
            let at = kept.next;
            kept.next += 1;
            kept.traces.insert((*key).to_owned(), (at, context.clone()));
            kept.order.push_back(((*key).to_owned(), at));
        }
        // Keys remembered again leave stale entries in `order`: those go first.
        while kept.traces.len() > JOURNEYS || kept.order.len() > 2 * JOURNEYS {
            let Some((old, at)) = kept.order.pop_front() else { break };
            if kept.traces.get(&old).is_some_and(|(when, _)| *when == at) {
                kept.traces.remove(&old);
            }
        }
    }

    /// The journey one of `keys` names, forgotten from then on; `None` when none is known.
    pub fn take(&self, keys: &[&str]) -> Option<Journey> {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (_, found) = keys.iter().find_map(|key| kept.traces.get(*key).cloned())?;
        let Remembered { traces, order, .. } = &mut *kept;
        for key in keys {
            traces.remove(*key);
        }
        order.retain(|(key, _)| traces.contains_key(key));
        Some(Journey(found))
    }
}

/// A remembered trace, to be continued.
#[derive(Debug)]
pub struct Journey(opentelemetry::Context);

impl Journey {
    /// Makes `span` (not yet entered) continue this trace, linked to `from`: the span it follows on
    /// from where it is (the exit passage's own, where its plate was read).
    pub fn adopt(self, span: &tracing::Span, from: &tracing::Span) {
        let _ = span.set_parent(self.0);
        let here = opentelemetry::trace::TraceContextExt::span(&from.context()).span_context().clone();
        if here.is_valid() {
            span.add_link(here);
        }
    }
}

/// OTLP over reqwest's blocking client, made on the exporting thread when first used.
#[derive(Debug, Default)]
struct Blocking(OnceLock<reqwest::blocking::Client>);

#[async_trait]
impl HttpClient for Blocking {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = match self.0.get() {
            Some(client) => client,
            None => {
                // reqwest leaves the choice of TLS crypto to the process; the rest of Parkline uses ring.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let made = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build()?;
                self.0.get_or_init(|| made)
            }
        };
        let (parts, body) = request.into_parts();
        let response = client
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body.to_vec())
            .send()?;
        let (status, headers) = (response.status(), response.headers().clone());
        let mut out = Response::builder().status(status).body(response.bytes()?)?;
        *out.headers_mut() = headers;
        Ok(out)
    }
}
