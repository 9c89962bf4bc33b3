//! A recorded session turned into a scenario that replays it, so that a
//! session recorded once (against a staging server, or the mock) runs
//! offline in CI.
//!
//! A recording is a JSON-lines file: the `wire.jsonl` of a case report
//! (`{"type": "frame", "dir": "out"|"in", "text": …}`, `out` from the page)
//! or a mock transcript (`{"dir": "in"|"out", "frame": …}`, `in` to the
//! mock). Frames are read through the dialect they were written in, so
//! the scenario is in the kit's terms whatever protocol carried them.
//!
//! The scenario is a chain of states: the server's frames before the
//! visitor's first frame answer `opened`; each frame of the visitor then
//! moves the chain on and is answered with the server's frames that
//! followed it; a resume answers `resumed`. Message ids, sequence numbers
//! and timestamps are the mock's own on replay; a server value equal to
//! the answered frame's messageid, to its text, or to the session's
//! systemcallid becomes a template of it, so the replay refers to what the
//! replaying build sent.

use jodo_contract::dialect::{Dialect, Inbound};
use serde_json::{Map, Value, json};

/// Why a file is not a recording that can become a scenario.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// A line is not JSON, or not an entry of either format.
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// Nothing in it was a frame of the dialect.
    #[error(
        "no frame of the {dialect} dialect in the recording ({skipped} frame(s) could not be read in it: is it the dialect they were recorded in? a case report's wire.jsonl from the mock is in jodo-kit-1)"
    )]
    NoFrames {
        /// The dialect it was read in.
        dialect: String,
        /// Frames that did not decode.
        skipped: usize,
    },
}

/// One thing the server did, in the order it did it.
#[derive(Debug, Clone, PartialEq)]
enum ServerStep {
    /// An event frame's data.
    Event(Map<String, Value>),
    /// The channel was closed with this code.
    Close(u16, String),
    /// The connection dropped without a close.
    Drop,
    /// The server welcomed a resumed channel.
    Resumed,
    /// Time passed, in milliseconds.
    Wait(u64),
    /// The server's sequence jumped this many numbers (a fault).
    SkipSeq(u64),
    /// The server sent again the frame sent this many frames before.
    Replay(usize),
}

/// What a recording holds, in order.
#[derive(Debug, Clone, PartialEq)]
enum Entry {
    /// A frame of the visitor's widget (a kit frame).
    Client(Value),
    /// Something the server did.
    Server(ServerStep),
}

/// A recorded session, read in the kit's terms.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    entries: Vec<Entry>,
    systemcallid: Option<String>,
    /// seq of the server's latest frame, and the ids of its frames in
    /// order: a jump or an id seen before is a fault to reproduce.
    server_seq: u64,
    server_ids: Vec<String>,
    /// Frames that did not decode in the dialect (acks are not counted).
    pub skipped: usize,
    /// Frames outside the session: before its welcome (the tail of an
    /// earlier socket, which a proxy's record of a case can hold) or from
    /// a later session's welcome on.
    pub outside: usize,
    opened: bool,
    closed: bool,
}

/// Timing is kept only from records whose clock is finer than a second
/// (a proxy's); the mock's transcripts stamp whole seconds, and a second
/// boundary is not a delay.
const MAX_WAIT_MS: u64 = 5_000;

