//! Case matrices: one file (schema `schemas/case-matrix.schema.json`) that
//! stands for every combination of its axes, so that "every media × every
//! answer × every ending" is written once and cannot drift between copies.
//! Each generated case is checked exactly as a case file is.

use std::collections::BTreeMap;

use jodo_contract::Contract;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Case, CaseError};

/// A matrix file, as written.
#[derive(Debug, Deserialize)]
struct MatrixFile {
    matrix: String,
    // `title` is for people; the schema requires it, the engine needs none.
    axes: Vec<Axis>,
    #[serde(default)]
    exclude: Vec<BTreeMap<String, String>>,
    case: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
struct Axis {
    name: String,
    values: Vec<AxisValue>,
}

#[derive(Debug, Deserialize)]
struct AxisValue {
    id: String,
    #[serde(default)]
    vars: Map<String, Value>,
    #[serde(default)]
    steps: Vec<Value>,
    #[serde(default)]
    expect: Map<String, Value>,
    #[serde(default)]
    rules: Vec<String>,
    #[serde(default)]
    only: BTreeMap<String, Vec<String>>,
}

/// The cases a matrix file stands for, in the order of its combinations.
///
/// # Errors
/// [`CaseError::Invalid`] naming the line of a problem in the matrix
/// itself, or the combination and field of a generated case that is not a
/// valid case.
pub fn expand(
    text: &str,
    origin: &str,
    file_name: Option<&str>,
    schemas: &Contract,
) -> Result<Vec<Case>, CaseError> {
    use jodo_contract::checked::{self, CheckedError};
    let invalid = |problems| CaseError::Invalid {
        origin: origin.to_owned(),
        problems,
    };
    let checked::Checked {
        value: file,
        positions,
    } = checked::load::<MatrixFile>(text, "case-matrix.schema.json", schemas).map_err(
        |e| match e {
            CheckedError::Syntax(e) => invalid(vec![e.to_string()]),
            CheckedError::Invalid(problems) => invalid(problems),
        },
    )?;
    let problems = consistency(&file, file_name);
    if !problems.is_empty() {
        return Err(invalid(
            problems.into_iter().map(|p| positions.locate(p)).collect(),
        ));
    }
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    for combination in combinations(&file) {
        let label = combination
            .iter()
            .map(|(axis, value)| format!("{}={}", axis.name, value.id))
            .collect::<Vec<_>>()
            .join(", ");
        let generated = match instantiate(&file, &combination) {
            Ok(v) => v,
            Err(p) => {
                problems.extend(p.into_iter().map(|p| format!("{label}: {p}")));
                continue;
            }
        };
        match super::from_value(generated, schemas) {
            Ok(case) => cases.push(case),
            Err(p) => problems.extend(p.into_iter().map(|p| format!("{label}: {p}"))),
        }
    }
    let mut seen = BTreeMap::new();
    for case in &cases {
        if seen.insert(case.id.clone(), ()).is_some() {
            problems.push(format!(
                "two combinations make the case id {:?}: the id template must hold every axis",
                case.id
            ));
        }
    }
    if problems.is_empty() {
        Ok(cases)
    } else {
        Err(invalid(problems))
    }
}

/// What the schema cannot say: the name matches the file, names are
/// unique, and every axis and value named in `only`, `exclude` and splices
/// exists.
fn consistency(file: &MatrixFile, file_name: Option<&str>) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(name) = file_name {
        if name != file.matrix {
            problems.push(format!(
                "at /matrix: {:?} does not match the file name {name:?}",
                file.matrix
            ));
        }
    }
    let axis = |name: &str| file.axes.iter().find(|a| a.name == name);
    let known = |name: &str, value: &str| {
        axis(name).is_some_and(|a| a.values.iter().any(|v| v.id == value))
    };
    for (i, a) in file.axes.iter().enumerate() {
        if file.axes[..i].iter().any(|b| b.name == a.name) {
            problems.push(format!(
                "at /axes/{i}/name: the axis {:?} is named twice",
                a.name
            ));
        }
        for (j, v) in a.values.iter().enumerate() {
            if a.values[..j].iter().any(|w| w.id == v.id) {
                problems.push(format!(
                    "at /axes/{i}/values/{j}/id: {:?} is a value of {:?} twice",
                    v.id, a.name
                ));
            }
            for (other, values) in &v.only {
                for value in values {
                    if other == &a.name || !known(other, value) {
                        problems.push(format!(
                            "at /axes/{i}/values/{j}/only/{other}: {other}={value} is not a value of another axis"
                        ));
                    }
                }
            }
        }
    }
    for (i, entry) in file.exclude.iter().enumerate() {
        for (name, value) in entry {
            if !known(name, value) {
                problems.push(format!(
                    "at /exclude/{i}/{name}: {name}={value} is not a value of an axis"
                ));
            }
        }
    }
    let steps = file.case.get("steps").and_then(Value::as_array);
    for (i, step) in steps.into_iter().flatten().enumerate() {
        if let Some(name) = step.get("axis").and_then(Value::as_str) {
            if axis(name).is_none() {
                problems.push(format!(
                    "at /case/steps/{i}/axis: {name:?} is not an axis of the matrix"
                ));
            }
        }
    }
    problems
}

