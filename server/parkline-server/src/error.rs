//! The server's one error type, and how it becomes an HTTP response.
//!
//! Client mistakes carry an [`ErrorCode`] and a message that is sent as is. Everything else (database,
//! I/O) is logged with its details and answered with a bare `internal` error: details never leave the server.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parkline_protocol::{ApiError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A refusal the client can act on.
    #[error("{message}")]
    Api { code: ErrorCode, message: String, retry_after_s: Option<u64> },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
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
    pub fn rate_limited(retry_after_s: u64) -> Self {
        Error::Api {
            code: ErrorCode::RateLimited,
            message: format!("too many requests; retry in {retry_after_s} s"),
            retry_after_s: Some(retry_after_s),
        }
    }

    /// The code a client sees for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Api { code, .. } => *code,
            Error::Db(e) if is_conflict(e) => ErrorCode::Conflict,
            _ => ErrorCode::Internal,
        }
    }
}

/// Whether a database error is a unique-constraint violation (an id or email already taken).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Whether the database refused a write because it conflicts with what is stored: a unique key, or
/// overlapping reservations (PostgreSQL's exclusion constraint, SQLite's trigger).
pub fn is_conflict(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db.code().as_deref() == Some("23P01")
                || db.message().contains("reservation_overlap")
        }
        _ => false,
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let code = self.code();
        let (message, retry) = match self {
            Error::Api { message, retry_after_s, .. } => (message, retry_after_s),
            Error::Db(ref e) if is_conflict(e) => ("conflicts with existing data".to_owned(), None),
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
