//! Mutants: faulty widget builds, each the reference build with one small,
//! named fault applied by text edits (`fixtures/mutants/*.yaml`, schema
//! `schemas/mutant.schema.json`). Kept as edits rather than copies so they
//! follow the reference as it evolves; an edit that no longer applies makes
//! its mutant stale, which is an error, never a silent survivor.

use std::path::Path;

use include_dir::{Dir, include_dir};
use jodo_contract::Contract;
use serde::{Deserialize, Serialize};

static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../fixtures/mutants");

/// One faulty build, as its file describes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mutant {
    /// Equal to the file name.
    pub name: String,
    /// Where the fault lies (return codes, urls, sequencing, …).
    pub area: String,
    /// The check a case must name when it catches this mutant.
    pub breaks: String,
    /// The fault, in a sentence.
    pub summary: String,
    /// The engines the fault shows in, for a fault behind an engine's
    /// feature; empty for every engine. Elsewhere the build must pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub engines: Vec<String>,
    /// Text edits applied to the reference build.
    pub edits: Vec<Edit>,
}

/// One text edit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Edit {
    /// Text that occurs exactly once in the reference build.
    pub find: String,
    /// What it becomes.
    pub replace: String,
}

/// Why mutants cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MutantError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or folder.
        path: String,
        /// OS error.
        source: std::io::Error,
    },
    /// A file is not a valid mutant.
    #[error("{origin}: {problems}")]
    Invalid {
        /// The file.
        origin: String,
        /// What is wrong, with lines.
        problems: String,
    },
    /// An edit does not apply to the current reference build.
    #[error(
        "mutant {name} is stale: edit {index} finds its text {count} times in the reference build (it must be exactly once); update fixtures/mutants/{name}.yaml"
    )]
    Stale {
        /// The mutant.
        name: String,
        /// Which edit (from 0).
        index: usize,
        /// How often its text occurs.
        count: usize,
    },
}

impl Mutant {
    /// Whether the fault shows in this engine (a `BrowserKind` label).
    pub fn shows_in(&self, engine: &str) -> bool {
        self.engines.is_empty() || self.engines.iter().any(|e| e == engine)
    }

    /// The reference build with this mutant's fault.
    ///
    /// # Errors
    /// [`MutantError::Stale`] when an edit's text does not occur exactly once.
    pub fn apply(&self, reference: &str) -> Result<String, MutantError> {
        let mut source = reference.to_owned();
        for (index, edit) in self.edits.iter().enumerate() {
            let count = source.matches(edit.find.as_str()).count();
            if count != 1 {
                return Err(MutantError::Stale {
                    name: self.name.clone(),
                    index,
                    count,
                });
            }
            source = source.replacen(edit.find.as_str(), &edit.replace, 1);
        }
        Ok(source)
    }
}

/// Parses and checks one mutant file.
///
/// # Errors
/// [`MutantError::Invalid`] naming the line and field.
pub fn parse(
    text: &str,
    origin: &str,
    file_name: Option<&str>,
    schemas: &Contract,
) -> Result<Mutant, MutantError> {
    let invalid = |problems: String| MutantError::Invalid {
        origin: origin.to_owned(),
        problems,
    };
    let mutant: Mutant = jodo_contract::checked::load(text, "mutant.schema.json", schemas)
        .map_err(|e| invalid(e.to_string()))?
        .value;
    if let Some(name) = file_name {
        if name != mutant.name {
            return Err(invalid(format!(
                "name {:?} does not match the file name {name:?}",
                mutant.name
            )));
        }
    }
    Ok(mutant)
}

/// The mutants kept with the kit (`fixtures/mutants/`), sorted by name.
///
/// # Errors
/// [`MutantError`] for a file that is not a valid mutant.
pub fn builtin(schemas: &Contract) -> Result<Vec<Mutant>, MutantError> {
    let mut mutants = Vec::new();
    for file in BUILTIN.files() {
        let name = file.path().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".yaml") {
            let text = file.contents_utf8().unwrap_or_default();
            mutants.push(parse(text, &name, Some(stem), schemas)?);
        }
    }
    mutants.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(mutants)
}

/// Every `*.yaml` mutant in a folder, sorted by name.
///
/// # Errors
/// [`MutantError`] for an unreadable folder or an invalid file.
pub fn from_dir(dir: &Path, schemas: &Contract) -> Result<Vec<Mutant>, MutantError> {
    let read_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| MutantError::Read { path, source }
    };
    let mut mutants = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err(dir))? {
        let path = entry.map_err(read_err(dir))?.path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = jodo_contract::yaml::read_data_file(&path).map_err(read_err(&path))?;
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            mutants.push(parse(
                &text,
                &path.display().to_string(),
                stem.as_deref(),
                schemas,
            )?);
        }
    }
    mutants.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(mutants)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERENCE: &str = include_str!("../../fixtures/widget/ext_integration-2.0.js");

    #[test]
    fn every_builtin_mutant_applies_to_the_reference_and_changes_it() {
        let schemas = Contract::embedded().unwrap();
        let mutants = builtin(&schemas).unwrap_or_else(|e| panic!("{e}"));
        assert!(mutants.len() >= 30, "{}", mutants.len());
        for m in &mutants {
            let changed = m.apply(REFERENCE).unwrap_or_else(|e| panic!("{e}"));
            assert_ne!(changed, REFERENCE, "{} changes nothing", m.name);
        }
    }

    #[test]
    fn a_stale_or_malformed_mutant_is_an_error_that_says_why() {
        let schemas = Contract::embedded().unwrap();
        let text = "name: gone\narea: schema\nbreaks: schema\nsummary: s\nedits:\n  - find: \"no such text\"\n    replace: x\n";
        let m = parse(text, "gone.yaml", Some("gone"), &schemas).unwrap();
        let err = m.apply(REFERENCE).unwrap_err().to_string();
        assert!(err.contains("stale") && err.contains("0 times"), "{err}");
        let err = parse(
            "name: x\narea: a\nbreaks: b\nsummary: s\nedits: []\n",
            "x.yaml",
            Some("x"),
            &schemas,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 5"), "{err}");
        let err = parse(text, "other.yaml", Some("other"), &schemas)
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not match the file name"), "{err}");
    }
}
