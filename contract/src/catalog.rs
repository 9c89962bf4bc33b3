//! The catalogue of the Jodo widget API: methods, media/eventtype pairs,
//! status codes and external-data fields, read from `schemas/catalog.yaml`.
//!
//! This is the project's single list of them. Code asks the catalogue
//! ("is this pair an event?", "which codes may SendChatMessage return?")
//! instead of keeping its own copy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::bundle;

/// Why the catalogue could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The embedded bundle has no `catalog.yaml`: the build is broken.
    #[error("schemas/catalog.yaml is missing from the build; rebuild from a complete checkout")]
    Missing,
    /// The YAML does not match the catalogue's shape.
    #[error("schemas/catalog.yaml is malformed: {0}")]
    Malformed(#[from] crate::yaml::YamlError),
}

/// Who produces an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The widget emits it on its own (after a call, or on a local failure).
    Widget,
    /// The server sends it in an `event` frame; the widget passes it on.
    Server,
}

/// One media/eventtype pair.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventEntry {
    /// `eventdata.media`.
    pub media: String,
    /// `eventdata.eventtype` in its canonical spelling.
    pub eventtype: String,
    /// Who may produce it.
    pub source: Vec<Source>,
    /// Section of the spec this entry comes from, for reports.
    pub section: String,
    /// One line for tables and reports.
    pub summary: String,
    /// Other spellings the spec uses; accepted only in the `compat` profile.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// JSON Schema fragments for the event's own properties.
    #[serde(default)]
    pub fields: Map<String, Value>,
    /// Properties the event requires beyond the common ones.
    #[serde(default)]
    pub required: Vec<String>,
    /// How the compat profile relaxes this event.
    #[serde(default)]
    pub compat: CompatRelax,
    /// Widget frames that go with this event when the widget produces it
    /// from its own UI rather than from a method (e.g. an image the visitor
    /// captured): such frames have no method to name them.
    #[serde(default)]
    pub frames: Vec<String>,
    /// One of the outcomes of allocating a session (allocated, every agent
    /// busy, not allocated): a backend the kit does not script decides
    /// which, so a live run accepts any of them where a case waits for one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allocation: bool,
    /// How the values of this event's own fields are judged, beyond their
    /// shape (see [`crate::field_values`]).
    #[serde(default)]
    pub values: std::collections::BTreeMap<String, FieldValue>,
}

/// How one field's value, not its shape, is judged: it echoes an argument
/// the page passed, rules judge it, or the ambiguity register says why
/// only its type can be.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldValue {
    /// `[method, index]`: the field carries this argument of the method's
    /// accepted call, unchanged (rule `sent-values`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arg: Option<(String, usize)>,
    /// `[frame kind, field]`: the field carries that field of the server
    /// frame of that kind (the welcome's systemcallid), rule `server-values`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<(String, String)>,
    /// The field carries what this method returned (rule `sent-values`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned_by: Option<String>,
    /// Rules that judge the value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// The ambiguity entry (`A20`) saying why only the type is judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Compat-profile relaxations of one event (AMBIGUITIES.md).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CompatRelax {
    /// Common required fields that may be missing.
    #[serde(default)]
    pub optional: Vec<String>,
    /// Other key → canonical key it may stand for.
    #[serde(default)]
    pub renamed: BTreeMap<String, String>,
}

/// Schema definitions shared by generated schemas, per profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Defs {
    /// Definitions of both profiles.
    pub shared: Map<String, Value>,
    /// Definitions of the strict profile.
    pub strict: Map<String, Value>,
    /// Definitions of the compat profile.
    pub compat: Map<String, Value>,
}

/// What every eventdata looks like.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventdataSpec {
    /// Properties every eventdata may carry, as schema fragments.
    pub common: Map<String, Value>,
    /// Properties every eventdata must carry.
    pub required: Vec<String>,
}

impl EventEntry {
    /// `media/eventtype`, the key used in cases, reports and coverage.
    pub fn key(&self) -> String {
        format!("{}/{}", self.media, self.eventtype)
    }
}

/// One parameter of a method.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Param {
    /// Name used in docs and errors.
    pub name: String,
    /// JSON type the method expects.
    #[serde(rename = "type")]
    pub ty: String,
    /// Whether the call may leave it out.
    #[serde(default)]
    pub optional: bool,
    /// Upper bound in characters, for text parameters with a length rule.
    #[serde(default)]
    pub max_chars: Option<usize>,
    /// JSON Schema fragment for the argument.
    #[serde(default)]
    pub schema: Option<Value>,
    /// A looser fragment for the compat profile, when it differs.
    #[serde(default)]
    pub compat_schema: Option<Value>,
}

