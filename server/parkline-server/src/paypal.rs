//! The PayPal adapter: Orders v2 over PayPal's REST API. A charge is one create-order call with
//! `intent = CAPTURE` and a saved payment method (`payment_source.paypal.vault_id`), which PayPal
//! captures in the same call; a refund refunds that capture. Every call carries `PayPal-Request-Id`
//! (the caller's idempotency key), so a retry after a timeout returns the first answer, never a second
//! charge. The access token comes from `/v1/oauth2/token` (client credentials) and is kept until it
//! is about to expire.
//!
//! `card_token` is a PayPal vault id made by PayPal's client SDKs; no card or wallet details reach
//! Parkline. Declines (`422` with an `INSTRUMENT_DECLINED`-like issue, or a capture `DECLINED`) are
//! declines; anything else that is not 2xx is a provider error, retried by the caller with the same key.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use parkline_domain::Money;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use crate::provider::{Charge, Outcome, Provider};

/// `Debug` is written by hand: the client secret and the access token must never reach a log line.
pub struct PayPal {
    http: reqwest::Client,
    /// `https://api-m.paypal.com` (or the sandbox, or a stand-in for tests).
    base: String,
    client_id: String,
    secret: String,
    token: Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for PayPal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayPal")
            .field("base", &self.base)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
struct Token {
    access_token: String,
    expires_in: u64,
}

/// An order, a capture or a refund: only what decides the outcome.
#[derive(Debug, Deserialize)]
struct Resource {
    id: String,
    status: String,
    #[serde(default)]
    purchase_units: Vec<PurchaseUnit>,
}

#[derive(Debug, Deserialize)]
struct PurchaseUnit {
    #[serde(default)]
    payments: Option<Payments>,
}

#[derive(Debug, Deserialize)]
struct Payments {
    #[serde(default)]
    captures: Vec<Capture>,
}

#[derive(Debug, Deserialize)]
struct Capture {
    id: String,
    status: String,
}

/// PayPal's error body.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    name: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    details: Vec<ErrorDetail>,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    issue: String,
    #[serde(default)]
    description: Option<String>,
}

/// Issues that mean the payer's instrument said no (the order itself was fine).
const DECLINES: [&str; 5] = [
    "INSTRUMENT_DECLINED",
    "PAYER_ACTION_REQUIRED",
    "TRANSACTION_REFUSED",
    "PAYER_CANNOT_PAY",
    "CARD_EXPIRED",
];

/// `1250` cents as `"12.50"`: PayPal's amounts are decimal strings in the currency's minor digits.
pub fn amount(money: Money) -> serde_json::Value {
    json!({"currency_code": money.currency.as_str(), "value": money.decimal()})
}

impl PayPal {
    pub fn new(base: &str, client_id: &str, secret: &str) -> anyhow::Result<PayPal> {
        let http = crate::http_client().timeout(Duration::from_secs(30)).build()?;
        Ok(PayPal {
            http,
            base: base.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            secret: secret.to_owned(),
            token: Mutex::new(None),
        })
    }

