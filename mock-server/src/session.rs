//! Visitor sessions: ids, single-use channel tokens and resume secrets,
//! what each session has exchanged so far, and the handle the control API
//! steers it by.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rand::Rng;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{broadcast, mpsc};

use crate::scenario::{Scenario, Step};
pub use crate::transcript::Recorded;
use crate::transcript::Recorder;

/// What the control API asks a live channel to do.
#[derive(Debug)]
pub enum Command {
    /// Perform these steps (an injected event, or a fault).
    Steps(Vec<Step>),
    /// Fire a control trigger of the scenario.
    Trigger(String),
}

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
    /// The akey the session was created with (for rate limits; never shown).
    pub akey: String,
    /// When it was created, as RFC 3339 text, for listings.
    pub started: Arc<str>,
    started_at: Instant,
    recorder: Mutex<Recorder>,
    commands: Mutex<Option<mpsc::UnboundedSender<Command>>>,
    lifecycle: Mutex<Lifecycle>,
}

/// A session's frames for someone watching it: those kept so far, and the
/// ones to come.
#[derive(Debug)]
pub struct Watch {
    /// Kept lines (`{"ts","dir","frame"}`), each with its number.
    pub kept: Vec<(u64, String)>,
    /// The number of the first line `live` will give.
    pub next: u64,
    /// Lines as they are recorded, numbered on from `next`.
    pub live: broadcast::Receiver<Arc<str>>,
}

/// Where a session is in its scenario and in time, for people watching it.
#[derive(Debug)]
struct Lifecycle {
    /// The scenario state it is in.
    state: String,
    /// When its channel last ended (none while one is open or before the first).
    ended_at: Option<Instant>,
}

impl Session {
    /// Records a frame: in memory (the latest ones) and, with
    /// `--transcripts`, as one JSON line written and flushed at once so a
    /// killed server loses nothing.
    pub fn record<'a>(&self, dir: &'static str, frame: impl Into<Recorded<'a>>) {
        self.record_at(&jodo_contract::clock::rfc3339_now_shared(), dir, frame);
    }

    /// Records a frame with the time the caller already took for it.
    pub fn record_at<'a>(&self, ts: &Arc<str>, dir: &'static str, frame: impl Into<Recorded<'a>>) {
        if let Ok(mut r) = self.recorder.lock() {
            if r.push(ts, dir, frame.into()).is_err() {
                tracing::warn!(session = %self.id, "cannot write the transcript file; keeping it in memory only");
                r.drop_file();
            }
        }
    }

    /// The transcript kept in memory, as a JSON array of
    /// `{"ts", "dir", "frame"}` objects, oldest first.
    pub fn transcript(&self) -> String {
        self.recorder
            .lock()
            .map(|r| r.json_array())
            .unwrap_or_else(|_| "[]".into())
    }

    /// Every frame as it is recorded, after the ones kept so far: the kept
    /// lines from `from` on (each line's number counts every frame the
    /// session recorded, from 0), their number, and a receiver of the
    /// lines to come, numbered on from there. Taken under one lock, so no
    /// frame falls between the two.
    pub fn watch(&self, from: u64) -> Watch {
        match self.recorder.lock() {
            Ok(mut r) => {
                let next = r.recorded();
                let (kept, live) = r.watch(from);
                Watch { kept, next, live }
            }
            Err(_) => Watch {
                kept: Vec::new(),
                next: from,
                live: broadcast::channel(1).1,
            },
        }
    }

    /// Notes the scenario state the session moved to.
    pub fn entered(&self, state: &str) {
        if let Ok(mut l) = self.lifecycle.lock() {
            state.clone_into(&mut l.state);
        }
    }

    /// The scenario state it is in.
    pub fn state(&self) -> String {
        self.lifecycle
            .lock()
            .map(|l| l.state.clone())
            .unwrap_or_default()
    }

    /// How long it has lasted: up to now while a channel is open or its
    /// token is unspent, up to the end of its last channel otherwise.
    pub fn duration(&self) -> std::time::Duration {
        let end = self
            .lifecycle
            .lock()
            .ok()
            .and_then(|l| l.ended_at)
            .unwrap_or_else(Instant::now);
        end.saturating_duration_since(self.started_at)
    }

    /// The visitor's name, when the page gave one to `jodosessioninit`.
    pub fn visitor(&self) -> Option<&str> {
        self.init.get("name").and_then(Value::as_str)
    }

    /// Connects the live channel so the control API can reach it.
    pub fn attach(&self, commands: mpsc::UnboundedSender<Command>) {
        if let Ok(mut c) = self.commands.lock() {
            *c = Some(commands);
        }
        if let Ok(mut l) = self.lifecycle.lock() {
            l.ended_at = None;
        }
    }

    /// Forgets the channel once it has ended.
    pub fn detach(&self) {
        if let Ok(mut c) = self.commands.lock() {
            *c = None;
        }
        if let Ok(mut l) = self.lifecycle.lock() {
            l.ended_at = Some(Instant::now());
        }
        if let Ok(mut r) = self.recorder.lock() {
            r.shrink();
        }
    }

    /// Whether a channel is open.
    pub fn is_live(&self) -> bool {
        self.commands.lock().map(|c| c.is_some()).unwrap_or(false)
    }

    /// Hands a command to the live channel; false when there is none.
    pub fn command(&self, command: Command) -> bool {
        self.commands
            .lock()
            .ok()
            .and_then(|c| c.as_ref().map(|tx| tx.send(command).is_ok()))
            .unwrap_or(false)
    }
}

