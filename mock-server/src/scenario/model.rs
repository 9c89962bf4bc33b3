//! The scenario file format (schema: `schemas/scenario.schema.json`).

use std::collections::BTreeMap;

use jodo_contract::SchemaSet;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
    /// State a new session starts in.
    pub initial: String,
    /// States by name.
    pub states: BTreeMap<String, State>,
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
    /// A client frame of this kind arrived.
    Frame(String),
}

/// What a transition does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Send an `event` frame with this data (templated).
    Send(Map<String, Value>),
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
}

impl Scenario {
    /// Problems the JSON Schema cannot see: unknown states, and events the
    /// catalogue does not list. Empty when consistent.
    pub fn consistency_problems(&self, schemas: &SchemaSet) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.states.contains_key(&self.initial) {
            problems.push(format!(
                "initial state {:?} is not among the states",
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
                    if let Action::Send(data) = action {
                        let media = data.get("media").and_then(Value::as_str).unwrap_or("");
                        let eventtype = data.get("eventtype").and_then(Value::as_str).unwrap_or("");
                        if schemas.catalog().event(media, eventtype).is_none() {
                            problems.push(format!(
                                "at {at}/do/{j}/send: {media}/{eventtype} is not an event of the catalogue"
                            ));
                        }
                    }
                }
            }
        }
        problems
    }
}
