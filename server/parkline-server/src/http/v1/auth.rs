//! Signing in, renewing tokens, and the signed-in person's own data.

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use parkline_protocol::{
    ApiError, ConfirmSignup, ErrorCode, LoginRequest, Me, RefreshRequest, SignupStarted, TokenResponse,
};

use crate::app::App;
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::http::extract::Json;
use crate::users;

/// Exchanges an email and password for an access token and a refresh token.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = TokenResponse),
    (status = 401, body = ApiError, description = "invalid_credentials"),
    (status = 429, body = ApiError, description = "rate_limited: too many sign-ins from this address or for this account"),
))]
pub async fn login(
    State(app): State<App>,
    ConnectInfo(client): ConnectInfo<std::net::SocketAddr>,
    Json(req): Json<LoginRequest>,
) -> Result<axum::Json<TokenResponse>> {
    app.limits.login_attempt(Some(client.ip()), Some(&req.email))?;
    Ok(axum::Json(users::login(&app, req).await?))
}

/// Starts a driver's sign-up: a code goes to the address by mail (an address with an account gets a note
/// instead). The answer is the same either way. Staff accounts are made by admins.
#[utoipa::path(post, path = "/v1/auth/signup", tag = "auth", request_body = LoginRequest, responses(
    (status = 202, body = SignupStarted, description = "a mail is on its way (a code, or a note that the address has an account)"),
    (status = 422, body = ApiError, description = "not an email address, or a password too short"),
    (status = 429, body = ApiError, description = "rate_limited: too many sign-ins and sign-ups from this address or for this address"),
    (status = 503, body = ApiError, description = "unavailable: this server has no mail channel, so sign-up is closed"),
))]
pub async fn signup(
    State(app): State<App>,
    ConnectInfo(client): ConnectInfo<std::net::SocketAddr>,
    Json(req): Json<LoginRequest>,
) -> Result<(axum::http::StatusCode, axum::Json<SignupStarted>)> {
    app.limits.login_attempt(Some(client.ip()), Some(&req.email))?;
    Ok((axum::http::StatusCode::ACCEPTED, axum::Json(users::start_signup(&app, req).await?)))
}

/// Finishes a sign-up with the code from the mail: the driver's account is made and signed in.
#[utoipa::path(post, path = "/v1/auth/signup/confirm", tag = "auth", request_body = ConfirmSignup, responses(
    (status = 201, body = TokenResponse),
    (status = 401, body = ApiError, description = "invalid_credentials: the code is wrong, expired, used, or tried too often"),
    (status = 429, body = ApiError, description = "rate_limited: too many tries from this address or for this address"),
))]
pub async fn confirm_signup(
    State(app): State<App>,
    ConnectInfo(client): ConnectInfo<std::net::SocketAddr>,
    Json(req): Json<ConfirmSignup>,
) -> Result<(axum::http::StatusCode, axum::Json<TokenResponse>)> {
    app.limits.login_attempt(Some(client.ip()), Some(&req.email))?;
    Ok((axum::http::StatusCode::CREATED, axum::Json(users::confirm_signup(&app, req).await?)))
}

/// Exchanges a refresh token (once) for a new pair of tokens.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest, responses(
    (status = 200, body = TokenResponse),
    (status = 401, body = ApiError, description = "unknown, used or expired refresh token"),
))]
pub async fn refresh(
    State(app): State<App>,
    Json(req): Json<RefreshRequest>,
) -> Result<axum::Json<TokenResponse>> {
    Ok(axum::Json(users::refresh(&app, &req.refresh_token).await?))
}

/// Signs the person out everywhere: every access and refresh token they hold stops working at once,
/// on every instance.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])), responses(
    (status = 204, description = "signed out"),
    (status = 401, body = ApiError),
))]
pub async fn logout(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
) -> Result<axum::http::StatusCode> {
    let Principal::User { id, .. } = principal else {
        return Err(Error::api(ErrorCode::Forbidden, "only people sign out"));
    };
    app.store.sign_out_everywhere(id).await?;
    tracing::info!(user = id, "signed out everywhere");
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The signed-in person.
#[utoipa::path(get, path = "/v1/me", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = Me),
    (status = 401, body = ApiError),
))]
pub async fn me(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
) -> Result<axum::Json<Me>> {
    let Principal::User { id, .. } = principal else {
        return Err(Error::api(ErrorCode::Forbidden, "only people have a profile"));
    };
    Ok(axum::Json(users::profile(&app, id).await?))
}

/// Everything Parkline holds about the signed-in person: profile, reservations (with plates), account.
#[utoipa::path(get, path = "/v1/me/data", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = parkline_protocol::MyData)))]
pub async fn my_data(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
) -> Result<axum::Json<parkline_protocol::MyData>> {
    let Principal::User { id, .. } = principal else {
        return Err(Error::api(ErrorCode::Forbidden, "only people have personal data"));
    };
    Ok(axum::Json(crate::privacy::export(&app, id).await?))
}

/// Erases the signed-in person's personal data and closes their account. Payments and fees stay in
/// the ledger without the person.
#[utoipa::path(delete, path = "/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 409, body = ApiError, description = "upcoming reservations")))]
pub async fn erase_me(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
) -> Result<axum::http::StatusCode> {
    let Principal::User { id, .. } = principal else {
        return Err(Error::api(ErrorCode::Forbidden, "only people have personal data"));
    };
    crate::privacy::erase(&app, id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The signed-in person's latest notices (also pushed over the stream while connected), newest first.
#[utoipa::path(get, path = "/v1/me/notices", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = [parkline_protocol::Notice])))]
pub async fn my_notices(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
) -> Result<axum::Json<Vec<parkline_protocol::Notice>>> {
    let Principal::User { id, .. } = principal else {
        return Err(Error::api(ErrorCode::Forbidden, "only people get notices"));
    };
    Ok(axum::Json(crate::notices::latest(&app, id).await?))
}
