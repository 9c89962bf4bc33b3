//! The gateway in front of sessions: API keys and the Origin allowlist.
//!
//! Every refusal maps to one documented HTTP status and error code (see
//! `schemas/wire/README.md`) and never repeats a key back.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// One akey/skey pair a host page may use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyPair {
    /// API key.
    pub akey: String,
    /// Service key.
    pub skey: String,
    /// Rate limits for this key; the defaults when absent.
    #[serde(default)]
    pub limits: Limits,
}

/// Per-key rate limits. 0 turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Sessions created per minute.
    pub sessions_per_minute: u32,
    /// Chat messages (`chat.send` frames) per second, over all the key's sessions.
    pub messages_per_second: u32,
    /// Media initiations (`media.start`, `media.accept`) per minute.
    pub media_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            sessions_per_minute: 300,
            messages_per_second: 50,
            media_per_minute: 60,
        }
    }
}

impl Limits {
    /// No limits at all (benchmarks).
    pub fn unlimited() -> Self {
        Self {
            sessions_per_minute: 0,
            messages_per_second: 0,
            media_per_minute: 0,
        }
    }
}

/// A token bucket: `rate` tokens per `period`, holding at most `rate`.
#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    last: std::time::Instant,
}

impl Bucket {
    fn take(&mut self, rate: u32, period: std::time::Duration) -> bool {
        if rate == 0 {
            return true;
        }
        let now = std::time::Instant::now();
        let refill =
            now.duration_since(self.last).as_secs_f64() / period.as_secs_f64() * f64::from(rate);
        self.tokens = (self.tokens + refill).min(f64::from(rate));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What a rate limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Counted {
    Sessions,
    Messages,
    Media,
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
    /// The key created sessions faster than its limit.
    RateLimited,
}

impl Refusal {
    /// HTTP status of the refusal.
    pub fn status(self) -> u16 {
        match self {
            Refusal::BadKeys => 401,
            Refusal::OriginNotAllowed => 403,
            Refusal::RateLimited => 429,
        }
    }

    /// Stable machine code, as in the wire README.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::BadKeys => "bad_keys",
            Refusal::OriginNotAllowed => "origin_not_allowed",
            Refusal::RateLimited => "rate_limited",
        }
    }

    /// Human explanation; deliberately says nothing about which key was wrong.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::BadKeys => "the akey/skey pair is not known to this server",
            Refusal::OriginNotAllowed => "the page's Origin is not on this server's allowlist",
            Refusal::RateLimited => "too many sessions for this key; retry later",
        }
    }
}

/// Keys and origins the gateway admits, and the rate-limit state. Clones
/// share the rate-limit state.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// Accepted pairs; a run may add a page's own (see [`Gateway::accept_keys`]).
    keys: std::sync::Arc<std::sync::RwLock<Vec<KeyPair>>>,
    origins: std::sync::Arc<std::sync::RwLock<Vec<String>>>,
    buckets: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<(String, Counted), Bucket>>>,
}

/// The development pair used when no key file is given; printed at start.
pub fn development_keys() -> KeyPair {
    KeyPair {
        akey: "jodo-dev-akey".into(),
        skey: "jodo-dev-skey".into(),
        limits: Limits::default(),
    }
}

impl Gateway {
    /// A gateway admitting these pairs from these origins.
    pub fn new(keys: Vec<KeyPair>, origins: Vec<String>) -> Self {
        Self {
            keys: std::sync::Arc::new(std::sync::RwLock::new(keys)),
            origins: std::sync::Arc::new(std::sync::RwLock::new(origins)),
            buckets: std::sync::Arc::default(),
        }
    }