/// Every combination of one value per axis that no `exclude` entry and no
/// value's `only` leaves out, the first axis varying slowest.
fn combinations(file: &MatrixFile) -> Vec<Vec<(&Axis, &AxisValue)>> {
    let mut all: Vec<Vec<(&Axis, &AxisValue)>> = vec![Vec::new()];
    for axis in &file.axes {
        all = all
            .into_iter()
            .flat_map(|prefix| {
                axis.values.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push((axis, v));
                    next
                })
            })
            .collect();
    }
    let chosen = |combination: &[(&Axis, &AxisValue)], name: &str| {
        combination
            .iter()
            .find(|(a, _)| a.name == name)
            .map(|(_, v)| v.id.clone())
    };
    all.into_iter()
        .filter(|c| {
            let excluded = file.exclude.iter().any(|entry| {
                entry
                    .iter()
                    .all(|(name, value)| chosen(c, name).as_deref() == Some(value))
            });
            let allowed = c.iter().all(|(_, v)| {
                v.only
                    .iter()
                    .all(|(name, values)| chosen(c, name).is_some_and(|id| values.contains(&id)))
            });
            !excluded && allowed
        })
        .collect()
}

/// The case of one combination: splices, merged expectations and rules,
/// then every placeholder filled in.
fn instantiate(
    file: &MatrixFile,
    combination: &[(&Axis, &AxisValue)],
) -> Result<Value, Vec<String>> {
    let mut case = file.case.clone();
    if let Some(Value::Array(steps)) = case.get_mut("steps") {
        let mut spliced = Vec::new();
        for step in steps.drain(..) {
            match step.get("axis").and_then(Value::as_str) {
                Some(name) => {
                    if let Some((_, v)) = combination.iter().find(|(a, _)| a.name == name) {
                        spliced.extend(v.steps.iter().cloned());
                    }
                }
                None => spliced.push(step),
            }
        }
        *steps = spliced;
    }
    let mut expect = match case.remove("expect") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let mut rules: Vec<Value> = match case.remove("rules") {
        Some(Value::Array(r)) => r,
        _ => Vec::new(),
    };
    // `{axis: NAME}` in the template's in_order stands for that value's
    // in_order entries; a value whose axis has no place there appends them.
    let mut placed = Vec::new();
    if let Some(Value::Array(order)) = expect.get_mut("in_order") {
        let mut spliced = Vec::new();
        for entry in order.drain(..) {
            match entry.get("axis").and_then(Value::as_str) {
                Some(name) => {
                    placed.push(name.to_owned());
                    if let Some((_, v)) = combination.iter().find(|(a, _)| a.name == name) {
                        if let Some(Value::Array(more)) = v.expect.get("in_order") {
                            spliced.extend(more.iter().cloned());
                        }
                    }
                }
                None => spliced.push(entry),
            }
        }
        *order = spliced;
    }
    for (axis, value) in combination {
        for (key, more) in &value.expect {
            if key == "in_order" && placed.contains(&axis.name) {
                continue;
            }
            match (expect.get_mut(key), more) {
                (Some(Value::Array(have)), Value::Array(more)) => have.extend(more.iter().cloned()),
                (Some(Value::Object(have)), Value::Object(more)) => {
                    have.extend(more.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                _ => {
                    expect.insert(key.clone(), more.clone());
                }
            }
        }
        for rule in &value.rules {
            let rule = Value::String(rule.clone());
            if !rules.contains(&rule) {
                rules.push(rule);
            }
        }
    }
    if !expect.is_empty() {
        case.insert("expect".into(), Value::Object(expect));
    }
    if !rules.is_empty() {
        case.insert("rules".into(), Value::Array(rules));
    }
    let mut problems = Vec::new();
    let mut value = Value::Object(case);
    fill(&mut value, "", combination, &mut problems);
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(problems)
    }
}

/// Replaces `{{axis}}` and `{{axis.var}}` in every string (keys of
/// objects included, for `counts`); a string that is one placeholder of a
/// var takes the var's value as it is.
fn fill(
    value: &mut Value,
    at: &str,
    combination: &[(&Axis, &AxisValue)],
    problems: &mut Vec<String>,
) {
    match value {
        Value::String(s) => match whole(s) {
            Some(name) => match lookup(name, combination) {
                Some(v) => *value = v,
                None => problems.push(unknown(at, name, combination)),
            },
            None => *s = fill_text(s, at, combination, problems),
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                fill(item, &format!("{at}/{i}"), combination, problems);
            }
        }
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut item) in entries {
                let key = fill_text(&key, at, combination, problems);
                fill(&mut item, &format!("{at}/{key}"), combination, problems);
                map.insert(key, item);
            }
        }
        _ => {}
    }
}

/// `name` when the text is exactly `{{name}}`.
fn whole(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner.trim())
}

