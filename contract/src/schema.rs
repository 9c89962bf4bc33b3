//! The contract, compiled once: the catalogue and every JSON Schema of
//! `schemas/`, as one [`Contract`] the mock, the runner and the tests hold.
//!
//! Schemas refer to each other by relative `$ref`; all of them are loaded
//! into one offline registry under their `$id`, so validation never touches
//! the network. Errors come back as values that name the JSON pointer, the
//! schema and, for eventdata, the catalogue entry concerned.

use std::collections::BTreeMap;

use jsonschema::{Registry, Validator};
use serde::Serialize;
use serde_json::Value;

use crate::bundle::{self, SCHEMA_BASE};
use crate::catalog::{Catalog, CatalogError, Source};
use crate::generate;
use crate::profile::Profile;
use crate::wire::kind;

/// Why the schema set could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// The catalogue did not load.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// A schema file is not JSON.
    #[error("schemas/{path} is not valid JSON: {source}")]
    NotJson {
        /// Path under `schemas/`.
        path: String,
        /// Parser error with line and column.
        source: serde_json::Error,
    },
    /// A schema does not compile (bad keyword, unresolved `$ref`).
    #[error("schemas/{path} does not compile: {message}")]
    Compile {
        /// Path under `schemas/`.
        path: String,
        /// The validator's explanation.
        message: String,
    },
}

/// A document kind the contract does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown kind {kind:?}; use eventdata, frame, scenario, case, report, mutant, session-request, or a method name ({methods})"
)]
pub struct UnknownKind {
    /// What was asked for.
    pub kind: String,
    /// The catalogue's method names, comma-separated.
    pub methods: String,
}

/// One schema violation, in a form reports and CLIs can print.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaError {
    /// JSON pointer into the checked document (`""` for the root).
    pub pointer: String,
    /// What is wrong, in words.
    pub message: String,
    /// Schema path under `schemas/` that raised it.
    pub schema: String,
    /// Catalogue key (`media/eventtype`) the document claims to be, if any.
    pub entry: Option<String>,
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "(root)"
        } else {
            &self.pointer
        };
        write!(f, "{pointer}: {} [{}", self.message, self.schema)?;
        if let Some(entry) = &self.entry {
            write!(f, ", {entry}")?;
        }
        write!(f, "]")
    }
}

/// The compiled contract: the catalogue plus a validator per schema file.
pub struct Contract {
    catalog: Catalog,
    validators: BTreeMap<String, Validator>,
    frame_directions: BTreeMap<String, Direction>,
    frame_rate_limits: BTreeMap<String, String>,
}

/// Which side of the channel sends a frame kind (`x-direction` in its schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Server to widget.
    Server,
    /// Widget to server.
    Widget,
}

