//! `--expectations FILE`: the known results of a build, as wptrunner keeps
//! them, so a team can gate on "nothing new broke" before everything passes.
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
pub struct Expectations {
    by_case: BTreeMap<String, Outcome>,
}

/// Why an expectations file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ExpectationsError {
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
        "expectations file {path}: {message} (expected lines like `case-id: fail`; outcomes: fail, error, timeout, non_strict, pass)"
    )]
    Malformed {
        /// The file.
        path: String,
        /// Parser message, with its line.
        message: String,
    },
}

impl Expectations {
    /// Reads a YAML (or JSON) file.
    ///
    /// # Errors
    /// [`ExpectationsError`] naming the file and the problem.
    pub fn from_file(path: &Path) -> Result<Self, ExpectationsError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ExpectationsError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ExpectationsError::Malformed {
            path: shown,
            message,
        })
    }

    /// Parses the file's text.
    ///
    /// # Errors
    /// The parser's message.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let by_case: BTreeMap<String, Outcome> =
            serde_norway::from_str(text).map_err(|e| e.to_string())?;
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
        let e = Expectations::parse("a: fail\nb: non_strict\nc: pass\n").unwrap();
        assert_eq!(e.expected("a"), Some(Outcome::Fail));
        assert_eq!(e.expected("b"), Some(Outcome::NonStrict));
        assert_eq!(e.expected("c"), None);
        assert_eq!(e.expected("d"), None);
        assert_eq!(e.unknown(&["a", "b"]), vec!["c"]);
        let err = Expectations::parse("a: broken\n").unwrap_err();
        assert!(err.contains("broken") || err.contains("variant"), "{err}");
        assert!(Expectations::parse("- a\n").is_err());
        assert!(Expectations::parse("").unwrap().expected("a").is_none());
    }
}
