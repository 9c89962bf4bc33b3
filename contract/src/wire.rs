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
