//! `--expectations FILE`: the known results of a build, as wptrunner keeps
//! them, so a team can gate on "nothing new broke" before everything passes.
//! (Not to be confused with a case's own `expect:` block, which
//! [`crate::checks::expect`] checks.)
//!
//! The file maps case ids to the outcome expected instead of a pass:
//!
//! ```yaml
//! chat-length-codes: fail      # SDK-123: counts UTF-16 units
//! session-allocated: non_strict
//! ```
//!
//! A listed case that now passes is reported as an unexpected pass, so the
//! file never silently goes stale.

use std::collections::BTreeMap;
use std::path::Path;

use crate::report::Outcome;

/// Expected outcomes by case id; a case not listed is expected to pass.
#[derive(Debug, Clone, Default)]
pub struct KnownResults {
    by_case: BTreeMap<String, Outcome>,
}

/// Why an expectations file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KnownResultsError {
    /// Unreadable.
    #[error("cannot read expectations file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// OS error.
        source: std::io::Error,
    },
    /// Not a map of case ids to outcomes.
    #[error(
        "expectations file {path}: {source} (expected lines like `case-id: fail`; outcomes: fail, error, timeout, non_strict, pass)"
    )]
    Malformed {
        /// The file.
        path: String,
        /// The parser's error, with its line.
        source: jodo_contract::yaml::YamlError,
    },
}

impl KnownResults {
    /// Reads a YAML (or JSON) file.
    ///
    /// # Errors
    /// [`KnownResultsError`] naming the file and the problem.
    pub fn from_file(path: &Path) -> Result<Self, KnownResultsError> {
        let shown = path.display().to_string();
        let text = jodo_contract::yaml::read_data_file(path).map_err(|source| {
            KnownResultsError::Read {
                path: shown.clone(),
                source,
            }
        })?;
        Self::parse(&text).map_err(|source| KnownResultsError::Malformed {
            path: shown,
            source,
        })
    }

    /// Parses the file's text.
    ///
    /// # Errors
    /// The parser's error, which names the line.
    pub fn parse(text: &str) -> Result<Self, jodo_contract::yaml::YamlError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let by_case: BTreeMap<String, Outcome> = jodo_contract::yaml::from_str(text)?;
        Ok(Self { by_case })
    }

    /// The outcome expected of a case, when it is not a pass.
    pub fn expected(&self, case: &str) -> Option<Outcome> {
        self.by_case
            .get(case)
            .copied()
            .filter(|o| *o != Outcome::Pass)
    }

    /// Listed ids that are not among these cases (a stale file).
    pub fn unknown<'a>(&'a self, ids: &[&str]) -> Vec<&'a str> {
        self.by_case
            .keys()
            .map(String::as_str)
            .filter(|id| !ids.contains(id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_outcomes_and_rejects_unknown_ones() {
        let e = KnownResults::parse("a: fail\nb: non_strict\nc: pass\n").unwrap();
        assert_eq!(e.expected("a"), Some(Outcome::Fail));
        assert_eq!(e.expected("b"), Some(Outcome::NonStrict));
        assert_eq!(e.expected("c"), None);
        assert_eq!(e.expected("d"), None);
        assert_eq!(e.unknown(&["a", "b"]), vec!["c"]);
        let err = KnownResults::parse("a: broken\n").unwrap_err().to_string();
        assert!(err.contains("broken") || err.contains("variant"), "{err}");
        assert!(KnownResults::parse("- a\n").is_err());
        assert!(KnownResults::parse("").unwrap().expected("a").is_none());
    }
}
