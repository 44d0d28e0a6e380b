//! Payments: a driver pays for a stay before leaving, staff refund. Money moves at the provider first
//! (with the idempotency key, so a retry never charges twice), then the ledger entry is made durable,
//! and only then is the payment acknowledged and the exit gate willing to open.

use parkline_domain::{Currency, Money};
use parkline_protocol::{ErrorCode, PaymentRequest, Receipt, RefundRequest};

use crate::app::App;
use crate::auth::Reach;
use crate::error::{Error, Result};
use crate::provider::{Charge, Outcome};
use crate::stays;
use parkline_store::{LedgerEntry, LedgerKind};

/// The provider's reference for money that moved, or the error the caller gets: a decline as the issuer
/// put it, anything else as a provider failure to retry with the same key.
pub(crate) fn settled(app: &App, outcome: anyhow::Result<Outcome>) -> Result<String> {
    match outcome {
        Ok(Outcome::Succeeded { reference }) => Ok(reference),
        Ok(Outcome::Declined { reason }) => Err(Error::api(ErrorCode::PaymentDeclined, reason)),
        Err(e) => {
            tracing::warn!(error = %e, provider = app.payments.name(), "the payment provider failed");
            Err(Error::api(ErrorCode::PaymentProviderError, "the payment provider failed; retry"))
        }
    }
}

/// Notes how a card charge ended, for the payment-failure alert; a note that cannot be saved is logged,
/// not allowed to fail the payment.
async fn record_attempt(app: &App, facility: &str, outcome: &anyhow::Result<Outcome>, at: jiff::Timestamp) {
    let how = match outcome {
        Ok(Outcome::Succeeded { .. }) => "succeeded",
        Ok(Outcome::Declined { .. }) => "declined",
        Err(_) => "error",
    };
    if let Err(e) = app.store.record_payment_attempt(facility, app.payments.name(), how, at).await {
        tracing::warn!(error = %e, facility, "a payment attempt could not be noted");
    }
}

/// Checks a client's idempotency key.
pub fn idempotency_key(header: Option<&str>) -> Result<String> {
    let key = header.map(str::trim).unwrap_or_default();
    if key.is_empty() || key.len() > 128 || key.chars().any(char::is_control) {
        return Err(Error::validation("send an Idempotency-Key header of 1-128 printable characters"));
    }
    Ok(key.to_owned())
}

/// Pays (part of) what an active session owes.
#[tracing::instrument(name = "payment", skip_all, fields(provider = app.payments.name()))]
pub async fn pay(
    app: &App,
    ticket: &str,
    req: PaymentRequest,
    key: &str,
    user: Option<i64>,
) -> Result<Receipt> {
    // The receipt id is this key: a hash, so it neither shows the ticket nor can be made up without it.
    let entry_key = format!("pay_{}", &crate::auth::sha256_hex(&format!("{ticket}\n{key}"))[..32]);
    // Payments made before receipt ids were hashed are found by their old key.
    for known in [entry_key.clone(), format!("card:{ticket}:{key}")] {
        if let Some(done) = app.store.ledger_entry(&known).await? {
            return receipt(app, &done).await;
        }
    }
    if req.card_token.is_empty() || req.card_token.len() > 256 {
        return Err(Error::validation("card_token must be a provider token (1-256 characters)"));
    }
    let (facility, session) = stays::with_ticket(app, ticket).await?;
    let now = app.now();
    let due = stays::fee(&facility, &session, now)? - session.paid_minor;
    if due <= 0 {
        return Err(Error::api(ErrorCode::NothingDue, "nothing is due on this ticket now"));
    }
    let amount = req.amount_minor.unwrap_or(due);
    if amount <= 0 || amount > due {
        return Err(Error::validation(format!("amount_minor must be between 1 and {due} (what is due)")));
    }
    let currency = Currency::new(&facility.facility.currency).unwrap_or(Currency::USD);
    // Paid from the driver's account: no card, the ledger checks the balance as it records the payment.
    let from_account = req.card_token == parkline_store::ACCOUNT_METHOD;
    if from_account && user.is_none() {
        return Err(Error::api(ErrorCode::Unauthenticated, "sign in to pay from your account"));
    }
    let charge = Charge {
        amount_minor: amount,
        currency,
        card_token: req.card_token,
        idempotency_key: entry_key.clone(),
        description: format!("Parking at {} (ticket {ticket})", facility.facility.name),
    };
    let reference = if from_account {
        None
    } else {
        let outcome = app.payments.charge(&charge).await;
        record_attempt(app, &facility.facility.id, &outcome, now).await;
        Some(settled(app, outcome)?)
    };
    let entry = LedgerEntry {
        key: entry_key.clone(),
        kind: LedgerKind::Payment,
        amount_minor: amount,
        currency: currency.as_str().to_owned(),
        facility: Some(facility.facility.id.clone()),
        session: Some(session.id.clone()),
        reservation: None,
        user,
        actor: None,
        method: Some(if from_account { parkline_store::ACCOUNT_METHOD } else { "card" }.into()),
        provider_ref: reference,
        refund_of: None,
        memo: None,
        at: now,
    };
    {
        // Under the facility's writer lock, so no gate event decides on a half-recorded payment.
        let _writer = facility.writer.lock().await;
        match app.store.queue_ledger(vec![entry.clone()]).await {
            Ok(()) => {
                facility.inside().add_paid(&session.id, amount, Some(now));
            }
            // A concurrent retry with the same key got there first: its receipt is the answer.
            Err(parkline_store::Error::Duplicate) => {}
            Err(e) => return Err(e.into()),
        }
    }
    metrics::counter!("parkline_payments_total", "from_account" => from_account.to_string()).increment(1);
    let saved =
        app.store.ledger_entry(&entry_key).await?.ok_or_else(|| anyhow::anyhow!("payment not saved"))?;
    receipt(app, &saved).await
}