impl std::fmt::Debug for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contract")
            .field("schemas", &self.validators.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Contract {
    /// Compiles the schemas built into this binary.
    ///
    /// # Errors
    /// [`ContractError`] naming the file that does not parse or compile.
    pub fn embedded() -> Result<Self, ContractError> {
        let catalog = Catalog::embedded()?;
        let mut docs = Vec::new();
        for (path, text) in bundle::json_schemas() {
            let value: Value =
                serde_json::from_str(text).map_err(|source| ContractError::NotJson {
                    path: path.to_owned(),
                    source,
                })?;
            docs.push((path.to_owned(), value));
        }
        let registry = Registry::new()
            .extend(
                docs.iter()
                    .map(|(path, value)| (format!("{SCHEMA_BASE}{path}"), value.clone())),
            )
            .and_then(|b| b.prepare())
            .map_err(|e| ContractError::Compile {
                path: "(registry)".into(),
                message: e.to_string(),
            })?;
        let mut validators = BTreeMap::new();
        let mut frame_directions = BTreeMap::new();
        let mut frame_rate_limits = BTreeMap::new();
        for (path, value) in &docs {
            if let Some(kind) = path
                .strip_prefix("wire/frames/")
                .and_then(|p| p.strip_suffix(".schema.json"))
            {
                let direction = match value.get("x-direction").and_then(Value::as_str) {
                    Some("server") => Direction::Server,
                    Some("widget") => Direction::Widget,
                    _ => {
                        return Err(ContractError::Compile {
                            path: path.clone(),
                            message: "x-direction must be \"server\" or \"widget\"".into(),
                        });
                    }
                };
                frame_directions.insert(kind.to_owned(), direction);
                if let Some(category) = value.get("x-rate-limit").and_then(Value::as_str) {
                    frame_rate_limits.insert(kind.to_owned(), category.to_owned());
                }
            }
            let validator = jsonschema::options()
                .with_registry(&registry)
                .with_base_uri(format!("{SCHEMA_BASE}{path}"))
                .should_validate_formats(true)
                .build(value)
                .map_err(|e| ContractError::Compile {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            validators.insert(path.clone(), validator);
        }
        Ok(Self {
            catalog,
            validators,
            frame_directions,
            frame_rate_limits,
        })
    }

    /// The catalogue the schemas belong to.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Paths (under `schemas/`) of every compiled schema.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.validators.keys().map(String::as_str)
    }

    /// Validates `doc` against one schema file, e.g. `wire/session-request.schema.json`.
    /// An unknown path is reported as an error rather than a pass.
    pub fn validate(&self, path: &str, doc: &Value) -> Vec<SchemaError> {
        self.validate_as(path, doc, None)
    }

    fn validate_as(&self, path: &str, doc: &Value, entry: Option<&str>) -> Vec<SchemaError> {
        let Some(validator) = self.validators.get(path) else {
            return vec![SchemaError {
                pointer: String::new(),
                message: format!("no schema schemas/{path} in the contract"),
                schema: path.to_owned(),
                entry: entry.map(str::to_owned),
            }];
        };
        // Most documents are valid, and a yes/no check is much cheaper than
        // collecting errors (the mock checks every frame a widget sends).
        if validator.is_valid(doc) {
            return Vec::new();
        }
        validator
            .iter_errors(doc)
            .map(|e| SchemaError {
                pointer: e.instance_path().to_string(),
                message: e.to_string(),
                schema: path.to_owned(),
                entry: entry.map(str::to_owned),
            })
            .collect()
    }

    /// Validates one eventdata in a profile: its media/eventtype must be a
    /// catalogue pair (or, in compat, an alias of one), then the event's
    /// generated schema applies.
    pub fn validate_eventdata(&self, doc: &Value, profile: Profile) -> Vec<SchemaError> {
        let error = |pointer: &str, message: String, entry: Option<String>| SchemaError {
            pointer: pointer.into(),
            message,
            schema: "catalog.yaml".into(),
            entry,
        };
        if !doc.is_object() {
            return vec![error(
                "",
                format!("eventdata must be an object, not {doc}"),
                None,
            )];
        }
        let media = doc.get("media").and_then(Value::as_str);
        let eventtype = doc.get("eventtype").and_then(Value::as_str);
        let (Some(media), Some(eventtype)) = (media, eventtype) else {
            let mut errors = Vec::new();
            for field in ["media", "eventtype"] {
                if !doc.get(field).is_some_and(Value::is_string) {
                    errors.push(error(
                        &format!("/{field}"),
                        format!("\"{field}\" is required and must be a string"),
                        None,
                    ));
                }
            }
            return errors;
        };
        let key = format!("{media}/{eventtype}");
        let entry = match profile {
            Profile::Strict => self.catalog.event(media, eventtype),
            Profile::Compat => self.catalog.event_or_alias(media, eventtype),
        };
        let Some(entry) = entry else {
            let hint = match self.catalog.event_or_alias(media, eventtype) {
                Some(canonical) => format!(
                    "; it is the compat spelling of {} (AMBIGUITIES.md)",
                    canonical.key()
                ),
                None => String::new(),
            };
            let media_known = self.catalog.events.iter().any(|e| e.media == media);
            let (pointer, message) = if media_known {
                (
                    "/eventtype",
                    format!("{key} is not a media/eventtype pair of the catalogue{hint}"),
                )
            } else {
                (
                    "/media",
                    format!("{media:?} is not a media of the catalogue"),
                )
            };
            return vec![error(pointer, message, Some(key))];
        };
        let path = generate::eventdata_path(profile, entry);
        self.validate_as(&path, doc, Some(&entry.key()))
    }

    /// Validates one wire frame against the schema of its `kind`; an
    /// `event` frame's data must also be a server event of the catalogue.
    pub fn validate_frame(&self, frame: &Value) -> Vec<SchemaError> {
        match frame.get("kind").and_then(Value::as_str) {
            Some(kind::EVENT) => {
                let mut errors = self.validate(&frame_schema(kind::EVENT), frame);
                if errors.is_empty() {
                    errors.extend(self.validate_server_event(&frame["data"]));
                }
                errors
            }
            Some(kind) if self.has_frame_kind(kind) => self.validate(&frame_schema(kind), frame),
            Some(kind) => vec![SchemaError {
                pointer: "/kind".into(),
                message: format!("unknown frame kind {kind:?}"),
                schema: "wire/envelope.schema.json".into(),
                entry: None,
            }],
            None => self.validate("wire/envelope.schema.json", frame),
        }
    }

    /// Validates a method's argument list (a JSON array) in a profile.
    pub fn validate_input(&self, method: &str, args: &Value, profile: Profile) -> Vec<SchemaError> {
        if self.catalog.method(method).is_none() {
            return vec![SchemaError {
                pointer: String::new(),
                message: format!("{method} is not a method of the catalogue"),
                schema: "catalog.yaml".into(),
                entry: None,
            }];
        }
        self.validate_as(&generate::input_path(profile, method), args, Some(method))
    }

    /// Validates a document as one of the contract's kinds: `eventdata`,
    /// `frame`, `scenario`, `case`, `report`, `session-request`, or a method name
    /// (its argument list).
    ///
    /// # Errors
    /// The list of known kinds when `kind` is none of them.
    pub fn validate_kind(
        &self,
        kind: &str,
        doc: &Value,
        profile: Profile,
    ) -> Result<Vec<SchemaError>, UnknownKind> {
        Ok(match kind {
            "eventdata" => self.validate_eventdata(doc, profile),
            "frame" => self.validate_frame(doc),
            "scenario" => self.validate("scenario.schema.json", doc),
            "case" => self.validate("case.schema.json", doc),
            "report" => self.validate("report.schema.json", doc),
            "mutant" => self.validate("mutant.schema.json", doc),
            "session-request" => self.validate("wire/session-request.schema.json", doc),
            method if self.catalog.method(method).is_some() => {
                self.validate_input(method, doc, profile)
            }
            other => {
                return Err(UnknownKind {
                    kind: other.to_owned(),
                    methods: self
                        .catalog
                        .methods
                        .iter()
                        .map(|m| m.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        })
    }

    /// Every frame kind of the wire protocol, sorted.
    pub fn frame_kinds(&self) -> impl Iterator<Item = &str> {
        self.frame_directions.keys().map(String::as_str)
    }

    /// Whether the contract defines a frame kind.
    pub fn has_frame_kind(&self, kind: &str) -> bool {
        self.frame_directions.contains_key(kind)
    }

    /// Which per-key rate limit a frame kind counts against
    /// (`x-rate-limit` in its schema), if any.
    pub fn frame_rate_limit(&self, kind: &str) -> Option<&str> {
        self.frame_rate_limits.get(kind).map(String::as_str)
    }

    /// Who sends a frame kind, if the contract defines it.
    pub fn frame_direction(&self, kind: &str) -> Option<Direction> {
        self.frame_directions.get(kind).copied()
    }
}

impl Contract {
    /// Validates the `data` of an `event` frame: a server-driven event of
    /// the catalogue with exactly its payload. Pointers are into the frame.
    pub fn validate_server_event(&self, data: &Value) -> Vec<SchemaError> {
        let media = data.get("media").and_then(Value::as_str).unwrap_or("");
        let eventtype = data.get("eventtype").and_then(Value::as_str).unwrap_or("");
        let key = format!("{media}/{eventtype}");
        match self.catalog.event(media, eventtype) {
            Some(entry) if entry.source.contains(&Source::Server) => self
                .validate_as(&generate::server_event_path(entry), data, Some(&key))
                .into_iter()
                .map(|mut e| {
                    e.pointer = format!("/data{}", e.pointer);
                    e
                })
                .collect(),
            Some(_) => vec![SchemaError {
                pointer: "/data/eventtype".into(),
                message: format!("{key} is emitted by the widget itself, never sent by the server"),
                schema: "catalog.yaml".into(),
                entry: Some(key),
            }],
            None => vec![SchemaError {
                pointer: "/data/eventtype".into(),
                message: format!("{key} is not a media/eventtype pair of the catalogue"),
                schema: "catalog.yaml".into(),
                entry: Some(key),
            }],
        }
    }
}

fn frame_schema(kind: &str) -> String {
    format!("wire/frames/{kind}.schema.json")
}

#[cfg(test)]
mod tests;
