//! Event payloads of a scenario, compiled once into JSON text with holes.
//!
//! A `send:` payload is sent on every matching frame, so it is turned into
//! its JSON text when the scenario is loaded; sending it is then a matter of
//! copying the fixed pieces and escaping the few `{{…}}` values, with no
//! JSON tree built and serialised per frame. Holes only occur inside
//! strings (a filled-in template is always a string), so the result is
//! valid JSON whatever the values are.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::context::Context;

/// A templated event payload: the data as written, and its compiled form.
#[derive(Debug, Clone)]
pub struct Payload {
    data: Map<String, Value>,
    pieces: Vec<Piece>,
}

/// A fixed piece of JSON text, or a value to look up and escape.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    /// A dotted path, split once when the scenario is loaded.
    Hole(Vec<String>),
}

impl Payload {
    /// Compiles a payload.
    pub fn new(data: Map<String, Value>) -> Self {
        let mut compiler = Compiler::default();
        compiler.object(&data);
        compiler.finish();
        Self {
            data,
            pieces: compiler.pieces,
        }
    }

    /// The payload as written in the scenario (templates unfilled).
    pub fn data(&self) -> &Map<String, Value> {
        &self.data
    }

    /// The payload's JSON text with every template filled in from `ctx`.
    pub fn render(&self, ctx: &Context<'_>) -> String {
        let mut out = String::with_capacity(
            self.pieces
                .iter()
                .map(|p| match p {
                    Piece::Text(t) => t.len(),
                    Piece::Hole(_) => 16,
                })
                .sum(),
        );
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Hole(path) => {
                    if let Some(found) = ctx.lookup_parts(path.iter().map(String::as_str)) {
                        escape_into(&mut out, &found.text());
                    }
                }
            }
        }
        out
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.data == other.data
    }
}

impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.data.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Map::deserialize(d).map(Payload::new)
    }
}

/// Splits a template string into literal text and `{{path}}` holes, the
/// way [`render_str`] reads it: an unclosed `{{` is text.
pub fn split(template: &str) -> Vec<(bool, &str)> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        parts.push((false, &rest[..open]));
        parts.push((true, rest[open + 2..open + close].trim()));
        rest = &rest[open + close + 2..];
    }
    parts.push((false, rest));
    parts
}

#[derive(Default)]
struct Compiler {
    pieces: Vec<Piece>,
    text: String,
}

impl Compiler {
    fn value(&mut self, v: &Value) {
        match v {
            Value::String(s) if s.contains("{{") => {
                self.text.push('"');
                for (hole, part) in split(s) {
                    if hole {
                        self.pieces
                            .push(Piece::Text(std::mem::take(&mut self.text)));
                        self.pieces
                            .push(Piece::Hole(part.split('.').map(str::to_owned).collect()));
                    } else {
                        escape_into(&mut self.text, part);
                    }
                }
                self.text.push('"');
            }
            Value::Array(items) => {
                self.text.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.text.push(',');
                    }
                    self.value(item);
                }
                self.text.push(']');
            }
            Value::Object(map) => self.object(map),
            other => self.text.push_str(&other.to_string()),
        }
    }

    fn object(&mut self, map: &Map<String, Value>) {
        self.text.push('{');
        for (i, (key, v)) in map.iter().enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            self.text.push('"');
            escape_into(&mut self.text, key);
            self.text.push_str("\":");
            self.value(v);
        }
        self.text.push('}');
    }

    fn finish(&mut self) {
        if !self.text.is_empty() {
            self.pieces
                .push(Piece::Text(std::mem::take(&mut self.text)));
        }
    }
}

/// Appends `s` escaped as the inside of a JSON string, as serde_json
/// writes it.
fn escape_into(out: &mut String, s: &str) {
    // Most values need no escape; this test runs over whole words.
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
        return;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escaped: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escaped.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escaped);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

pub(crate) fn render_map(data: &Map<String, Value>, ctx: &Context<'_>) -> Map<String, Value> {
    data.iter()
        .map(|(k, v)| (k.clone(), render_value(v, ctx)))
        .collect()
}

fn render_value(v: &Value, ctx: &Context<'_>) -> Value {
    match v {
        Value::String(s) => Value::String(render_str(s, ctx)),
        Value::Array(items) => Value::Array(items.iter().map(|i| render_value(i, ctx)).collect()),
        Value::Object(map) => Value::Object(render_map(map, ctx)),
        other => other.clone(),
    }
}

/// Replaces each `{{dotted.path}}` with the value found in `ctx`; strings are
/// inserted as they are, other values as JSON, missing paths as nothing.
pub fn render_str(template: &str, ctx: &Context<'_>) -> String {
    if !template.contains("{{") {
        return template.to_owned();
    }
    let mut out = String::with_capacity(template.len());
    for (hole, part) in split(template) {
        if !hole {
            out.push_str(part);
            continue;
        }
        if let Some(found) = ctx.lookup(part) {
            out.push_str(&found.text());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn ctx_render(payload: &Value, vars: &Value, frame: &Value) -> String {
        let p = Payload::new(payload.as_object().unwrap().clone());
        let empty = Map::new();
        p.render(&Context {
            session: vars.as_object().unwrap(),
            scenario: &empty,
            frame: Some(frame.into()),
        })
    }

    #[test]
    fn fills_holes_inside_strings_and_keeps_other_values() {
        let text = ctx_render(
            &json!({"media": "chat", "n": 3, "ok": true, "list": [1, "{{agent}}"],
                    "msg": "{{agent}} says {{frame.data.text}}", "nested": {"id": "{{missing}}x"}}),
            &json!({"agent": "Emma \"E\""}),
            &json!({"data": {"text": "a\nb"}}),
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            json!({"media": "chat", "n": 3, "ok": true, "list": [1, "Emma \"E\""],
                   "msg": "Emma \"E\" says a\nb", "nested": {"id": "x"}})
        );
    }

    #[test]
    fn numbers_looked_up_become_strings() {
        let text = ctx_render(&json!({"count": "{{n}}"}), &json!({"n": 7}), &Value::Null);
        assert_eq!(text, r#"{"count":"7"}"#);
    }

    #[test]
    fn an_unclosed_brace_pair_is_text() {
        let text = ctx_render(&json!({"msg": "a {{b"}), &json!({}), &Value::Null);
        assert_eq!(text, r#"{"msg":"a {{b"}"#);
    }

    proptest! {
        #[test]
        fn escaping_matches_serde_json(s in any::<String>()) {
            let mut out = String::from("\"");
            escape_into(&mut out, &s);
            out.push('"');
            prop_assert_eq!(out, serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn a_filled_template_reads_as_the_string_renderer_fills_it(
            text in any::<String>(), key in "k[a-z]{0,7}", literal in any::<String>()
        ) {
            // Whatever the values, the compiled text is valid JSON and holds
            // what the plain string renderer makes of the same template.
            let template = format!("{literal}{{{{frame.t}}}}");
            let payload = json!({ key.clone(): template.clone(), "fixed": literal });
            let frame = json!({"t": text});
            let rendered = ctx_render(&payload, &json!({}), &frame);
            let parsed: Value = serde_json::from_str(&rendered).unwrap();
            let empty = Map::new();
            let ctx = Context { session: &empty, scenario: &empty, frame: Some((&frame).into()) };
            prop_assert_eq!(&parsed[&key], &json!(super::render_str(&template, &ctx)));
            prop_assert_eq!(&parsed["fixed"], &json!(literal));
        }
    }
}