/// Gives back (part of) a payment.
pub async fn refund(
    app: &App,
    payment_key: &str,
    req: RefundRequest,
    key: &str,
    actor: Option<i64>,
) -> Result<Receipt> {
    let entry_key = format!("refund:{payment_key}:{key}");
    if let Some(done) = app.store.ledger_entry(&entry_key).await? {
        return receipt(app, &done).await;
    }
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(Error::validation("a refund needs a reason (1-500 characters)"));
    }
    let payment = app
        .store
        .ledger_entry(payment_key)
        .await?
        .filter(|e| e.kind == LedgerKind::Payment)
        .ok_or_else(|| Error::api(ErrorCode::NotFound, "no payment has this id"))?;
    let refunded: i64 = app.store.refunds_of(payment_key).await?.iter().map(|r| r.amount_minor).sum();
    let left = payment.amount_minor - refunded;
    if req.amount_minor <= 0 {
        return Err(Error::validation("amount_minor must be positive"));
    }
    if req.amount_minor > left {
        return Err(Error::api(
            ErrorCode::RefundTooLarge,
            format!("only {left} of this payment is left to refund"),
        ));
    }
    let reference = match &payment.provider_ref {
        // A stay a partner paid for on account is credited back to that account.
        Some(account) if payment.method.as_deref() == Some("partner") => Some(account.clone()),
        Some(reference) => {
            let currency = Currency::new(&payment.currency)
                .map_err(|e| anyhow::anyhow!("payment {payment_key}: {e}"))?;
            let amount = Money::new(req.amount_minor, currency);
            Some(settled(app, app.payments.refund(reference, amount, &entry_key).await)?)
        }
        // Cash taken at a lane is given back in cash.
        None => None,
    };
    let entry = LedgerEntry {
        key: entry_key.clone(),
        kind: LedgerKind::Refund,
        amount_minor: req.amount_minor,
        currency: payment.currency.clone(),
        facility: payment.facility.clone(),
        session: payment.session.clone(),
        reservation: payment.reservation.clone(),
        // The money goes back to whoever paid, by the way they paid; the staff member is only the actor.
        user: payment.user,
        actor,
        method: payment.method.clone(),
        provider_ref: reference,
        refund_of: Some(payment.key.clone()),
        memo: Some(reason.to_owned()),
        at: app.now(),
    };
    let facility = payment.facility.as_deref().and_then(|id| app.live.get(id));
    let _writer = match &facility {
        Some(f) => Some(f.writer.lock().await),
        None => None,
    };
    match app.store.queue_ledger(vec![entry]).await {
        Ok(()) => {
            if let (Some(f), Some(id)) = (&facility, &payment.session) {
                f.inside().add_paid(id, -req.amount_minor, None);
            }
        }
        Err(parkline_store::Error::Duplicate) => {}
        Err(e) => return Err(e.into()),
    }
    drop(_writer);
    let saved =
        app.store.ledger_entry(&entry_key).await?.ok_or_else(|| anyhow::anyhow!("refund not saved"))?;
    receipt(app, &saved).await
}

/// Finished stays within reach that still owe money (let out offline or by an attendant), oldest first.
pub async fn open_balances(app: &App, reach: &Reach) -> Result<Vec<parkline_protocol::OpenBalance>> {
    let mut open = app.store.open_balances(500).await?;
    open.retain(|b| app.live.get(&b.facility).is_some_and(|f| reach.holds(&f.operator, &b.facility)));
    Ok(open)
}

/// The receipt of a payment or refund, by its id.
pub async fn receipt_by_id(app: &App, id: &str) -> Result<Receipt> {
    let entry = app
        .store
        .ledger_entry(id)
        .await?
        .filter(|e| matches!(e.kind, LedgerKind::Payment | LedgerKind::Refund))
        .ok_or_else(|| Error::api(ErrorCode::NotFound, "no payment or refund has this id"))?;
    receipt(app, &entry).await
}

async fn receipt(app: &App, e: &LedgerEntry) -> Result<Receipt> {
    let currency = Currency::new(&e.currency).unwrap_or(Currency::USD);
    let now = app.now();
    let mut ticket = None;
    let mut balance_due = None;
    let mut leave_by = None;
    if let Some(id) = &e.session {
        let live = e.facility.as_deref().and_then(|id| app.live.get(id));
        let active = live.as_ref().and_then(|f| f.inside().get(id).cloned().map(|s| (f.clone(), s)));
        match active {
            Some((f, s)) => {
                ticket = Some(s.ticket.clone());
                balance_due = Some(Money::new((stays::fee(&f, &s, now)? - s.paid_minor).max(0), currency));
                leave_by = s.last_paid.map(|t| t + parkline_domain::gate::LEAVE_AFTER_PAYING);
            }
            None => ticket = app.store.session(id).await?.map(|s| s.ticket),
        }
    }
    Ok(Receipt {
        id: e.key.clone(),
        kind: e.kind.as_str().to_owned(),
        facility: e.facility.clone(),
        session: e.session.clone(),
        ticket,
        amount: Money::new(e.amount_minor, currency),
        method: e.method.clone(),
        provider_ref: e.provider_ref.clone(),
        at: e.at,
        balance_due,
        leave_by,
    })
}
