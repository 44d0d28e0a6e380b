//! Partners: OAuth 2.0 client credentials for an API key, and what a key with the `grants` scope does:
//! grant a plate entry (billed to it), revoke it, see what it was billed, hear its stays.

use axum::Extension;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use parkline_protocol::{
    ApiError, GrantRequest, GrantView, OAuthError, OAuthToken, OAuthTokenRequest, PartnerCharge,
    PartnerWebhookRequest, WebhookView,
};

use crate::app::App;
use crate::auth::{PARTNER_TOKEN_TTL, Principal, sha256_hex};
use crate::error::Result;
use crate::grants;
use crate::http::extract::Json;

/// An OAuth 2.0 access token for an API key (client credentials, RFC 6749 section 4.4): `client_id`
/// is the key's id and `client_secret` the key, as HTTP Basic or in the form; `scope` narrows the
/// key's scopes. Errors are RFC 6749's.
#[utoipa::path(post, path = "/v1/oauth/token", tag = "partners",
    request_body(content = OAuthTokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = OAuthToken),
        (status = 400, body = OAuthError, description = "invalid_request, invalid_scope, unsupported_grant_type"),
        (status = 401, body = OAuthError, description = "invalid_client")))]
pub async fn token(
    State(app): State<App>,
    headers: HeaderMap,
    form: std::result::Result<axum::Form<OAuthTokenRequest>, FormRejection>,
) -> Response {
    let fail = |status: StatusCode, error: &str, description: &str| {
        let body = OAuthError { error: error.into(), error_description: description.into() };
        (status, [(CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
    };
    let Ok(axum::Form(req)) = form else {
        return fail(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send grant_type as application/x-www-form-urlencoded",
        );
    };
    if req.grant_type != "client_credentials" {
        return fail(StatusCode::BAD_REQUEST, "unsupported_grant_type", "only client_credentials is offered");
    }
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| pair.split_once(':').map(|(id, secret)| (id.to_owned(), secret.to_owned())));
    let Some((client_id, secret)) = basic.or_else(|| req.client_id.clone().zip(req.client_secret.clone()))
    else {
        return fail(StatusCode::UNAUTHORIZED, "invalid_client", "send client_id and client_secret");
    };
    // The same answer for an unknown id, a wrong secret and a revoked key.
    let key = match app.store.api_key_by_hash(&sha256_hex(&secret)).await {
        Ok(Some(key)) if key.id.to_string() == client_id => key,
        Ok(_) => return fail(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client or wrong secret"),
        Err(e) => return crate::error::Error::from(e).into_response(),
    };
    let scopes: Vec<String> = match &req.scope {
        None => key.scopes.clone(),
        Some(wanted) => {
            let wanted: Vec<String> = wanted.split_whitespace().map(str::to_owned).collect();
            if let Some(extra) = wanted.iter().find(|s| !key.scopes.contains(s)) {
                return fail(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    &format!("the client has no scope {extra:?}"),
                );
            }
            wanted
        }
    };
    match app.auth.issue_partner(key.id, &scopes, app.now()) {
        Ok(access_token) => {
            let body = OAuthToken {
                access_token,
                token_type: "Bearer".into(),
                expires_in: PARTNER_TOKEN_TTL.as_secs() as u64,
                scope: scopes.join(" "),
            };
            ([(CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// Grants a plate entry at one of the operator's facilities for a window (optionally to one zone); the
/// gate lets it in like a permit holder and the stay is billed to the partner.
#[utoipa::path(post, path = "/v1/partner/grants", tag = "partners", security(("bearer" = [])),
    request_body = GrantRequest,
    responses(
        (status = 201, body = GrantView),
        (status = 404, body = ApiError, description = "no such facility of the operator"),
        (status = 409, body = ApiError, description = "the plate has a grant or permit for some of that time"),
        (status = 422, body = ApiError)))]
pub async fn grant(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Json(req): Json<GrantRequest>,
) -> Result<(StatusCode, axum::Json<GrantView>)> {
    Ok((StatusCode::CREATED, axum::Json(grants::create(&app, &principal, req).await?)))
}

/// The partner's grants in force.
#[utoipa::path(get, path = "/v1/partner/grants", tag = "partners", security(("bearer" = [])),
    responses((status = 200, body = [GrantView])))]
pub async fn grants_list(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
) -> Result<axum::Json<Vec<GrantView>>> {
    Ok(axum::Json(grants::list(&app, &principal).await?))
}

/// Revokes one of the partner's grants: the gate no longer lets its plate in on it.
#[utoipa::path(delete, path = "/v1/partner/grants/{id}", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ApiError)))]
pub async fn revoke(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    grants::revoke(&app, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The stays the partner's grants let in, as billed to it.
#[utoipa::path(get, path = "/v1/partner/charges", tag = "partners", security(("bearer" = [])),
    responses((status = 200, body = [PartnerCharge])))]
pub async fn charges(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
) -> Result<axum::Json<Vec<PartnerCharge>>> {
    Ok(axum::Json(grants::statement(&app, &principal).await?))
}

/// Registers the partner's own endpoint for `session.started` and `session.ended` of its grants'
/// stays. The answer holds the signing secret, once.
#[utoipa::path(post, path = "/v1/partner/webhooks", tag = "partners", security(("bearer" = [])),
    request_body = PartnerWebhookRequest,
    responses((status = 201, body = WebhookView), (status = 422, body = ApiError, description = "bad URL")))]
pub async fn webhook(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Json(req): Json<PartnerWebhookRequest>,
) -> Result<(StatusCode, axum::Json<WebhookView>)> {
    let (key, operator) = grants::partner(&principal)?;
    let view = crate::webhooks::register_for_partner(&app, key, operator.to_owned(), &req.url).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}
