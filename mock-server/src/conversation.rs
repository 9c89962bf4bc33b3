//! What a session carries from one channel to the next. A channel owns its
//! session's conversation while it is open; when the connection drops, the
//! conversation is parked in the session for a grace period so that the
//! widget can resume it over a new channel: same scenario state, sequence
//! numbers continuing in both directions, replay protection intact.

use std::collections::{HashSet, VecDeque};

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
    /// Client messageids already received (replays are refused). Hashed
    /// with foldhash: a lookup per frame, and SipHash cost as much as the
    /// rest of the check; its per-set random seed still spreads the keys.
    pub seen_in: HashSet<String, foldhash::fast::RandomState>,
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
            seen_in: HashSet::default(),
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
