//! Creating accounts, shared by the admin API and the demo.

use jiff::Timestamp;
use parkline_protocol::{ErrorCode, Role};

use crate::error::{Error, Result};
use parkline_store::Store;

pub const MIN_PASSWORD_LEN: usize = 10;

/// Creates a user; emails are case-insensitive and unique.
pub async fn create(
    store: &dyn Store,
    email: &str,
    password: &str,
    role: Role,
    now: Timestamp,
) -> Result<i64> {
    let email = email.trim().to_lowercase();
    let plausible =
        email.len() <= 254 && email.split_once('@').is_some_and(|(a, d)| !a.is_empty() && d.contains('.'));
    if !plausible {
        return Err(Error::validation(format!("{email:?} is not an email address")));
    }
    if password.chars().count() < MIN_PASSWORD_LEN || password.len() > 1024 {
        return Err(Error::validation(format!("passwords need {MIN_PASSWORD_LEN} to 1024 characters")));
    }
    let hash = crate::auth::hash_password_off_thread(password.to_owned()).await?;
    store.insert_user(&email, &hash, role, now).await.map_err(|e| match e {
        parkline_store::Error::Duplicate => {
            Error::api(ErrorCode::Conflict, format!("{email} already has an account"))
        }
        other => other.into(),
    })
}
