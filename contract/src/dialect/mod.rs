//! Wire dialects: how a widget build's own JSON-over-WebSocket protocol
//! carries the kit's frames (`schemas/dialect.schema.json`).
//!
//! The scenario engine, the transcripts and the checks work with the kit's
//! frames (`schemas/wire/frames/`). A dialect says where each of their
//! fields sits on the wire, how a session is created, and what the upgrade
//! is called, so the mock can speak a build's own protocol without a line
//! of Rust. The kit's protocol is itself a dialect, `jodo-kit-1`, a file
//! like any other; [`Dialect::is_identity`] tells the mock when a frame can
//! go out as the kit writes it.
//!
//! [`mod@check`] holds a file to what the schema cannot say (kinds that
//! exist, fields that exist, names used once, fields that do not overwrite
//! each other, frames that meet the dialect's own schema); [`codec`] turns
//! frames into wire text and back.

pub mod check;
pub mod codec;
pub mod pointer;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Contract;
use crate::checked::{self, CheckedError};
pub use codec::{Inbound, WireProblem};
pub use pointer::Pointer;

/// The dialect `serve` and `run` speak when none is named.
pub const DEFAULT: &str = "jodo-kit-1";

/// A dialect file as written (`schemas/dialect.schema.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DialectFile {
    /// Its name.
    pub dialect: String,
    /// One line for listings.
    #[serde(default)]
    pub summary: String,
    /// What the messages are, when a file says (only JSON text messages
    /// without compression can be described).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// Session creation over HTTPS.
    pub session: SessionFile,
    /// The WebSocket upgrade.
    pub channel: Channel,
    /// Where the fields every frame has sit.
    pub envelope: EnvelopeFile,
    /// Fixed members of every frame.
    #[serde(default)]
    pub template: Map<String, Value>,
    /// Per kit frame kind: its wire name and field places.
    #[serde(default)]
    pub frames: BTreeMap<String, FrameFile>,
    /// Server events with a frame of their own (`media/eventtype` → its
    /// wire name, field places and fixed members): a protocol that names
    /// each event, where the kit sends them all as `event` frames.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub events: BTreeMap<String, FrameFile>,
    /// Acknowledgement frames, if the protocol has them.
    #[serde(default)]
    pub acks: Option<AcksFile>,
    /// A JSON Schema every wire frame meets.
    #[serde(default)]
    pub schema: Option<Value>,
}

/// What a protocol's messages are.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transport {
    /// `json-text`, or a framing a dialect cannot describe.
    #[serde(default = "json_text")]
    pub messages: String,
    /// `none`, or a compression a dialect cannot describe.
    #[serde(default = "no_compression")]
    pub compression: String,
}

fn json_text() -> String {
    "json-text".into()
}

fn no_compression() -> String {
    "none".into()
}

/// How a session is created.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionFile {
    /// HTTP method.
    pub method: String,
    /// Path of the session API.
    pub path: String,
    /// Field of the kit's request → pointer in the dialect's body.
    pub request: BTreeMap<String, String>,
    /// Field of the kit's answer → pointer in the dialect's answer.
    pub answer: BTreeMap<String, String>,
}

/// The WebSocket upgrade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// Path of the channel.
    pub path: String,
    /// Query parameter with the session's single-use token.
    pub token: String,
    /// Query parameter with the resume secret.
    pub resume: String,
}

/// Pointers of the fields every frame has.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvelopeFile {
    /// The frame's kind (its wire name).
    pub kind: String,
    /// Per-direction sequence number.
    pub seq: String,
    /// Message id.
    pub messageid: String,
    /// Sender's clock.
    #[serde(default)]
    pub ts: Option<String>,
    /// The rest of the data, as an object.
    #[serde(default)]
    pub data: Option<String>,
}

/// One kit frame kind in the dialect.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FrameFile {
    /// Its wire name.
    #[serde(default)]
    pub name: Option<String>,
    /// Data field → pointer.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Fixed members of this kind.
    #[serde(default)]
    pub template: Option<Map<String, Value>>,
}

/// Acknowledgement frames.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AcksFile {
    /// Their wire name.
    pub name: String,
    /// Where the acknowledged messageid sits.
    pub of: String,
    /// The server acknowledges every client frame it accepted.
    #[serde(default)]
    pub server: bool,
    /// The widget acknowledges every server frame.
    #[serde(default)]
    pub widget: bool,
}

