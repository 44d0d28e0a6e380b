//! The card processor port: a charge, what the processor answered, and the simulated processor used
//! by the demo and tests. Stripe's adapter is in `stripe.rs`, PayPal's in `paypal.rs`; the settings
//! choose one in `setup.rs`.

use async_trait::async_trait;
use parkline_domain::{Currency, Money};

/// A charge to make at the provider.
#[derive(Debug, Clone, PartialEq)]
pub struct Charge {
    pub amount_minor: i64,
    pub currency: Currency,
    pub card_token: String,
    /// Sent to the provider, so a retried charge is the same charge.
    pub idempotency_key: String,
    pub description: String,
}

/// What the provider said.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Money moved; the provider's reference for it.
    Succeeded { reference: String },
    /// The card issuer said no.
    Declined { reason: String },
}

/// A card processor. Errors mean "unknown whether money moved": the caller retries with the same key.
#[async_trait]
pub trait Provider: Send + Sync + std::fmt::Debug {
    fn name(&self) -> &'static str;
    async fn charge(&self, charge: &Charge) -> anyhow::Result<Outcome>;
    /// Gives `amount` of the payment `reference` back to where it came from.
    async fn refund(&self, reference: &str, amount: Money, idempotency_key: &str) -> anyhow::Result<Outcome>;
}

/// No provider named (the command-line tools): every charge and refund fails as a provider error.
#[derive(Debug, Default)]
pub struct Unconfigured;

#[async_trait]
impl Provider for Unconfigured {
    fn name(&self) -> &'static str {
        "none"
    }

    async fn charge(&self, _: &Charge) -> anyhow::Result<Outcome> {
        anyhow::bail!("no payment provider is configured")
    }

    async fn refund(&self, _: &str, _: Money, _: &str) -> anyhow::Result<Outcome> {
        anyhow::bail!("no payment provider is configured")
    }
}

/// The demo's and tests' provider: no network, documented test tokens (the same names as Stripe's test cards).
#[derive(Debug, Default)]
pub struct Simulated;

#[async_trait]
impl Provider for Simulated {
    fn name(&self) -> &'static str {
        "simulated"
    }

    async fn charge(&self, charge: &Charge) -> anyhow::Result<Outcome> {
        // Stripe's test PaymentMethods (`pm_card_visa`) name the same cards.
        let token = match charge.card_token.strip_prefix("pm_card_") {
            Some(card) => format!("tok_{card}"),
            None => charge.card_token.clone(),
        };
        Ok(match token.as_str() {
            "tok_chargeDeclined" => Outcome::Declined { reason: "Your card was declined.".into() },
            "tok_chargeDeclinedInsufficientFunds" => {
                Outcome::Declined { reason: "Your card has insufficient funds.".into() }
            }
            "tok_processingError" => anyhow::bail!("simulated processing error"),
            t if t.starts_with("tok_") => Outcome::Succeeded {
                reference: format!("sim_pi_{}", &crate::auth::sha256_hex(&charge.idempotency_key)[..20]),
            },
            _ => Outcome::Declined { reason: "Unknown card token.".into() },
        })
    }

    async fn refund(
        &self,
        _reference: &str,
        _amount: Money,
        idempotency_key: &str,
    ) -> anyhow::Result<Outcome> {
        Ok(Outcome::Succeeded {
            reference: format!("sim_re_{}", &crate::auth::sha256_hex(idempotency_key)[..20]),
        })
    }
}
