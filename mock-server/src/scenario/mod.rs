//! Scenarios: per-session state machines written as data in `scenarios/`.
//!
//! [`model`] is the file format, [`engine`] runs one session's instance
//! without any I/O, and this module finds and checks scenario files.

pub mod context;
pub mod engine;
pub mod model;
pub mod template;

use std::path::Path;
use std::sync::Arc;

use include_dir::{Dir, include_dir};
use jodo_contract::Contract;

pub use engine::{Fired, FrameRef, Machine, Step};
pub use model::Scenario;

/// The built-in scenarios, embedded so an installed `jodo-mock` has them.
static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../scenarios");

/// Why a scenario could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Neither a built-in name nor a readable file.
    #[error(
        "no scenario {name:?}: not a built-in (see `jodo-mock scenarios list`) and not a readable file"
    )]
    NotFound {
        /// What was asked for.
        name: String,
    },
    /// The file could not be read.
    #[error("cannot read scenario {path}: {source}")]
    Read {
        /// File path.
        path: String,
        /// OS error.
        source: std::io::Error,
    },
    /// Not YAML (or JSON), with the parser's line and column.
    #[error("{origin}: {message}")]
    Syntax {
        /// File or built-in name.
        origin: String,
        /// Parser message including line and column.
        message: String,
    },
    /// Parsed, but breaks the scenario schema or its own consistency.
    #[error("{origin}: {}", problems.join("; "))]
    Invalid {
        /// File or built-in name.
        origin: String,
        /// Each problem with the field it concerns.
        problems: Vec<String>,
    },
}

/// Names and summaries of the built-in scenarios, sorted by name.
pub fn builtin_names() -> Vec<String> {
    let mut names: Vec<String> = BUILTIN
        .files()
        .filter_map(|f| f.path().to_str())
        .filter_map(|p| p.strip_suffix(".yaml"))
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

/// Loads a built-in scenario by name, or a scenario file by path.
///
/// # Errors
/// [`ScenarioError`] saying what is missing or wrong, with the field concerned.
pub fn load(name_or_path: &str, schemas: &Contract) -> Result<Arc<Scenario>, ScenarioError> {
    if let Some(file) = BUILTIN.get_file(format!("{name_or_path}.yaml")) {
        let text = file.contents_utf8().unwrap_or_default();
        return parse(text, name_or_path, schemas).map(Arc::new);
    }
    let path = Path::new(name_or_path);
    if path.is_file() {
        let text =
            jodo_contract::yaml::read_data_file(path).map_err(|source| ScenarioError::Read {
                path: name_or_path.to_owned(),
                source,
            })?;
        return parse(&text, name_or_path, schemas).map(Arc::new);
    }
    Err(ScenarioError::NotFound {
        name: name_or_path.to_owned(),
    })
}

/// Parses and checks scenario text: YAML syntax, the JSON Schema, then
/// consistency the schema cannot express (states that exist, events the
/// catalogue knows).
///
/// # Errors
/// [`ScenarioError::Syntax`] or [`ScenarioError::Invalid`] naming each problem.
pub fn parse(text: &str, origin: &str, schemas: &Contract) -> Result<Scenario, ScenarioError> {
    use jodo_contract::checked::{self, CheckedError};
    let invalid = |problems| ScenarioError::Invalid {
        origin: origin.to_owned(),
        problems,
    };
    let checked::Checked {
        value: scenario,
        positions,
    } = checked::load::<Scenario>(text, "scenario.schema.json", schemas).map_err(|e| match e {
        CheckedError::Syntax(e) => ScenarioError::Syntax {
            origin: origin.to_owned(),
            message: e.to_string(),
        },
        CheckedError::Invalid(problems) => invalid(problems),
    })?;
    let problems: Vec<String> = scenario
        .consistency_problems(schemas)
        .into_iter()
        .map(|p| positions.locate(p))
        .collect();
    if problems.is_empty() {
        Ok(scenario)
    } else {
        Err(invalid(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_loads() {
        let schemas = Contract::embedded().unwrap();
        let names = builtin_names();
        assert!(names.contains(&"allocated".to_string()));
        for name in names {
            let sc = load(&name, &schemas).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(sc.name, name, "scenario name must match its file name");
        }
    }

    #[test]
    fn broken_files_say_where() {
        let schemas = Contract::embedded().unwrap();
        let err = parse(
            "name: x\ninitial: a\nstates: {a: {on: [{when: sometimes}]}}",
            "t",
            &schemas,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("line 3, at /states/a/on/0/when"),
            "{err}"
        );
        let err = parse("name: x\ninitial: a\nstates:\n  a:\n    on:\n      - when: opened\n        goto: nowhere\n", "t", &schemas).unwrap_err();
        assert!(
            err.to_string().contains("line 7, at /states/a/on/0/goto"),
            "{err}"
        );
        let err = parse("name: x\ninitial: b\nstates: {a: {}}", "t", &schemas).unwrap_err();
        assert!(err.to_string().contains("initial state \"b\""), "{err}");
        let err = parse("name: [x", "t", &schemas).unwrap_err();
        assert!(matches!(err, ScenarioError::Syntax { .. }), "{err}");
        let err = load("no-such-scenario", &schemas).unwrap_err();
        assert!(matches!(err, ScenarioError::NotFound { .. }));
    }
}