    fn take(&self, akey: &str, counted: Counted) -> bool {
        let limits = self
            .keys
            .read()
            .ok()
            .and_then(|keys| keys.iter().find(|k| k.akey == akey).map(|k| k.limits));
        let Some(limits) = limits else {
            return true;
        };
        let minute = std::time::Duration::from_secs(60);
        let (rate, period) = match counted {
            Counted::Sessions => (limits.sessions_per_minute, minute),
            Counted::Messages => (
                limits.messages_per_second,
                std::time::Duration::from_secs(1),
            ),
            Counted::Media => (limits.media_per_minute, minute),
        };
        if rate == 0 {
            return true;
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        buckets
            .entry((akey.to_owned(), counted))
            .or_insert_with(|| Bucket {
                tokens: f64::from(rate),
                last: std::time::Instant::now(),
            })
            .take(rate, period)
    }

    /// Counts a session creation against the key's limit.
    pub fn limit_session(&self, akey: &str) -> Result<(), Refusal> {
        if self.take(akey, Counted::Sessions) {
            Ok(())
        } else {
            Err(Refusal::RateLimited)
        }
    }

    /// Counts a client frame against the key's limit for `category` (the
    /// frame schema's `x-rate-limit`: `messages` or `media`); the reason
    /// when it is over (the frame is then refused, not acted on).
    pub fn limit_frame(&self, akey: &str, category: &str) -> Option<String> {
        let counted = match category {
            "messages" => Counted::Messages,
            "media" => Counted::Media,
            _ => return None,
        };
        (!self.take(akey, counted))
            .then(|| format!("too many {category} frames for this key; slow down"))
    }

    /// Whether the gateway knows a rate-limit category named in the wire schemas.
    pub fn knows_rate_limit(category: &str) -> bool {
        matches!(category, "messages" | "media")
    }

    /// Reads a key file.
    ///
    /// # Errors
    /// [`KeyFileError`] naming the file and the problem.
    pub fn read_key_file(path: &Path) -> Result<Vec<KeyPair>, KeyFileError> {
        let shown = path.display().to_string();
        let text =
            jodo_contract::yaml::read_data_file(path).map_err(|source| KeyFileError::Read {
                path: shown.clone(),
                source,
            })?;
        let file: KeyFile =
            jodo_contract::yaml::from_str(&text).map_err(|e| KeyFileError::Malformed {
                path: shown.clone(),
                message: e.to_string(),
            })?;
        if file.keys.is_empty() {
            return Err(KeyFileError::Empty { path: shown });
        }
        Ok(file.keys)
    }

    /// The pair the mock's own host page uses.
    pub fn page_keys(&self) -> Option<KeyPair> {
        self.keys.read().ok()?.first().cloned()
    }

    /// Accepts one more key pair from now on (a page under certification
    /// brings its own), unless it is known already.
    pub fn accept_keys(&self, pair: KeyPair) {
        if let Ok(mut keys) = self.keys.write() {
            if !keys
                .iter()
                .any(|k| k.akey == pair.akey && k.skey == pair.skey)
            {
                keys.push(pair);
            }
        }
    }

    /// Adds origins (the mock's own, once its port is known).
    pub fn allow_origins(&self, origins: impl IntoIterator<Item = String>) {
        if let Ok(mut known) = self.origins.write() {
            for o in origins {
                if !known.contains(&o) {
                    known.push(o);
                }
            }
        }
    }

    /// Allowed origins, for the banner.
    pub fn origins(&self) -> Vec<String> {
        self.origins.read().map(|o| o.clone()).unwrap_or_default()
    }

    /// Whether a request from `origin` may go on.
    pub fn check_origin(&self, origin: Option<&str>) -> Result<(), Refusal> {
        match origin {
            Some(o)
                if self
                    .origins
                    .read()
                    .is_ok_and(|known| known.iter().any(|a| a == o)) =>
            {
                Ok(())
            }
            _ => Err(Refusal::OriginNotAllowed),
        }
    }

    /// Whether the key pair is known. Every pair is compared in full, in
    /// constant time (subtle), over SHA-256 digests so that neither where
    /// a guess first differs nor its length shows in the time taken.
    pub fn check_keys(&self, akey: &str, skey: &str) -> Result<(), Refusal> {
        let (akey, skey) = (Sha256::digest(akey), Sha256::digest(skey));
        let mut found = Choice::from(0);
        let keys = self.keys.read().map(|k| k.clone()).unwrap_or_default();
        for k in &keys {
            found |= Sha256::digest(&k.akey).ct_eq(&akey) & Sha256::digest(&k.skey).ct_eq(&skey);
        }
        if bool::from(found) {
            Ok(())
        } else {
            Err(Refusal::BadKeys)
        }
    }
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
    fn rate_limits_refill_and_zero_means_off() {
        let mut key = development_keys();
        key.limits = Limits {
            sessions_per_minute: 2,
            messages_per_second: 0,
            media_per_minute: 1,
        };
        let g = Gateway::new(vec![key], vec![]);
        assert_eq!(g.limit_session("jodo-dev-akey"), Ok(()));
        assert_eq!(g.limit_session("jodo-dev-akey"), Ok(()));
        assert_eq!(g.limit_session("jodo-dev-akey"), Err(Refusal::RateLimited));
        for _ in 0..1000 {
            assert_eq!(g.limit_frame("jodo-dev-akey", "messages"), None);
        }
        assert_eq!(g.limit_frame("jodo-dev-akey", "media"), None);
        assert!(g.limit_frame("jodo-dev-akey", "media").is_some());
        let mut bucket = Bucket {
            tokens: 0.0,
            last: std::time::Instant::now() - std::time::Duration::from_millis(600),
        };
        assert!(
            bucket.take(2, std::time::Duration::from_secs(1)),
            "0.6 s refills 1.2 tokens at 2/s"
        );
        assert!(!bucket.take(2, std::time::Duration::from_secs(1)));
    }

    #[test]
    fn rate_limit_categories_come_from_the_wire_schemas() {
        let schemas = jodo_contract::Contract::embedded().unwrap();
        assert_eq!(schemas.frame_rate_limit("chat.send"), Some("messages"));
        assert_eq!(schemas.frame_rate_limit("media.start"), Some("media"));
        assert_eq!(schemas.frame_rate_limit("chat.readack"), None);
        for path in schemas.paths() {
            if let Some(kind) = path
                .strip_prefix("wire/frames/")
                .and_then(|p| p.strip_suffix(".schema.json"))
            {
                if let Some(category) = schemas.frame_rate_limit(kind) {
                    assert!(
                        Gateway::knows_rate_limit(category),
                        "{kind} names unknown limit {category}"
                    );
                }
            }
        }
    }

    #[test]
    fn refusals_never_mention_keys() {
        for r in [
            Refusal::BadKeys,
            Refusal::OriginNotAllowed,
            Refusal::RateLimited,
        ] {
            assert!(!r.message().contains("jodo-dev"));
        }
    }
}
