//! What a session carries from one channel to the next. A channel owns its
//! session's conversation while it is open; when the connection drops, the
//! conversation is parked in the session for a grace period so that the
//! widget can resume it over a new channel: same scenario state, sequence
//! numbers continuing in both directions, replay protection intact.

use std::collections::{HashSet, VecDeque};
use std::hash::BuildHasher;

use axum::extract::ws::Utf8Bytes;
use serde_json::{Map, json};
use tokio::time::Instant;

use crate::scenario::{Machine, Scenario};

/// How many sent frames a conversation keeps for `replay`.
pub const REPLAY_MEMORY: usize = 32;

/// A session's protocol state, independent of the socket it travels on.
#[derive(Debug)]
pub struct Conversation {
    /// Where the session is in its scenario.
    pub machine: Machine,
    /// seq of the last frame sent to the widget.
    pub out_seq: u64,
    /// Random start of every messageid the server sends in this session;
    /// the seq completes it.
    pub id_prefix: String,
    /// seq of the last frame received from the widget.
    pub in_seq: u64,
    /// Client messageids already received (replays are refused).
    pub seen_in: SeenIds,
    /// The latest frames sent, for the scenario's `replay` action (kept
    /// only when the scenario has one).
    pub sent: VecDeque<Utf8Bytes>,
    keeps_sent: bool,
    /// When the machine entered its current state (its timers count from here).
    pub entered_at: Instant,
    /// The machine's entry count when `entered_at` was taken.
    pub entries: u64,
}

impl Conversation {
    /// A conversation at the start of the scenario, with the session's own
    /// variables available to its templates.
    pub fn start(scenario: &Scenario, systemcallid: &str) -> Self {
        let mut vars = Map::new();
        vars.insert("systemcallid".into(), json!(systemcallid));
        let machine = Machine::new(scenario, vars);
        let entries = machine.entries();
        Self {
            machine,
            out_seq: 0,
            id_prefix: crate::session::random_hex(6),
            in_seq: 0,
            seen_in: SeenIds::default(),
            sent: VecDeque::new(),
            keeps_sent: scenario.replays(),
            entered_at: Instant::now(),
            entries,
        }
    }

    /// Keeps a sent frame for `replay`, forgetting the oldest beyond the limit.
    pub fn remember_sent(&mut self, text: &Utf8Bytes) {
        if !self.keeps_sent {
            return;
        }
        let text = text.clone();
        if self.sent.len() == REPLAY_MEMORY {
            self.sent.pop_front();
        }
        self.sent.push_back(text);
    }

    /// The frame sent `back` frames ago.
    pub fn sent_back(&self, back: usize) -> Option<Utf8Bytes> {
        self.sent
            .len()
            .checked_sub(back)
            .and_then(|i| self.sent.get(i))
            .cloned()
    }
}

/// The messageids a session has received, as 128-bit fingerprints: a
/// session remembers every id for as long as it lasts, so each costs 16
/// bytes instead of a string of its own (a long chat kept thousands, and
/// they were a tenth of the mock's cache misses per frame in the
/// benchmark). Two different ids share a fingerprint as rarely as two
/// random UUIDs coincide. Each set draws its own random seeds; foldhash
/// (the hasher behind hashbrown's default) is several times cheaper than
/// SipHash.
#[derive(Debug, Default)]
pub struct SeenIds {
    ids: HashSet<u128, foldhash::fast::RandomState>,
    low: foldhash::quality::RandomState,
    high: foldhash::quality::RandomState,
}

impl SeenIds {
    /// Remembers `id`; false if it was seen before.
    pub fn insert(&mut self, id: &str) -> bool {
        let fingerprint =
            u128::from(self.low.hash_one(id)) | u128::from(self.high.hash_one(id)) << 64;
        self.ids.insert(fingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_seen_once_and_distinct_ids_are_told_apart() {
        let mut seen = SeenIds::default();
        for i in 0..100_000 {
            assert!(seen.insert(&format!("w{i}")), "w{i}");
        }
        for i in (0..100_000).step_by(997) {
            assert!(!seen.insert(&format!("w{i}")), "w{i}");
        }
        assert!(seen.insert(""));
        assert!(!seen.insert(""));
    }
}