/// One SDK method.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MethodEntry {
    /// Function name as the page calls it.
    pub name: String,
    /// `window` for the global entry point, else the object holding it.
    pub object: String,
    /// Section of the spec this entry comes from.
    pub section: String,
    /// Parameters in call order.
    pub params: Vec<Param>,
    /// Capture devices (microphone, camera, screen) the visitor consents to
    /// by calling this method; capture before such a call breaks the
    /// no-media-before-consent rule.
    #[serde(default)]
    pub consent: Vec<String>,
    /// Documented return codes and their meaning; empty when the spec is silent.
    pub returns: BTreeMap<String, String>,
    /// `media/eventtype` keys the call leads to.
    pub events: Vec<String>,
    /// Wire frame kinds the call sends; none for calls that stay in the page.
    #[serde(default)]
    pub frames: Vec<String>,
}

impl MethodEntry {
    /// JavaScript expression that names the function on a page.
    pub fn js_path(&self) -> String {
        if self.object == "window" {
            format!("window.{}", self.name)
        } else {
            format!("window.{}.{}", self.object, self.name)
        }
    }

    /// Meaning of a return code, if the spec documents it.
    pub fn return_meaning(&self, code: i64) -> Option<&str> {
        self.returns.get(&code.to_string()).map(String::as_str)
    }

    /// Whether a call that gave `returned` was accepted, so its arguments
    /// went on: the documented success code, 1 where the spec documents
    /// none (A13), or a value that is no code at all (getVersion's text).
    pub fn accepted(&self, returned: &serde_json::Value) -> bool {
        let Some(code) = returned.as_i64() else {
            return !returned.is_null();
        };
        if self.returns.is_empty() {
            return code == 1;
        }
        self.return_meaning(code) == Some("Success")
    }
}

/// One status code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusCode {
    /// Numeric value of `eventdata.status`.
    pub code: i64,
    /// Short name.
    pub name: String,
    /// Family: init_failure, reconnect, info or success.
    pub kind: String,
}

impl Catalog {
    /// A rule by id.
    pub fn rule(&self, id: &str) -> Option<&RuleEntry> {
        self.rules.iter().find(|r| r.id == id)
    }
}

/// One external-data field.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtdataField {
    /// Numeric field id.
    pub id: u32,
    /// Field name as it appears in sessionextdata.
    pub name: String,
}

/// The whole catalogue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Catalog {
    /// Title and version of the spec the catalogue was written from.
    pub spec: String,
    /// Definitions generated schemas share.
    pub defs: Defs,
    /// The shape of eventdata.
    pub eventdata: EventdataSpec,
    /// Every media/eventtype pair.
    pub events: Vec<EventEntry>,
    /// Every SDK method.
    pub methods: Vec<MethodEntry>,
    /// Every status code.
    pub status_codes: Vec<StatusCode>,
    /// Every external-data field.
    pub extdata_fields: Vec<ExtdataField>,
    /// Contract rules cases are tagged with.
    #[serde(default)]
    pub rules: Vec<RuleEntry>,
    /// The host page's configuration (the page's `extdata`).
    #[serde(default)]
    pub host_config: Vec<HostConfigField>,
    /// What `certify` checks on an integrator's page.
    #[serde(default)]
    pub page_checks: Vec<PageCheckEntry>,
    /// How the values of the common eventdata fields are judged on events
    /// the widget makes (a server event's fields are judged against the
    /// server's frame).
    #[serde(default)]
    pub common_values: std::collections::BTreeMap<String, FieldValue>,
}

/// One field of the host page's `extdata`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostConfigField {
    /// Field name.
    pub name: String,
    /// JSON type it must have.
    #[serde(rename = "type")]
    pub ty: String,
    /// Whether it names an element the page must have.
    pub container: bool,
    /// One line for reports.
    pub summary: String,
}

/// One check on an integrator's page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PageCheckEntry {
    /// Stable id, used in reports and in the faulty pages' names.
    pub id: String,
    /// `required` (a failure means not certified) or `advisory`.
    pub grade: String,
    /// The spec section the check comes from.
    pub section: String,
    /// One line for reports.
    pub summary: String,
}

/// A contract rule: what cases name in their `rules:` tags, so coverage
/// can tell which rules no case exercises.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleEntry {
    /// Stable id, used in failures and tags.
    pub id: String,
    /// `trace` (the rule engine checks it on every trace) or `case` (a
    /// case's own steps and expectations check it).
    pub checked_by: String,
    /// One line for reports.
    pub summary: String,
}

impl Catalog {
    /// The catalogue built into this binary.
    ///
    /// # Errors
    /// [`CatalogError`] when the embedded file is missing or malformed, which
    /// only a broken build can cause (a test parses it).
    pub fn embedded() -> Result<Self, CatalogError> {
        Self::from_yaml(bundle::text("catalog.yaml").ok_or(CatalogError::Missing)?)
    }

