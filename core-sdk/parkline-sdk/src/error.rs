//! The SDK's one error type.

use parkline_protocol::ErrorCode;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server could not be reached (or did not answer in time): try again later.
    #[error("offline: {0}")]
    Offline(String),
    /// The server answered with an error; `code` is stable, `message` is for people.
    #[error("{code:?}: {message}")]
    Server { status: u16, code: ErrorCode, message: String },
    /// The server answered something this SDK cannot read (a newer server, a proxy's page).
    #[error("unexpected answer: {0}")]
    Protocol(String),
    /// The local cache failed.
    #[error("cache: {0}")]
    Cache(#[from] rusqlite::Error),
    /// Nothing cached to answer from while offline.
    #[error("not cached, and offline")]
    NotCached,
    /// The credential store failed.
    #[error("credentials: {0}")]
    Credentials(String),
    /// A file of the client's could not be made or read.
    #[error("disk: {0}")]
    Disk(String),
    /// A sealing key is unusable, or a sealed value does not open with it.
    #[error("seal: {0}")]
    Seal(String),
}

impl Error {
    /// Worth trying again later with the same request (and the same idempotency key).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Offline(_) => true,
            Error::Server { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// The stable code: the server's, or `offline`, `protocol`, `cache`, `not_cached`.
    pub fn code(&self) -> String {
        match self {
            Error::Server { code, .. } => serde_json::to_value(code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            Error::Offline(_) => "offline".into(),
            Error::Protocol(_) => "protocol".into(),
            Error::Cache(_) => "cache".into(),
            Error::NotCached => "not_cached".into(),
            Error::Credentials(_) => "credentials".into(),
            Error::Disk(_) => "disk".into(),
            Error::Seal(_) => "seal".into(),
        }
    }
}
