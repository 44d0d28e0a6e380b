//! Request extractors whose rejections speak the API's error shape instead of axum's plain text.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use parkline_protocol::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::Error;

/// A JSON body: requires `Content-Type: application/json`, respects the body limit, and reports
/// malformed or mis-shaped JSON as `malformed_request` with serde's explanation.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(Error::api(ErrorCode::UnsupportedMediaType, "send the body as application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::api(ErrorCode::PayloadTooLarge, "the request body is over the size limit")
            } else {
                Error::api(ErrorCode::MalformedRequest, format!("could not read the body: {rejection}"))
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|e| Error::api(ErrorCode::MalformedRequest, format!("invalid JSON body: {e}")))
    }
}

/// Query-string parameters, with errors in the API's shape.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Query(q.0))
            .map_err(|e| Error::api(ErrorCode::MalformedRequest, format!("invalid query: {}", e.body_text())))
    }
}
