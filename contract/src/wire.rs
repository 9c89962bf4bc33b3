//! Frames of the widget ↔ server protocol (see `schemas/wire/README.md`).
//!
//! Frames are kept as an envelope with a JSON `data` payload: the schemas
//! decide what is valid, and the mock must be able to send frames the
//! schemas reject (malformed frames are a test fault, not a type error).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Frame kinds the mock and the contract act on by name. The full list of
/// kinds is the set of schemas in `schemas/wire/frames/`.
pub mod kind {
    /// First frame on a new channel.
    pub const WELCOME: &str = "welcome";
    /// A server-driven event.
    pub const EVENT: &str = "event";
    /// A refused client frame.
    pub const ERROR: &str = "error";
    /// Visitor ended the session.
    pub const SESSION_END: &str = "session.end";
}

/// One frame in either direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// Frame kind, one of [`kind`] or a kind the contract adds later.
    pub kind: String,
    /// Per-direction sequence number from 1.
    pub seq: u64,
    /// Unique per session and direction.
    pub messageid: String,
    /// Sender's clock, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
    /// Kind-specific payload.
    #[serde(default)]
    pub data: Value,
}

/// Why a text message is not a frame.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON at all.
    #[error("frame is not JSON: {0}")]
    NotJson(serde_json::Error),
    /// JSON, but not an envelope.
    #[error("frame is not a frame envelope: {0}")]
    NotFrame(serde_json::Error),
}

/// The envelope fields of a received frame, borrowed from its parsed JSON:
/// what a receiver needs to route and check it, without copying `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Head<'a> {
    /// Frame kind.
    #[serde(borrow)]
    pub kind: &'a str,
    /// Per-direction sequence number.
    pub seq: u64,
    /// Unique per session and direction.
    #[serde(borrow)]
    pub messageid: &'a str,
}

impl<'a> Head<'a> {
    /// The envelope of a parsed frame.
    ///
    /// # Errors
    /// [`DecodeError::NotFrame`] when a field is missing or of another type.
    pub fn of(raw: &'a Value) -> Result<Self, DecodeError> {
        Head::deserialize(raw).map_err(DecodeError::NotFrame)
    }
}

/// Parses a text message into JSON, for [`Head::of`] and the schemas.
///
/// # Errors
/// [`DecodeError::NotJson`] when the text is not JSON.
pub fn parse(text: &str) -> Result<Value, DecodeError> {
    serde_json::from_str(text).map_err(DecodeError::NotJson)
}

impl Frame {
    /// Parses a text message, keeping the raw value for schema checks.
    ///
    /// # Errors
    /// [`DecodeError`] when the text is not JSON or lacks the envelope fields.
    pub fn decode(text: &str) -> Result<(Self, Value), DecodeError> {
        let raw = parse(text)?;
        let frame = Frame::deserialize(&raw).map_err(DecodeError::NotFrame)?;
        Ok((frame, raw))
    }

