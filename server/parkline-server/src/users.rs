//! People's accounts: creating them (sign-up, admins, the demo), signing in, renewing tokens.

use std::sync::LazyLock;

use parkline_protocol::{ErrorCode, LoginRequest, Me, Role, TokenResponse, UserView};

use crate::app::App;
use crate::auth::{hash_password, random_token, sha256_hex, verify_password};
use crate::error::{Error, Result};

pub const MIN_PASSWORD_LEN: usize = 10;

/// Creates a user; emails are case-insensitive and unique.
pub async fn create(app: &App, email: &str, password: &str, role: Role) -> Result<i64> {
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
    // Until staff are created for a chosen operator, they all join the default one.
    let operator =
        matches!(role, Role::Attendant | Role::Manager).then_some(parkline_store::DEFAULT_OPERATOR);
    app.store.insert_user(&email, &hash, role, operator, app.now()).await.map_err(|e| match e {
        parkline_store::Error::Duplicate => {
            Error::api(ErrorCode::Conflict, format!("{email} already has an account"))
        }
        other => other.into(),
    })
}

/// Exchanges an email and password for an access token and a refresh token.
pub async fn login(app: &App, req: LoginRequest) -> Result<TokenResponse> {
    let invalid = || Error::api(ErrorCode::InvalidCredentials, "wrong email or password");
    let user = app.store.user_by_email(&req.email.trim().to_lowercase()).await?;
    // Verify against a hash even for unknown emails, so timing does not reveal which emails exist.
    let hash = user.as_ref().map_or_else(|| DUMMY_HASH.clone(), |u| u.password_hash.clone());
    let password = req.password;
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| anyhow::anyhow!("password check: {e}"))?;
    let user = user.filter(|_| ok).ok_or_else(invalid)?;
    app.auth.issue(app.store.as_ref(), &user, app.now()).await
}

/// Creates a driver's account and signs them in. Staff accounts are made by admins.
pub async fn signup(app: &App, req: LoginRequest) -> Result<TokenResponse> {
    create(app, &req.email, &req.password, Role::Driver).await?;
    let user = app
        .store
        .user_by_email(&req.email.trim().to_lowercase())
        .await?
        .ok_or_else(|| anyhow::anyhow!("the account just made is gone"))?;
    app.auth.issue(app.store.as_ref(), &user, app.now()).await
}

/// A hash to check against when the email is unknown.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| hash_password(&random_token("")).unwrap_or_default());

/// Exchanges a refresh token (once) for a new pair of tokens.
pub async fn refresh(app: &App, refresh_token: &str) -> Result<TokenResponse> {
    let now = app.now();
    let rejected = || Error::api(ErrorCode::Unauthenticated, "the refresh token is unknown, used or expired");
    let user_id =
        app.store.consume_refresh_token(&sha256_hex(refresh_token), now).await?.ok_or_else(rejected)?;
    let user = app.store.user_by_id(user_id).await?.ok_or_else(rejected)?;
    app.auth.issue(app.store.as_ref(), &user, now).await
}

/// A person's profile.
pub async fn profile(app: &App, user: i64) -> Result<Me> {
    let user = app
        .store
        .user_by_id(user)
        .await?
        .ok_or_else(|| Error::api(ErrorCode::Unauthenticated, "user no longer exists"))?;
    Ok(Me { user_id: user.id, email: user.email, role: user.role })
}

/// Every account and its role.
pub async fn list(app: &App) -> Result<Vec<UserView>> {
    Ok(app.store.users().await?)
}
