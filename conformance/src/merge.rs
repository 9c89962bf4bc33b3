//! `merge`: the report folders of a suite's shards (`run --shard K/N` on a
//! CI matrix) joined into the report one run would have written, with the
//! same cases, counts, coverage and verdict.
//!
//! Shards are parts of one run only if they tested the same build, in the
//! same browser and profile, and no case ran twice: anything else is
//! refused, naming the folders, rather than merged into a report that
//! certifies something no run did.

use std::path::{Path, PathBuf};

use crate::coverage::Coverage;
use crate::report::{Interrupted, RunReport, Summary, Timing};

/// Why shard reports cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("merge needs at least one report folder")]
    Empty,
    /// A folder holds no readable report.json.
    #[error("{dir}: {message}")]
    Unreadable {
        /// The folder.
        dir: String,
        /// Why.
        message: String,
    },
    /// Two folders are not shards of one run.
    #[error("{first} and {other} are not shards of one run: {what} differ ({a} against {b})")]
    Mismatch {
        /// The first folder.
        first: String,
        /// The folder that differs.
        other: String,
        /// What differs.
        what: &'static str,
        /// Its value in the first.
        a: String,
        /// Its value in the other.
        b: String,
    },
    /// A case ran in two shards.
    #[error("case {case} is in both {first} and {other}: shards of one run share no case")]
    Overlap {
        /// The case.
        case: String,
        /// One folder.
        first: String,
        /// The other.
        other: String,
    },
    /// A self-test report (its kill matrix is one build's whole run).
    #[error("{dir} is a self-test report; kill matrices are not merged")]
    SelfTest {
        /// The folder.
        dir: String,
    },
}

/// Reads `DIR/report.json`, checked against the report schema.
///
/// # Errors
/// [`MergeError::Unreadable`] saying what is wrong with it.
pub fn read(dir: &Path) -> Result<RunReport, MergeError> {
    let shown = dir.display().to_string();
    let unreadable = |message: String| MergeError::Unreadable {
        dir: shown.clone(),
        message,
    };
    let file = dir.join("report.json");
    let text = std::fs::read_to_string(&file)
        .map_err(|e| unreadable(format!("cannot read report.json: {e}")))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| unreadable(format!("report.json is not JSON: {e}")))?;
    let schemas = jodo_contract::Contract::embedded()
        .map_err(|e| unreadable(format!("the contract does not load: {e}")))?;
    if let Some(problem) = schemas.validate("report.schema.json", &value).first() {
        return Err(unreadable(format!(
            "report.json does not match the report schema at {}: {}",
            problem.pointer, problem.message
        )));
    }
    serde_json::from_value(value).map_err(|e| unreadable(format!("report.json: {e}")))
}

/// Joins shard reports into one.
///
/// # Errors
/// [`MergeError`] when they are not shards of one run.
pub fn merge(parts: Vec<(PathBuf, RunReport)>) -> Result<RunReport, MergeError> {
    let mut parts = parts.into_iter();
    let (first_dir, first) = parts.next().ok_or(MergeError::Empty)?;
    let first_name = first_dir.display().to_string();
    let mut all = vec![(first_name.clone(), first)];
    for (dir, report) in parts {
        all.push((dir.display().to_string(), report));
    }
    let base = &all[0].1;
    for (dir, report) in &all {
        if report.kill_matrix.is_some() {
            return Err(MergeError::SelfTest { dir: dir.clone() });
        }
        let checks: [(&'static str, String, String); 4] = [
            (
                "the builds",
                base.widget.sha256.clone(),
                report.widget.sha256.clone(),
            ),
            (
                "the browsers",
                base.browser.name.clone(),
                report.browser.name.clone(),
            ),
            ("the profiles", base.profile.clone(), report.profile.clone()),
            (
                "the tool versions",
                base.tool_version.clone(),
                report.tool_version.clone(),
            ),
        ];
        for (what, a, b) in checks {
            if a != b {
                return Err(MergeError::Mismatch {
                    first: first_name.clone(),
                    other: dir.clone(),
                    what,
                    a,
                    b,
                });
            }
        }
    }
    let mut cases = Vec::new();
    let mut owner: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for (dir, report) in &all {
        for case in &report.cases {
            if let Some(first) = owner.insert(case.id.clone(), dir.clone()) {
                return Err(MergeError::Overlap {
                    case: case.id.clone(),
                    first,
                    other: dir.clone(),
                });
            }
            cases.push(case.clone());
        }
    }
    // A single run reports its cases in selection order, which is by id.
    cases.sort_by(|a, b| a.id.cmp(&b.id));
    // The shards ran side by side: the run took as long as the longest.
    let wall = all.iter().map(|(_, r)| r.duration_ms).max().unwrap_or(0);
    let not_run: usize = all
        .iter()
        .filter_map(|(_, r)| r.interrupted.as_ref().map(|i| i.cases_not_run))
        .sum();
    let any_interrupted = all.iter().any(|(_, r)| r.interrupted.is_some());
    let started_at = all
        .iter()
        .map(|(_, r)| r.started_at.clone())
        .min()
        .unwrap_or_default();
    let sdk_version = all.iter().find_map(|(_, r)| r.widget.sdk_version.clone());
    let base = all[0].1.clone();
    Ok(RunReport {
        started_at,
        duration_ms: wall,
        widget: crate::report::WidgetInfo {
            sdk_version,
            ..base.widget
        },
        jobs: all.iter().map(|(_, r)| r.jobs).sum(),
        summary: Summary::of(&cases),
        timing: Timing::of(&cases, std::time::Duration::from_millis(wall)),
        coverage: Coverage::union(all.iter().map(|(_, r)| &r.coverage)),
        interrupted: any_interrupted.then_some(Interrupted {
            cases_not_run: not_run,
        }),
        cases,
        ..base
    })
}
