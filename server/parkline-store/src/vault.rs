//! Personal data at rest: plate numbers are stored only encrypted (AES-256-GCM), next to a keyed blind
//! index (HMAC-SHA-256) that lets the database compare plates without ever holding one in the clear.
//!
//! Keys come from `plate_keys` (`ID:BASE64[,ID:BASE64...]`, the first encrypts, the others only decrypt,
//! so a key can be rotated: add the new one first, run `parkline-server rekey`, then drop the old one)
//! and `plate_index_key` (BASE64). Both are 32 random bytes; without settings they are generated into the
//! data directory. The blind index key is separate so rotating the encryption key leaves lookups intact.
//!
//! A ciphertext reads `ID:BASE64(nonce || ciphertext+tag)`; the purpose (say `sessions.plate`) is bound as
//! associated data, so a value copied into another column does not decrypt.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// Encrypts and indexes personal data with the configured keys.
#[derive(Clone)]
pub struct Vault {
    /// `(id, cipher)`, the current key first.
    keys: Vec<(String, Aes256Gcm)>,
    index_key: Vec<u8>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Vault").field("keys", &ids).finish_non_exhaustive()
    }
}

/// A sealed value that does not open: tampered with, or stored under another purpose.
fn undecryptable() -> Error {
    Error::Corrupt("a sealed value does not decrypt: tampered, or stored under another purpose".into())
}

impl Vault {
    /// From `plate_keys` and `plate_index_key` as described in the module docs.
    pub fn from_settings(keys: &str, index_key: &str) -> Result<Vault> {
        let mut parsed = Vec::new();
        for entry in keys.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, key) =
                entry.split_once(':').ok_or_else(|| Error::BadKey("each plate key is ID:BASE64".into()))?;
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(Error::BadKey(format!("key id {id:?} must be letters, digits, - or _")));
            }
            let cipher = Aes256Gcm::new_from_slice(&key_bytes(key)?)
                .map_err(|_| Error::BadKey("a plate key must be 32 bytes".into()))?;
            parsed.push((id.to_owned(), cipher));
        }
        if parsed.is_empty() {
            return Err(Error::BadKey("no plate key".into()));
        }
        Ok(Vault { keys: parsed, index_key: key_bytes(index_key)? })
    }

    /// Fresh random settings: `(plate_keys, plate_index_key)`.
    pub fn generate_settings() -> (String, String) {
        let mut key = [0u8; 32];
        let mut index = [0u8; 32];
        rand::fill(&mut key);
        rand::fill(&mut index);
        (format!("k1:{}", B64.encode(key)), B64.encode(index))
    }

    /// Encrypts `plain` for `purpose` (the column it goes to) with the current key.
    pub fn seal(&self, purpose: &str, plain: &str) -> String {
        let (id, cipher) = &self.keys[0];
        let mut nonce = [0u8; 12];
        rand::fill(&mut nonce);
        let sealed = cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plain.as_bytes(), aad: purpose.as_bytes() })
            .expect("AES-GCM encrypts any message shorter than 64 GiB");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{id}:{}", B64.encode(out))
    }

    /// Decrypts what [`Self::seal`] produced for the same purpose, with whichever key it names.
    pub fn open(&self, purpose: &str, stored: &str) -> Result<String> {
        let (id, data) = stored.split_once(':').ok_or_else(undecryptable)?;
        let (_, cipher) =
            self.keys.iter().find(|(k, _)| k == id).ok_or_else(|| Error::UnknownKey(id.to_owned()))?;
        let data = B64.decode(data).map_err(|_| undecryptable())?;
        if data.len() < 12 + 16 {
            return Err(undecryptable());
        }
        let (nonce, sealed) = data.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| undecryptable())?;
        let plain = cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: purpose.as_bytes() })
            .map_err(|_| undecryptable())?;
        String::from_utf8(plain).map_err(|_| undecryptable())
    }

    /// Whether `stored` was sealed with an older key (and `rekey` should seal it again).
    pub fn is_stale(&self, stored: &str) -> bool {
        stored.split_once(':').is_none_or(|(id, _)| id != self.keys[0].0)
    }

    /// The blind index of a normalised plate: equal plates give equal indexes, and without the key the
    /// index says nothing about the plate (no dictionary of all plates can be hashed).
    pub fn index(&self, plate: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key).expect("HMAC takes any key");
        mac.update(b"plate\0");
        mac.update(plate.as_bytes());
        let digest = mac.finalize().into_bytes();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn key_bytes(b64: &str) -> Result<Vec<u8>> {
    let bytes =
        B64.decode(b64.trim()).map_err(|_| Error::BadKey("a key must be base64 (standard)".into()))?;
    if bytes.len() != 32 {
        return Err(Error::BadKey(format!("a key must be 32 bytes, not {}", bytes.len())));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        let (keys, index) = Vault::generate_settings();
        Vault::from_settings(&keys, &index).unwrap()
    }

    #[test]
    fn sealed_plates_open_only_for_their_purpose_and_never_show_the_plate() {
        let v = vault();
        let sealed = v.seal("sessions.plate", "7ABC123");
        assert!(!sealed.contains("7ABC123"));
        assert_ne!(sealed, v.seal("sessions.plate", "7ABC123"), "a fresh nonce each time");
        assert_eq!(v.open("sessions.plate", &sealed).unwrap(), "7ABC123");
        assert!(matches!(v.open("reservations.plate", &sealed), Err(Error::Corrupt(_))));
        let mut tampered = sealed.clone();
        tampered.replace_range(sealed.len() - 3..sealed.len() - 2, "A");
        if tampered != sealed {
            assert!(v.open("sessions.plate", &tampered).is_err());
        }
    }

    #[test]
    fn the_blind_index_is_stable_per_key_and_differs_across_keys() {
        let (a, b) = (vault(), vault());
        assert_eq!(a.index("7ABC123"), a.index("7ABC123"));
        assert_ne!(a.index("7ABC123"), a.index("7ABC124"));
        assert_ne!(a.index("7ABC123"), b.index("7ABC123"));
    }

    #[test]
    fn rotation_keeps_old_values_readable_and_marks_them_stale() {
        let (old_keys, index) = Vault::generate_settings();
        let old = Vault::from_settings(&old_keys, &index).unwrap();
        let sealed = old.seal("p", "7ABC123");
        let (new_keys, _) = Vault::generate_settings();
        let new_keys = new_keys.replace("k1:", "k2:");
        let rotated = Vault::from_settings(&format!("{new_keys},{old_keys}"), &index).unwrap();
        assert_eq!(rotated.open("p", &sealed).unwrap(), "7ABC123");
        assert!(rotated.is_stale(&sealed));
        assert!(!rotated.is_stale(&rotated.seal("p", "7ABC123")));
        assert_eq!(rotated.index("7ABC123"), old.index("7ABC123"));
        let dropped = Vault::from_settings(&new_keys, &index).unwrap();
        assert!(matches!(dropped.open("p", &sealed), Err(Error::UnknownKey(_))));
    }

    #[test]
    fn bad_keys_are_refused_with_a_reason() {
        assert!(Vault::from_settings("", "x").is_err());
        assert!(Vault::from_settings("k1:short", &B64.encode([0u8; 32])).is_err());
        assert!(
            Vault::from_settings(&format!("k 1:{}", B64.encode([0u8; 32])), &B64.encode([0u8; 32])).is_err()
        );
    }
}
