//! The HTTP API: the guard every route passes through and the router built from the route table in
//! [`routes`]. Handlers parse, call one service function with the [`App`], and map its answer.

mod extract;
mod openapi;
mod ops;
pub mod routes;
pub mod scope;
mod v1;

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, RawPathParams, Request, State};
use axum::http::HeaderValue;
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{RequestExt, Router};
use parkline_protocol::ErrorCode;

use crate::app::App;
use crate::auth::{Access, Principal};
use crate::error::Error;
use scope::Scope;

pub use routes::{Route, route_table};

/// Largest request body accepted, in bytes. A full sensor batch of 1,000 readings is about 200 KB.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// What the guard checks for one route.
#[derive(Debug, Clone, Copy)]
struct Rule {
    access: Access,
    scope: Scope,
    key_scope: Option<&'static str>,
}

/// Builds the router: every route of the table behind its guard, JSON errors for unknown paths and
/// methods, a body size limit, and request metrics.
pub fn router(app: App) -> Router {
    let mut router = Router::new();
    for route in route_table() {
        let rule = Rule { access: route.access, scope: route.scope, key_scope: route.key_scope };
        let guarded = route.handler.route_layer(middleware::from_fn_with_state((app.clone(), rule), guard));
        router = router.route(route.path, guarded);
    }
    router
        .fallback(|| async { Error::api(ErrorCode::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            Error::api(ErrorCode::MethodNotAllowed, "this route does not accept that method")
        })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn(record_metrics))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            Error::api(ErrorCode::Internal, "internal error; see the server log").into_response()
        }))
        .with_state(app)
}

/// A request's span, named by its route, continuing the trace the caller's `traceparent` names (a
/// kiosk's passage, say).
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let route = req.extensions().get::<axum::extract::MatchedPath>().map_or(req.uri().path(), |p| p.as_str());
    let span = tracing::info_span!("http.request", method = %req.method(), route = %route, status = tracing::field::Empty);
    parkline_telemetry::incoming(req.headers(), &span);
    span
}

/// Authenticates the caller (if credentials are sent), checks the route admits them, applies rate
/// limits, checks the thing the path names is within the caller's reach (see [`scope`]), and hands the
/// principal and its reach to the handler as extensions.
async fn guard(State((app, rule)): State<(App, Rule)>, mut req: Request, next: Next) -> Response {
    let client = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let authorization = req.headers().get(AUTHORIZATION).cloned();
    let principal = match admit(&app, rule, authorization, client).await {
        Ok(principal) => principal,
        Err(e) => return e.into_response(),
    };
    if let Scope::At(locate) = rule.scope {
        let key = match req.extract_parts::<RawPathParams>().await {
            Ok(params) => params.iter().find(|(name, _)| *name == locate.param()).map(|(_, v)| v.to_string()),
            Err(_) => None,
        };
        let Some(key) = key else {
            return Error::api(ErrorCode::MalformedRequest, "the path does not name what it acts on")
                .into_response();
        };
        if let Err(e) = scope::check(&app, locate, &key, principal.as_ref()).await {
            return e.into_response();
        }
    }
    if let Some(p) = principal {
        req.extensions_mut().insert(p.reach());
        req.extensions_mut().insert(p);
    } else {
        req.extensions_mut().insert(crate::auth::Reach::Nowhere);
    }
    next.run(req).await
}

async fn admit(
    app: &App,
    rule: Rule,
    authorization: Option<HeaderValue>,
    client: Option<IpAddr>,
) -> Result<Option<Principal>, Error> {
    // HTTP Basic is how OAuth clients authenticate at the token endpoint, which reads it itself; it
    // is no API credential.
    let basic = authorization.as_ref().and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("Basic "));
    let principal = match authorization.filter(|_| !basic) {
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
            let may_look_up = || app.limits.token_lookup(client);
            Some(app.auth.authenticate(app.store.as_ref(), token, may_look_up).await?)
        }
    };
    let actor = principal.as_ref().map(Principal::actor);
    if !rule.access.admits(actor) {
        return Err(match actor {
            None => Error::api(ErrorCode::Unauthenticated, "this route needs a bearer token"),
            Some(a) => Error::api(ErrorCode::Forbidden, format!("{a:?} may not use this route")),
        });
    }
    if let (Some(p), Some(needed)) = (&principal, rule.key_scope)
        && !p.has_key_scope(needed)
    {
        return Err(Error::api(ErrorCode::Forbidden, format!("this key lacks the {needed:?} scope")));
    }
    app.limits.check(principal.as_ref(), client)?;
    Ok(principal)
}

/// Axum's own refusals (a path or query that cannot be read, a body over the limit, a stream request
/// that is no upgrade) are plain text; every answer of the API is an `ApiError`, so they are rewritten
/// as one, keeping their status and words.
async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let code = match status.as_u16() {
        405 => ErrorCode::MethodNotAllowed,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        422 => ErrorCode::ValidationFailed,
        500..=599 => ErrorCode::Internal,
        _ => ErrorCode::MalformedRequest,
    };
    let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap_or_default();
    let mut message: String = String::from_utf8_lossy(&body).chars().take(300).collect();
    if message.trim().is_empty() || code == ErrorCode::Internal {
        message = status.canonical_reason().unwrap_or("refused").to_owned();
    }
    let api = parkline_protocol::ApiError::new(code, message);
    (status, axum::Json(api)).into_response()
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
