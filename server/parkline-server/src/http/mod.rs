//! The HTTP API: the guard every route passes through and the router built from the route table in
//! [`routes`]. Handlers parse, call one service function with the [`App`], and map its answer.

mod extract;
mod openapi;
mod ops;
pub mod routes;
mod v1;

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use parkline_protocol::ErrorCode;

use crate::app::App;
use crate::auth::{Access, Principal};
use crate::error::Error;

pub use routes::{Route, route_table};

/// Largest request body accepted, in bytes. A full sensor batch of 1,000 readings is about 200 KB.
pub const MAX_BODY_BYTES: usize = 1 << 20;

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
