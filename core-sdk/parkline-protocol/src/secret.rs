//! Secrets in settings (tokens, keys, a URL with a password in it).

use serde::Deserialize;

/// A secret: used as a `&str`, shown as `Secret(..)` by `Debug`, so printing the settings that hold
/// it never prints it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl std::ops::Deref for Secret {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_never_shows_the_secret() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Settings {
            token: super::Secret,
        }
        let shown = format!("{:?}", Settings { token: "pld_very_secret".into() });
        assert!(!shown.contains("pld_very_secret"), "{shown}");
        assert_eq!(&*super::Secret::from("pld_very_secret"), "pld_very_secret");
    }
}