    /// Parses a catalogue from YAML text.
    ///
    /// # Errors
    /// [`CatalogError::Malformed`] with the YAML location.
    pub fn from_yaml(text: &str) -> Result<Self, CatalogError> {
        Ok(crate::yaml::from_str(text)?)
    }

    /// The page check with this id.
    pub fn page_check(&self, id: &str) -> Option<&PageCheckEntry> {
        self.page_checks.iter().find(|c| c.id == id)
    }

    /// The entry for a pair in its canonical spelling.
    pub fn event(&self, media: &str, eventtype: &str) -> Option<&EventEntry> {
        self.events
            .iter()
            .find(|e| e.media == media && e.eventtype == eventtype)
    }

    /// The entry for a pair, accepting the spec's alternative spellings.
    pub fn event_or_alias(&self, media: &str, eventtype: &str) -> Option<&EventEntry> {
        self.event(media, eventtype).or_else(|| {
            self.events
                .iter()
                .find(|e| e.media == media && e.aliases.iter().any(|a| a == eventtype))
        })
    }

    /// The entry for a method by name.
    pub fn method(&self, name: &str) -> Option<&MethodEntry> {
        self.methods.iter().find(|m| m.name == name)
    }

    /// The entry for a status code.
    pub fn status(&self, code: i64) -> Option<&StatusCode> {
        self.status_codes.iter().find(|s| s.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_accepted_by_its_documented_success_code_or_a_value() {
        use serde_json::json;
        let cat = Catalog::embedded().unwrap();
        let m = |name: &str| cat.method(name).unwrap();
        assert!(m("ChatBotDataPush").accepted(&json!(1)));
        assert!(!m("ChatBotDataPush").accepted(&json!(0)));
        assert!(!m("SendChatMessage").accepted(&json!(3)));
        // No documented codes: 1 or 2 (A13).
        assert!(m("EndSession").accepted(&json!(1)));
        assert!(!m("EndSession").accepted(&json!(2)));
        assert!(m("getVersion").accepted(&json!("2.0.0")));
        assert!(!m("getVersion").accepted(&json!(null)));
    }

    #[test]
    fn embedded_catalogue_parses_and_has_no_duplicates() {
        let cat = Catalog::embedded().expect("catalogue parses");
        let mut keys: Vec<String> = cat.events.iter().map(EventEntry::key).collect();
        keys.sort();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len(), "duplicate media/eventtype pair");
        let mut names: Vec<&str> = cat.methods.iter().map(|m| m.name.as_str()).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate method");
    }

    #[test]
    fn method_events_name_catalogue_events() {
        let cat = Catalog::embedded().unwrap();
        for m in &cat.methods {
            for key in &m.events {
                let (media, eventtype) = key.split_once('/').expect("media/eventtype");
                assert!(
                    cat.event(media, eventtype).is_some(),
                    "{} leads to unknown event {key}",
                    m.name
                );
            }
        }
    }

    #[test]
    fn method_and_event_frames_are_widget_frames_and_every_widget_frame_has_a_sender() {
        let cat = Catalog::embedded().unwrap();
        let schemas = crate::Contract::embedded().unwrap();
        let senders = cat
            .methods
            .iter()
            .map(|m| (m.name.clone(), &m.frames))
            .chain(
                cat.events
                    .iter()
                    .map(|e| (format!("{}/{}", e.media, e.eventtype), &e.frames)),
            );
        for (name, frames) in senders {
            for kind in frames {
                assert_eq!(
                    schemas.frame_direction(kind),
                    Some(crate::Direction::Widget),
                    "{name} sends {kind}, which is not a widget frame of the wire protocol"
                );
            }
        }
        for path in schemas.paths() {
            if let Some(kind) = path
                .strip_prefix("wire/frames/")
                .and_then(|p| p.strip_suffix(".schema.json"))
            {
                if schemas.frame_direction(kind) == Some(crate::Direction::Widget) {
                    assert!(
                        cat.methods
                            .iter()
                            .any(|m| m.frames.iter().any(|f| f == kind))
                            || cat
                                .events
                                .iter()
                                .any(|e| e.frames.iter().any(|f| f == kind)),
                        "no method or event sends {kind}"
                    );
                }
            }
        }
    }

    #[test]
    fn aliases_resolve_to_canonical_entry() {
        let cat = Catalog::embedded().unwrap();
        let e = cat.event_or_alias("session", "SDKVERSION").expect("alias");
        assert_eq!(e.eventtype, "SDKVersion");
        assert!(cat.event("session", "SDKVERSION").is_none());
    }
}