/// Summary row for listings.
#[derive(Debug, Clone, Serialize)]
pub struct SessionSummary {
    /// Session id.
    pub id: String,
    /// Its place among every session the mock created, from 1: stable
    /// when older sessions are forgotten.
    pub serial: u64,
    /// systemcallid.
    pub systemcallid: String,
    /// Scenario name.
    pub scenario: String,
    /// The scenario state it is in.
    pub state: String,
    /// The visitor's name from `jodosessioninit`, if the page gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visitor: Option<String>,
    /// When it was created (RFC 3339).
    pub started: String,
    /// How long it lasted so far, in milliseconds (see [`Session::duration`]).
    pub duration_ms: u64,
    /// Whether its channel is open.
    pub live: bool,
    /// Frames kept in memory.
    pub frames: usize,
}

/// Every session the server remembers, and the tokens not yet used.
#[derive(Debug)]
pub struct Sessions {
    inner: Mutex<Registry>,
    transcripts: Option<PathBuf>,
    /// Sessions kept besides the live ones.
    kept: usize,
}

impl Default for Sessions {
    fn default() -> Self {
        Self::with_transcripts(None)
    }
}

#[derive(Debug, Default)]
struct Registry {
    by_id: HashMap<String, Arc<Session>>,
    /// Ids with their serials, oldest first.
    order: std::collections::VecDeque<(String, u64)>,
    /// Sessions created so far.
    created: u64,
    tokens: HashMap<String, String>,
    /// Resume secret → session id, and each session's current secret.
    resumes: HashMap<String, String>,
    resume_of: HashMap<String, String>,
}

impl Sessions {
    /// Sessions whose transcripts are also written under `dir`, one
    /// `<session id>.jsonl` each.
    pub fn with_transcripts(dir: Option<&Path>) -> Self {
        Self {
            inner: Mutex::default(),
            transcripts: dir.map(Path::to_path_buf),
            kept: crate::state::DEFAULT_SESSIONS_KEPT,
        }
    }

    /// The same, remembering `kept` sessions besides the live ones.
    pub fn keeping(self, kept: usize) -> Self {
        Self { kept, ..self }
    }

