//! The gateway in front of sessions: API keys and the Origin allowlist.
//!
//! Every refusal maps to one documented HTTP status and error code (see
//! `schemas/wire/README.md`) and never repeats a key back.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// One akey/skey pair a host page may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPair {
    /// API key.
    pub akey: String,
    /// Service key.
    pub skey: String,
}

/// The key file format (`--keys FILE`), YAML or JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyFile {
    /// Accepted pairs.
    pub keys: Vec<KeyPair>,
}

/// Why the key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Unreadable.
    #[error("cannot read key file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// OS error.
        source: std::io::Error,
    },
    /// Not the expected shape.
    #[error(
        "key file {path} is malformed: {message} (expected `keys: [{{akey: ..., skey: ...}}]`)"
    )]
    Malformed {
        /// The file.
        path: String,
        /// Parser message with line and column.
        message: String,
    },
    /// No pair in it.
    #[error("key file {path} lists no keys")]
    Empty {
        /// The file.
        path: String,
    },
}

/// A refusal at the gateway, with its HTTP status and stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown akey/skey pair.
    BadKeys,
    /// Origin not on the allowlist (or missing).
    OriginNotAllowed,
}

impl Refusal {
    /// HTTP status of the refusal.
    pub fn status(self) -> u16 {
        match self {
            Refusal::BadKeys => 401,
            Refusal::OriginNotAllowed => 403,
        }
    }

    /// Stable machine code, as in the wire README.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::BadKeys => "bad_keys",
            Refusal::OriginNotAllowed => "origin_not_allowed",
        }
    }

    /// Human explanation; deliberately says nothing about which key was wrong.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::BadKeys => "the akey/skey pair is not known to this server",
            Refusal::OriginNotAllowed => "the page's Origin is not on this server's allowlist",
        }
    }
}

/// Keys and origins the gateway admits.
#[derive(Debug, Clone)]
pub struct Gateway {
    keys: Vec<KeyPair>,
    origins: Vec<String>,
}

/// The development pair used when no key file is given; printed at start.
pub fn development_keys() -> KeyPair {
    KeyPair {
        akey: "jodo-dev-akey".into(),
        skey: "jodo-dev-skey".into(),
    }
}

impl Gateway {
    /// A gateway admitting these pairs from these origins.
    pub fn new(keys: Vec<KeyPair>, origins: Vec<String>) -> Self {
        Self { keys, origins }
    }

    /// Reads a key file.
    ///
    /// # Errors
    /// [`KeyFileError`] naming the file and the problem.
    pub fn read_key_file(path: &Path) -> Result<Vec<KeyPair>, KeyFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Read {
            path: shown.clone(),
            source,
        })?;
        let file: KeyFile = serde_norway::from_str(&text).map_err(|e| KeyFileError::Malformed {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        if file.keys.is_empty() {
            return Err(KeyFileError::Empty { path: shown });
        }
        Ok(file.keys)
    }

    /// The pair the mock's own host page uses.
    pub fn page_keys(&self) -> Option<&KeyPair> {
        self.keys.first()
    }

    /// Adds origins (the mock's own, once its port is known).
    pub fn allow_origins(&mut self, origins: impl IntoIterator<Item = String>) {
        for o in origins {
            if !self.origins.contains(&o) {
                self.origins.push(o);
            }
        }
    }

    /// Allowed origins, for the banner.
    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    /// Whether a request from `origin` may go on.
    pub fn check_origin(&self, origin: Option<&str>) -> Result<(), Refusal> {
        match origin {
            Some(o) if self.origins.iter().any(|a| a == o) => Ok(()),
            _ => Err(Refusal::OriginNotAllowed),
        }
    }

    /// Whether the key pair is known. Compares every pair in full so the
    /// time taken does not depend on where a guess first differs.
    pub fn check_keys(&self, akey: &str, skey: &str) -> Result<(), Refusal> {
        let mut found = false;
        for k in &self.keys {
            found |= constant_eq(&k.akey, akey) & constant_eq(&k.skey, skey);
        }
        if found { Ok(()) } else { Err(Refusal::BadKeys) }
    }
}

fn constant_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_origins() {
        let g = Gateway::new(vec![development_keys()], vec!["https://a.test".into()]);
        assert_eq!(g.check_keys("jodo-dev-akey", "jodo-dev-skey"), Ok(()));
        assert_eq!(
            g.check_keys("jodo-dev-akey", "jodo-dev-ske"),
            Err(Refusal::BadKeys)
        );
        assert_eq!(g.check_keys("", ""), Err(Refusal::BadKeys));
        assert_eq!(g.check_origin(Some("https://a.test")), Ok(()));
        assert_eq!(
            g.check_origin(Some("https://b.test")),
            Err(Refusal::OriginNotAllowed)
        );
        assert_eq!(g.check_origin(None), Err(Refusal::OriginNotAllowed));
    }

    #[test]
    fn refusals_never_mention_keys() {
        for r in [Refusal::BadKeys, Refusal::OriginNotAllowed] {
            assert!(!r.message().contains("jodo-dev"));
        }
    }
}
