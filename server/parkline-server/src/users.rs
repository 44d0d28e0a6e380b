//! People's accounts: creating them (sign-up, admins, the demo), signing in, renewing tokens.

use std::sync::LazyLock;

use parkline_protocol::{ErrorCode, LoginRequest, Me, NewUser, Role, TokenResponse, UserView};

use crate::app::App;
use crate::auth::{Reach, hash_password, random_token, sha256_hex, verify_password};
use crate::error::{Error, Result};

pub const MIN_PASSWORD_LEN: usize = 10;

/// Creates an account for someone within the caller's reach: staff for an operator the caller manages
/// (limited to some of its facilities, if listed); drivers and platform admins only by admins.
pub async fn create_for(app: &App, reach: &Reach, user: NewUser) -> Result<i64> {
    let operator = match user.role {
        Role::Attendant | Role::Manager => Some(reach.home(user.operator.as_deref())?),
        Role::Driver | Role::Admin if *reach == Reach::Everywhere => {
            if user.operator.is_some() || !user.facilities.is_empty() {
                return Err(Error::validation("drivers and admins belong to no operator"));
            }
            None
        }
        Role::Driver | Role::Admin => {
            return Err(Error::api(ErrorCode::Forbidden, "only admins create drivers' and admins' accounts"));
        }
    };
    if let Some(op) = &operator {
        check_staff_facilities(app, reach, op, &user.facilities)?;
    }
    let id = create(app, &user.email, &user.password, user.role, operator.as_deref()).await?;
    if !user.facilities.is_empty() {
        app.store.set_staff_facilities(id, &user.facilities).await?;
    }
    Ok(id)
}

/// Limits a staff member to some of their operator's facilities (none: all of them). Takes effect at
/// their next sign-in or token refresh.
pub async fn set_facilities(app: &App, reach: &Reach, user: i64, facilities: Vec<String>) -> Result<()> {
    let found = app.store.user_by_id(user).await?;
    let operator = found
        .and_then(|u| u.operator)
        .ok_or_else(|| Error::api(ErrorCode::NotFound, format!("no staff member {user}")))?;
    check_staff_facilities(app, reach, &operator, &facilities)?;
    Ok(app.store.set_staff_facilities(user, &facilities).await?)
}

fn check_staff_facilities(app: &App, reach: &Reach, operator: &str, facilities: &[String]) -> Result<()> {
    for id in facilities {
        let f = app.facility_in(reach, id)?;
        if f.operator != operator {
            return Err(Error::unknown_facility(id));
        }
    }
    Ok(())
}

/// Creates a user (staff for `operator`; drivers and admins for none); emails are case-insensitive
/// and unique.
pub async fn create(
    app: &App,
    email: &str,
    password: &str,
    role: Role,
    operator: Option<&str>,
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
    if operator.is_some() != matches!(role, Role::Attendant | Role::Manager) {
        return Err(Error::validation("staff belong to one operator; drivers and admins to none"));
    }
    if let Some(op) = operator
        && !app.store.operators().await?.iter().any(|o| o.id == op)
    {
        return Err(Error::unknown_operator(op));
    }
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
    create(app, &req.email, &req.password, Role::Driver, None).await?;
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
    Ok(Me {
        user_id: user.id,
        email: user.email,
        role: user.role,
        operator: user.operator,
        facilities: user.facilities,
    })
}

/// The accounts within reach: every account for admins; an operator's staff for its managers.
pub async fn list(app: &App, reach: &Reach) -> Result<Vec<UserView>> {
    let mut users = app.store.users().await?;
    users.retain(|u| match &u.operator {
        Some(op) => reach.holds_operator(op),
        None => *reach == Reach::Everywhere,
    });
    Ok(users)
}
