//! People's accounts: creating them (sign-up, admins, the demo), signing in, renewing tokens.

use std::sync::LazyLock;

use jiff::SignedDuration;
use parkline_protocol::{
    ConfirmSignup, ErrorCode, LoginRequest, Me, NewUser, Role, SignupStarted, TokenResponse, UserView,
};
use parkline_store::PendingSignup;

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

/// An email address as accounts keep it (trimmed, lowercase), if it is one.
fn email_address(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    let plausible =
        email.len() <= 254 && email.split_once('@').is_some_and(|(a, d)| !a.is_empty() && d.contains('.'));
    if !plausible {
        return Err(Error::validation(format!("{email:?} is not an email address")));
    }
    Ok(email)
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_LEN || password.len() > 1024 {
        return Err(Error::validation(format!("passwords need {MIN_PASSWORD_LEN} to 1024 characters")));
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
    let email = email_address(email)?;
    check_password(password)?;
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

/// The one answer to every well-formed sign-up.
const SIGNUP_STARTED: &str =
    "Check your mail: a code to finish signing up is on its way, unless the address has an account already.";

/// How long a sign-up code works.
const SIGNUP_CODE_LIFE: SignedDuration = SignedDuration::from_mins(30);

/// Starts a driver's sign-up (staff accounts are made by admins): a new address gets a code by mail,
/// which [`confirm_signup`] exchanges for the account; an address with an account gets a note saying
/// so. Both answer the same, after the same password hashing (the slow part) and with the mail sent in
/// the background, so sign-up tells no one which addresses have accounts.
pub async fn start_signup(app: &App, req: LoginRequest) -> Result<SignupStarted> {
    if app.mailer.is_off() {
        return Err(Error::api(ErrorCode::Unavailable, "sign-up is closed: this server has no mail channel"));
    }
    let email = email_address(&req.email)?;
    check_password(&req.password)?;
    let password_hash = crate::auth::hash_password_off_thread(req.password).await?;
    let now = app.now();
    let (subject, body) = if app.store.user_by_email(&email).await?.is_some() {
        let note = "Someone, maybe you, asked to make a Parkline account with this\n\
                    address. It has one already: sign in with your password.\n\
                    If it was not you, nothing has changed.\n";
        ("Your Parkline account", note.to_owned())
    } else {
        let code = format!("{:06}", rand::Rng::random_range(&mut rand::rng(), 0..1_000_000));
        let code_hash = signup_code_hash(&email, &code);
        let signup =
            PendingSignup { email: email.clone(), password_hash, code_hash, expires: now + SIGNUP_CODE_LIFE };
        app.store.put_signup(&signup, now).await?;
        let body = format!(
            "Your code: {code}\n\n\
             Enter it in Parkline within 30 minutes to finish making your account.\n\
             If you did not ask for it, ignore this mail.\n"
        );
        ("Your Parkline sign-up code", body)
    };
    let mailer = app.mailer.clone();
    tokio::spawn(async move { mailer.send(&email, subject, &body).await });
    Ok(SignupStarted { message: SIGNUP_STARTED.to_owned() })
}

/// Finishes a sign-up with the code from the mail: the account is made and signed in. A wrong, expired
/// or used code, an address with no sign-up, and a sixth try all get the same answer.
pub async fn confirm_signup(app: &App, req: ConfirmSignup) -> Result<TokenResponse> {
    let refused = || Error::api(ErrorCode::InvalidCredentials, "the code is wrong or has expired");
    let email = req.email.trim().to_lowercase();
    let now = app.now();
    let pending = app.store.try_signup(&email, now).await?.ok_or_else(refused)?;
    if signup_code_hash(&email, req.code.trim()) != pending.code_hash {
        return Err(refused());
    }
    let id = match app.store.finish_signup(&pending, now).await {
        Ok(id) => id,
        Err(parkline_store::Error::Duplicate) => return Err(refused()),
        Err(e) => return Err(e.into()),
    };
    let user =
        app.store.user_by_id(id).await?.ok_or_else(|| anyhow::anyhow!("the account just made is gone"))?;
    app.auth.issue(app.store.as_ref(), &user, now).await
}

/// What the store keeps of a code: bound to its address.
fn signup_code_hash(email: &str, code: &str) -> String {
    sha256_hex(&format!("signup:{email}:{code}"))
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
