//! Open data: an operator's facilities and live availability as DATEX II (3, or 2.3) and ParkAPI JSON. Public
//! (what they show, `/v1/facilities` shows too) and cacheable: each answer carries an ETag (the body's
//! hash) and a Last-Modified date, and a request naming either gets 304 while nothing has changed.

use axum::extract::{Path, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::fmt::rfc2822;
use parkline_protocol::ApiError;
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::error::{Error, Result};
use crate::feeds;
use crate::http::extract::Query;

/// How long a cache may serve an answer without asking again. Sensors change counts within seconds;
/// half a minute keeps a city's traffic centre polling cheaply and its counts current.
const MAX_AGE: &str = "public, max-age=30";

/// Which DATEX II a feed is written in.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Datex2Query {
    /// `3` (the default) or `2.3` (with the parking extension, as Germany's Mobilithek takes it).
    pub version: Option<String>,
}

impl Datex2Query {
    fn version(&self) -> Result<feeds::datex2::Version> {
        match self.version.as_deref() {
            None | Some("3") => Ok(feeds::datex2::Version::V3),
            Some("2.3") => Ok(feeds::datex2::Version::V2_3),
            Some(other) => Err(Error::validation(format!("DATEX II version {other:?}: use 3 or 2.3"))),
        }
    }
}

/// The operator's facilities as a DATEX II `ParkingTablePublication` (`UrbanParkingSite` records).
#[utoipa::path(get, path = "/v1/open-data/{operator}/datex2/parking-table", tag = "open data",
    params(("operator" = String, Path, description = "operator id"), Datex2Query),
    responses(
        (status = 200, content_type = "application/xml", body = String, description = "d2:payload"),
        (status = 304, description = "unchanged since the ETag or date the request named"),
        (status = 404, body = ApiError),
        (status = 422, body = ApiError, description = "an unknown version")))]
pub async fn datex2_table(
    State(app): State<App>,
    Path(operator): Path<String>,
    Query(q): Query<Datex2Query>,
    headers: HeaderMap,
) -> Result<Response> {
    let version = q.version()?;
    let feed = feeds::of(&app, &operator)?;
    Ok(cacheable(&headers, "application/xml", feed.table_time(), feeds::datex2::table(&feed, version)))
}

/// The operator's facilities' counts as a DATEX II `ParkingStatusPublication`.
#[utoipa::path(get, path = "/v1/open-data/{operator}/datex2/parking-status", tag = "open data",
    params(("operator" = String, Path, description = "operator id"), Datex2Query),
    responses(
        (status = 200, content_type = "application/xml", body = String, description = "d2:payload"),
        (status = 304, description = "unchanged since the ETag or date the request named"),
        (status = 404, body = ApiError),
        (status = 422, body = ApiError, description = "an unknown version")))]
pub async fn datex2_status(
    State(app): State<App>,
    Path(operator): Path<String>,
    Query(q): Query<Datex2Query>,
    headers: HeaderMap,
) -> Result<Response> {
    let version = q.version()?;
    let feed = feeds::of(&app, &operator)?;
    Ok(cacheable(&headers, "application/xml", feed.status_time(), feeds::datex2::status(&feed, version)))
}

/// The operator's facilities with capacities and realtime free counts, as ParkAPI's JSON `items`.
#[utoipa::path(get, path = "/v1/open-data/{operator}/parkapi", tag = "open data",
    params(("operator" = String, Path, description = "operator id")),
    responses(
        (status = 200, content_type = "application/json", body = Object, description = "ParkAPI items"),
        (status = 304, description = "unchanged since the ETag or date the request named"),
        (status = 404, body = ApiError)))]
pub async fn parkapi(
    State(app): State<App>,
    Path(operator): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let feed = feeds::of(&app, &operator)?;
    let body = serde_json::to_string(&feeds::parkapi::items(&feed)).map_err(anyhow::Error::from)?;
    let modified = feed.table_time().max(feed.status_time());
    Ok(cacheable(&headers, "application/json", modified, body))
}

/// `body` with its validators, or 304 when the request's `If-None-Match` (or, without one, its
/// `If-Modified-Since`) shows the caller has it.
fn cacheable(request: &HeaderMap, content_type: &'static str, modified: Timestamp, body: String) -> Response {
    let etag = format!("\"{:.32x}\"", Sha256::digest(body.as_bytes()));
    let unchanged = match request.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        Some(tags) => tags.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/") == etag),
        None => request
            .get(IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| rfc2822::parse(v).ok())
            .is_some_and(|since| since.timestamp().as_second() >= modified.as_second()),
    };
    let last_modified =
        rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&modified).unwrap_or_default();
    let mut headers = HeaderMap::new();
    for (name, value) in [(ETAG, etag), (LAST_MODIFIED, last_modified), (CACHE_CONTROL, MAX_AGE.into())] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    if unchanged {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    (headers, body).into_response()
}