impl Recording {
    /// Reads a recording written in `dialect`.
    ///
    /// # Errors
    /// [`RecordingError`] naming the line that is not an entry, or saying
    /// that nothing in it was a frame.
    pub fn read(text: &str, dialect: &Dialect) -> Result<Self, RecordingError> {
        let mut rec = Recording::default();
        let mut times: Vec<Option<u64>> = Vec::new();
        let mut fine_clock = false;
        let mut frames = 0;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = |message: String| RecordingError::Line {
                line: i + 1,
                message,
            };
            let entry: Value =
                serde_json::from_str(line).map_err(|e| bad(format!("not JSON: {e}")))?;
            let (client, text, at) = match (&entry["type"], &entry["frame"]) {
                (Value::String(t), _) if t == "frame" => {
                    let client = match entry["dir"].as_str() {
                        Some("out") => true,
                        Some("in") => false,
                        _ => return Err(bad("a frame entry needs dir \"out\" or \"in\"".into())),
                    };
                    let text = entry["text"].as_str().unwrap_or_default().to_owned();
                    (client, text, entry["at_ms"].as_u64())
                }
                (Value::String(_), _) => continue, // requests and responses
                (_, Value::Null) => {
                    return Err(bad(
                        "neither a wire entry (type) nor a transcript line (frame)".into(),
                    ));
                }
                (_, frame) => {
                    let client = match entry["dir"].as_str() {
                        Some("in") => true,
                        Some("out") => false,
                        _ => {
                            return Err(
                                bad("a transcript line needs dir \"in\" or \"out\"".into()),
                            );
                        }
                    };
                    if let Some(step) = (!client).then(|| note_step(frame)).flatten() {
                        if rec.within() {
                            rec.entries.push(Entry::Server(step));
                            times.push(None);
                        }
                        continue;
                    }
                    // The transcript keeps the kit's frames, whatever the
                    // dialect: a received one as its text.
                    let frame = match frame {
                        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                        other => other.clone(),
                    };
                    if frame.get("kind").is_some() {
                        let n = rec.push_frame(client, frame, &mut frames);
                        times.extend(std::iter::repeat_n(None, n));
                    } // else acks, notes, unparsed text
                    continue;
                }
            };
            // The mock's own notes, in a wire taken from its transcript.
            let note = serde_json::from_str::<Value>(&text).unwrap_or(Value::Null);
            if note
                .as_object()
                .is_some_and(|m| m.len() == 1 && m.contains_key("ack"))
            {
                continue;
            }
            if let Some(step) = (!client).then(|| note_step(&note)).flatten() {
                if rec.within() {
                    rec.entries.push(Entry::Server(step));
                    times.push(at);
                }
                continue;
            }
            match dialect.decode(&text) {
                Ok(Inbound::Frame(frame)) => {
                    if let Some(at) = at {
                        fine_clock |= at % 1000 != 0;
                    }
                    let n = rec.push_frame(client, frame, &mut frames);
                    times.extend(std::iter::repeat_n(at, n));
                }
                Ok(Inbound::Ack(_)) => {}
                Err(_) => rec.skipped += 1,
            }
        }
        if frames == 0 {
            return Err(RecordingError::NoFrames {
                dialect: dialect.name().to_owned(),
                skipped: rec.skipped,
            });
        }
        if fine_clock {
            rec.insert_waits(&times);
        }
        Ok(rec)
    }

    /// Whether what comes now belongs to the recorded session.
    fn within(&mut self) -> bool {
        let inside = self.opened && !self.closed;
        if !inside {
            self.outside += 1;
        }
        inside
    }

    /// Takes a kit frame; how many entries it became.
    fn push_frame(&mut self, client: bool, frame: Value, frames: &mut usize) -> usize {
        *frames += 1;
        if !client && frame["kind"] == "welcome" && frame["data"]["resumed"] != json!(true) {
            // A session starts with a welcome; a second one is another session.
            self.closed |= self.opened;
            self.opened = true;
        }
        if !self.within() {
            return 0;
        }
        if client {
            self.entries.push(Entry::Client(frame));
            return 1;
        }
        // Faults of the server's own sequence: every frame it writes
        // counts, so a jump or an id seen before is reproduced as such.
        let id = frame["messageid"].as_str().unwrap_or_default().to_owned();
        if let Some(pos) = self.server_ids.iter().position(|seen| *seen == id) {
            let back = self.server_ids.len() - pos;
            self.entries.push(Entry::Server(ServerStep::Replay(back)));
            return 1;
        }
        self.server_ids.push(id);
        let mut pushed = 0;
        if let Some(seq) = frame["seq"].as_u64() {
            let jump = seq.saturating_sub(self.server_seq.saturating_add(1));
            self.server_seq = self.server_seq.max(seq);
            if jump > 0 {
                let jump = jump.min(crate::scenario::model::MAX_SKIP_SEQ);
                self.entries.push(Entry::Server(ServerStep::SkipSeq(jump)));
                pushed += 1;
            }
        }
        let data = frame
            .get("data")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let step = match frame.get("kind").and_then(Value::as_str) {
            Some("event") => Some(ServerStep::Event(data)),
            Some("welcome") => {
                if let Some(id) = data.get("systemcallid").and_then(Value::as_str) {
                    self.systemcallid.get_or_insert_with(|| id.to_owned());
                }
                (data.get("resumed") == Some(&json!(true))).then_some(ServerStep::Resumed)
            }
            // The mock's own refusals, which the replaying mock makes
            // again for the same frames.
            _ => None,
        };
        if let Some(step) = step {
            self.entries.push(Entry::Server(step));
            pushed += 1;
        }
        pushed
    }

    /// Waits between server steps, from the record's own clock.
    fn insert_waits(&mut self, times: &[Option<u64>]) {
        let mut out = Vec::with_capacity(self.entries.len());
        let mut last: Option<u64> = None;
        debug_assert_eq!(self.entries.len(), times.len());
        for (entry, at) in self.entries.drain(..).zip(times.iter().copied()) {
            if let (Entry::Server(ServerStep::Event(_)), Some(at), Some(before)) =
                (&entry, at, last)
            {
                let gap = at.saturating_sub(before).min(MAX_WAIT_MS);
                if gap >= 5 {
                    out.push(Entry::Server(ServerStep::Wait(gap)));
                }
            }
            if at.is_some() {
                last = at;
            }
            out.push(entry);
        }
        self.entries = out;
    }

    /// How many visitor frames and server events it holds.
    pub fn counts(&self) -> (usize, usize) {
        let client = self
            .entries
            .iter()
            .filter(|e| matches!(e, Entry::Client(_)))
            .count();
        let events = self
            .entries
            .iter()
            .filter(|e| matches!(e, Entry::Server(ServerStep::Event(_))))
            .count();
        (client, events)
    }

    /// The scenario that replays it (a document of `scenario.schema.json`).
    pub fn to_scenario(&self, name: &str, summary: &str) -> Value {
        let mut states = Map::new();
        let mut state = 0usize;
        let state_name = |n: usize| format!("step-{n:03}");
        let mut when = json!("opened");
        let mut trigger: Option<&Value> = None;
        let mut actions: Vec<Value> = Vec::new();
        let mut on: Vec<Value> = Vec::new();
        let flush = |states: &mut Map<String, Value>,
                     on: &mut Vec<Value>,
                     state: &mut usize,
                     when: &Value,
                     actions: &mut Vec<Value>,
                     moves: bool| {
            let mut t = json!({"when": when, "do": std::mem::take(actions)});
            if moves {
                t["goto"] = json!(state_name(*state + 1));
            }
            on.push(t);
            if moves {
                states.insert(state_name(*state), json!({"on": std::mem::take(on)}));
                *state += 1;
            }
        };
        for entry in &self.entries {
            match entry {
                Entry::Client(frame) => {
                    flush(&mut states, &mut on, &mut state, &when, &mut actions, true);
                    let kind = frame["kind"].as_str().unwrap_or_default();
                    when = json!({"frame": kind});
                    trigger = Some(frame);
                }
                Entry::Server(ServerStep::Resumed) => {
                    // What came before is the current state's answer; the
                    // resume is answered in the same state.
                    flush(&mut states, &mut on, &mut state, &when, &mut actions, false);
                    when = json!("resumed");
                }
                Entry::Server(ServerStep::Event(data)) => {
                    let data = self.templated(Value::Object(data.clone()), trigger);
                    actions.push(json!({ "send": data }));
                }
                Entry::Server(ServerStep::Wait(ms)) => actions.push(json!({ "delay_ms": ms })),
                Entry::Server(ServerStep::Close(code, reason)) => {
                    actions.push(json!({"close": {"code": code, "reason": reason}}));
                }
                Entry::Server(ServerStep::Drop) => actions.push(json!("drop")),
                Entry::Server(ServerStep::SkipSeq(n)) => actions.push(json!({ "skip_seq": n })),
                Entry::Server(ServerStep::Replay(back)) => actions.push(json!({ "replay": back })),
            }
        }
        flush(&mut states, &mut on, &mut state, &when, &mut actions, true);
        states.insert(state_name(state), json!({}));
        json!({
            "name": name,
            "summary": summary,
            "initial": state_name(0),
            "states": states,
        })
    }

    /// A server value that repeats what the answered frame carried (its
    /// id, its text) or the session's systemcallid, as a template of it.
    fn templated(&self, value: Value, trigger: Option<&Value>) -> Value {
        let id = trigger.and_then(|f| f["messageid"].as_str());
        let text = trigger
            .and_then(|f| f["data"]["text"].as_str())
            .filter(|t| !t.trim().is_empty());
        let systemcallid = self.systemcallid.as_deref();
        fn walk(v: Value, f: &dyn Fn(&str) -> Option<String>) -> Value {
            match v {
                Value::String(s) => Value::String(f(&s).unwrap_or(s)),
                Value::Array(a) => Value::Array(a.into_iter().map(|x| walk(x, f)).collect()),
                Value::Object(m) => {
                    Value::Object(m.into_iter().map(|(k, x)| (k, walk(x, f))).collect())
                }
                other => other,
            }
        }
        // Ids are long random strings: one inside a value is that id. A
        // short one (a hand-written recording's) only counts whole.
        // The visitor's text is quoted in answers ("You wrote: …").
        let holes: Vec<(&str, &str, usize)> = [
            (id, "{{frame.messageid}}", 6),
            (systemcallid, "{{systemcallid}}", 6),
            (text, "{{frame.data.text}}", 2),
        ]
        .into_iter()
        .filter_map(|(found, hole, inside)| {
            found.filter(|f| !f.is_empty()).map(|f| (f, hole, inside))
        })
        .collect();
        walk(value, &|s: &str| {
            let mut out = None::<String>;
            for (found, hole, inside) in &holes {
                let current = out.as_deref().unwrap_or(s);
                if current == *found {
                    return Some((*hole).to_owned());
                }
                if found.chars().count() >= *inside && current.contains(found) {
                    out = Some(current.replace(found, hole));
                }
            }
            out
        })
    }
}

