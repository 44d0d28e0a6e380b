//! Webhooks for partners: registering endpoints, the signature, and the dispatcher that delivers the outbox (the events
//! themselves are made by the store, with the writes that cause them: `parkline_store::events`).
//!
//! Each delivery is a `POST` of the event's JSON with `Parkline-Event-Id` and
//! `Parkline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA-256 of "<t>.<body>" under the endpoint's
//! secret>` (the scheme Stripe uses, so partners' existing code fits). A delivery is retried with
//! exponential backoff until the endpoint answers 2xx. Delivery is at least once: an event id may in
//! rare cases (a crash between the answer and its record) arrive twice, and receivers drop repeats by id.

use std::time::Duration;

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;
use tokio::sync::watch;

use parkline_protocol::{ErrorCode, WEBHOOK_TOPICS, WebhookRequest, WebhookView};

use crate::app::App;
use crate::auth::Reach;
use crate::error::{Error, Result};
use parkline_store::{Delivery, WebhookRecord};

/// Longest wait between two attempts.
const MAX_BACKOFF: SignedDuration = SignedDuration::from_secs(3600);
/// How long one instance keeps a delivery to itself while it tries it.
const LEASE: SignedDuration = SignedDuration::from_secs(60);

/// Registers an endpoint for some topics (`["*"]`: all) of one operator's facilities; the answer holds
/// the signing secret, once.
pub async fn register(app: &App, reach: &Reach, req: WebhookRequest) -> Result<WebhookView> {
    let operator = app.home_operator(reach, req.operator.as_deref()).await?;
    let url = checked_url(app, &req.url).await?;
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
    save(app, operator, None, url, topics).await
}

/// Registers a partner's own endpoint: it hears the start and end of the stays its grants let in, and
/// nothing else of the operator.
pub async fn register_for_partner(
    app: &App,
    partner: i64,
    operator: String,
    url: &str,
) -> Result<WebhookView> {
    let url = checked_url(app, url).await?;
    save(app, operator, Some(partner), url, vec!["session.ended".into(), "session.started".into()]).await
}

async fn checked_url(app: &App, url: &str) -> Result<reqwest::Url> {
    let parsed = reqwest::Url::parse(url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some() && url.len() <= 2048)
        .ok_or_else(|| Error::validation("url must be an http(s) URL of at most 2048 characters"))?;
    if let Some(why) = app.outbound.refuses(&parsed).await {
        return Err(Error::validation(format!("url must reach a public address: {why}")));
    }
    Ok(parsed)
}

async fn save(
    app: &App,
    operator: String,
    partner: Option<i64>,
    url: reqwest::Url,
    topics: Vec<String>,
) -> Result<WebhookView> {
    let record = WebhookRecord {
        id: crate::auth::random_token("whk_")[..20].to_owned(),
        operator,
        partner,
        url: url.to_string(),
        secret: crate::auth::random_token("whsec_"),
        topics,
        created: app.now(),
    };
    app.store.insert_webhook(&record).await?;
    Ok(view(record, true))
}

/// The registered endpoints, without their secrets.
pub async fn list(app: &App, reach: &Reach) -> Result<Vec<WebhookView>> {
    let hooks = app.store.webhooks().await?.into_iter().filter(|w| reach.holds_operator(&w.operator));
    Ok(hooks.map(|w| view(w, false)).collect())
}

/// Removes an endpoint; its undelivered events are dropped with it.
pub async fn remove(app: &App, id: &str) -> Result<()> {
    if app.store.disable_webhook(id, app.now()).await? {
        Ok(())
    } else {
        Err(Error::api(ErrorCode::NotFound, "no such webhook"))
    }
}

fn view(w: WebhookRecord, with_secret: bool) -> WebhookView {
    WebhookView {
        id: w.id,
        operator: w.operator,
        url: w.url,
        topics: w.topics,
        created_at: w.created,
        secret: with_secret.then_some(w.secret),
    }
}

/// The `Parkline-Signature` header for `body` sent at `t` (unix seconds).
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{t}.{body}").as_bytes());
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// Checks a `Parkline-Signature` header as a receiver should: the signature matches (in constant
/// time) and its time is within `tolerance` of `now` (so a captured delivery cannot be replayed later).
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &str,
    now: Timestamp,
    tolerance: SignedDuration,
) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = Some(value),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    if (now.as_second() - t).abs() > tolerance.as_secs() {
        return false;
    }
    let Ok(given) = (0..v1.len())
        .step_by(2)
        .map(|i| v1.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or(()))
        .collect::<Result<Vec<u8>, ()>>()
    else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// When to try again after `attempts` failures: 1 s, 2 s, 4 s ... up to an hour, with up to 25% jitter so