fn fill_text(
    text: &str,
    at: &str,
    combination: &[(&Axis, &AxisValue)],
    problems: &mut Vec<String>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        let name = rest[open + 2..open + close].trim();
        match lookup(name, combination) {
            Some(Value::String(s)) => out.push_str(&s),
            Some(other) => out.push_str(&other.to_string()),
            None => problems.push(unknown(at, name, combination)),
        }
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    out
}

/// `axis` is the value's id; `axis.var` one of its vars.
fn lookup(name: &str, combination: &[(&Axis, &AxisValue)]) -> Option<Value> {
    let (axis, var) = match name.split_once('.') {
        Some((a, v)) => (a, Some(v)),
        None => (name, None),
    };
    let (_, value) = combination.iter().find(|(a, _)| a.name == axis)?;
    match var {
        None => Some(Value::String(value.id.clone())),
        Some(var) => value.vars.get(var).cloned(),
    }
}

fn unknown(at: &str, name: &str, combination: &[(&Axis, &AxisValue)]) -> String {
    let known: Vec<String> = combination
        .iter()
        .flat_map(|(a, v)| {
            std::iter::once(a.name.clone()).chain(v.vars.keys().map(|k| format!("{}.{k}", a.name)))
        })
        .collect();
    format!(
        "at {}: {{{{{name}}}}} is not a placeholder of this combination (it has {})",
        if at.is_empty() { "(root)" } else { at },
        known.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MATRIX: &str = r#"
matrix: m
title: t
axes:
  - name: media
    values:
      - {id: voice, vars: {Accept: AcceptVoice}}
      - {id: video, vars: {Accept: AcceptVideo}}
  - name: answer
    values:
      - id: accept
        steps: [{call: "{{media.Accept}}", returns: 1}]
        expect: {in_order: [{event: "{{media}}/accepted"}]}
      - id: never
        only: {media: [voice]}
        expect: {absent: ["{{media}}/accepted"]}
      - id: twice
        steps: [{call: "{{media.Accept}}", returns: 1}, {call: "{{media.Accept}}", returns: 2}]
exclude: [{media: video, answer: twice}]
case:
  id: "m-{{media}}-{{answer}}"
  title: "{{media}} {{answer}}"
  area: "{{media}}"
  scenario: "{{media}}-request"
  steps:
    - call: jodosessioninit
      returns: 1
    - axis: answer
    - wait: session/ended
  expect:
    in_order:
      - event: session/allocated
      - axis: answer
      - event: session/ended
"#;

    #[test]
    fn every_combination_less_the_excluded_is_a_case_filled_in() {
        let schemas = Contract::embedded().unwrap();
        let cases = expand(MATRIX, "m.yaml", Some("m"), &schemas).unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "m-voice-accept",
                "m-voice-never",
                "m-voice-twice",
                "m-video-accept"
            ]
        );
        let video = &cases[3];
        assert_eq!(video.scenario, "video-request");
        assert_eq!(video.steps.len(), 3);
        assert!(
            matches!(&video.steps[1], crate::case::Step::Call { call, .. } if call == "AcceptVideo")
        );
        let order: Vec<&str> = video
            .expect
            .in_order
            .iter()
            .map(|e| e.event.as_str())
            .collect();
        assert_eq!(
            order,
            ["session/allocated", "video/accepted", "session/ended"]
        );
        assert_eq!(cases[1].expect.absent, ["voice/accepted"]);
        assert_eq!(cases[2].steps.len(), 4);
    }

    #[test]
    fn a_broken_matrix_names_the_combination_or_the_line() {
        let schemas = Contract::embedded().unwrap();
        let err = |text: &str| {
            expand(text, "m.yaml", Some("m"), &schemas)
                .unwrap_err()
                .to_string()
        };
        // A placeholder no axis has, in one combination's case.
        let e = err(&MATRIX.replace(
            "{{media.Accept}}\", returns: 2",
            "{{media.Decline}}\", returns: 2",
        ));
        assert!(e.contains("media=voice, answer=twice: at /steps/2/call: {{media.Decline}} is not a placeholder"), "{e}");
        // A generated case that is no case: an event the catalogue lacks.
        let e = err(&MATRIX.replace("\"{{media}}/accepted\"}]", "\"{{media}}/approved\"}]"));
        assert!(
            e.contains("media=voice, answer=accept: line")
                || e.contains("media=voice, answer=accept: at /expect/in_order/1/event"),
            "{e}"
        );
        // An id that does not hold every axis.
        let e = err(&MATRIX.replace("id: \"m-{{media}}-{{answer}}\"", "id: \"m-{{media}}\""));
        assert!(
            e.contains("two combinations make the case id \"m-voice\""),
            "{e}"
        );
        // An axis that does not exist, with its line.
        let e = err(&MATRIX.replace(
            "    - axis: answer\n    - wait",
            "    - axis: answers\n    - wait",
        ));
        assert!(e.contains("line 28, at /case/steps/1/axis"), "{e}");
        let e = err(&MATRIX.replace("matrix: m", "matrix: n"));
        assert!(e.contains("does not match the file name"), "{e}");
    }
}
