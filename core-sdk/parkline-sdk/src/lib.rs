//! `parkline-sdk`: how every Parkline client talks to the server.
//!
//! - [`Client`]: typed calls over HTTP, sharing the server's wire types; errors carry the server's stable
//!   codes; idempotent calls are retried with backoff.
//! - [`Realtime`]: the live stream, reconnecting by itself and resuming each facility from the last
//!   sequence number seen, so consumers never see a gap or a duplicate.
//! - [`Cache`]: an SQLite file holding the last facilities, availability and the command outbox, so reads
//!   work offline (saying how old they are) and actions taken offline are replayed, once each, in order.
//!   A cache on disk can be sealed ([`Seal`]: AES-256-GCM under a key kept apart), and forgets what is
//!   older than its retention.
//! - [`Credentials`]: tokens kept in the OS keyring, or in an owner-only file where chosen explicitly.

mod cache;
mod client;
mod credentials;
mod error;
mod outbox;
mod realtime;
mod seal;

pub use cache::{Cache, Cached};
pub use client::{Client, Place};
pub use credentials::Credentials;
pub use error::{Error, Result};
pub use outbox::{Command, Outcome, Queued};
pub use realtime::{Event, Realtime};
pub use seal::Seal;

pub use parkline_protocol as protocol;