    /// Sessions open now (a channel live, or a token not yet spent): in
    /// all, and those created with `akey`. Counting scans the registry: with
    /// fewer than `at_least` sessions known at all, the scan is skipped and
    /// that number is returned for both (an upper bound, below `at_least`).
    pub fn open(&self, akey: &str, at_least: usize) -> (usize, usize) {
        let Ok(r) = self.inner.lock() else {
            return (0, 0);
        };
        if r.by_id.len() < at_least {
            return (r.by_id.len(), r.by_id.len());
        }
        let pending: std::collections::HashSet<&String> = r.tokens.values().collect();
        r.by_id
            .values()
            .filter(|s| s.is_live() || pending.contains(&s.id))
            .fold((0, 0), |(all, key), s| {
                (all + 1, key + usize::from(s.akey == akey))
            })
    }

    /// How many sessions were created so far.
    pub fn created(&self) -> u64 {
        self.inner.lock().map(|r| r.created).unwrap_or(0)
    }

    /// Creates a session and the token that opens its channel.
    pub fn create(
        &self,
        scenario: Arc<Scenario>,
        origin: String,
        init: Value,
        akey: &str,
    ) -> (Arc<Session>, String) {
        let systemcallid: String = {
            let mut rng = rand::rng();
            let first = rng.random_range(1..=9u8);
            std::iter::once(first)
                .chain((0..16).map(|_| rng.random_range(0..=9u8)))
                .map(|d| char::from(b'0' + d))
                .collect()
        };
        let id = crate::ids::random_hex(8);
        let file = self.transcripts.as_ref().and_then(|dir| {
            let path = dir.join(format!("{id}.jsonl"));
            std::fs::File::create(&path)
                .map_err(|e| tracing::warn!(path = %path.display(), error = %e, "cannot create transcript file"))
                .ok()
        });
        let lifecycle = Lifecycle {
            state: scenario.initial.clone(),
            ended_at: None,
        };
        let session = Arc::new(Session {
            id,
            systemcallid,
            scenario,
            origin,
            init,
            akey: akey.to_owned(),
            started: jodo_contract::clock::rfc3339_now_shared(),
            started_at: Instant::now(),
            recorder: Mutex::new(Recorder::new(file)),
            commands: Mutex::new(None),
            lifecycle: Mutex::new(lifecycle),
        });
        let token = crate::ids::random_hex(24);
        if let Ok(mut r) = self.inner.lock() {
            r.created += 1;
            let serial = r.created;
            r.by_id.insert(session.id.clone(), session.clone());
            r.order.push_back((session.id.clone(), serial));
            r.tokens.insert(token.clone(), session.id.clone());
            r.forget_beyond(self.kept);
        }
        (session, token)
    }

    /// Spends a channel token: the session it opens, once.
    pub fn redeem(&self, token: &str) -> Option<Arc<Session>> {
        let mut r = self.inner.lock().ok()?;
        let id = r.tokens.remove(token)?;
        r.by_id.get(&id).cloned()
    }

    /// A fresh resume secret for the session, replacing its previous one:
    /// only the secret of the latest welcome re-attaches the session.
    pub fn issue_resume(&self, session_id: &str) -> String {
        let secret = crate::ids::random_hex(24);
        if let Ok(mut r) = self.inner.lock() {
            if let Some(old) = r.resume_of.insert(session_id.to_owned(), secret.clone()) {
                r.resumes.remove(&old);
            }
            r.resumes.insert(secret.clone(), session_id.to_owned());
        }
        secret
    }

    /// The session a resume secret belongs to. The secret stays valid
    /// until the session's next welcome replaces it, so an attempt that
    /// fails before its welcome can be made again.
    pub fn resume_target(&self, secret: &str) -> Option<Arc<Session>> {
        let r = self.inner.lock().ok()?;
        r.by_id.get(r.resumes.get(secret)?).cloned()
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
            .filter_map(|(id, serial)| Some((r.by_id.get(id)?, *serial)))
            .map(|(s, serial)| SessionSummary {
                id: s.id.clone(),
                serial,
                systemcallid: s.systemcallid.clone(),
                scenario: s.scenario.name.clone(),
                state: s.state(),
                visitor: s.visitor().map(str::to_owned),
                started: s.started.to_string(),
                duration_ms: u64::try_from(s.duration().as_millis()).unwrap_or(u64::MAX),
                live: s.is_live(),
                frames: s.recorder.lock().map(|r| r.len()).unwrap_or(0),
            })
            .collect()
    }
}

