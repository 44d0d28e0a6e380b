//! The server's one error type, and how it becomes an HTTP response.
//!
//! Client mistakes carry an [`ErrorCode`] and a message that is sent as is; the store's refusals map to
//! codes here. Everything else (database, I/O) is logged with its details and answered with a bare
//! `internal` error: details never leave the server.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parkline_protocol::{ApiError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A refusal the client can act on.
    #[error("{message}")]
    Api { code: ErrorCode, message: String, retry_after_s: Option<u64> },
    #[error("store: {0}")]
    Store(#[from] parkline_store::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn api(code: ErrorCode, message: impl Into<String>) -> Self {
        Error::Api { code, message: message.into(), retry_after_s: None }
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Error::api(ErrorCode::ValidationFailed, message)
    }
    pub fn unknown_facility(id: &str) -> Self {
        Error::api(ErrorCode::UnknownFacility, format!("no facility {id:?}"))
    }
    pub fn unknown_operator(id: &str) -> Self {
        Error::api(ErrorCode::UnknownOperator, format!("no operator {id:?}"))
    }
    pub fn rate_limited(retry_after_s: u64) -> Self {
        Error::Api {
            code: ErrorCode::RateLimited,
            message: format!("too many requests; retry in {retry_after_s} s"),
            retry_after_s: Some(retry_after_s),
        }
    }

    /// The code a client sees for this error.
    pub fn code(&self) -> ErrorCode {
        use parkline_store::Error as Store;
        match self {
            Error::Api { code, .. } => *code,
            Error::Store(Store::Duplicate | Store::Conflict) => ErrorCode::Conflict,
            Error::Store(Store::RefundTooLarge) => ErrorCode::RefundTooLarge,
            Error::Store(Store::InsufficientBalance { .. }) => ErrorCode::PaymentDeclined,
            _ => ErrorCode::Internal,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let code = self.code();
        let (message, retry) = match self {
            Error::Api { message, retry_after_s, .. } => (message, retry_after_s),
            Error::Store(parkline_store::Error::Duplicate | parkline_store::Error::Conflict) => {
                ("conflicts with existing data".to_owned(), None)
            }
            Error::Store(
                e @ (parkline_store::Error::RefundTooLarge
                | parkline_store::Error::InsufficientBalance { .. }),
            ) => (e.to_string(), None),
            other => {
                tracing::error!(error = %other, "internal error");
                ("internal error; see the server log".to_owned(), None)
            }
        };
        let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(ApiError::new(code, message))).into_response();
        if let Some(seconds) = retry {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