/// A checked dialect, ready to encode and decode frames.
#[derive(Debug)]
pub struct Dialect {
    /// The file it was read from, as written (the widget build for the
    /// dialect carries it).
    pub file: DialectFile,
    /// Session API: request and answer fields, kit field → wire pointer.
    pub(crate) request: Vec<(String, Pointer)>,
    pub(crate) answer: Vec<(String, Pointer)>,
    pub(crate) envelope: Envelope,
    /// Every kit frame kind, by its kit name.
    pub(crate) kinds: BTreeMap<String, Kind>,
    /// Kit kind by wire name.
    pub(crate) by_name: HashMap<String, String>,
    /// Server events with frames of their own, by `media/eventtype`, and
    /// the key of each by its wire name.
    pub(crate) events: BTreeMap<String, Kind>,
    pub(crate) event_by_name: HashMap<String, String>,
    pub(crate) acks: Option<Acks>,
    pub(crate) schema: Option<jsonschema::Validator>,
    identity: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Envelope {
    pub kind: Pointer,
    pub seq: Pointer,
    pub messageid: Pointer,
    pub ts: Option<Pointer>,
    pub data: Option<Pointer>,
}

#[derive(Debug, Clone)]
pub(crate) struct Kind {
    pub name: String,
    pub fields: Vec<(String, Pointer)>,
    /// The dialect's template and the kind's, merged.
    pub template: Value,
}

#[derive(Debug, Clone)]
pub(crate) struct Acks {
    pub name: String,
    pub of: Pointer,
    pub server: bool,
}

/// Why a dialect cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DialectError {
    /// Neither a built-in name nor a readable file.
    #[error(
        "no dialect {name:?}: not a built-in ({}) and not a readable file",
        builtin_names().join(", ")
    )]
    NotFound {
        /// What was asked for.
        name: String,
    },
    /// The file could not be read.
    #[error("cannot read dialect {path}: {source}")]
    Read {
        /// File path.
        path: String,
        /// OS error.
        source: std::io::Error,
    },
    /// Not YAML, or breaks the dialect schema or its consistency: every
    /// problem with its line and field.
    #[error("{origin}: {message}")]
    Invalid {
        /// File or built-in name.
        origin: String,
        /// The problems, `line N, at POINTER: message`, joined.
        message: String,
        /// The same, one per entry.
        problems: Vec<String>,
    },
}

impl DialectError {
    /// What to print, a line each: every problem with its origin, then
    /// their count; or the one error (as `jodo-mock` prints a bad dialect).
    pub fn lines(&self) -> Vec<String> {
        match self {
            DialectError::Invalid {
                origin, problems, ..
            } => problems
                .iter()
                .map(|p| format!("{origin}: {p}"))
                .chain([format!("{origin}: {} problem(s)", problems.len())])
                .collect(),
            other => vec![other.to_string()],
        }
    }
}

/// Names of the built-in dialects (`schemas/dialects/`), sorted.
pub fn builtin_names() -> Vec<String> {
    let mut names: Vec<String> = crate::bundle::SCHEMAS
        .get_dir("dialects")
        .into_iter()
        .flat_map(|d| d.files())
        .filter_map(|f| f.path().file_name()?.to_str()?.strip_suffix(".yaml"))
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

impl Dialect {
    /// A built-in dialect by name, or a dialect file by path.
    ///
    /// # Errors
    /// [`DialectError`] saying what is missing or wrong, with lines.
    pub fn load(name_or_path: &str, schemas: &Contract) -> Result<Self, DialectError> {
        if let Some(text) = crate::bundle::text(&format!("dialects/{name_or_path}.yaml")) {
            return Self::parse(text, name_or_path, schemas);
        }
        let path = Path::new(name_or_path);
        if path.is_file() {
            let text = crate::yaml::read_data_file(path).map_err(|source| DialectError::Read {
                path: name_or_path.to_owned(),
                source,
            })?;
            return Self::parse(&text, name_or_path, schemas);
        }
        Err(DialectError::NotFound {
            name: name_or_path.to_owned(),
        })
    }

    /// The kit's own protocol.
    ///
    /// # Panics
    /// Never for a build whose own tests pass: the file is built in and
    /// checked by them.
    pub fn kit(schemas: &Contract) -> Self {
        Self::load(DEFAULT, schemas).expect("the built-in jodo-kit-1 dialect is valid")
    }

    /// Reads and checks dialect text: YAML, the schema, then consistency.
    ///
    /// # Errors
    /// [`DialectError::Invalid`] with every problem and its line.
    pub fn parse(text: &str, origin: &str, schemas: &Contract) -> Result<Self, DialectError> {
        let invalid = |problems: Vec<String>| DialectError::Invalid {
            origin: origin.to_owned(),
            message: problems.join("; "),
            problems,
        };
        let checked::Checked { value, positions } =
            checked::load::<DialectFile>(text, "dialect.schema.json", schemas).map_err(
                |e| match e {
                    CheckedError::Syntax(e) => invalid(vec![e.to_string()]),
                    CheckedError::Invalid(problems) => invalid(problems),
                },
            )?;
        check::compile(value, schemas).map_err(|problems| {
            invalid(problems.into_iter().map(|p| positions.locate(p)).collect())
        })
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.file.dialect
    }

    /// Whether frames on the wire are the kit's frames as they are: then
    /// the mock writes and reads them without translating.
    pub fn is_identity(&self) -> bool {
        self.identity
    }

    /// The file as JSON, for the widget build that speaks the dialect.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(&self.file).unwrap_or(Value::Null)
    }

    /// How many of the kit's frame kinds it carries (all of them, once
    /// checked).
    pub fn kind_count(&self) -> usize {
        self.kinds.len()
    }

    /// Whether the server sends an acknowledgement frame for every client
    /// frame it accepted.
    pub fn server_acks(&self) -> bool {
        self.acks.as_ref().is_some_and(|a| a.server)
    }
}