impl Registry {
    /// Forgets the oldest sessions that are not live until at most `kept`
    /// are not live, with their unused tokens and resume secrets. Live
    /// sessions stay whatever their number (other bounds limit those).
    fn forget_beyond(&mut self, kept: usize) {
        // Nothing to forget while the sessions known are fewer (the common
        // case): only then is the registry scanned.
        if self.by_id.len() <= kept {
            return;
        }
        let idle = |r: &Registry, id: &str| r.by_id.get(id).is_some_and(|s| !s.is_live());
        let mut not_live = self.order.iter().filter(|(id, _)| idle(self, id)).count();
        let mut at = 0;
        while not_live > kept && at < self.order.len() {
            let id = self.order[at].0.clone();
            if !idle(self, &id) {
                at += 1;
                continue;
            }
            self.order.remove(at);
            self.by_id.remove(&id);
            self.tokens.retain(|_, owner| *owner != id);
            if let Some(secret) = self.resume_of.remove(&id) {
                self.resumes.remove(&secret);
            }
            not_live -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Arc<crate::scenario::Scenario> {
        Arc::new(crate::scenario::Scenario {
            name: "t".into(),
            summary: String::new(),
            vars: serde_json::Map::new(),
            api: Default::default(),
            initial: "s".into(),
            states: Default::default(),
            selftest: Vec::new(),
        })
    }

    #[test]
    fn a_frame_with_newlines_is_recorded_on_one_line() {
        let (session, _) =
            Sessions::default().create(scenario(), "https://host.test".into(), Value::Null, "k");
        session.record("in", Recorded::Received("{\n  \"kind\": \"chat.send\"\n}"));
        session.record("out", serde_json::json!({"dropped": true}));
        let frames: Vec<Value> = serde_json::from_str(&session.transcript()).unwrap();
        assert_eq!(frames[0]["frame"]["kind"], "chat.send");
        assert_eq!(frames[1]["frame"]["dropped"], true);
        let r = session.recorder.lock().unwrap();
        assert_eq!(r.len(), 2);
        assert!(!r.json_array().contains('\n'));
    }

    /// A mock left running forgets the oldest sessions that are not live,
    /// with their tokens and resume secrets; live ones and serials stay.
    #[test]
    fn beyond_the_bound_the_oldest_idle_sessions_are_forgotten() {
        let sessions = Sessions::default().keeping(2);
        let make = || sessions.create(scenario(), "https://host.test".into(), Value::Null, "k");
        let (first, first_token) = make();
        let (live, live_token) = make();
        assert!(sessions.redeem(&live_token).is_some(), "its channel opens");
        let (tx, _rx) = mpsc::unbounded_channel();
        live.attach(tx);
        let secret = sessions.issue_resume(&first.id);
        for _ in 0..4 {
            make();
        }
        let list = sessions.list();
        let serials: Vec<u64> = list.iter().map(|s| s.serial).collect();
        assert_eq!(serials, vec![2, 5, 6], "the live one and the two newest");
        assert!(list[0].live);
        assert_eq!(sessions.created(), 6);
        assert!(sessions.get(&first.id).is_none());
        assert!(sessions.redeem(&first_token).is_none(), "its token is gone");
        assert!(sessions.resume_target(&secret).is_none(), "its secret too");
        let registry = sessions.inner.lock().unwrap();
        assert_eq!(registry.tokens.len(), 2, "only the kept sessions' tokens");
    }
}