    /// A valid access token, asked for again a minute before it expires.
    async fn token(&self) -> anyhow::Result<String> {
        let mut kept = self.token.lock().await;
        if let Some((token, until)) = kept.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let response = self
            .http
            .post(format!("{}/v1/oauth2/token", self.base))
            .basic_auth(&self.client_id, Some(&self.secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await?;
        let status = response.status();
        anyhow::ensure!(status.is_success(), "PayPal token {status}");
        let token: Token = response.json().await?;
        let life = Duration::from_secs(token.expires_in.saturating_sub(60));
        *kept = Some((token.access_token.clone(), Instant::now() + life));
        Ok(token.access_token)
    }

    async fn post(
        &self,
        path: &str,
        request_id: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<Result<Resource, String>> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(self.token().await?)
            .header("PayPal-Request-Id", request_id)
            .header("Prefer", "return=representation")
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        if status.is_success() {
            return Ok(Ok(serde_json::from_str(&text)?));
        }
        if status.as_u16() == 401 {
            // The token was revoked or expired early: ask for a new one on the retry.
            *self.token.lock().await = None;
        }
        let error = serde_json::from_str::<ErrorBody>(&text);
        match error {
            Ok(e) if status.as_u16() == 422 => {
                match e.details.iter().find(|d| DECLINES.contains(&d.issue.as_str())) {
                    Some(d) => {
                        Ok(Err(d.description.clone().unwrap_or_else(|| "The payment was declined.".into())))
                    }
                    None => anyhow::bail!("PayPal {status}: {} {}", e.name, e.message.unwrap_or_default()),
                }
            }
            Ok(e) => anyhow::bail!("PayPal {status}: {} {}", e.name, e.message.unwrap_or_default()),
            Err(_) => anyhow::bail!("PayPal {status}"),
        }
    }
}

#[async_trait]
impl Provider for PayPal {
    fn name(&self) -> &'static str {
        "paypal"
    }

    async fn charge(&self, c: &Charge) -> anyhow::Result<Outcome> {
        let body = json!({
            "intent": "CAPTURE",
            "purchase_units": [{
                "reference_id": c.idempotency_key.chars().take(256).collect::<String>(),
                "description": c.description.chars().take(127).collect::<String>(),
                "amount": amount(Money::new(c.amount_minor, c.currency)),
            }],
            "payment_source": {"paypal": {"vault_id": c.card_token}},
        });
        let order = match self.post("/v2/checkout/orders", &c.idempotency_key, body).await? {
            Ok(order) => order,
            Err(reason) => return Ok(Outcome::Declined { reason }),
        };
        let capture =
            order.purchase_units.iter().filter_map(|u| u.payments.as_ref()).flat_map(|p| &p.captures).next();
        Ok(match (order.status.as_str(), capture) {
            // Pending captures settle later (an e-cheque, a review); the money is on its way.
            ("COMPLETED", Some(capture)) if matches!(capture.status.as_str(), "COMPLETED" | "PENDING") => {
                Outcome::Succeeded { reference: capture.id.clone() }
            }
            (_, Some(capture)) => {
                Outcome::Declined { reason: format!("The payment is {}.", capture.status.to_lowercase()) }
            }
            (status, None) => anyhow::bail!("PayPal order {} is {status} with no capture", order.id),
        })
    }

    async fn refund(&self, reference: &str, amount_: Money, key: &str) -> anyhow::Result<Outcome> {
        let path = format!("/v2/payments/captures/{reference}/refund");
        Ok(match self.post(&path, key, json!({"amount": amount(amount_)})).await? {
            Ok(refund) if matches!(refund.status.as_str(), "COMPLETED" | "PENDING") => {
                Outcome::Succeeded { reference: refund.id }
            }
            Ok(refund) => {
                Outcome::Declined { reason: format!("The refund is {}.", refund.status.to_lowercase()) }
            }
            Err(reason) => Outcome::Declined { reason },
        })
    }
}

#[cfg(test)]
mod tests {
    use parkline_domain::Currency;

    use super::*;

    #[test]
    fn amounts_are_decimal_strings_in_the_currency_s_digits() {
        let at = |minor, code| amount(Money::new(minor, Currency::new(code).unwrap()));
        assert_eq!(at(1250, "USD"), json!({"currency_code": "USD", "value": "12.50"}));
        assert_eq!(at(5, "EUR"), json!({"currency_code": "EUR", "value": "0.05"}));
        assert_eq!(at(1250, "JPY"), json!({"currency_code": "JPY", "value": "1250"}));
    }

    #[test]
    fn its_debug_form_never_shows_the_secret() {
        let paypal = PayPal::new("https://api-m.paypal.com", "client-1", "very-secret").unwrap();
        let shown = format!("{paypal:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("client-1"), "{shown}");
    }
}
