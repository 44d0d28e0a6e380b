//! Devices (kiosks, sensor gateways) and third parties' API keys: issued with a secret shown once,
//! listed without it, revoked.

use parkline_protocol::{DeviceView, ErrorCode, IssuedSecret, NewApiKey, NewDevice};

use crate::app::App;
use crate::auth::{API_KEY_PREFIX, DEVICE_TOKEN_PREFIX, random_token, sha256_hex};
use crate::error::{Error, Result};

/// What an API key may do: read live occupancy, read rates and quotes, partner actions.
pub const API_KEY_SCOPES: [&str; 3] = ["occupancy", "rates", "partner"];

/// Issues a device token for a sensor gateway or kiosk.
pub async fn issue(app: &App, device: NewDevice) -> Result<IssuedSecret> {
    if let Some(f) = &device.facility {
        app.live.get(f).ok_or_else(|| Error::unknown_facility(f))?;
    }
    let name = non_empty(&device.name, "name")?;
    let token = random_token(DEVICE_TOKEN_PREFIX);
    let id = app
        .store
        .insert_device(
            name,
            device.kind,
            parkline_store::DEFAULT_OPERATOR,
            device.facility.as_deref(),
            &sha256_hex(&token),
            app.now(),
        )
        .await?;
    Ok(IssuedSecret { id, token })
}

/// Every device, newest first; tokens are never shown again.
pub async fn list(app: &App) -> Result<Vec<DeviceView>> {
    Ok(app.store.devices().await?)
}

/// Revokes a device's token: refused at once by this instance, by others within 30 seconds.
pub async fn revoke(app: &App, id: i64) -> Result<()> {
    if app.store.revoke_device(id, app.now()).await? {
        app.auth.forget_device(id);
        Ok(())
    } else {
        Err(Error::api(ErrorCode::NotFound, format!("no active device {id}")))
    }
}

/// Issues an API key for a third party, with its own rate limit.
pub async fn issue_api_key(app: &App, key: NewApiKey) -> Result<IssuedSecret> {
    let name = non_empty(&key.name, "name")?;
    if key.requests_per_minute == 0 {
        return Err(Error::validation("requests_per_minute must be at least 1"));
    }
    let token = random_token(API_KEY_PREFIX);
    let scopes = API_KEY_SCOPES.map(str::to_owned);
    let id = app
        .store
        .insert_api_key(
            name,
            &sha256_hex(&token),
            key.requests_per_minute,
            parkline_store::DEFAULT_OPERATOR,
            &scopes,
            app.now(),
        )
        .await?;
    Ok(IssuedSecret { id, token })
}

fn non_empty<'a>(s: &'a str, field: &str) -> Result<&'a str> {
    let s = s.trim();
    if s.is_empty() || s.len() > 200 {
        return Err(Error::validation(format!("{field} must be 1-200 characters")));
    }
    Ok(s)
}