/// A close or a drop, as the mock's transcript notes them.
fn note_step(note: &Value) -> Option<ServerStep> {
    if let Some(code) = note["close"].as_u64() {
        let reason = note["reason"].as_str().unwrap_or_default().to_owned();
        return Some(ServerStep::Close(
            u16::try_from(code).unwrap_or(1000),
            reason,
        ));
    }
    (note["dropped"] == json!(true)).then_some(ServerStep::Drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jodo_contract::Contract;

    fn kit() -> Dialect {
        Dialect::kit(&Contract::embedded().unwrap())
    }

    #[test]
    fn a_transcript_becomes_a_chain_that_answers_each_frame_with_what_followed_it() {
        let lines = [
            r#"{"ts":"t","dir":"out","frame":{"kind":"welcome","seq":1,"messageid":"s1","data":{"systemcallid":"7777777","resume":"x"}}}"#,
            r#"{"ts":"t","dir":"out","frame":{"kind":"event","seq":2,"messageid":"s2","data":{"media":"session","eventtype":"allocated","status":1001,"msg":"call 7777777"}}}"#,
            r#"{"ts":"t","dir":"in","frame":"{\"kind\":\"chat.send\",\"seq\":1,\"messageid\":\"w1\",\"data\":{\"text\":\"Hello\"}}"}"#,
            r#"{"ts":"t","dir":"out","frame":{"ack":"w1"}}"#,
            r#"{"ts":"t","dir":"out","frame":{"kind":"event","seq":3,"messageid":"s3","data":{"media":"chat","eventtype":"messagedeliveredack","refmessageid":"w1"}}}"#,
            r#"{"ts":"t","dir":"out","frame":{"kind":"event","seq":4,"messageid":"s4","data":{"media":"chat","eventtype":"messagereceived","msg":"You wrote: Hello"}}}"#,
            r#"{"ts":"t","dir":"in","frame":{"kind":"session.end","seq":2,"messageid":"w2","data":{}}}"#,
            r#"{"ts":"t","dir":"out","frame":{"close":1000,"reason":"bye"}}"#,
        ];
        let rec = Recording::read(&lines.join("\n"), &kit()).unwrap();
        assert_eq!(rec.counts(), (2, 3));
        let sc = rec.to_scenario("r", "s");
        assert_eq!(sc["initial"], "step-000");
        let s0 = &sc["states"]["step-000"]["on"][0];
        assert_eq!(s0["when"], "opened");
        assert_eq!(s0["do"][0]["send"]["msg"], "call {{systemcallid}}");
        let s1 = &sc["states"]["step-001"]["on"][0];
        assert_eq!(s1["when"], json!({"frame": "chat.send"}));
        assert_eq!(s1["do"][0]["send"]["refmessageid"], "{{frame.messageid}}");
        assert_eq!(s1["do"][1]["send"]["msg"], "You wrote: {{frame.data.text}}");
        assert_eq!(s1["goto"], "step-002");
        let s2 = &sc["states"]["step-002"]["on"][0];
        assert_eq!(s2["do"][0]["close"]["code"], 1000);
        assert_eq!(sc["states"]["step-003"], json!({}));
        // The scenario loads as any other.
        let text = serde_json::to_string(&sc).unwrap();
        crate::scenario::parse(&text, "r", &Contract::embedded().unwrap()).unwrap();
    }

    #[test]
    fn a_proxy_record_in_another_dialect_keeps_its_timing_and_its_resume() {
        let schemas = Contract::embedded().unwrap();
        let rpc = Dialect::load("jsonrpc-2", &schemas).unwrap();
        let frame = |dir: &str, at: u64, text: Value| {
            json!({"type": "frame", "at_ms": at, "dir": dir, "url": "wss://x", "text": text.to_string()}).to_string()
        };
        let lines = [
            json!({"type": "request", "at_ms": 0, "id": 1, "method": "PUT", "url": "https://x", "jodo": true, "headers": []}).to_string(),
            // The tail of an earlier socket, before this session's welcome.
            frame("in", 5, json!({"jsonrpc": "2.0", "method": "agent.event", "params": {"n": 9, "ref": "old9", "channel": "chat", "type": "typing", "body": {"msg": "m"}}})),
            frame("in", 10, json!({"jsonrpc": "2.0", "method": "conversation.ready", "params": {"n": 1, "ref": "s1", "body": {"systemcallid": "9"}}})),
            frame("in", 12, json!({"jsonrpc": "2.0", "method": "agent.event", "params": {"n": 2, "ref": "s2", "channel": "session", "type": "allocated", "body": {"status": 1001, "msg": "Session Connected"}}})),
            frame("in", 312, json!({"jsonrpc": "2.0", "method": "agent.event", "params": {"n": 3, "ref": "s3", "channel": "chat", "type": "typing", "body": {}}})),
            frame("out", 400, json!({"jsonrpc": "2.0", "method": "ack", "params": {"of": "s3"}})),
            frame("in", 900, json!({"jsonrpc": "2.0", "method": "conversation.ready", "params": {"n": 4, "ref": "s4", "body": {"resumed": true}}})),
            frame("in", 901, json!({"jsonrpc": "2.0", "method": "agent.event", "params": {"n": 5, "ref": "s5", "channel": "session", "type": "allocated", "body": {"status": 26, "msg": "Session Connected"}}})),
            frame("in", 902, json!({"not": "a frame"})),
            // A later session.
            frame("in", 950, json!({"jsonrpc": "2.0", "method": "conversation.ready", "params": {"n": 1, "ref": "t1", "body": {}}})),
            frame("in", 951, json!({"jsonrpc": "2.0", "method": "agent.event", "params": {"n": 2, "ref": "t2", "channel": "chat", "type": "typing", "body": {"msg": "m"}}})),
        ];
        let rec = Recording::read(&lines.join("\n"), &rpc).unwrap();
        assert_eq!(rec.skipped, 1);
        assert_eq!(
            rec.outside, 3,
            "the earlier socket's frame and the later session"
        );
        assert_eq!(rec.counts(), (0, 3));
        let sc = rec.to_scenario("r", "s");
        let on = &sc["states"]["step-000"]["on"];
        assert_eq!(on[0]["when"], "opened");
        assert_eq!(on[0]["do"][1], json!({"delay_ms": 300}));
        assert_eq!(on[1]["when"], "resumed");
        assert_eq!(on[1]["do"][0]["send"]["status"], 26);
        crate::scenario::parse(&sc.to_string(), "r", &schemas).unwrap();
    }

    #[test]
    fn a_jump_in_the_servers_sequence_and_a_frame_sent_again_are_reproduced() {
        let event = |seq: u64, id: &str| {
            format!(
                r#"{{"dir":"out","frame":{{"kind":"event","seq":{seq},"messageid":"{id}","data":{{"media":"chat","eventtype":"typing","msg":"m"}}}}}}"#
            )
        };
        let lines = [
            r#"{"dir":"out","frame":{"kind":"welcome","seq":1,"messageid":"s1","data":{"systemcallid":"1"}}}"#.to_owned(),
            event(2, "s2"),
            event(5, "s5"),
            event(2, "s2"),
        ];
        let sc = Recording::read(&lines.join("\n"), &kit())
            .unwrap()
            .to_scenario("r", "s");
        let steps = &sc["states"]["step-000"]["on"][0]["do"];
        assert_eq!(steps[1], json!({"skip_seq": 2}));
        assert_eq!(steps[3], json!({"replay": 2}), "{steps}");
        crate::scenario::parse(&sc.to_string(), "r", &Contract::embedded().unwrap()).unwrap();
    }

    #[test]
    fn what_is_not_a_recording_names_its_line() {
        let err = |t: &str| Recording::read(t, &kit()).unwrap_err().to_string();
        assert_eq!(
            err("{}\n{"),
            "line 1: neither a wire entry (type) nor a transcript line (frame)"
        );
        assert!(err("\n{").starts_with("line 2: not JSON"));
        assert!(
            err(r#"{"type":"frame","dir":"in","text":"nope"}"#)
                .starts_with("no frame of the jodo-kit-1 dialect in the recording (1 frame(s)")
        );
        assert!(
            err(r#"{"type":"frame","dir":"up","text":"{}"}"#).contains("dir \"out\" or \"in\"")
        );
    }
}
