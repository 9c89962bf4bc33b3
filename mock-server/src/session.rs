//! Visitor sessions: ids, single-use channel tokens, and what each session
//! has exchanged so far.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rand::Rng;
use serde::Serialize;
use serde_json::Value;

use crate::scenario::Scenario;

/// One visitor session.
#[derive(Debug)]
pub struct Session {
    /// Id used by the control API.
    pub id: String,
    /// The id every eventdata of the session carries.
    pub systemcallid: String,
    /// Scenario this session runs.
    pub scenario: Arc<Scenario>,
    /// Origin of the page that created it.
    pub origin: String,
    /// The init object given to jodosessioninit, if any.
    pub init: Value,
    transcript: Mutex<Vec<TranscriptEntry>>,
}

/// One frame that crossed the channel, as the control API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TranscriptEntry {
    /// `in` (widget → server) or `out` (server → widget).
    pub dir: &'static str,
    /// The frame as sent or received (raw text when it was not JSON).
    pub frame: Value,
}

impl Session {
    /// Records a frame in the session's transcript.
    pub fn record(&self, dir: &'static str, frame: Value) {
        if let Ok(mut t) = self.transcript.lock() {
            t.push(TranscriptEntry { dir, frame });
        }
    }

    /// A copy of the transcript so far.
    pub fn transcript(&self) -> Vec<TranscriptEntry> {
        self.transcript
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
    }
}

/// Summary row for listings.
#[derive(Debug, Clone, Serialize)]
pub struct SessionSummary {
    /// Session id.
    pub id: String,
    /// systemcallid.
    pub systemcallid: String,
    /// Scenario name.
    pub scenario: String,
    /// Frames exchanged.
    pub frames: usize,
}

/// Every session the server has created, and the tokens not yet used.
#[derive(Debug, Default)]
pub struct Sessions {
    inner: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    by_id: HashMap<String, Arc<Session>>,
    order: Vec<String>,
    tokens: HashMap<String, String>,
}

/// Random lowercase hex of `n` bytes.
pub fn random_hex(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

impl Sessions {
    /// Creates a session and the token that opens its channel.
    pub fn create(
        &self,
        scenario: Arc<Scenario>,
        origin: String,
        init: Value,
    ) -> (Arc<Session>, String) {
        let systemcallid: String = {
            let mut rng = rand::rng();
            let first = rng.random_range(1..=9u8);
            std::iter::once(first)
                .chain((0..16).map(|_| rng.random_range(0..=9u8)))
                .map(|d| char::from(b'0' + d))
                .collect()
        };
        let session = Arc::new(Session {
            id: random_hex(8),
            systemcallid,
            scenario,
            origin,
            init,
            transcript: Mutex::new(Vec::new()),
        });
        let token = random_hex(24);
        if let Ok(mut r) = self.inner.lock() {
            r.by_id.insert(session.id.clone(), session.clone());
            r.order.push(session.id.clone());
            r.tokens.insert(token.clone(), session.id.clone());
        }
        (session, token)
    }

    /// Spends a channel token: the session it opens, once.
    pub fn redeem(&self, token: &str) -> Option<Arc<Session>> {
        let mut r = self.inner.lock().ok()?;
        let id = r.tokens.remove(token)?;
        r.by_id.get(&id).cloned()
    }

    /// A session by id.
    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.inner.lock().ok()?.by_id.get(id).cloned()
    }

    /// Every session, oldest first.
    pub fn list(&self) -> Vec<SessionSummary> {
        let Ok(r) = self.inner.lock() else {
            return Vec::new();
        };
        r.order
            .iter()
            .filter_map(|id| r.by_id.get(id))
            .map(|s| SessionSummary {
                id: s.id.clone(),
                systemcallid: s.systemcallid.clone(),
                scenario: s.scenario.name.clone(),
                frames: s.transcript.lock().map(|t| t.len()).unwrap_or(0),
            })
            .collect()
    }
}
