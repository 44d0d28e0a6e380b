//! Monthly permit billing: at the start of each month of a permit's validity its fee is charged to the
//! holder's account, once. The ledger key (`permit:<id>:<month>`) makes a repeat, or another instance
//! billing at the same moment, a no-op.

use crate::app::App;
use crate::error::Result;
use parkline_store::{LedgerEntry, LedgerKind};

/// Charges every permit month begun and not yet billed. Returns how many were billed now.
pub async fn bill_permits(app: &App) -> Result<u32> {
    let now = app.now();
    let permits: Vec<_> = app.permits.read().all().cloned().collect();
    let mut billed = 0;
    for p in permits {
        let (Some(fee), Some(account)) = (p.monthly_fee, p.account) else { continue };
        for (n, start) in p.months_begun(now) {
            let key = format!("permit:{}:{n}", p.id);
            if app.store.ledger_entry(&key).await?.is_some() {
                continue;
            }
            let entry = LedgerEntry {
                key,
                kind: LedgerKind::Charge,
                amount_minor: fee.minor,
                currency: fee.currency.as_str().to_owned(),
                facility: p.facilities.first().cloned(),
                session: None,
                reservation: None,
                user: Some(account),
                actor: None,
                method: Some("permit".into()),
                provider_ref: None,
                refund_of: None,
                memo: Some(format!("{} month {} from {start}", p.id, n + 1)),
                at: now,
            };
            match app.store.queue_ledger(vec![entry]).await {
                Ok(()) => billed += 1,
                Err(parkline_store::Error::Duplicate) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(billed)
}
