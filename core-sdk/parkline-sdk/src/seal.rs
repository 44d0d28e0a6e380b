//! Sealing what a client keeps on disk (cached answers, queued commands, a kiosk's camera images) with
//! AES-256-GCM, under a key kept apart from the data: given in the app's settings, or a key file only
//! the owner can read. A copy of the cache file, or a backup of it, shows no plate. The purpose (say
//! `outbox.command`) is bound as associated data, so a value moved to another column does not open.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::error::{Error, Result};

/// What starts a sealed text value (`s1:` and base64 of nonce, ciphertext and tag).
const SEALED: &str = "s1:";

/// A sealing key.
#[derive(Clone)]
pub struct Seal(Aes256Gcm);

/// Never prints the key.
impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seal(..)")
    }
}

fn bad_key(why: impl std::fmt::Display) -> Error {
    Error::Seal(format!("sealing key: {why}"))
}

impl Seal {
    /// From BASE64 of 32 bytes (as in a settings file).
    pub fn from_base64(key: &str) -> Result<Seal> {
        let bytes = B64.decode(key.trim()).map_err(bad_key)?;
        Ok(Seal(Aes256Gcm::new_from_slice(&bytes).map_err(|_| bad_key("it must be 32 bytes"))?))
    }

    /// The key in `path`, made (32 random bytes, mode 0600) when the file does not exist yet.
    pub fn load_or_create(path: &Path) -> Result<Seal> {
        match std::fs::read_to_string(path) {
            Ok(text) => Seal::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                use std::io::Write;
                let mut key = [0u8; 32];
                rand::fill(&mut key);
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let fail = |e: std::io::Error| Error::Disk(format!("{}: {e}", path.display()));
                let mut file = options.open(path).map_err(fail)?;
                file.write_all(B64.encode(key).as_bytes()).and_then(|()| file.sync_all()).map_err(fail)?;
                Seal::from_base64(&B64.encode(key))
            }
            Err(e) => Err(Error::Disk(format!("{}: {e}", path.display()))),
        }
    }

    /// `plain` sealed for `purpose`: nonce, ciphertext and tag.
    pub fn seal_bytes(&self, purpose: &str, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::fill(&mut nonce);
        let sealed = self
            .0
            .encrypt(&Nonce::from(nonce), Payload { msg: plain, aad: purpose.as_bytes() })
            .expect("AES-GCM encrypts any message shorter than 64 GiB");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// What [`Seal::seal_bytes`] sealed for `purpose`; an error if it was altered, sealed under another
    /// key or for another purpose.
    pub fn open_bytes(&self, purpose: &str, sealed: &[u8]) -> Result<Vec<u8>> {
        let refused = || Error::Seal(format!("a sealed {purpose} does not open: another key, or altered"));
        if sealed.len() < 12 {
            return Err(refused());
        }
        let (nonce, body) = sealed.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| refused())?;
        self.0
            .decrypt(&Nonce::from(nonce), Payload { msg: body, aad: purpose.as_bytes() })
            .map_err(|_| refused())
    }

    pub(crate) fn seal_text(&self, purpose: &str, plain: &str) -> String {
        format!("{SEALED}{}", B64.encode(self.seal_bytes(purpose, plain.as_bytes())))
    }
}

/// A stored text value opened: sealed ones with `seal`, clear ones (written before sealing) as they are.
pub(crate) fn open_text(seal: Option<&Seal>, purpose: &str, stored: &str) -> Result<String> {
    let Some(body) = stored.strip_prefix(SEALED) else { return Ok(stored.to_owned()) };
    let seal = seal.ok_or_else(|| Error::Seal("the cache is sealed: open it with its key".into()))?;
    let bytes = B64.decode(body).map_err(|e| Error::Seal(format!("a sealed {purpose}: {e}")))?;
    String::from_utf8(seal.open_bytes(purpose, &bytes)?).map_err(|e| Error::Seal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_purpose() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiosk.key");
        let seal = Seal::load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let stored = seal.seal_text("cached", "ABC1234");
        assert!(stored.starts_with(SEALED) && !stored.contains("ABC1234"));
        let again = Seal::load_or_create(&path).unwrap();
        assert_eq!(open_text(Some(&again), "cached", &stored).unwrap(), "ABC1234", "the same key, reloaded");
        assert!(open_text(Some(&again), "outbox.command", &stored).is_err(), "another purpose");
        let other = Seal::load_or_create(&dir.path().join("other.key")).unwrap();
        assert!(open_text(Some(&other), "cached", &stored).is_err(), "another key");
        assert!(open_text(None, "cached", &stored).is_err(), "no key");
        assert_eq!(open_text(None, "cached", "clear").unwrap(), "clear", "values from before sealing");
        assert!(Seal::from_base64("c2hvcnQ=").is_err(), "a key of 5 bytes");
    }
}
