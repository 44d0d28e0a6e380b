//! Drivers' accounts: money a driver keeps with the operator (top-ups) and owes it (no-show and late
//! cancellation fees), all derived from the ledger. A stay can be paid from the account.

use std::collections::BTreeMap;

use parkline_domain::{Currency, Money};
use parkline_protocol::{AccountView, Receipt, TopUpRequest};

use crate::error::{Error, Result};
use crate::http::App;
use crate::payments::{self, Charge};
use crate::store::{LedgerEntry, LedgerKind};

/// The `card_token` (and ledger method) that pays from the account instead of a card.
pub const ACCOUNT_METHOD: &str = "account";

/// What an entry does to its user's account balance (credit positive).
pub fn effect(e: &LedgerEntry) -> i64 {
    let account_level = e.session.is_none();
    let from_account = e.method.as_deref() == Some(ACCOUNT_METHOD);
    match e.kind {
        LedgerKind::Payment if from_account => -e.amount_minor,
        LedgerKind::Payment if account_level => e.amount_minor,
        LedgerKind::Refund if from_account => e.amount_minor,
        LedgerKind::Refund if account_level => -e.amount_minor,
        LedgerKind::Charge if account_level => -e.amount_minor,
        LedgerKind::Adjustment if account_level => e.amount_minor,
        _ => 0,
    }
}

/// [`effect`] summed in SQL, for checks inside a transaction: `$1` user, `$2` currency.
pub const BALANCE_SQL: &str = "SELECT CAST(COALESCE(SUM(CASE \
     WHEN kind = 'payment' AND method = 'account' THEN -amount_minor \
     WHEN kind = 'payment' AND session_id IS NULL THEN amount_minor \
     WHEN kind = 'refund' AND method = 'account' THEN amount_minor \
     WHEN kind = 'refund' AND session_id IS NULL THEN -amount_minor \
     WHEN kind = 'charge' AND session_id IS NULL THEN -amount_minor \
     WHEN kind = 'adjustment' AND session_id IS NULL THEN amount_minor \
     ELSE 0 END), 0) AS BIGINT) FROM ledger WHERE user_id = $1 AND currency = $2";

/// A user's balances (one per currency) and the entries behind them.
pub async fn view(app: &App, user: i64) -> Result<AccountView> {
    let entries: Vec<LedgerEntry> =
        app.store.user_ledger(user).await?.into_iter().filter(|e| effect(e) != 0).collect();
    let mut balances: BTreeMap<String, i64> = BTreeMap::new();
    for e in &entries {
        *balances.entry(e.currency.clone()).or_default() += effect(e);
    }
    let money = |minor, code: &str| Money::new(minor, Currency::new(code).unwrap_or(Currency::USD));
    Ok(AccountView {
        balances: balances.iter().map(|(code, minor)| money(*minor, code)).collect(),
        entries: entries
            .iter()
            .map(|e| parkline_protocol::AccountEntry {
                id: e.key.clone(),
                kind: e.kind.as_str().to_owned(),
                change: money(effect(e), &e.currency),
                method: e.method.clone(),
                facility: e.facility.clone(),
                reservation: e.reservation.clone(),
                session: e.session.clone(),
                at: e.at,
            })
            .collect(),
    })
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
            method: Some("card".into()),
            provider_ref: Some(reference),
            refund_of: None,
            memo: Some("top-up".into()),
            at: app.now(),
        };
        match app.store.queue_ledger(vec![entry]).await {
            Ok(()) => {}
            Err(Error::Db(db)) if crate::error::is_unique_violation(&db) => {}
            Err(e) => return Err(e),
        }
    }
    payments::receipt_by_id(app, &entry_key).await
}
