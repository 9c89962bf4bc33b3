//! The scenario file format (schema: `schemas/scenario.schema.json`).

use std::collections::BTreeMap;

use jodo_contract::Contract;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::template::Payload;

/// A scenario: named states, each with transitions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scenario {
    /// Name used by `--scenario` and hints.
    pub name: String,
    /// One line for listings.
    #[serde(default)]
    pub summary: String,
    /// Template variables, e.g. the agent's name.
    #[serde(default)]
    pub vars: Map<String, Value>,
    /// How the HTTP side behaves for sessions of this scenario.
    #[serde(default)]
    pub api: Api,
    /// State a new session starts in.
    pub initial: String,
    /// States by name.
    pub states: BTreeMap<String, State>,
    /// A script that exercises the scenario; the mock's tests run it.
    #[serde(default)]
    pub selftest: Vec<SelftestStep>,
}

/// Faults of the HTTP side, decided when the session is requested.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Api {
    /// How the session API answers.
    #[serde(default)]
    pub session: SessionApi,
    /// How the WebSocket upgrade answers.
    #[serde(default)]
    pub websocket: Upgrade,
    /// How an upgrade that resumes the session after a drop answers.
    #[serde(default)]
    pub resume: Upgrade,
}

/// How the session API answers a creation request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionApi {
    /// 201 with a session.
    #[default]
    Answer,
    /// Never answers (the widget's API timeout fires).
    Stall,
    /// Answers with this HTTP status and an error body.
    Status(u16),
}

/// How the WebSocket upgrade answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Upgrade {
    /// The channel opens.
    #[default]
    Accept,
    /// The upgrade is refused with this HTTP status.
    Refuse(u16),
}

/// One state of the machine.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// Transitions tried in order.
    #[serde(default)]
    pub on: Vec<Transition>,
}

/// A trigger, the actions it causes, and where the machine goes next.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transition {
    /// What fires it.
    pub when: Trigger,
    /// JSON pointer → value the triggering frame must carry.
    #[serde(default, rename = "match")]
    pub matches: BTreeMap<String, Value>,
    /// Actions, run in order.
    #[serde(default, rename = "do")]
    pub actions: Vec<Action>,
    /// Next state; the current one when absent.
    #[serde(default)]
    pub goto: Option<String>,
}

/// What can fire a transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The channel opened (welcome sent).
    Opened,
    /// A new channel resumed the session after a drop (welcome sent).
    Resumed,
    /// A client frame of this kind arrived.
    Frame(String),
    /// This long after the state was entered, if the machine is still in it.
    AfterMs(u64),
    /// A control-API call named this (`POST /control/v1/sessions/{id}/triggers/{name}`).
    Control(String),
}

/// The largest jump a `skip_seq` fault may make: the scenario schema's
/// `maximum` (a test holds them equal). A jump this size is already a gap
/// no widget can miss, and a bound keeps the server's own sequence far from
/// the largest number a JSON reader keeps exactly (2^53 - 1).
pub const MAX_SKIP_SEQ: u64 = 1000;

/// What a transition does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Send an `event` frame with this data (templated).
    Send(Payload),
    /// Wait before the next action.
    DelayMs(u64),
    /// Close the channel with a close frame.
    Close {
        /// WebSocket close code.
        code: u16,
        /// Close reason.
        #[serde(default)]
        reason: String,
    },
    /// Drop the connection without a close frame.
    Drop,
    /// Send this text as a frame, as is (a malformed frame).
    Raw(String),
    /// Make the next frame's seq jump by this much (a sequence gap), at
    /// most [`MAX_SKIP_SEQ`].
    SkipSeq(u64),
    /// Send again, unchanged, the frame sent this many frames ago (a replay).
    Replay(usize),
    /// Set variables (values are templated).
    Set(Map<String, Value>),
    /// Add one to a numeric variable.
    Incr(String),
}

/// One step of a scenario's self-test, run by the mock's tests over TLS.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelftestStep {
    /// Send a client frame of this kind with this data (seq and messageid are filled in).
    Send {
        /// Frame kind.
        kind: String,
        /// Frame data.
        #[serde(default)]
        data: Value,
    },
    /// Expect these server frames next, in order: `media/eventtype` for
    /// event frames, or a frame kind (`error`, `welcome`).
    Expect(Vec<String>),
    /// Fire a control trigger.
    Control(String),
    /// Expect the channel to end: a close code, or `drop` for no close frame.
    Closed(String),
    /// Expect the session API to answer with this HTTP status.
    ApiStatus(u16),
    /// Expect the WebSocket upgrade to be refused with this HTTP status.
    UpgradeStatus(u16),
    /// Expect no answer from the session API within this many milliseconds.
    ApiSilentMs(u64),
    /// Open a new channel with the resume secret of the last welcome and
    /// expect its welcome (`resumed`, seq continuing).
    Resume,
    /// Expect an upgrade with the last resume secret to be refused with
    /// this HTTP status.
    ResumeStatus(u16),
}

impl Scenario {
    /// Whether any transition replays an earlier frame: only then does a
    /// channel keep its latest frames for it.
    pub fn replays(&self) -> bool {
        self.states
            .values()
            .flat_map(|s| &s.on)
            .flat_map(|t| &t.actions)
            .any(|a| matches!(a, Action::Replay(_)))
    }

    /// The names its `control` triggers answer to, each once: a control
    /// call naming another is refused rather than silently ignored.
    pub fn control_triggers(&self) -> std::collections::BTreeSet<&str> {
        self.states
            .values()
            .flat_map(|s| &s.on)
            .filter_map(|t| match &t.when {
                Trigger::Control(name) => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Problems the JSON Schema cannot see: unknown states, frame kinds the
    /// wire protocol lacks, and events the catalogue does not list or that
    /// the server may not send. Empty when consistent.
    pub fn consistency_problems(&self, schemas: &Contract) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.states.contains_key(&self.initial) {
            problems.push(format!(
                "at /initial: initial state {:?} is not among the states",
                self.initial
            ));
        }
        for (state_name, state) in &self.states {
            for (i, t) in state.on.iter().enumerate() {
                let at = format!("/states/{state_name}/on/{i}");
                if let Some(goto) = &t.goto {
                    if !self.states.contains_key(goto) {
                        problems.push(format!("at {at}/goto: no state {goto:?}"));
                    }
                }
                if let Trigger::Frame(kind) = &t.when {
                    if !schemas.has_frame_kind(kind) {
                        problems.push(format!(
                            "at {at}/when/frame: {kind:?} is not a frame kind of the wire protocol"
                        ));
                    }
                }
                for (j, action) in t.actions.iter().enumerate() {
                    if let Action::Send(payload) = action {
                        let data = payload.data();
                        // A template is judged when it is filled in, not here.
                        let templated = templated_keys(data);
                        problems.extend(
                            schemas
                                .validate_server_event(&Value::Object(data.clone()))
                                .into_iter()
                                .filter(|e| !templated.contains(&e.pointer))
                                .map(|e| {
                                    format!(
                                        "at {at}/do/{j}/send{}: {}",
                                        e.pointer.trim_start_matches("/data"),
                                        e.message
                                    )
                                }),
                        );
                    }
                }
            }
        }
        problems
    }
}

/// Keys whose value is a template, filled in only when the frame is sent.
fn templated_keys(data: &Map<String, Value>) -> Vec<String> {
    data.iter()
        .filter(|(_, v)| v.as_str().is_some_and(|s| s.contains("{{")))
        .map(|(k, _)| format!("/data/{k}"))
        .collect()
}
