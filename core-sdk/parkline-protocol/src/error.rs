//! Every failure the API reports, as one JSON shape with a stable code.

use serde::{Deserialize, Serialize};

/// Stable, machine-readable error codes. Clients branch on these, never on messages; codes are only ever
/// added, never renamed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The body is not valid JSON, or not the expected shape.
    MalformedRequest,
    /// The body is JSON of the right shape, but a value is not acceptable.
    ValidationFailed,
    /// The request needs `Content-Type: application/json`.
    UnsupportedMediaType,
    /// The body, or a batch inside it, is over the size limit.
    PayloadTooLarge,
    /// No or unreadable credentials.
    Unauthenticated,
    /// The token was valid once but has expired; refresh it.
    TokenExpired,
    /// Wrong email or password.
    InvalidCredentials,
    /// Authenticated, but this role may not do this.
    Forbidden,
    /// Too many requests from this client or key; retry after the given delay.
    RateLimited,
    /// The path exists but does not take this method.
    MethodNotAllowed,
    NotFound,
    UnknownFacility,
    UnknownSpot,
    UnknownSensor,
    UnknownGate,
    UnknownOperator,
    /// The request conflicts with existing state (an id already taken, say).
    Conflict,
    /// The card was declined (the message says why); try another.
    PaymentDeclined,
    /// The payment provider failed or could not be reached; nothing was charged, retry with the same key.
    PaymentProviderError,
    /// There is nothing to pay (a permit, a stay in its free period, or already paid).
    NothingDue,
    /// A refund larger than what is left of the payment.
    RefundTooLarge,
    /// The account may not book more now (how many it holds, a fee it owes, a deposit it needs); the
    /// message says which.
    BookingLimit,
    /// The server is starting or shutting down.
    Unavailable,
    /// A fault on the server's side; details are in its logs, not in the response.
    Internal,
}

impl ErrorCode {
    /// The HTTP status that carries this code.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorCode::MalformedRequest => 400,
            ErrorCode::ValidationFailed => 422,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Unauthenticated | ErrorCode::TokenExpired | ErrorCode::InvalidCredentials => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::RateLimited => 429,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::NotFound
            | ErrorCode::UnknownFacility
            | ErrorCode::UnknownSpot
            | ErrorCode::UnknownSensor
            | ErrorCode::UnknownGate
            | ErrorCode::UnknownOperator => 404,
            ErrorCode::Conflict
            | ErrorCode::NothingDue
            | ErrorCode::RefundTooLarge
            | ErrorCode::BookingLimit => 409,
            ErrorCode::PaymentDeclined => 402,
            ErrorCode::PaymentProviderError => 502,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }
}

/// The body of every error response.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    /// For people; may change between versions.
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into() }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}
