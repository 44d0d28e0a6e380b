//! The HTTP API: shared state, the guard every route passes through, and the router built from the
//! route table in [`routes`].

mod extract;
mod ops;
pub mod routes;
mod v1;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use parkline_domain::sensor::SensorRules;
use parkline_protocol::ErrorCode;

use crate::auth::{Access, Auth, Principal};
use crate::error::Error;
use crate::live::Live;
use crate::occupancy::IngestLimits;
use crate::ratelimit::RateLimits;
use parkline_store::Store;

pub use routes::{Route, route_table};

/// Largest request body accepted, in bytes. A full sensor batch of 1,000 readings is about 200 KB.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Everything a handler may need; cheap to clone.
#[derive(Debug, Clone)]
pub struct App(Arc<AppInner>);

#[derive(Debug)]
pub struct AppInner {
    pub store: Arc<dyn Store>,
    pub live: Live,
    pub auth: Auth,
    pub limits: RateLimits,
    pub rules: SensorRules,
    pub ingest: IngestLimits,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    pub clock: Arc<dyn crate::clock::Clock>,
    pub permits: crate::permits::Permits,
    /// Plates and images of finished stays are removed after this many days.
    pub pii_retention_days: u32,
    /// People's stream connections, for notices.
    pub hub: crate::notices::Hub,
    /// Where notices go besides the stream (email, SMS).
    pub notify_sender: Arc<dyn crate::notices::Sender>,
    /// The card processor.
    pub payments: Arc<dyn crate::payments::Provider>,
    /// A sensor silent for longer is stale.
    pub stale_after: jiff::SignedDuration,
    pub ready: AtomicBool,
}

impl std::ops::Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl App {
    pub fn new(inner: AppInner) -> App {
        App(Arc::new(inner))
    }
    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }
    /// Sensors whose last reading is older than this are stale.
    pub fn stale_before(&self) -> jiff::Timestamp {
        self.now() - self.stale_after
    }
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

/// Builds the router: every route of the table behind its access guard, JSON errors for unknown paths
/// and methods, a body size limit, and request metrics.
pub fn router(app: App) -> Router {
    let mut router = Router::new();
    for route in route_table() {
        let guarded =
            route.handler.route_layer(middleware::from_fn_with_state((app.clone(), route.access), guard));
        router = router.route(route.path, guarded);
    }
    router
        .fallback(|| async { Error::api(ErrorCode::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            Error::api(ErrorCode::NotFound, "this route does not accept that method")
        })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(record_metrics))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            Error::api(ErrorCode::Internal, "internal error; see the server log").into_response()
        }))
        .with_state(app)
}

/// Authenticates the caller (if credentials are sent), checks the route admits them, applies rate
/// limits, and hands the principal to the handler as an extension.
async fn guard(State((app, access)): State<(App, Access)>, mut req: Request, next: Next) -> Response {
    let client = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let authorization = req.headers().get(AUTHORIZATION).cloned();
    match admit(&app, access, authorization, client).await {
        Ok(principal) => {
            if let Some(p) = principal {
                req.extensions_mut().insert(p);
            }
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

async fn admit(
    app: &App,
    access: Access,
    authorization: Option<HeaderValue>,
    client: Option<IpAddr>,
) -> Result<Option<Principal>, Error> {
    let principal = match authorization {
        None => None,
        Some(value) => {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    Error::api(ErrorCode::Unauthenticated, "use `Authorization: Bearer <token>`")
                })?;
            Some(app.auth.authenticate(app.store.as_ref(), token).await?)
        }
    };
    let actor = principal.as_ref().map(Principal::actor);
    if !access.admits(actor) {
        return Err(match actor {
            None => Error::api(ErrorCode::Unauthenticated, "this route needs a bearer token"),
            Some(a) => Error::api(ErrorCode::Forbidden, format!("{a:?} may not use this route")),
        });
    }
    app.limits.check(principal.as_ref(), client)?;
    Ok(principal)
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let method = req.method().as_str().to_owned();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("parkline_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("parkline_http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    response
}
