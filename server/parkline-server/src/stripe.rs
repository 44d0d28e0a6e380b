//! The Stripe adapter: PaymentIntents (created and confirmed in one call) and Refunds over Stripe's
//! HTTP API, each with an idempotency key, so a retry after a timeout never charges twice.
//!
//! `card_token` is a Stripe PaymentMethod id (`pm_...`) made by Stripe's client libraries; card numbers
//! never reach Parkline. Declines are HTTP 402 with a `card_error`; anything else that is not 2xx is a
//! provider error, retried by the caller with the same key.

use async_trait::async_trait;
use parkline_domain::Money;
use serde::Deserialize;

use crate::provider::{Charge, Outcome, Provider};

/// `Debug` is written by hand: the secret key must never reach a log line.
pub struct Stripe {
    http: reqwest::Client,
    /// `https://api.stripe.com` (or a stand-in for tests).
    base: String,
    secret_key: String,
}

#[derive(Debug, Deserialize)]
struct Object {
    id: String,
    status: String,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: StripeError,
}

#[derive(Debug, Deserialize)]
struct StripeError {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: Option<String>,
}

impl std::fmt::Debug for Stripe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stripe").field("base", &self.base).finish_non_exhaustive()
    }
}

impl Stripe {
    pub fn new(base: &str, secret_key: &str) -> anyhow::Result<Stripe> {
        let http = crate::http_client().timeout(std::time::Duration::from_secs(30)).build()?;
        Ok(Stripe { http, base: base.trim_end_matches('/').to_owned(), secret_key: secret_key.to_owned() })
    }

    async fn post(&self, path: &str, key: &str, form: &[(&str, String)]) -> anyhow::Result<Outcome> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.secret_key)
            .header("idempotency-key", key)
            .form(form)
            .send()
            .await?;
        let status = response.status();
        let body = response.text().await?;
        if status.is_success() {
            let object: Object = serde_json::from_str(&body)?;
            return Ok(match object.status.as_str() {
                "succeeded" | "pending" => Outcome::Succeeded { reference: object.id },
                other => Outcome::Declined { reason: format!("The payment is {other}.") },
            });
        }
        let error = serde_json::from_str::<ErrorBody>(&body).map(|b| b.error);
        match error {
            Ok(e) if status.as_u16() == 402 && e.kind == "card_error" => Ok(Outcome::Declined {
                reason: e.message.unwrap_or_else(|| "Your card was declined.".into()),
            }),
            Ok(e) => anyhow::bail!("Stripe {status}: {} {}", e.kind, e.message.unwrap_or_default()),
            Err(_) => anyhow::bail!("Stripe {status}"),
        }
    }
}

#[async_trait]
impl Provider for Stripe {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn charge(&self, c: &Charge) -> anyhow::Result<Outcome> {
        let form = [
            ("amount", c.amount_minor.to_string()),
            ("currency", c.currency.as_str().to_ascii_lowercase()),
            ("payment_method", c.card_token.clone()),
            ("confirm", "true".into()),
            ("description", c.description.clone()),
            // Card present or saved: no redirect-based methods, so confirmation completes in this call.
            ("automatic_payment_methods[enabled]", "true".into()),
            ("automatic_payment_methods[allow_redirects]", "never".into()),
        ];
        self.post("/v1/payment_intents", &c.idempotency_key, &form).await
    }

    async fn refund(&self, reference: &str, amount: Money, key: &str) -> anyhow::Result<Outcome> {
        let form = [("payment_intent", reference.to_owned()), ("amount", amount.minor.to_string())];
        self.post("/v1/refunds", key, &form).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn its_debug_form_never_shows_the_secret_key() {
        let stripe = Stripe::new("https://api.stripe.com", "sk_live_very_secret").unwrap();
        let shown = format!("{stripe:?}");
        assert!(!shown.contains("sk_live_very_secret"), "{shown}");
        assert!(shown.contains("https://api.stripe.com"), "{shown}");
    }
}
