//! The protocol of one session, without a socket: frames in, what to put
//! on the wire out. It checks each client frame (envelope, sequence
//! numbers, replays, rate limits, direction and schema), runs the scenario
//! engine, builds the server's frames, and records both directions in the
//! session's transcript. The channel in [`crate::routes::ws`] only reads
//! the socket, hands what it read here, and writes back the [`Out`]s, so
//! the socket code and the protocol can change apart (rustls and
//! tungstenite are built the same way).
//!
//! A conversation outlives its channel: when the connection drops, it is
//! parked in the session for a grace period so that the widget can resume
//! it over a new channel with the same scenario state, sequence numbers
//! continuing in both directions, and replay protection intact.

use std::collections::{HashSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;

use jodo_contract::dialect::{Dialect, Inbound};
use jodo_contract::wire::{self, ChatSend, Head, kind};
use jodo_contract::{Contract, Direction, clock};
use serde_json::{Map, Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::gateway::Gateway;
use crate::scenario::{Fired, FrameRef, Machine, Scenario, Step};
use crate::session::{Command, Recorded, Session};

/// How many sent frames a conversation keeps for `replay`.
pub const REPLAY_MEMORY: usize = 32;

/// Close codes after which the widget may resume the session: the server
/// went away or asks it to come back, rather than ending the session.
pub const RESUMABLE_CLOSES: [u16; 3] = [1001, 1012, 1013];

/// What the channel must do with its socket, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    /// Queue this text frame.
    Frame(Utf8Bytes),
    /// Send what is queued, wait this many milliseconds, then call
    /// [`Conversation::resume`] for the steps that follow the delay.
    Delay(u64),
    /// Send a Close frame; nothing more goes out on this channel.
    Close {
        /// Close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// Send what is queued and end the connection without a Close frame.
    Drop,
}

/// What a conversation consults while it runs: the contract, the gateway
/// (rate limits) and the session it belongs to (transcript, scenario).
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    /// The compiled contract.
    pub schemas: &'a Contract,
    /// Keys and rate limits.
    pub gateway: &'a Gateway,
    /// The session.
    pub session: &'a Session,
    /// The wire protocol frames are read and written in.
    pub dialect: &'a Dialect,
}

/// A session's protocol state, independent of the socket it travels on.
#[derive(Debug)]
pub struct Conversation {
    /// Where the session is in its scenario.
    pub machine: Machine,
    /// seq of the last frame sent to the widget.
    pub out_seq: u64,
    /// Random start of every messageid the server sends in this session;
    /// the seq completes it.
    id_prefix: String,
    /// seq of the last frame received from the widget.
    pub in_seq: u64,
    /// Client messageids already received (replays are refused).
    seen_in: SeenIds,
    /// The latest frames sent, for the scenario's `replay` action (kept
    /// only when the scenario has one).
    sent: VecDeque<Utf8Bytes>,
    keeps_sent: bool,
    /// When the machine entered its current state (its timers count from here).
    entered_at: Instant,
    /// The machine's entry count when `entered_at` was taken.
    entries: u64,
    /// Steps after a delay, performed when the channel calls `resume`.
    pending: VecDeque<Step>,
    /// Nothing more goes out on the current channel (it was closed or dropped).
    closed: bool,
    /// The time of the burst being handled: the frames a trigger sends at
    /// once share it (taken once, not per frame); a delay starts a new one.
    now: Option<Arc<str>>,
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
            id_prefix: crate::ids::random_hex(6),
            in_seq: 0,
            seen_in: SeenIds::default(),
            sent: VecDeque::new(),
            keeps_sent: scenario.replays(),
            entered_at: Instant::now(),
            entries,
            pending: VecDeque::new(),
            closed: false,
            now: None,
        }
    }

    /// A channel opened (or resumed the session): the welcome with the
    /// channel's resume secret, then the scenario's `opened` or `resumed`.
    pub fn open(&mut self, env: Env<'_>, resumed: bool, resume_secret: &str, out: &mut Vec<Out>) {
        self.closed = false;
        self.pending.clear();
        let mut welcome = json!({"systemcallid": env.session.systemcallid, "loadmethod": "custom",
                                 "startwithmedia": "chat", "isPSTN": 0, "resume": resume_secret});
        if resumed {
            welcome["resumed"] = json!(true);
        }
        self.send_text(env, kind::WELCOME, &welcome.to_string(), out);
        let fired = if resumed {
            Fired::Resumed
        } else {
            Fired::Opened
        };
        self.fire(env, fired, out);
    }

    /// The burst is over (the channel flushed): the next frames get a new time.
    pub fn end_burst(&mut self) {
        self.now = None;
    }

    /// When the current state's timer runs out, and its length.
    pub fn next_timer(&self, scenario: &Scenario) -> Option<(Instant, u64)> {
        self.machine
            .next_timer(scenario)
            .map(|ms| (self.entered_at + std::time::Duration::from_millis(ms), ms))
    }

    /// A text frame from the widget, in the session's dialect.
    pub fn receive(&mut self, env: Env<'_>, text: &str, out: &mut Vec<Out>) {
        if env.dialect.is_identity() {
            return self.receive_kit(env, text, out);
        }
        // Another dialect's frame is read into the kit's, which the
        // transcript records and everything after this point sees.
        match env.dialect.decode(text) {
            Ok(Inbound::Frame(frame)) => self.receive_kit(env, &frame.to_string(), out),
            Ok(Inbound::Ack(of)) => {
                let now = self.now();
                env.session.record_at(&now, "in", json!({ "ack": of }));
            }
            Err(e) => {
                let now = self.now();
                env.session
                    .record_at(&now, "in", json!({ "unparsed": text }));
                self.refuse(env, "bad_frame", &e.to_string(), None, out);
            }
        }
    }

    /// A frame of the kit's own protocol.
    fn receive_kit(&mut self, env: Env<'_>, text: &str, out: &mut Vec<Out>) {
        // A plain chat message, the most frequent frame, is read straight
        // into its fields; any other text is parsed into a tree, and the
        // envelope is borrowed from it: nothing of the frame is copied on
        // the way to the checks and the engine. The frame is recorded with
        // the time its answers will carry.
        let now = self.now();
        let chat;
        let raw;
        let (frame, head) = match ChatSend::parse(text) {
            Some(c) => {
                env.session.record_at(&now, "in", Recorded::Received(text));
                chat = c;
                let head = Head {
                    kind: kind::CHAT_SEND,
                    seq: chat.seq,
                    messageid: &chat.messageid,
                };
                (FrameRef::Chat(&chat), head)
            }
            None => {
                raw = match wire::parse(text) {
                    Ok(raw) => raw,
                    Err(e) => {
                        env.session
                            .record_at(&now, "in", json!({ "unparsed": text }));
                        return self.refuse(env, "bad_frame", &e.to_string(), None, out);
                    }
                };
                env.session.record_at(&now, "in", Recorded::Received(text));
                let head = match Head::of(&raw) {
                    Ok(head) => head,
                    Err(e) => return self.refuse(env, "bad_frame", &e.to_string(), None, out),
                };
                if let Some((code, reason)) = refusal_of(env.schemas, &raw, &head) {
                    return self.refuse(env, code, &reason, Some(head.messageid), out);
                }
                (FrameRef::Json(&raw), head)
            }
        };
        let frame_kind = head.kind;
        if !self.seen_in.insert(head.messageid) {
            return self.refuse(
                env,
                "replayed_messageid",
                "messageid already used in this session",
                Some(head.messageid),
                out,
            );
        }
        let expected = self.in_seq.saturating_add(1);
        if head.seq < expected {
            // A sequence number never goes back: such a frame is refused
            // and not acted on, whatever its messageid.
            let reason = format!(
                "expected seq {expected}, got {}: a sequence number never goes back",
                head.seq
            );
            return self.refuse(
                env,
                "sequence_backwards",
                &reason,
                Some(head.messageid),
                out,
            );
        }
        if head.seq > expected {
            let reason = format!("expected seq {expected}, got {}", head.seq);
            self.refuse(env, "sequence_gap", &reason, Some(head.messageid), out);
        }
        self.in_seq = head.seq;
        let over_limit = env
            .schemas
            .frame_rate_limit(frame_kind)
            .and_then(|category| env.gateway.limit_frame(&env.session.akey, category));
        if let Some(limit) = over_limit {
            return self.refuse(env, "rate_limited", &limit, Some(head.messageid), out);
        }
        if env.dialect.server_acks() {
            self.acknowledge(env, head.messageid, out);
        }
        self.fire(env, Fired::Frame(frame), out);
        if frame_kind == kind::SESSION_END && !self.closed {
            self.close(env, 1000, "session ended by visitor".into(), out);
        }
    }

    /// A binary frame from the widget: refused, the channel goes on.
    pub fn receive_binary(&mut self, env: Env<'_>, out: &mut Vec<Out>) {
        self.refuse(
            env,
            "binary_not_supported",
            "frames are JSON text messages",
            None,
            out,
        );
    }

    /// The widget broke the WebSocket protocol (the socket says how): the
    /// transcript records it and the channel closes with `code`.
    pub fn violation(&mut self, env: Env<'_>, code: u16, what: &str, out: &mut Vec<Out>) {
        if self.closed {
            return;
        }
        env.session.record("in", json!({ "violation": what }));
        // A close reason is at most 123 bytes (RFC 6455 5.5.1).
        let mut reason = what.to_owned();
        if reason.len() > 123 {
            let mut end = 123;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
        }
        self.close(env, code, reason, out);
    }

    /// A command from the control API.
    pub fn command(&mut self, env: Env<'_>, command: Command, out: &mut Vec<Out>) {
        match command {
            Command::Steps(steps) => self.perform(env, steps, out),
            Command::Trigger(name) => self.fire(env, Fired::Control(&name), out),
        }
    }

    /// Runs the engine on a trigger and performs the steps it returns.
    pub fn fire(&mut self, env: Env<'_>, fired: Fired<'_>, out: &mut Vec<Out>) {
        let steps = self.machine.fire(&env.session.scenario, fired);
        if self.machine.entries() != self.entries {
            self.entries = self.machine.entries();
            self.entered_at = Instant::now();
            env.session.entered(self.machine.state());
        }
        self.perform(env, steps, out);
    }

    /// The steps a delay held back, once the delay is over.
    pub fn resume(&mut self, env: Env<'_>, out: &mut Vec<Out>) {
        let steps: Vec<Step> = self.pending.drain(..).collect();
        self.perform(env, steps, out);
    }

    fn perform(&mut self, env: Env<'_>, steps: Vec<Step>, out: &mut Vec<Out>) {
        let mut steps = steps.into_iter();
        while let Some(step) = steps.next() {
            if self.closed {
                break;
            }
            match step {
                Step::Send(data) => self.send_text(env, kind::EVENT, &data, out),
                Step::DelayMs(ms) => {
                    // Whatever follows waits for the delay, in front of
                    // anything a trigger queued meanwhile.
                    let rest: Vec<Step> = steps.collect();
                    for s in rest.into_iter().rev() {
                        self.pending.push_front(s);
                    }
                    out.push(Out::Delay(ms));
                    return;
                }
                Step::Close { code, reason } => self.close(env, code, reason, out),
                Step::Drop => {
                    // No close frame: the browser sees an abnormal closure
                    // (1006), after the frames queued before the drop.
                    env.session.record("out", json!({"dropped": true}));
                    self.closed = true;
                    out.push(Out::Drop);
                }
                Step::Raw(text) => {
                    env.session.record("out", json!({ "raw": text }));
                    out.push(Out::Frame(text.into()));
                }
                Step::SkipSeq(n) => self.out_seq = self.out_seq.saturating_add(n),
                Step::Replay(back) => {
                    if let Some(text) = self.sent_back(back) {
                        let frame = if env.dialect.is_identity() {
                            serde_json::from_str::<Value>(text.as_str()).ok()
                        } else {
                            match env.dialect.decode(text.as_str()) {
                                Ok(Inbound::Frame(frame)) => Some(frame),
                                _ => None,
                            }
                        };
                        env.session
                            .record("out", json!({ "replayed": frame.unwrap_or(Value::Null) }));
                        out.push(Out::Frame(text));
                    }
                }
            }
        }
    }

    fn close(&mut self, env: Env<'_>, code: u16, reason: String, out: &mut Vec<Out>) {
        self.closed = true;
        env.session
            .record("out", json!({"close": code, "reason": reason}));
        out.push(Out::Close { code, reason });
    }

    /// The time of the current burst, as the frames and transcript write it.
    fn now(&mut self) -> Arc<str> {
        self.now
            .get_or_insert_with(clock::rfc3339_now_shared)
            .clone()
    }

    fn refuse(
        &mut self,
        env: Env<'_>,
        code: &str,
        reason: &str,
        refers_to: Option<&str>,
        out: &mut Vec<Out>,
    ) {
        let mut data = json!({"code": code, "reason": reason});
        if let Some(id) = refers_to {
            data["refmessageid"] = json!(id);
        }
        self.send_text(env, kind::ERROR, &data.to_string(), out);
    }

    /// Builds a frame whose data is already JSON object text.
    fn send_text(&mut self, env: Env<'_>, kind: &str, data: &str, out: &mut Vec<Out>) {
        self.out_seq = self.out_seq.saturating_add(1);
        let ts = self.now.get_or_insert_with(clock::rfc3339_now_shared);
        // The envelope's fields are plain ASCII (frame kinds, digits, hex,
        // an RFC 3339 time), so they are written as they are, into a buffer
        // of exactly the frame's length: the message then takes it over
        // without another allocation.
        const FIXED: usize = r#"{"kind":"","seq":,"messageid":"s","ts":"","data":}"#.len();
        let mut seq_digits = itoa::Buffer::new();
        let seq = seq_digits.format(self.out_seq);
        let len = FIXED + kind.len() + 2 * seq.len() + self.id_prefix.len() + ts.len() + data.len();
        let mut text = String::with_capacity(len);
        text.push_str("{\"kind\":\"");
        text.push_str(kind);
        text.push_str("\",\"seq\":");
        text.push_str(seq);
        // Unique within the session by construction: the conversation's
        // random prefix and the seq, which never repeats in a direction.
        text.push_str(",\"messageid\":\"s");
        text.push_str(&self.id_prefix);
        text.push_str(seq);
        text.push_str("\",\"ts\":\"");
        text.push_str(ts);
        text.push_str("\",\"data\":");
        text.push_str(data);
        text.push('}');
        debug_assert_eq!(text.len(), len);
        env.session
            .record_at(ts, "out", Recorded::Json(text.as_str()));
        // The transcript keeps the kit's frame; the wire gets the dialect's.
        let wire = if env.dialect.is_identity() {
            Utf8Bytes::from(text)
        } else {
            match serde_json::from_str::<Value>(&text) {
                Ok(frame) => Utf8Bytes::from(env.dialect.encode_frame(&frame)),
                Err(_) => Utf8Bytes::from(text),
            }
        };
        if self.keeps_sent {
            if self.sent.len() == REPLAY_MEMORY {
                self.sent.pop_front();
            }
            self.sent.push_back(wire.clone());
        }
        out.push(Out::Frame(wire));
    }

    /// The dialect's acknowledgement of an accepted client frame: outside
    /// the sequence, recorded as what it acknowledges.
    fn acknowledge(&mut self, env: Env<'_>, messageid: &str, out: &mut Vec<Out>) {
        if let Some(ack) = env.dialect.encode_ack(messageid) {
            let now = self.now();
            env.session
                .record_at(&now, "out", json!({ "ack": messageid }));
            out.push(Out::Frame(ack.into()));
        }
    }

    /// The frame sent `back` frames ago.
    fn sent_back(&self, back: usize) -> Option<Utf8Bytes> {
        self.sent
            .len()
            .checked_sub(back)
            .and_then(|i| self.sent.get(i))
            .cloned()
    }
}

/// Why a parsed frame is refused before the scenario sees it: a
/// server-only kind, or a schema violation.
fn refusal_of(schemas: &Contract, raw: &Value, head: &Head<'_>) -> Option<(&'static str, String)> {
    if schemas.frame_direction(head.kind) == Some(Direction::Server) {
        return Some((
            "unexpected_kind",
            format!(
                "{:?} frames are sent by the server, not by widgets",
                head.kind
            ),
        ));
    }
    let problem = schemas.validate_frame(raw).into_iter().next()?;
    Some(("invalid_frame", problem.to_string()))
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
mod tests;
