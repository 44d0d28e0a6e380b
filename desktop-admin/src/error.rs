//! The one error every command returns: a stable code and a message for people, as the window gets it.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct CommandError {
    /// The server's stable code (`not_found`, `forbidden`, ...), or the SDK's (`offline`,
    /// `not_cached`), or the console's own (`invalid_rate_plan`, `export_failed`, `signed_out`).
    pub code: String,
    pub message: String,
}

impl CommandError {
    pub fn new(code: &str, message: impl Into<String>) -> CommandError {
        CommandError { code: code.to_owned(), message: message.into() }
    }
}

impl From<parkline_sdk::Error> for CommandError {
    fn from(e: parkline_sdk::Error) -> CommandError {
        let message = match &e {
            parkline_sdk::Error::Server { message, .. } => message.clone(),
            parkline_sdk::Error::Offline(_) => "The server cannot be reached.".into(),
            parkline_sdk::Error::NotCached => {
                "The server cannot be reached and nothing is cached yet.".into()
            }
            other => other.to_string(),
        };
        CommandError { code: e.code(), message }
    }
}

pub type Result<T, E = CommandError> = std::result::Result<T, E>;
