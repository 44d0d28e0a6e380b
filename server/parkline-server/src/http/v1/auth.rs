//! Signing in and renewing tokens.

use std::sync::LazyLock;

use axum::Extension;
use axum::extract::State;
use parkline_protocol::{ApiError, ErrorCode, LoginRequest, Me, RefreshRequest, TokenResponse};

use crate::auth::{Principal, hash_password, random_token, sha256_hex, verify_password};
use crate::error::{Error, Result};
use crate::http::App;
use crate::http::extract::Json;

/// Exchanges an email and password for an access token and a refresh token.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = TokenResponse),
    (status = 401, body = ApiError, description = "invalid_credentials"),
))]
pub async fn login(
    State(app): State<App>,
    Json(req): Json<LoginRequest>,
) -> Result<axum::Json<TokenResponse>> {
    let invalid = || Error::api(ErrorCode::InvalidCredentials, "wrong email or password");
    let user = app.store.user_by_email(&req.email.trim().to_lowercase()).await?;
    // Verify against a hash even for unknown emails, so timing does not reveal which emails exist.
    let hash = user.as_ref().map_or_else(|| DUMMY_HASH.clone(), |u| u.password_hash.clone());
    let password = req.password;
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| anyhow::anyhow!("password check: {e}"))?;
    let user = user.filter(|_| ok).ok_or_else(invalid)?;
    Ok(axum::Json(app.auth.issue(app.store.as_ref(), &user, app.now()).await?))
}

/// Creates a driver's account and signs them in. Staff accounts are made by admins.
#[utoipa::path(post, path = "/v1/auth/signup", tag = "auth", request_body = LoginRequest, responses(
    (status = 201, body = TokenResponse),
    (status = 409, body = ApiError, description = "the email already has an account"),
    (status = 422, body = ApiError, description = "not an email address, or a password too short"),
))]
pub async fn signup(
    State(app): State<App>,
    Json(req): Json<LoginRequest>,
) -> Result<(axum::http::StatusCode, axum::Json<TokenResponse>)> {
    crate::users::create(
        app.store.as_ref(),
        &req.email,
        &req.password,
        parkline_protocol::Role::Driver,
        app.now(),
    )
    .await?;
    let user = app
        .store
        .user_by_email(&req.email.trim().to_lowercase())
        .await?
        .ok_or_else(|| anyhow::anyhow!("the account just made is gone"))?;
    let tokens = app.auth.issue(app.store.as_ref(), &user, app.now()).await?;
    Ok((axum::http::StatusCode::CREATED, axum::Json(tokens)))
}

/// A hash to check against when the email is unknown.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| hash_password(&random_token("")).unwrap_or_default());

/// Exchanges a refresh token (once) for a new pair of tokens.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest, responses(
    (status = 200, body = TokenResponse),
    (status = 401, body = ApiError, description = "unknown, used or expired refresh token"),
))]
pub async fn refresh(
    State(app): State<App>,
    Json(req): Json<RefreshRequest>,
) -> Result<axum::Json<TokenResponse>> {
    let now = app.now();
    let rejected = || Error::api(ErrorCode::Unauthenticated, "the refresh token is unknown, used or expired");
    let user_id =
        app.store.consume_refresh_token(&sha256_hex(&req.refresh_token), now).await?.ok_or_else(rejected)?;
    let user = app.store.user_by_id(user_id).await?.ok_or_else(rejected)?;
    Ok(axum::Json(app.auth.issue(app.store.as_ref(), &user, now).await?))
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
    let user = app
        .store
        .user_by_id(id)
        .await?
        .ok_or_else(|| Error::api(ErrorCode::Unauthenticated, "user no longer exists"))?;
    Ok(axum::Json(Me { user_id: user.id, email: user.email, role: user.role }))
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
    Ok(axum::Json(app.store.notices(id, 100).await?))
}
