//! Frames of the widget ↔ server protocol (see `schemas/wire/README.md`).
//!
//! A received frame is read as JSON with its envelope borrowed from it
//! ([`Head`]), or, for a plain chat message, straight into its fields
//! ([`ChatSend`]). The schemas decide what is valid; frames are not a Rust
//! type the mock must obey, since it sends frames the schemas reject on
//! purpose (malformed frames are a test fault, not a type error).

use std::borrow::Cow;

use serde::Deserialize;
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
    /// A visitor chat message.
    pub const CHAT_SEND: &str = "chat.send";
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

/// A `chat.send` frame read straight into its fields, for a server's hot
/// path: no JSON tree, strings borrowed from the text where they have no
/// escapes. [`ChatSend::parse`] only accepts frames of the plain shape the
/// schema accepts (held to that by a property test against the real
/// validator); anything else takes the general path, which also explains
/// what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatSend<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
    /// Per-direction sequence number.
    pub seq: u64,
    /// Unique per session and direction.
    #[serde(borrow)]
    pub messageid: Cow<'a, str>,
    /// Sender's clock, RFC 3339.
    #[serde(borrow, default)]
    pub ts: Option<Cow<'a, str>>,
    /// The message.
    #[serde(borrow)]
    pub data: ChatSendData<'a>,
}

/// `data` of a `chat.send` frame.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatSendData<'a> {
    /// What the visitor wrote.
    #[serde(borrow)]
    pub text: Cow<'a, str>,
}

impl<'a> ChatSend<'a> {
    /// The frame, if `text` is a `chat.send` frame the schema plainly
    /// accepts; `None` for anything else, valid or not.
    pub fn parse(text: &'a str) -> Option<Self> {
        let frame: Self = serde_json::from_str(text).ok()?;
        let id_ok = (1..=64).contains(&frame.messageid.len())
            && frame
                .messageid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        (frame.kind == kind::CHAT_SEND
            && (1..=9_007_199_254_740_991).contains(&frame.seq)
            && id_ok
            && !frame.data.text.is_empty())
        .then_some(frame)
    }

    /// The frame as a JSON tree, for the rare reader that needs one.
    pub fn to_value(&self) -> Value {
        let mut frame = serde_json::json!({
            "kind": kind::CHAT_SEND, "seq": self.seq, "messageid": self.messageid,
            "data": {"text": self.data.text},
        });
        if let Some(ts) = &self.ts {
            frame["ts"] = Value::from(ts.as_ref());
        }
        frame
    }
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

        /// The quick path never accepts a frame the schema refuses, and
        /// reads what a JSON parser reads.
        #[test]
        fn the_chat_send_quick_path_accepts_only_what_the_schema_accepts(f in frame()) {
            let text = f.to_string();
            if let Some(chat) = ChatSend::parse(&text) {
                prop_assert_eq!(
                    SCHEMAS.validate("wire/frames/chat.send.schema.json", &f),
                    Vec::new(),
                    "{}", f
                );
                prop_assert_eq!(chat.to_value(), f);
            }
        }
    }

    /// And it does take the frames widgets actually send, or it would save
    /// nothing; escapes are read as JSON reads them.
    #[test]
    fn the_chat_send_quick_path_takes_ordinary_frames() {
        for f in [
            json!({"kind": "chat.send", "seq": 1, "messageid": "w0123456789abcdef", "ts": "2026-11-28T09:00:00.000Z", "data": {"text": "Hello"}}),
            json!({"kind": "chat.send", "seq": 42, "messageid": "b42", "data": {"text": "🙂 \"quoted\"\nline"}}),
        ] {
            let text = f.to_string();
            let chat = ChatSend::parse(&text).unwrap_or_else(|| panic!("{f}"));
            assert_eq!(chat.to_value(), f);
        }
        assert_eq!(
            ChatSend::parse(
                r#"{"kind":"chat.send","seq":1,"messageid":"a","data":{"text":"x"},"kind":"chat.send"}"#
            ),
            None
        );
    }
}
