//! The store's one error type. Refusals callers act on have their own variants, so no caller inspects a
//! database driver's error; everything else is an internal failure with its details for the log.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A row with the same key exists already (an id, an email, an idempotency key): often a retry.
    #[error("a record with this key exists already")]
    Duplicate,
    /// The write collides with what is stored: a reservation overlapping another claim on its spot.
    #[error("conflicts with stored data")]
    Conflict,
    /// A refund larger than what is left of its payment (checked inside the writing transaction).
    #[error("the refund is larger than what is left of the payment")]
    RefundTooLarge,
    /// An account payment larger than the account's balance (checked inside the writing transaction).
    #[error("the account holds {balance}, not enough to pay {wanted}")]
    InsufficientBalance { balance: i64, wanted: i64 },
    /// A key setting that cannot be used.
    #[error("bad key setting: {0}")]
    BadKey(String),
    /// A sealed value under a key that is no longer configured.
    #[error("no key {0:?} to decrypt with (was it removed before `rekey` ran?)")]
    UnknownKey(String),
    /// Stored data that does not read back: a damaged sealed value, an unknown enum value, bad JSON.
    #[error("stored data: {0}")]
    Corrupt(String),
    /// A database this store cannot open.
    #[error("unsupported {0}")]
    Unsupported(String),
    #[error("database: {0}")]
    Database(sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The group committer is gone (the store is shutting down).
    #[error("the committer has stopped")]
    Stopped,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<sqlx::Error> for Error {
    /// A unique key is a [`Error::Duplicate`]; overlapping reservations (PostgreSQL's exclusion
    /// constraint, SQLite's trigger) a [`Error::Conflict`].
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return Error::Duplicate;
            }
            if db.code().as_deref() == Some("23P01") || db.message().contains("reservation_overlap") {
                return Error::Conflict;
            }
        }
        Error::Database(e)
    }
}

/// A stored value that does not read back.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Corrupt(what.to_string())
}
