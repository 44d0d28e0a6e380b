//! Drivers' accounts: money a driver keeps with the operator (top-ups) and owes it (no-show and late
//! cancellation fees), all derived from the ledger. A stay can be paid from the account.

use std::collections::BTreeMap;

use parkline_domain::{Currency, Money};
use parkline_protocol::{AccountView, Receipt, TopUpRequest};

use crate::app::App;
use crate::error::{Error, Result};
use crate::payments;
use crate::provider::Charge;
use parkline_store::{LedgerEntry, LedgerKind};

/// The `card_token` (and ledger method) that pays from the account instead of a card.
pub use parkline_store::ACCOUNT_METHOD;

/// A user's balances (one per currency) and the entries behind them.
pub async fn view(app: &App, user: i64) -> Result<AccountView> {
    let entries: Vec<LedgerEntry> =
        app.store.user_ledger(user).await?.into_iter().filter(|e| e.account_effect() != 0).collect();
    let mut balances: BTreeMap<String, i64> = BTreeMap::new();
    for e in &entries {
        *balances.entry(e.currency.clone()).or_default() += e.account_effect();
    }
    let money = |minor, code: &str| Money::new(minor, Currency::new(code).unwrap_or(Currency::USD));
    Ok(AccountView {
        balances: balances.iter().map(|(code, minor)| money(*minor, code)).collect(),
        entries: entries
            .iter()
            .map(|e| parkline_protocol::AccountEntry {
                id: e.key.clone(),
                kind: e.kind.as_str().to_owned(),
                change: money(e.account_effect(), &e.currency),
                method: e.method.clone(),
                facility: e.facility.clone(),
                reservation: e.reservation.clone(),
                session: e.session.clone(),
                at: e.at,
            })
            .collect(),
    })
}

/// A user's balance in one currency (minor units); below zero they owe it.
pub async fn balance(app: &App, user: i64, currency: &str) -> Result<i64> {
    let entries = app.store.user_ledger(user).await?;
    Ok(entries.iter().filter(|e| e.currency == currency).map(LedgerEntry::account_effect).sum())
}

/// Adds money to the account by card.
pub async fn top_up(app: &App, user: i64, req: TopUpRequest, key: &str) -> Result<Receipt> {
    let entry_key = format!("topup:{user}:{key}");
    if app.store.ledger_entry(&entry_key).await?.is_none() {
        let currency = Currency::new(&req.currency)
            .map_err(|_| Error::validation("currency must be an ISO 4217 code"))?;
        if !(100..=10_000_000).contains(&req.amount_minor) {
            return Err(Error::validation("a top-up is between 1.00 and 100,000.00"));
        }
        let charge = Charge {
            amount_minor: req.amount_minor,
            currency,
            card_token: req.card_token,
            idempotency_key: entry_key.clone(),
            description: "Parkline account top-up".into(),
        };
        let reference = payments::settled(app, app.payments.charge(&charge).await)?;
        let entry = LedgerEntry {
            key: entry_key.clone(),
            kind: LedgerKind::Payment,
            amount_minor: req.amount_minor,
            currency: currency.as_str().to_owned(),
            facility: None,
            session: None,
            reservation: None,
            user: Some(user),
            actor: None,
            method: Some("card".into()),
            provider_ref: Some(reference),
            refund_of: None,
            memo: Some("top-up".into()),
            at: app.now(),
        };
        match app.store.queue_ledger(vec![entry]).await {
            Ok(()) => {}
            Err(parkline_store::Error::Duplicate) => {}
            Err(e) => return Err(e.into()),
        }
    }
    payments::receipt_by_id(app, &entry_key).await
}
