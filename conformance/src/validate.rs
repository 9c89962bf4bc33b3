//! `jodo-conformance validate`: checks JSON documents (one, or JSON lines)
//! against the contract, reporting each error with its JSON pointer and
//! the catalogue entry it concerns.

use std::fmt::Write as _;

use jodo_contract::{Contract, Profile, SchemaError, UnknownKind};
use serde_json::Value;

/// Result of validating a whole input.
#[derive(Debug, Default)]
pub struct Validation {
    /// Documents checked.
    pub documents: usize,
    /// Documents with at least one error.
    pub invalid: usize,
    /// What to print, one line per document or error.
    pub text: String,
}

/// Splits input into documents: one JSON value, or one per non-empty line.
/// A line that is not JSON is returned as its parse error.
pub fn documents(input: &str) -> Vec<(usize, Result<Value, String>)> {
    if let Ok(one) = serde_json::from_str::<Value>(input) {
        return vec![(0, Ok(one))];
    }
    input
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            (
                i + 1,
                serde_json::from_str(l).map_err(|e| format!("not JSON: {e}")),
            )
        })
        .collect()
}

/// Why a validation could not be made (as opposed to a document being invalid).
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// The input is empty.
    #[error("{0} holds no JSON document")]
    Empty(String),
    /// The kind asked for is not one of the contract's.
    #[error(transparent)]
    UnknownKind(#[from] UnknownKind),
}

/// Validates every document of `input` as `kind` in `profile`.
///
/// # Errors
/// [`ValidateError`] when the input is empty or `kind` is unknown.
pub fn run(
    schemas: &Contract,
    input: &str,
    label: &str,
    kind: &str,
    profile: Profile,
) -> Result<Validation, ValidateError> {
    let mut out = Validation::default();
    let docs = documents(input);
    if docs.is_empty() {
        return Err(ValidateError::Empty(label.to_owned()));
    }
    for (line, doc) in docs {
        let at = if line == 0 {
            label.to_owned()
        } else {
            format!("{label}:{line}")
        };
        out.documents += 1;
        let errors = match doc {
            Err(e) => vec![SchemaError {
                pointer: String::new(),
                message: e,
                schema: String::new(),
                entry: None,
            }],
            Ok(doc) => {
                let doc = wrap_single_argument(schemas, kind, doc);
                schemas.validate_kind(kind, &doc, profile)?
            }
        };
        if errors.is_empty() {
            let _ = writeln!(out.text, "{at}: valid {kind} ({})", profile.name());
            continue;
        }
        out.invalid += 1;
        let _ = writeln!(
            out.text,
            "{at}: invalid {kind} ({}), {} error(s)",
            profile.name(),
            errors.len()
        );
        for e in &errors {
            let pointer = if e.pointer.is_empty() {
                "(root)"
            } else {
                &e.pointer
            };
            let _ = write!(out.text, "  {pointer}: {}", e.message);
            if !e.schema.is_empty() {
                let _ = write!(out.text, " [{}]", e.schema);
            }
            let _ = writeln!(out.text);
        }
        if let Some(entry) = errors.iter().find_map(|e| e.entry.as_deref()) {
            let _ = writeln!(out.text, "  concerns {}", describe_entry(schemas, entry));
        }
    }
    Ok(out)
}

/// For a method taking one argument, a bare value stands for `[value]`.
fn wrap_single_argument(schemas: &Contract, kind: &str, doc: Value) -> Value {
    match schemas.catalog().method(kind) {
        Some(m) if m.params.len() == 1 && !doc.is_array() => Value::Array(vec![doc]),
        _ => doc,
    }
}

fn describe_entry(schemas: &Contract, entry: &str) -> String {
    let catalog = schemas.catalog();
    if let Some((media, eventtype)) = entry.split_once('/') {
        if let Some(e) = catalog.event(media, eventtype) {
            return format!("{entry}: {} (spec: {})", e.summary, e.section);
        }
    }
    if let Some(m) = catalog.method(entry) {
        return format!("{}: spec: {}", m.js_path(), m.section);
    }
    entry.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_document_and_json_lines() {
        let s = Contract::embedded().unwrap();
        let good = r#"{"media":"chat","eventtype":"typing","messageid":"a","timestamp":"2025-08-21 11:52:49"}"#;
        let bad = r#"{"media":"chat","eventtype":"typing","messageid":"","timestamp":"2025-08-21 11:52:49"}"#;
        let one = run(&s, good, "x", "eventdata", Profile::Strict).unwrap();
        assert_eq!((one.documents, one.invalid), (1, 0));
        let lines = format!("{good}\n\n{bad}\nnot json\n");
        let many = run(&s, &lines, "x", "eventdata", Profile::Strict).unwrap();
        assert_eq!((many.documents, many.invalid), (3, 2), "{}", many.text);
        assert!(many.text.contains("x:3: invalid"), "{}", many.text);
        assert!(many.text.contains("/messageid"), "{}", many.text);
        assert!(
            many.text
                .contains("concerns chat/typing: The agent is typing."),
            "{}",
            many.text
        );
        assert!(many.text.contains("x:4: invalid"), "{}", many.text);
    }

    #[test]
    fn method_arguments_and_unknown_kinds() {
        let s = Contract::embedded().unwrap();
        let http = run(
            &s,
            r#""http://example.test/a.pdf""#,
            "d",
            "SendDocument",
            Profile::Strict,
        )
        .unwrap();
        assert_eq!(http.invalid, 1, "{}", http.text);
        let compat = run(
            &s,
            r#""http://example.test/a.pdf""#,
            "d",
            "SendDocument",
            Profile::Compat,
        )
        .unwrap();
        assert_eq!(compat.invalid, 0, "{}", compat.text);
        assert!(
            run(&s, "{}", "d", "Nope", Profile::Strict)
                .unwrap_err()
                .to_string()
                .contains("unknown kind")
        );
        assert!(run(&s, "  \n", "d", "eventdata", Profile::Strict).is_err());
    }
}
