//! The MQTT broker's password and ACL files, in Mosquitto's formats, written by the server so the broker
//! knows each sensor gateway: it signs in as `gateway-<id>` with its device token and may publish only
//! to `parkline/<its facility>/gateway-<id>/sensors/+` and `.../cameras/+`; the server itself may only
//! read readings. The server checks the same on every message (`mqtt.rs`), so a gateway revoked before
//! the broker reloads its files is refused all the same.
//!
//! Written at start and whenever a gateway is issued or revoked, each file replaced whole (written
//! aside, then renamed); the broker reads them again on `SIGHUP` (`systemctl reload mosquitto`).

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use parkline_store::Store;
use rand::RngCore;

/// Mosquitto's PBKDF2-SHA512 (`$7$`) iterations, as `mosquitto_passwd` uses by default.
const ITERATIONS: u32 = 101;

/// Where the files go, and the server's own broker user.
#[derive(Clone)]
pub struct BrokerFiles {
    pub dir: PathBuf,
    /// The user and password the server signs in with (from `mqtt_url`), if any.
    pub server: Option<(String, String)>,
}

impl std::fmt::Debug for BrokerFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let user = self.server.as_ref().map(|(u, _)| u);
        f.debug_struct("BrokerFiles").field("dir", &self.dir).field("server_user", &user).finish()
    }
}

/// A gateway's broker user name.
pub fn username(device: i64) -> String {
    format!("gateway-{device}")
}

/// The topic a gateway publishes a sensor's readings to.
pub fn topic(facility: &str, device: i64, sensor: &str) -> String {
    format!("parkline/{facility}/{}/sensors/{sensor}", username(device))
}

/// The topic a gateway publishes a camera's per-spot reports to.
pub fn camera_topic(facility: &str, device: i64, camera: &str) -> String {
    format!("parkline/{facility}/{}/cameras/{camera}", username(device))
}

/// `secret` hashed as a line of Mosquitto's password file expects: `$7$iterations$salt$hash`.
pub fn password_hash(secret: &str) -> String {
    let mut salt = [0u8; 12];
    rand::rng().fill_bytes(&mut salt);
    let mut hash = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<sha2::Sha512>(secret.as_bytes(), &salt, ITERATIONS, &mut hash);
    format!("$7${ITERATIONS}${}${}", STANDARD.encode(salt), STANDARD.encode(hash))
}

/// Writes the password and ACL files for the gateways `store` knows, if the settings ask for them.
pub async fn write(files: Option<&BrokerFiles>, store: &dyn Store) -> crate::error::Result<()> {
    let Some(files) = files else { return Ok(()) };
    let gateways = store.mqtt_gateways().await?;
    let mut passwords = String::new();
    let mut acl = String::from("# Written by parkline-server; changes are overwritten.\n");
    if let Some((user, password)) = &files.server {
        passwords.push_str(&format!("{user}:{}\n", password_hash(password)));
        acl.push_str(&format!(
            "\nuser {user}\ntopic read parkline/+/+/sensors/+\ntopic read parkline/+/+/cameras/+\n"
        ));
    }
    for (id, facility, hash) in &gateways {
        let Some(hash) = hash else { continue };
        let user = username(*id);
        passwords.push_str(&format!("{user}:{hash}\n"));
        acl.push_str(&format!(
            "\nuser {user}\ntopic write parkline/{facility}/{user}/sensors/+\n\
             topic write parkline/{facility}/{user}/cameras/+\n"
        ));
    }
    let dir = files.dir.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        replace(&dir.join("passwords"), &passwords)?;
        replace(&dir.join("acl"), &acl)
    })
    .await
    .map_err(|e| anyhow::anyhow!("writing the broker files: {e}"))?
    .map_err(|e| anyhow::anyhow!("writing the broker files in {}: {e}", files.dir.display()))?;
    tracing::info!(gateways = gateways.len(), dir = %files.dir.display(), "MQTT broker files written");
    Ok(())
}

/// Replaces `path` whole, so the broker never reads half a file.
fn replace(path: &Path, contents: &str) -> std::io::Result<()> {
    let aside = path.with_extension("new");
    crate::write_private(&aside, contents)?;
    std::fs::rename(aside, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same derivation as Mosquitto's `$7$` check: PBKDF2-HMAC-SHA512 of the password with the salt.
    #[test]
    fn hashes_are_salted_pbkdf2_in_mosquittos_format() {
        let line = password_hash("pld_secret");
        let parts: Vec<&str> = line.split('$').collect();
        assert_eq!(parts[..3], ["", "7", "101"]);
        let salt = STANDARD.decode(parts[3]).unwrap();
        let mut expected = [0u8; 64];
        pbkdf2::pbkdf2_hmac::<sha2::Sha512>(b"pld_secret", &salt, 101, &mut expected);
        assert_eq!(STANDARD.decode(parts[4]).unwrap(), expected);
        assert_ne!(password_hash("pld_secret"), line, "a new salt each time");
    }
}
