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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatSend<'a> {
    kind: Cow<'a, str>,
    /// Per-direction sequence number.
    pub seq: u64,
    /// Unique per session and direction.
    pub messageid: Cow<'a, str>,
    /// Sender's clock, RFC 3339.
    pub ts: Option<Cow<'a, str>>,
    /// The message.
    pub data: ChatSendData<'a>,
}

/// `data` of a `chat.send` frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatSendData<'a> {
    /// What the visitor wrote.
    pub text: Cow<'a, str>,
}

impl<'a> ChatSend<'a> {
    /// The frame, if `text` is a `chat.send` frame the schema plainly
    /// accepts; `None` for anything else, valid or not.
    pub fn parse(text: &'a str) -> Option<Self> {
        let frame = Reader { text, at: 0 }.chat_send()?;
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

/// Reads the one JSON shape a [`ChatSend`] has, and gives up (`None`) at
/// anything else: a number that is not a plain integer, a `null`, an
/// unknown, repeated or escaped key, trailing text. String values with
/// escapes are decoded by serde_json, so they read exactly as a JSON parser
/// reads them.
struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    fn chat_send(mut self) -> Option<ChatSend<'a>> {
        let (mut kind, mut seq, mut messageid, mut ts, mut data) = (None, None, None, None, None);
        self.eat(b'{')?;
        loop {
            let first = match self.key()? {
                b"kind" => kind.replace(self.string()?).is_none(),
                b"seq" => seq.replace(self.integer()?).is_none(),
                b"messageid" => messageid.replace(self.string()?).is_none(),
                b"ts" => ts.replace(self.string()?).is_none(),
                b"data" => data.replace(self.data()?).is_none(),
                _ => false,
            };
            if !first {
                return None;
            }
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    break;
                }
                _ => return None,
            }
        }
        self.peek().is_none().then_some(())?;
        Some(ChatSend {
            kind: kind?,
            seq: seq?,
            messageid: messageid?,
            ts,
            data: data?,
        })
    }

    fn data(&mut self) -> Option<ChatSendData<'a>> {
        self.eat(b'{')?;
        (self.key()? == b"text").then_some(())?;
        let text = self.string()?;
        self.eat(b'}')?;
        Some(ChatSendData { text })
    }

    /// A key and its colon.
    fn key(&mut self) -> Option<&'a [u8]> {
        let (start, end, escaped) = self.raw_string()?;
        if escaped {
            return None;
        }
        self.eat(b':')?;
        self.text.as_bytes().get(start..end)
    }

    fn string(&mut self) -> Option<Cow<'a, str>> {
        let (start, end, escaped) = self.raw_string()?;
        if escaped {
            serde_json::from_str(self.text.get(start - 1..=end)?)
                .ok()
                .map(Cow::Owned)
        } else {
            self.text.get(start..end).map(Cow::Borrowed)
        }
    }

    /// Where the next string's contents start and end, and whether it has
    /// escapes.
    fn raw_string(&mut self) -> Option<(usize, usize, bool)> {
        (self.peek()? == b'"').then_some(())?;
        let bytes = self.text.as_bytes();
        let start = self.at + 1;
        let mut end = start;
        let mut escaped = false;
        loop {
            match *bytes.get(end)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    end += 2;
                }
                0..=0x1f => return None,
                _ => end += 1,
            }
        }
        self.at = end + 1;
        Some((start, end, escaped))
    }

    /// A non-negative integer as JSON writes it: digits, no leading zero,
    /// no fraction or exponent.
    fn integer(&mut self) -> Option<u64> {
        self.peek()?;
        let bytes = self.text.as_bytes();
        let start = self.at;
        while bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        let digits = &self.text[start..self.at];
        if digits.is_empty() || digits.len() > 1 && digits.starts_with('0') {
            return None;
        }
        matches!(self.peek()?, b',' | b'}').then_some(())?;
        digits.parse().ok()
    }

    /// The next byte that is not whitespace (and moves up to it).
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        loop {
            let b = *bytes.get(self.at)?;
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(b);
            }
            self.at += 1;
        }
    }

    #[inline]
    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
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

    static SCHEMAS: std::sync::LazyLock<crate::Contract> =
        std::sync::LazyLock::new(|| crate::Contract::embedded().unwrap());

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The quick path never accepts a frame the schema refuses, and
        /// reads what a JSON parser reads.
        #[test]
        fn the_chat_send_quick_path_accepts_only_what_the_schema_accepts(f in frame()) {
            for text in [f.to_string(), serde_json::to_string_pretty(&f).unwrap()] {
                if let Some(chat) = ChatSend::parse(&text) {
                    prop_assert_eq!(
                        SCHEMAS.validate("wire/frames/chat.send.schema.json", &f),
                        Vec::new(),
                        "{}", f
                    );
                    prop_assert_eq!(chat.to_value(), f.clone());
                }
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
        // What a JSON parser reads differently, or refuses, or what is
        // merely unusual (an escaped key), is left to the general path.
        for text in [
            r#"{"k\u0069nd":"chat.send","seq":7,"messageid":"a","data":{"text":"x"}}"#,
            r#"{"kind":"chat.send","seq":1,"messageid":"a","data":{"text":"x"},"kind":"chat.send"}"#,
            r#"{"kind":"chat.send","seq":01,"messageid":"a","data":{"text":"x"}}"#,
            r#"{"kind":"chat.send","seq":1.0,"messageid":"a","data":{"text":"x"}}"#,
            r#"{"kind":"chat.send","seq":1e2,"messageid":"a","data":{"text":"x"}}"#,
            r#"{"kind":"chat.send","seq":-1,"messageid":"a","data":{"text":"x"}}"#,
            r#"{"kind":"chat.send","seq":1,"messageid":"a","ts":null,"data":{"text":"x"}}"#,
            r#"{"kind":"chat.send","seq":1,"messageid":"a","data":{"text":"x"}} x"#,
            r#"{"kind":"chat.send","seq":1,"messageid":"a","data":{"text":"x",}}"#,
            r#"{"kind":"chat.send","seq":1,"messageid":"a","data":{"text":"x"},}"#,
            r#"{"kind":"chat.send","seq":1,"messageid":"a","data":{"text":"a\qb"}}"#,
            "{\"kind\":\"chat.send\",\"seq\":1,\"messageid\":\"a\",\"data\":{\"text\":\"a\tb\"}}",
            r#"{"kind":"chat.send","seq":1,"messageid":"a","data":{"text":"x"}"#,
            r#"{"kind":"chat.send","seq":1,"messageid":"a","data":{"text":"x\"}}"#,
            r#"{"kind":"chat.send","seq":99999999999999999999,"messageid":"a","data":{"text":"x"}}"#,
        ] {
            assert_eq!(ChatSend::parse(text), None, "{text}");
        }
    }
}
