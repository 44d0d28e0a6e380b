//! Personal data over time: plates and images of finished stays are kept `pii_retention_days` and then
//! removed, and a driver can take a copy of their data or have it erased. Money records stay: the
//! ledger's rows and totals never change, they only stop pointing at a person.

use parkline_protocol::{ErrorCode, MyData};

use crate::app::App;
use crate::error::{Error, Result};

/// Removes plates and images older than the retention period. Returns how many rows changed.
pub async fn purge(app: &App) -> Result<u64> {
    let before = app.now() - jiff::SignedDuration::from_hours(24 * i64::from(app.pii_retention_days));
    let purged = app.store.purge_pii(before).await?;
    if purged > 0 {
        tracing::info!(purged, %before, "personal data past retention removed");
    }
    Ok(purged)
}

/// Everything Parkline holds about a user, in one document.
pub async fn export(app: &App, user: i64) -> Result<MyData> {
    let me =
        app.store.user_by_id(user).await?.ok_or_else(|| Error::api(ErrorCode::NotFound, "no such user"))?;
    let reservations = app.store.user_reservations(user).await?;
    let account = crate::accounts::view(app, user).await?;
    Ok(MyData { user_id: me.id, email: me.email, role: me.role, reservations, account })
}

/// Erases a user's personal data. Refused while they hold a reservation that still claims a spot:
/// cancel it first (so no one is charged for an erasure).
pub async fn erase(app: &App, user: i64) -> Result<()> {
    let claiming = app.store.user_reservations(user).await?.iter().any(|r| r.status.claims_spot());
    if claiming {
        return Err(Error::api(ErrorCode::Conflict, "cancel your upcoming reservations first"));
    }
    app.store.erase_user(user).await?;
    tracing::info!(user, "user data erased on request");
    Ok(())
}
