//! The JSON the Parkline API speaks: requests, responses and the one error shape, shared by the server and
//! every client so both sides agree by construction.
//!
//! With the `openapi` feature each type also describes itself for the server's OpenAPI document.

mod error;
mod secret;
mod wire;

pub use error::{ApiError, ErrorCode};
pub use secret::Secret;
pub use wire::*;
