//! Devices (kiosks, sensor gateways) and third parties' API keys: issued with a secret shown once,
//! listed without it, revoked.

use parkline_protocol::{DeviceView, ErrorCode, IssuedSecret, NewApiKey, NewDevice};

use crate::app::App;
use crate::auth::{API_KEY_PREFIX, DEVICE_TOKEN_PREFIX, Reach, random_token, sha256_hex};
use crate::error::{Error, Result};

/// What an API key may do: read live occupancy, read rates and quotes, partner actions, grant entries
/// billed to it.
pub const API_KEY_SCOPES: [&str; 4] = ["occupancy", "rates", "partner", "grants"];
/// A key's scopes when none are asked for: granting entries the key pays for is asked for by name.
const DEFAULT_API_KEY_SCOPES: [&str; 3] = ["occupancy", "rates", "partner"];

/// Issues a device token for a sensor gateway or kiosk at one facility within the caller's reach; the
/// device belongs to that facility's operator.
pub async fn issue(app: &App, reach: &Reach, device: NewDevice) -> Result<IssuedSecret> {
    let Some(facility) = &device.facility else {
        return Err(Error::validation("a kiosk or sensor gateway works at one facility: name it"));
    };
    let facility = app.facility_in(reach, facility)?;
    let name = non_empty(&device.name, "name")?;
    let token = random_token(DEVICE_TOKEN_PREFIX);
    let id = app
        .store
        .insert_device(
            name,
            device.kind,
            &facility.operator,
            Some(&facility.facility.id),
            &sha256_hex(&token),
            app.now(),
        )
        .await?;
    let mut mqtt_username = None;
    if device.kind == parkline_protocol::DeviceKind::SensorGateway {
        app.store.set_device_mqtt_hash(id, &crate::broker::password_hash(&token)).await?;
        crate::broker::write(app.broker.as_ref(), app.store.as_ref()).await?;
        mqtt_username = Some(crate::broker::username(id));
    }
    Ok(IssuedSecret { id, token, mqtt_username })
}

/// The devices within reach, newest first; tokens are never shown again.
pub async fn list(app: &App, reach: &Reach) -> Result<Vec<DeviceView>> {
    let mut devices = app.store.devices().await?;
    devices.retain(|d| match &d.facility {
        Some(f) => reach.holds(&d.operator, f),
        None => reach.holds_operator(&d.operator),
    });
    Ok(devices)
}

/// Binds devices made before operators, without a facility, to their operator's only facility, or
/// revokes them when it has several (a device must act at exactly one); each is logged. Runs at start.
pub async fn bind_unplaced(app: &App) -> Result<()> {
    for d in app.store.devices().await? {
        if d.facility.is_some() || d.revoked_at.is_some() {
            continue;
        }
        let own: Vec<_> = app.live.all().into_iter().filter(|f| f.operator == d.operator).collect();
        if let [only] = own.as_slice() {
            app.store.bind_device(d.id, &only.facility.id).await?;
            app.auth.forget_device(d.id);
            tracing::warn!(device = d.id, name = %d.name, facility = %only.facility.id,
                "device had no facility: bound to its operator's only facility");
        } else {
            revoke(app, d.id).await?;
            tracing::warn!(device = d.id, name = %d.name, operator = %d.operator, facilities = own.len(),
                "device had no facility and its operator has not exactly one: disabled; issue a new \
                 token for the facility it works at");
        }
    }
    Ok(())
}

/// Revokes a device's token: refused at once by this instance, by others as soon as the change feed
/// tells them.
pub async fn revoke(app: &App, id: i64) -> Result<()> {
    if app.store.revoke_device(id, app.now()).await? {
        app.auth.forget_device(id);
        crate::broker::write(app.broker.as_ref(), app.store.as_ref()).await?;
        Ok(())
    } else {
        Err(Error::api(ErrorCode::NotFound, format!("no active device {id}")))
    }
}

/// Issues an API key for a third party reading one operator's data, with its own rate limit and scopes.
pub async fn issue_api_key(app: &App, reach: &Reach, key: NewApiKey) -> Result<IssuedSecret> {
    let name = non_empty(&key.name, "name")?;
    if key.requests_per_minute == 0 {
        return Err(Error::validation("requests_per_minute must be at least 1"));
    }
    let operator = app.home_operator(reach, key.operator.as_deref()).await?;
    let mut scopes = key.scopes.unwrap_or_else(|| DEFAULT_API_KEY_SCOPES.map(str::to_owned).to_vec());
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() || !scopes.iter().all(|s| API_KEY_SCOPES.contains(&s.as_str())) {
        return Err(Error::validation(format!("scopes must be some of {API_KEY_SCOPES:?}")));
    }
    let token = random_token(API_KEY_PREFIX);
    let id = app
        .store
        .insert_api_key(name, &sha256_hex(&token), key.requests_per_minute, &operator, &scopes, app.now())
        .await?;
    Ok(IssuedSecret { id, token, mqtt_username: None })
}

/// The API keys within reach, newest first; keys are never shown again.
pub async fn api_keys(app: &App, reach: &Reach) -> Result<Vec<parkline_protocol::ApiKeyView>> {
    let mut keys = app.store.api_keys().await?;
    keys.retain(|k| reach.holds_operator(&k.operator));
    Ok(keys)
}

/// Revokes an API key: refused at once here, and by the other instances as soon as they hear of it.
pub async fn revoke_api_key(app: &App, id: i64) -> Result<()> {
    if app.store.revoke_api_key(id, app.now()).await? {
        app.auth.forget_api_key(id);
        Ok(())
    } else {
        Err(Error::api(ErrorCode::NotFound, format!("no active API key {id}")))
    }
}

fn non_empty<'a>(s: &'a str, field: &str) -> Result<&'a str> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 200 {
        return Err(Error::validation(format!("{field} must be 1-200 characters")));
    }
    Ok(s)
}
