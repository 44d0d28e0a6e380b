//! Partners' webhook endpoints: register, list, remove. Deliveries: see `crate::webhooks`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use parkline_protocol::{ApiError, ErrorCode, WEBHOOK_TOPICS, WebhookRequest, WebhookView};

use crate::error::{Error, Result};
use crate::http::App;
use crate::http::extract::Json;
use parkline_store::WebhookRecord;

fn view(w: WebhookRecord, with_secret: bool) -> WebhookView {
    WebhookView {
        id: w.id,
        url: w.url,
        topics: w.topics,
        created_at: w.created,
        secret: with_secret.then_some(w.secret),
    }
}

/// Registers an endpoint for some event types (`["*"]`: all). The answer holds the signing secret, once.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    request_body = WebhookRequest,
    responses((status = 201, body = WebhookView), (status = 422, body = ApiError, description = "bad URL or topic")))]
pub async fn create(
    State(app): State<App>,
    Json(req): Json<WebhookRequest>,
) -> Result<(StatusCode, axum::Json<WebhookView>)> {
    let url = reqwest::Url::parse(req.url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some() && req.url.len() <= 2048)
        .ok_or_else(|| Error::validation("url must be an http(s) URL of at most 2048 characters"))?;
    let mut topics = req.topics;
    topics.sort();
    topics.dedup();
    let known = |t: &String| t == "*" || WEBHOOK_TOPICS.contains(&t.as_str());
    if topics.is_empty() || !topics.iter().all(known) {
        return Err(Error::validation(format!("topics must be \"*\" or some of {WEBHOOK_TOPICS:?}")));
    }
    if topics.len() > 1 && topics.iter().any(|t| t == "*") {
        topics = vec!["*".into()];
    }
    let record = WebhookRecord {
        id: crate::auth::random_token("whk_")[..20].to_owned(),
        url: url.to_string(),
        secret: crate::auth::random_token("whsec_"),
        topics,
        created: app.now(),
    };
    app.store.insert_webhook(&record).await?;
    Ok((StatusCode::CREATED, axum::Json(view(record, true))))
}

/// The registered endpoints (without their secrets).
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = [WebhookView])))]
pub async fn list(State(app): State<App>) -> Result<axum::Json<Vec<WebhookView>>> {
    let all = app.store.webhooks().await?;
    Ok(axum::Json(all.into_iter().map(|w| view(w, false)).collect()))
}

/// Removes an endpoint; its undelivered events are dropped with it.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = ApiError)))]
pub async fn remove(State(app): State<App>, Path(id): Path<String>) -> Result<StatusCode> {
    if app.store.disable_webhook(&id, app.now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::api(ErrorCode::NotFound, "no such webhook"))
    }
}