/// endpoints coming back are not hit by every instance at once.
fn backoff(attempts: i64) -> SignedDuration {
    let base = SignedDuration::from_secs(1i64 << attempts.clamp(0, 12)).min(MAX_BACKOFF);
    let jitter = rand::random_range(0..=base.as_millis() as i64 / 4);
    base + SignedDuration::from_millis(jitter)
}

/// Delivers due outbox rows until `stopped`.
pub async fn run(app: App, mut stopped: watch::Receiver<bool>) {
    let http = app.outbound.client(Duration::from_secs(10));
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        let now = app.now();
        let due = match app.store.due_deliveries(now, 32).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "reading the webhook outbox failed; will retry");
                continue;
            }
        };
        let attempts = due.into_iter().map(|d| deliver(&app, &http, d, now));
        futures_util::future::join_all(attempts).await;
    }
}

async fn deliver(app: &App, http: &reqwest::Client, d: Delivery, now: Timestamp) {
    match app.store.claim_delivery(&d, now + LEASE).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => return tracing::warn!(error = %e, "claiming a webhook delivery failed"),
    }
    let secret = match app.store.open_secret(&d.secret_sealed) {
        Ok(secret) => secret,
        Err(e) => return tracing::error!(error = %e, endpoint = d.url, "webhook secret unreadable"),
    };
    // Checked again at every send: an endpoint registered before, or allowed by a range since removed.
    let refused = match reqwest::Url::parse(&d.url) {
        Ok(url) => app.outbound.refuses(&url).await,
        Err(_) => Some("not a URL".into()),
    };
    if let Some(why) = refused {
        let outcome = Some((app.now() + backoff(d.attempts), format!("refused: {why}")));
        if let Err(e) = app.store.delivery_attempted(d.id, app.now(), outcome).await {
            tracing::warn!(error = %e, "recording a webhook attempt failed; it will be retried");
        }
        return tracing::warn!(endpoint = d.url, %why, "webhook delivery refused");
    }
    // Signed with the wall clock: the receiver checks it against its own.
    let sent = http
        .post(&d.url)
        .header("content-type", "application/json")
        .header("parkline-event-id", &d.event_id)
        .header("parkline-signature", signature(&secret, crate::clock::wall().as_second(), &d.body))
        .body(d.body.clone())
        .send()
        .await;
    let failure = match sent {
        Ok(r) if r.status().is_success() => None,
        Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
        Err(e) => Some(if e.is_timeout() { "timed out".into() } else { "unreachable".into() }),
    };
    let outcome = failure.map(|why| (app.now() + backoff(d.attempts), why));
    metrics::counter!("parkline_webhook_attempts_total", "ok" => outcome.is_none().to_string()).increment(1);
    if let Err(e) = app.store.delivery_attempted(d.id, app.now(), outcome).await {
        tracing::warn!(error = %e, "recording a webhook attempt failed; it will be retried");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_unchanged_recent_and_with_the_right_secret() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let h = signature("whsec_1", now.as_second(), "{\"a\":1}");
        let ok = |secret, header: &str, body, at| {
            verify_signature(secret, header, body, at, SignedDuration::from_mins(5))
        };
        assert!(ok("whsec_1", &h, "{\"a\":1}", now));
        assert!(!ok("whsec_2", &h, "{\"a\":1}", now), "another secret");
        assert!(!ok("whsec_1", &h, "{\"a\":2}", now), "another body");
        assert!(!ok("whsec_1", &h, "{\"a\":1}", now + SignedDuration::from_mins(6)), "replayed later");
        assert!(!ok("whsec_1", "t=1,v1=zz", "{}", now));
        assert!(!ok("whsec_1", "", "{}", now));
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert!(
            backoff(0) >= SignedDuration::from_secs(1) && backoff(0) <= SignedDuration::from_millis(1250)
        );
        assert!(backoff(3) >= SignedDuration::from_secs(8));
        assert!(backoff(40) <= MAX_BACKOFF + MAX_BACKOFF / 4);
    }
}
