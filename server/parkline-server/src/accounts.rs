//! Drivers' accounts: money a driver keeps with the operator (top-ups) and owes it (no-show and late
//! cancellation fees), all derived from the ledger. A stay can be paid from the account.

use std::collections::{BTreeMap, HashMap};

use parkline_domain::{Currency, Money};
use parkline_protocol::{AccountView, Receipt, Role, TopUpRequest};

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

/// Reads the whole ledger and checks it: the balances admins see beside the stays still owing.
pub async fn check_all(app: &App) -> Result<parkline_protocol::BalanceCheck> {
    let roles = app.store.users().await?.into_iter().map(|u| (u.id, u.role)).collect();
    let mut entries = Vec::new();
    let mut after = 0;
    loop {
        let page = app.store.ledger_page(after, 1000).await?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        entries.extend(page.into_iter().map(|(_, e)| e));
    }
    Ok(check(&entries, &roles))
}

/// What each account holds, and whatever the payment rules never write: money in a staff member's
/// account, a refund credited to someone other than its payer, refunds beyond their payment, a refund
/// of no payment or in another currency. Pure: the ledger and who is who in, findings out.
pub fn check(entries: &[LedgerEntry], roles: &HashMap<i64, Role>) -> parkline_protocol::BalanceCheck {
    use parkline_protocol::{AccountBalance, BalanceProblem};
    let mut problems = Vec::new();
    let mut problem = |code: &str, e: Option<&LedgerEntry>, user: Option<i64>, message: String| {
        problems.push(BalanceProblem {
            code: code.to_owned(),
            entry: e.map(|e| e.key.clone()),
            user,
            message,
        })
    };
    let mut held: BTreeMap<(i64, &str), i64> = BTreeMap::new();
    let payments: HashMap<&str, &LedgerEntry> =
        entries.iter().filter(|e| e.kind == LedgerKind::Payment).map(|e| (e.key.as_str(), e)).collect();
    let mut refunded: BTreeMap<&str, i64> = BTreeMap::new();
    for e in entries {
        if let Some(user) = e.user {
            *held.entry((user, e.currency.as_str())).or_default() += e.account_effect();
        }
        if e.kind != LedgerKind::Refund {
            continue;
        }
        let Some(paid) = e.refund_of.as_deref().and_then(|key| payments.get(key)) else {
            problem("refund_without_payment", Some(e), e.user, format!("{} refunds no payment", e.key));
            continue;
        };
        if paid.currency != e.currency {
            let msg = format!("{} refunds a {} payment in {}", e.key, paid.currency, e.currency);
            problem("refund_in_another_currency", Some(e), e.user, msg);
        }
        if paid.user.is_some() && paid.user != e.user {
            let msg =
                format!("{} credits user {:?}; {} was paid by user {:?}", e.key, e.user, paid.key, paid.user);
            problem("refund_to_someone_else", Some(e), e.user, msg);
        }
        *refunded.entry(paid.key.as_str()).or_default() += e.amount_minor;
    }
    for (key, total) in refunded {
        let paid = payments[key];
        if total > paid.amount_minor {
            let msg = format!("{key} paid {} and {total} of it was refunded", paid.amount_minor);
            problem("refund_beyond_payment", Some(paid), paid.user, msg);
        }
    }
    let mut accounts = Vec::new();
    for ((user, currency), minor) in held.into_iter().filter(|(_, minor)| *minor != 0) {
        let role = roles.get(&user).copied();
        if role.is_some_and(|r| r != Role::Driver) {
            let msg = format!("user {user} is staff and holds {minor} {currency}; accounts are drivers'");
            problem("staff_account", None, Some(user), msg);
        }
        accounts.push(AccountBalance { user, role, currency: currency.to_owned(), minor });
    }
    parkline_protocol::BalanceCheck { entries: entries.len() as u64, accounts, problems }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, kind: LedgerKind, minor: i64, user: i64, refund_of: Option<&str>) -> LedgerEntry {
        LedgerEntry {
            key: key.into(),
            kind,
            amount_minor: minor,
            currency: "EUR".into(),
            facility: None,
            session: None,
            reservation: None,
            user: Some(user),
            actor: None,
            method: Some("card".into()),
            provider_ref: None,
            refund_of: refund_of.map(Into::into),
            memo: None,
            at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    fn codes(entries: &[LedgerEntry]) -> Vec<String> {
        let roles = HashMap::from([(1, Role::Driver), (2, Role::Manager)]);
        check(entries, &roles).problems.into_iter().map(|p| p.code).collect()
    }

    #[test]
    fn refunds_must_match_a_payment_its_payer_and_its_currency() {
        let top_up = entry("p", LedgerKind::Payment, 1000, 1, None);
        let back = |key: &str, minor| entry(key, LedgerKind::Refund, minor, 1, Some("p"));
        assert!(codes(&[top_up.clone(), back("r1", 600), back("r2", 400)]).is_empty());
        assert_eq!(codes(&[top_up.clone(), back("r1", 600), back("r2", 401)]), ["refund_beyond_payment"]);
        let orphan = entry("r", LedgerKind::Refund, 5, 1, Some("nothing"));
        assert_eq!(codes(&[orphan]), ["refund_without_payment"]);
        let dollars = LedgerEntry { currency: "USD".into(), ..back("r1", 5) };
        assert_eq!(codes(&[top_up, dollars]), ["refund_in_another_currency"]);
    }
}
