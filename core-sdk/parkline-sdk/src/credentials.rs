//! Where a client keeps its credentials: the OS keyring, or, chosen explicitly where there is none (a
//! headless kiosk without a secret service), a file only its owner can read. Never one silently
//! instead of the other.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum Credentials {
    /// The platform's keyring (Keychain, Credential Manager, Secret Service or the Linux kernel keyring),
    /// entries named `service` / account.
    Keyring { service: String },
    /// A JSON file of account -> secret, mode 0600.
    File { path: PathBuf },
}

impl Credentials {
    pub fn keyring(service: &str) -> Credentials {
        Credentials::Keyring { service: service.to_owned() }
    }

    /// The file store: for machines without a keyring, by explicit choice.
    pub fn file(path: impl Into<PathBuf>) -> Credentials {
        Credentials::File { path: path.into() }
    }

    pub fn save(&self, account: &str, secret: &str) -> Result<()> {
        match self {
            Credentials::Keyring { service } => {
                entry(service, account)?.set_password(secret).map_err(keyring_error)
            }
            Credentials::File { path } => {
                let mut all = read_file(path)?;
                all.insert(account.to_owned(), secret.to_owned());
                write_file(path, &all)
            }
        }
    }

    pub fn load(&self, account: &str) -> Result<Option<String>> {
        match self {
            Credentials::Keyring { service } => match entry(service, account)?.get_password() {
                Ok(secret) => Ok(Some(secret)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(keyring_error(e)),
            },
            Credentials::File { path } => Ok(read_file(path)?.remove(account)),
        }
    }

    pub fn delete(&self, account: &str) -> Result<()> {
        match self {
            Credentials::Keyring { service } => match entry(service, account)?.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(keyring_error(e)),
            },
            Credentials::File { path } => {
                let mut all = read_file(path)?;
                all.remove(account);
                write_file(path, &all)
            }
        }
    }
}

fn entry(service: &str, account: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(service, account).map_err(keyring_error)
}

fn keyring_error(e: keyring::Error) -> Error {
    Error::Credentials(format!(
        "the keyring failed ({e}); on a machine without one, choose Credentials::file"
    ))
}

fn read_file(path: &PathBuf) -> Result<BTreeMap<String, String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            serde_json::from_str(&text).map_err(|e| Error::Credentials(format!("{}: {e}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(Error::Credentials(format!("{}: {e}", path.display()))),
    }
}

/// Writes the whole file anew, readable by its owner only, replacing the old one atomically.
fn write_file(path: &PathBuf, all: &BTreeMap<String, String>) -> Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |e: std::io::Error| Error::Credentials(format!("{}: {e}", path.display()));
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(&tmp).map_err(fail)?;
    let json = serde_json::to_vec(all).map_err(|e| Error::Credentials(e.to_string()))?;
    file.write_all(&json).and_then(|()| file.sync_all()).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_store_keeps_secrets_for_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Credentials::file(dir.path().join("credentials.json"));
        assert_eq!(store.load("kiosk").unwrap(), None);
        store.save("kiosk", "pld_secret").unwrap();
        store.save("driver", "refresh").unwrap();
        assert_eq!(store.load("kiosk").unwrap().as_deref(), Some("pld_secret"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("credentials.json")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        store.delete("kiosk").unwrap();
        assert_eq!(store.load("kiosk").unwrap(), None);
        assert_eq!(store.load("driver").unwrap().as_deref(), Some("refresh"));
    }

    /// The Linux kernel keyring: needs a session keyring (`tests/run` runs the tests under
    /// `keyctl session`); says so loudly, rather than passing, where there is none.
    #[test]
    fn the_keyring_store_round_trips() {
        let store = Credentials::keyring("parkline-sdk-test");
        let account = format!("test-{}", std::process::id());
        match store.save(&account, "s3cret") {
            Ok(()) => {}
            Err(e) if std::env::var_os("PARKLINE_REQUIRE_SERVICES").is_none() => {
                eprintln!("SKIPPED: no usable keyring here ({e}); run under `keyctl session`");
                return;
            }
            Err(e) => panic!("{e}"),
        }
        assert_eq!(store.load(&account).unwrap().as_deref(), Some("s3cret"));
        store.delete(&account).unwrap();
        assert_eq!(store.load(&account).unwrap(), None);
    }
}