    /// The frame as one JSON text message.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// The most frequent frame of all, `chat.send`, checked without the
/// schema machinery. It only ever says yes to frames the schemas accept
/// (`tests/fast_check.rs` holds it to that against the real validator);
/// anything else goes through the full validation, which also explains
/// what is wrong.
pub(crate) fn chat_send_is_plainly_valid(frame: &Value) -> bool {
    let Some(obj) = frame.as_object() else {
        return false;
    };
    let envelope_ok = obj.len() <= 5
        && obj
            .keys()
            .all(|k| matches!(k.as_str(), "kind" | "seq" | "messageid" | "ts" | "data"))
        && obj.get("kind").and_then(Value::as_str) == Some("chat.send")
        && obj
            .get("seq")
            .and_then(Value::as_u64)
            .is_some_and(|n| (1..=9_007_199_254_740_991).contains(&n))
        && obj
            .get("messageid")
            .and_then(Value::as_str)
            .is_some_and(|id| {
                (1..=64).contains(&id.len())
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
        && obj.get("ts").is_none_or(Value::is_string);
    envelope_ok
        && obj
            .get("data")
            .and_then(Value::as_object)
            .is_some_and(|data| {
                data.len() == 1
                    && data
                        .get("text")
                        .and_then(Value::as_str)
                        .is_some_and(|t| !t.is_empty())
            })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Map, json};

    fn seq() -> impl Strategy<Value = Value> {
        prop_oneof![
            4 => (0u64..4).prop_map(|n| json!(n)),
            1 => (9_007_199_254_740_989u64..9_007_199_254_740_994).prop_map(|n| json!(n)),
            1 => Just(json!(-1)),
            1 => Just(json!(1.0)),
            1 => Just(json!(1.5)),
            1 => Just(json!("1")),
        ]
    }

    fn messageid() -> impl Strategy<Value = Value> {
        prop_oneof![
            4 => "[A-Za-z0-9_-]{0,70}".prop_map(Value::String),
            1 => "[ -~é]{0,8}".prop_map(Value::String),
            1 => Just(json!(7)),
        ]
    }

    fn data() -> impl Strategy<Value = Value> {
        let text = prop_oneof![
            4 => "\\PC{0,300}".prop_map(Value::String),
            1 => Just(json!("")),
            1 => Just(json!(12)),
        ];
        prop_oneof![
            6 => (text, proptest::option::of("[a-z]{1,5}")).prop_map(|(t, extra)| {
                let mut m = Map::new();
                m.insert("text".into(), t);
                if let Some(k) = extra {
                    m.insert(k, json!(1));
                }
                Value::Object(m)
            }),
            1 => Just(json!({})),
            1 => Just(json!("hi")),
        ]
    }

    fn frame() -> impl Strategy<Value = Value> {
        (
            prop_oneof![6 => Just("chat.send"), 1 => Just("chat.sendx"), 1 => Just("Chat.send")],
            proptest::option::weighted(0.95, seq()),
            proptest::option::weighted(0.95, messageid()),
            proptest::option::of(prop_oneof![
                Just(json!("2026-11-28T00:00:00Z")),
                Just(json!(5))
            ]),
            proptest::option::weighted(0.95, data()),
            proptest::option::weighted(0.1, "[a-z]{1,6}"),
        )
            .prop_map(|(kind, seq, id, ts, data, extra)| {
                let mut m = Map::new();
                m.insert("kind".into(), json!(kind));
                for (k, v) in [("seq", seq), ("messageid", id), ("ts", ts), ("data", data)] {
                    if let Some(v) = v {
                        m.insert(k.into(), v);
                    }
                }
                if let Some(k) = extra {
                    m.insert(k, json!(true));
                }
                Value::Object(m)
            })
    }

    static SCHEMAS: std::sync::LazyLock<crate::SchemaSet> =
        std::sync::LazyLock::new(|| crate::SchemaSet::embedded().unwrap());

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The quick check never accepts a frame the schema refuses.
        #[test]
        fn the_chat_send_quick_check_accepts_only_what_the_schema_accepts(f in frame()) {
            if chat_send_is_plainly_valid(&f) {
                prop_assert_eq!(
                    SCHEMAS.validate("wire/frames/chat.send.schema.json", &f),
                    Vec::new(),
                    "{}", f
                );
            }
        }
    }

    /// And it does say yes to the frames widgets actually send, or it
    /// would save nothing.
    #[test]
    fn the_chat_send_quick_check_accepts_ordinary_frames() {
        for f in [
            json!({"kind": "chat.send", "seq": 1, "messageid": "w0123456789abcdef", "ts": "2026-11-28T09:00:00.000Z", "data": {"text": "Hello"}}),
            json!({"kind": "chat.send", "seq": 42, "messageid": "b42", "data": {"text": "🙂 ok"}}),
        ] {
            assert!(chat_send_is_plainly_valid(&f), "{f}");
        }
    }
}
