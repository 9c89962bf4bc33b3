//! Runs one session's instance of a scenario, without I/O.
//!
//! The engine takes a trigger and returns the steps to perform; the
//! WebSocket task performs them. Keeping it pure makes it testable and keeps
//! per-session state a small struct.

use serde_json::{Map, Value};

pub use super::context::{Context, FrameRef};
use super::model::{Action, Scenario, Trigger};
use super::template::{render_map, render_str};

/// A trigger that happened.
#[derive(Debug, Clone, Copy)]
pub enum Fired<'a> {
    /// The channel opened.
    Opened,
    /// A new channel resumed the session.
    Resumed,
    /// A client frame arrived (already checked against its schema).
    Frame(FrameRef<'a>),
    /// A state timer of this many milliseconds ran out.
    Timer(u64),
    /// A control-API trigger of this name.
    Control(&'a str),
}

/// A rendered action, ready to perform.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Send an `event` frame with this data: a JSON object as text, so a
    /// compiled payload goes out without being built as a tree.
    Send(String),
    /// Wait this long.
    DelayMs(u64),
    /// Close the channel.
    Close {
        /// Close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// Drop the connection without a close frame.
    Drop,
    /// Send this text verbatim.
    Raw(String),
    /// Skip this many sequence numbers before the next frame.
    SkipSeq(u64),
    /// Resend the frame sent this many frames ago.
    Replay(usize),
}

/// One session's position in its scenario, and its variables.
#[derive(Debug, Clone)]
pub struct Machine {
    state: String,
    vars: Map<String, Value>,
    entries: u64,
    fired_timers: Vec<u64>,
}

impl Machine {
    /// A machine at the scenario's initial state, with the session's own
    /// variables (e.g. `systemcallid`) added to the scenario's.
    pub fn new(scenario: &Scenario, session_vars: Map<String, Value>) -> Self {
        Self {
            state: scenario.initial.clone(),
            vars: session_vars,
            entries: 1,
            fired_timers: Vec::new(),
        }
    }

    /// Current state name.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// How many times a state has been entered; changes when a transition
    /// has a `goto`, so the caller knows to restart state timers.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The shortest timer of the current state that has not fired yet.
    pub fn next_timer(&self, scenario: &Scenario) -> Option<u64> {
        scenario
            .states
            .get(&self.state)?
            .on
            .iter()
            .filter_map(|t| match t.when {
                Trigger::AfterMs(ms) if !self.fired_timers.contains(&ms) => Some(ms),
                _ => None,
            })
            .min()
    }

    /// Applies a trigger: the first matching transition of the current state
    /// fires, its actions are rendered in order (variables set by one action
    /// are seen by the next) and returned, and the state moves. No matching
    /// transition returns no steps and leaves the state alone.
    pub fn fire(&mut self, scenario: &Scenario, fired: Fired<'_>) -> Vec<Step> {
        if let Fired::Timer(ms) = fired {
            self.fired_timers.push(ms);
        }
        let Some(state) = scenario.states.get(&self.state) else {
            return Vec::new();
        };
        let frame = match fired {
            Fired::Frame(frame) => Some(frame),
            _ => None,
        };
        let Some(transition) = state.on.iter().find(|t| {
            let kind_matches = match (&t.when, fired) {
                (Trigger::Opened, Fired::Opened) | (Trigger::Resumed, Fired::Resumed) => true,
                (Trigger::Frame(kind), Fired::Frame(frame)) => frame.kind() == kind.as_str(),
                (Trigger::AfterMs(ms), Fired::Timer(fired_ms)) => *ms == fired_ms,
                (Trigger::Control(name), Fired::Control(fired_name)) => name == fired_name,
                _ => false,
            };
            kind_matches
                && t.matches.iter().all(|(pointer, want)| {
                    frame
                        .and_then(|f| f.pointer(pointer))
                        .is_some_and(|v| *v == *want)
                })
        }) else {
            return Vec::new();
        };
        let mut steps = Vec::new();
        for action in &transition.actions {
            // Templates look into the variables and the frame in place;
            // nothing is copied to render them.
            let ctx = Context {
                session: &self.vars,
                scenario: &scenario.vars,
                frame,
            };
            match action {
                Action::Send(payload) => steps.push(Step::Send(payload.render(&ctx))),
                Action::DelayMs(ms) => steps.push(Step::DelayMs(*ms)),
                Action::Close { code, reason } => steps.push(Step::Close {
                    code: *code,
                    reason: render_str(reason, &ctx),
                }),
                Action::Drop => steps.push(Step::Drop),
                Action::Raw(text) => steps.push(Step::Raw(render_str(text, &ctx))),
                Action::SkipSeq(n) => steps.push(Step::SkipSeq(*n)),
                Action::Replay(back) => steps.push(Step::Replay(*back)),
                Action::Set(values) => {
                    let rendered = render_map(values, &ctx);
                    self.vars.extend(rendered);
                }
                Action::Incr(name) => {
                    let current = self
                        .vars
                        .get(name)
                        .or_else(|| scenario.vars.get(name))
                        .and_then(Value::as_i64)
                        .unwrap_or(0);
                    self.vars.insert(name.clone(), Value::from(current + 1));
                }
            }
        }
        if let Some(goto) = &transition.goto {
            self.state = goto.clone();
            self.entries += 1;
            self.fired_timers.clear();
        }
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load;
    use jodo_contract::Contract;
    use jodo_contract::wire::ChatSend;
    use serde_json::json;

    /// The data of every Send step, parsed.
    fn sent(steps: &[Step]) -> Vec<Value> {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::Send(text) => Some(serde_json::from_str(text).unwrap()),
                _ => None,
            })
            .collect()
    }

    /// A scenario written in the test.
    fn inline(text: &str) -> Scenario {
        crate::scenario::parse(text, "t", &Contract::embedded().unwrap()).unwrap()
    }

    fn chat(text: &str, id: &str) -> Value {
        json!({"kind": "chat.send", "seq": 1, "messageid": id, "data": { "text": text }})
    }

    #[test]
    fn allocated_scenario_allocates_then_answers() {
        let schemas = Contract::embedded().unwrap();
        let sc = load("allocated", &schemas).unwrap();
        let mut m = Machine::new(&sc, Map::new());
        let steps = m.fire(&sc, Fired::Opened);
        assert_eq!(
            sent(&steps),
            vec![
                json!({"media": "session", "eventtype": "allocated", "status": 1001,
                        "msg": "Session Connected to Emma"})
            ]
        );
        assert_eq!(m.state(), "chatting");
        // Opened again is not a trigger of "chatting".
        assert!(m.fire(&sc, Fired::Opened).is_empty());
        let steps = m.fire(&sc, Fired::Frame(FrameRef::Json(&chat("hi", "c-1"))));
        let sends = sent(&steps);
        let types: Vec<&str> = sends
            .iter()
            .map(|d| d["eventtype"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "messagedeliveredack",
                "messagereadack",
                "typing",
                "messagereceived"
            ]
        );
        assert_eq!(sends[0]["refmessageid"], "c-1");
        assert_eq!(sends[3]["msg"], "Emma here. You wrote: hi");
    }

    #[test]
    fn timers_controls_faults_and_variables() {
        let text = r#"
name: t
initial: a
states:
  a:
    on:
      - when: {after_ms: 50}
        do: [{incr: n}, {set: {who: "agent {{n}}"}}, {send: {media: chat, eventtype: systemmessage, msg: "{{who}}"}}]
      - when: {after_ms: 10}
        do: [{skip_seq: 2}, {replay: 1}, {raw: "not json"}]
      - when: {control: hangup}
        do: [drop]
        goto: b
  b: {}
"#;
        let sc = inline(text);
        let mut m = Machine::new(&sc, Map::new());
        assert_eq!(m.next_timer(&sc), Some(10));
        assert_eq!(
            m.fire(&sc, Fired::Timer(10)),
            vec![
                Step::SkipSeq(2),
                Step::Replay(1),
                Step::Raw("not json".into())
            ]
        );
        assert_eq!(
            m.next_timer(&sc),
            Some(50),
            "each timer fires once per entry"
        );
        let steps = m.fire(&sc, Fired::Timer(50));
        assert_eq!(steps.len(), 1);
        assert_eq!(sent(&steps)[0]["msg"], "agent 1");
        assert_eq!(m.next_timer(&sc), None);
        let before = m.entries();
        assert!(m.fire(&sc, Fired::Control("other")).is_empty());
        assert_eq!(m.fire(&sc, Fired::Control("hangup")), vec![Step::Drop]);
        assert_eq!((m.state(), m.entries()), ("b", before + 1));
    }

    /// A chat message read on the quick path fires, matches and fills
    /// templates exactly as the same frame parsed into a tree.
    #[test]
    fn a_quick_chat_frame_reads_like_its_tree() {
        let text = r#"
name: t
initial: a
states:
  a:
    on:
      - when: {frame: chat.send}
        match: {/data/text: "help"}
        do: [{send: {media: chat, eventtype: systemmessage, msg: "{{frame.messageid}}|{{frame.data.text}}|{{frame.seq}}|{{frame.ts}}|{{frame.data}}|{{frame.nope.x}}"}}]
      - when: {frame: chat.send}
        do: [{send: {media: chat, eventtype: systemmessage, msg: "other {{frame.kind}}"}}]
"#;
        let sc = inline(text);
        for body in [
            r#"{"kind":"chat.send","seq":7,"messageid":"m-1","ts":"2026-11-28T00:00:00Z","data":{"text":"help"}}"#,
            r#"{"kind":"chat.send","seq":8,"messageid":"m-2","data":{"text":"hi \"there\""}}"#,
        ] {
            let chat = ChatSend::parse(body).unwrap();
            let tree: Value = serde_json::from_str(body).unwrap();
            let quick =
                Machine::new(&sc, Map::new()).fire(&sc, Fired::Frame(FrameRef::Chat(&chat)));
            let slow = Machine::new(&sc, Map::new()).fire(&sc, Fired::Frame(FrameRef::Json(&tree)));
            assert_eq!(quick, slow, "{body}");
            assert_eq!(quick.len(), 1);
        }
        let chat = ChatSend::parse(
            r#"{"kind":"chat.send","seq":7,"messageid":"m-1","ts":"2026-11-28T00:00:00Z","data":{"text":"help"}}"#,
        )
        .unwrap();
        let steps = Machine::new(&sc, Map::new()).fire(&sc, Fired::Frame(FrameRef::Chat(&chat)));
        assert_eq!(
            sent(&steps)[0]["msg"],
            r#"m-1|help|7|2026-11-28T00:00:00Z|{"text":"help"}|"#
        );
    }

    #[test]
    fn templates_render_paths_and_leave_missing_empty() {
        let scenario = json!({"agent": "Emma", "n": 1});
        let session = json!({"n": 3});
        let frame = json!({"data": {"text": "x"}});
        let ctx = Context {
            session: session.as_object().unwrap(),
            scenario: scenario.as_object().unwrap(),
            frame: Some((&frame).into()),
        };
        assert_eq!(
            render_str("{{agent}}/{{ n }}/{{frame.data.text}}/{{nope}}", &ctx),
            "Emma/3/x/"
        );
        assert_eq!(render_str("unclosed {{agent", &ctx), "unclosed {{agent");
    }
}
