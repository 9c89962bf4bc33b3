//! The field view of the catalogue: for every eventdata field, how its
//! *value* is judged. A schema says a `msg` is a string; a build that puts
//! the wrong string there passes it. So every field an event carries must
//! have a value rule, be fixed by its schema, or name the ambiguity entry
//! that says why only its type can be judged; `coverage --fields` prints
//! this view and fails on a field with none.

use serde::Serialize;
use serde_json::Value;

use crate::catalog::{Catalog, EventEntry, FieldValue, Source};

/// The rule that judges what the server sent against what the page got.
pub const SERVER_VALUES: &str = "server-values";

/// How one field of one event is judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldRow {
    /// `media/eventtype`.
    pub event: String,
    /// The field.
    pub field: String,
    /// Whether the event's schema fixes the value (a `const`, or the
    /// event's own media and eventtype).
    pub fixed: bool,
    /// Rules that judge the value.
    pub rules: Vec<String>,
    /// Where the value comes from, in words (`argument 0 of SendDocument`).
    pub source: Option<String>,
    /// The ambiguity entry that says why only the type is judged.
    pub reason: Option<String>,
}

impl FieldRow {
    /// Whether anything judges the value or says why nothing can.
    pub fn accounted_for(&self) -> bool {
        self.fixed || !self.rules.is_empty() || self.reason.is_some()
    }
}

/// Every field of every event: the common ones each event must carry,
/// the event's own, and the common ones it names as its own.
pub fn rows(catalog: &Catalog) -> Vec<FieldRow> {
    let mut rows = Vec::new();
    for event in &catalog.events {
        let mut fields: Vec<&str> = catalog
            .eventdata
            .required
            .iter()
            .map(String::as_str)
            .collect();
        for f in event.fields.keys().chain(&event.required) {
            if !fields.contains(&f.as_str()) {
                fields.push(f);
            }
        }
        for field in fields {
            rows.push(row(catalog, event, field));
        }
    }
    rows
}

fn row(catalog: &Catalog, event: &EventEntry, field: &str) -> FieldRow {
    let mut out = FieldRow {
        event: event.key(),
        field: field.to_owned(),
        fixed: field == "media" || field == "eventtype" || is_const(event.fields.get(field)),
        rules: Vec::new(),
        source: None,
        reason: None,
    };
    let from_server = event.source.contains(&Source::Server);
    let from_widget = event.source.contains(&Source::Widget);
    // What the server sends reaches the page unchanged, its messageid too;
    // the widget stamps the time itself.
    if from_server && field != "timestamp" && !out.fixed {
        out.rules.push(SERVER_VALUES.to_owned());
    }
    let own = event.values.get(field);
    let common = catalog.common_values.get(field);
    // An event the widget makes: its own entry, or the common one.
    let judged: Option<&FieldValue> = if from_widget || field == "timestamp" || field == "messageid"
    {
        own.or(common)
    } else {
        own
    };
    if let Some(v) = judged {
        for rule in &v.rules {
            if !out.rules.contains(rule) {
                out.rules.push(rule.clone());
            }
        }
        out.source = describe(v);
        if out.rules.is_empty() && !out.fixed {
            out.reason.clone_from(&v.reason);
        }
    }
    out
}

fn is_const(schema: Option<&Value>) -> bool {
    schema.is_some_and(|s| {
        s.get("const").is_some()
            || s.get("enum")
                .and_then(Value::as_array)
                .is_some_and(|e| e.len() == 1)
    })
}

fn describe(v: &FieldValue) -> Option<String> {
    if let Some((method, index)) = &v.arg {
        return Some(format!("argument {index} of {method}"));
    }
    if let Some((kind, field)) = &v.frame {
        return Some(format!("{field} of the server's {kind} frame"));
    }
    v.returned_by.as_ref().map(|m| format!("what {m} returned"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_of_the_catalogue_is_judged_or_has_a_reason() {
        let catalog = Catalog::embedded().unwrap();
        let rows = rows(&catalog);
        assert!(rows.len() > 76 * 4, "{}", rows.len());
        let loose: Vec<String> = rows
            .iter()
            .filter(|r| !r.accounted_for())
            .map(|r| format!("{} {}", r.event, r.field))
            .collect();
        assert_eq!(loose, Vec::<String>::new());
        let rule_ids: Vec<&str> = catalog.rules.iter().map(|r| r.id.as_str()).collect();
        for r in &rows {
            for rule in &r.rules {
                assert!(
                    rule_ids.contains(&rule.as_str()),
                    "{} {}: {rule}",
                    r.event,
                    r.field
                );
            }
        }
        let register = crate::bundle::text("AMBIGUITIES.md").unwrap();
        for r in rows.iter().filter_map(|r| r.reason.as_ref()) {
            assert!(
                register.contains(&format!("## {r} ")),
                "{r} is not in AMBIGUITIES.md"
            );
        }
    }

    #[test]
    fn a_visitor_field_names_the_argument_it_echoes() {
        let catalog = Catalog::embedded().unwrap();
        let rows = rows(&catalog);
        let url = rows
            .iter()
            .find(|r| r.event == "documentpush/sent" && r.field == "url")
            .unwrap();
        assert_eq!(url.rules, ["sent-values"]);
        assert_eq!(url.source.as_deref(), Some("argument 0 of SendDocument"));
        let position = rows
            .iter()
            .find(|r| r.event == "session/allusersbusy" && r.field == "messageid")
            .unwrap();
        assert_eq!(position.rules, ["server-values", "unique-messageid"]);
    }
}
