//! The one way the kit reads a data file a person wrote (a scenario, a
//! case, a mutant): YAML with positions, then the file kind's JSON Schema,
//! then the typed value, every problem named with its line and field.
//! What the schema cannot say (consistency with the catalogue) each kind
//! checks afterwards, with the same positions.

use serde::de::DeserializeOwned;

use crate::Contract;
use crate::yaml::{self, Positions, YamlError};

/// A data file, read and checked against its schema.
#[derive(Debug)]
pub struct Checked<T> {
    /// The typed value.
    pub value: T,
    /// Lines of its nodes, for problems found later.
    pub positions: Positions,
}

/// Why a data file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CheckedError {
    /// Not YAML.
    #[error(transparent)]
    Syntax(#[from] YamlError),
    /// YAML, but not of its kind: every problem, each `line N, at POINTER: message`.
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// Reads `text` as a `T` checked against `schema` (a path under `schemas/`).
///
/// # Errors
/// [`CheckedError`] listing every problem with its line.
pub fn load<T: DeserializeOwned>(
    text: &str,
    schema: &str,
    schemas: &Contract,
) -> Result<Checked<T>, CheckedError> {
    let (value, positions) = yaml::parse(text)?;
    let errors = positions.describe_errors(&schemas.validate(schema, &value));
    if !errors.is_empty() {
        return Err(CheckedError::Invalid(errors));
    }
    let value = yaml::from_value(value, &positions)
        .map_err(|e| CheckedError::Invalid(vec![e.to_string()]))?;
    Ok(Checked { value, positions })
}
