//! Where `{{name}}` templates find their values: the frame that fired a
//! transition (read the same way whether it came as a JSON tree or as a
//! plain chat message read without one), the session's variables and the
//! scenario's.

use std::borrow::Cow;

use jodo_contract::wire::ChatSend;
use serde_json::{Map, Value};

/// The client frame that fired a transition: a JSON tree, or a plain
/// `chat.send` read without one (the hot path). The engine reads both the
/// same way.
#[derive(Debug, Clone, Copy)]
pub enum FrameRef<'a> {
    /// Any frame, parsed.
    Json(&'a Value),
    /// A plain chat message.
    Chat(&'a ChatSend<'a>),
}

impl<'a> From<&'a Value> for FrameRef<'a> {
    fn from(v: &'a Value) -> Self {
        FrameRef::Json(v)
    }
}

impl<'a> FrameRef<'a> {
    pub(crate) fn kind(&self) -> &str {
        match self {
            FrameRef::Json(v) => v["kind"].as_str().unwrap_or(""),
            FrameRef::Chat(_) => jodo_contract::wire::kind::CHAT_SEND,
        }
    }

    /// The value at a JSON pointer, as a tree would hold it.
    pub(crate) fn pointer(&self, pointer: &str) -> Option<Cow<'a, Value>> {
        match self {
            FrameRef::Json(v) => v.pointer(pointer).map(Cow::Borrowed),
            FrameRef::Chat(c) => c.to_value().pointer(pointer).cloned().map(Cow::Owned),
        }
    }

    /// The value at a dotted path below `frame`.
    fn lookup<'p>(&self, mut parts: impl Iterator<Item = &'p str>) -> Option<Found<'a>> {
        match self {
            FrameRef::Json(v) => parts.try_fold(*v, |v, key| v.get(key)).map(Found::Json),
            FrameRef::Chat(c) => {
                let found = match (parts.next(), parts.next(), parts.next()) {
                    (Some("messageid"), None, _) => Found::Str(&c.messageid),
                    (Some("data"), Some("text"), None) => Found::Str(&c.data.text),
                    (Some("seq"), None, _) => Found::Owned(Value::from(c.seq)),
                    (first, second, third) => {
                        let tree = c.to_value();
                        let found = [first, second, third]
                            .into_iter()
                            .flatten()
                            .chain(parts)
                            .try_fold(&tree, |v, key| v.get(key))?;
                        Found::Owned(found.clone())
                    }
                };
                Some(found)
            }
        }
    }
}

/// What a template path found.
#[derive(Debug, Clone)]
pub(crate) enum Found<'a> {
    /// A value of a tree.
    Json(&'a Value),
    /// A string read straight from a frame.
    Str(&'a str),
    /// A value made for the lookup.
    Owned(Value),
}

impl Found<'_> {
    /// The text a template puts in place of the path: strings as they
    /// are, null as nothing, anything else as JSON.
    pub(crate) fn text(&self) -> Cow<'_, str> {
        let value = match self {
            Found::Str(s) => return Cow::Borrowed(s),
            Found::Json(v) => *v,
            Found::Owned(v) => v,
        };
        match value {
            Value::String(s) => Cow::Borrowed(s),
            Value::Null => Cow::Borrowed(""),
            other => Cow::Owned(other.to_string()),
        }
    }
}

/// Where `{{name}}` templates are looked up: `frame.…` in the triggering
/// frame, anything else in the session's variables, then the scenario's.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Variables set during the session (and `systemcallid`).
    pub session: &'a Map<String, Value>,
    /// The scenario's own variables.
    pub scenario: &'a Map<String, Value>,
    /// The frame that fired the transition, if a frame did.
    pub frame: Option<FrameRef<'a>>,
}

impl<'a> Context<'a> {
    pub(crate) fn lookup(&self, path: &str) -> Option<Found<'a>> {
        self.lookup_parts(path.split('.'))
    }

    /// The value at a path already split at its dots.
    pub(crate) fn lookup_parts<'p>(
        &self,
        mut parts: impl Iterator<Item = &'p str>,
    ) -> Option<Found<'a>> {
        let first = parts.next()?;
        if first == "frame" {
            return self.frame?.lookup(parts);
        }
        let root = self
            .session
            .get(first)
            .or_else(|| self.scenario.get(first))?;
        parts.try_fold(root, |v, key| v.get(key)).map(Found::Json)
    }
}
