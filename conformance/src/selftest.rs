//! `jodo-conformance selftest`: the suite judged by the faults it catches,
//! as mutation testing judges a test suite. The reference build must pass
//! every case; each mutant must fail at least one case whose failure names
//! the check the mutant's file says it breaks.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::mutant::{Mutant, MutantError};
use crate::report::{CaseReport, Outcome, RunReport};
use crate::runner::{self, FailFast, RunError, RunOptions};

/// How one mutant fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A case failed and named the broken check.
    Killed,
    /// Cases failed, but none named the check the mutant breaks.
    KilledUnnamed,
    /// Every case passed: the suite misses this fault.
    Survived,
}

/// One row of the kill matrix.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MutantResult {
    /// Mutant name.
    pub name: String,
    /// Its area.
    pub area: String,
    /// The check it breaks.
    pub breaks: String,
    /// The fault.
    pub summary: String,
    /// Cases that did not pass on it.
    pub failed_cases: Vec<String>,
    /// Of those, the cases whose failures name `breaks`.
    pub naming_cases: Vec<String>,
    /// The verdict.
    pub verdict: Verdict,
}

/// The self-test's result, as it goes into report.json and report.html.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SelftestReport {
    /// Cases the reference build did not pass (must be none).
    pub reference_failures: Vec<String>,
    /// Every mutant, by name.
    pub mutants: Vec<MutantResult>,
    /// Mutants killed with the broken check named.
    pub killed: usize,
    /// Share of mutants killed with the broken check named.
    pub kill_rate: f64,
}

impl SelftestReport {
    /// The gate: the reference passes everything and no mutant escapes.
    pub fn ok(&self) -> bool {
        self.reference_failures.is_empty() && self.killed == self.mutants.len()
    }
}

/// Why the self-test could not run.
#[derive(Debug, thiserror::Error)]
pub enum SelftestError {
    /// A run could not happen.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A mutant could not be built.
    #[error(transparent)]
    Mutant(#[from] MutantError),
    /// A mutant build could not be written to the temporary folder.
    #[error("cannot write a mutant build: {0}")]
    Write(#[from] std::io::Error),
}

/// Progress of a self-test, for a terminal.
pub trait SelftestProgress {
    /// A build is about to run (`None` is the reference).
    fn build_started(&mut self, _mutant: Option<&Mutant>, _index: usize, _total: usize) {}
    /// A mutant's verdict is in.
    fn mutant_finished(&mut self, _result: &MutantResult) {}
}

impl SelftestProgress for () {}

/// Runs the suite on the reference build and then on every mutant; with
/// `full_matrix` every case runs on every mutant, otherwise a mutant's run
/// stops at its first naming failure.
/// `interrupt` becoming true stops the current run and the self-test.
///
/// # Errors
/// [`SelftestError`] when a run could not happen or a mutant is stale.
pub async fn run(
    options: &RunOptions,
    mutants: &[Mutant],
    full_matrix: bool,
    progress: &mut dyn SelftestProgress,
    interrupt: watch::Receiver<bool>,
) -> Result<(RunReport, SelftestReport), SelftestError> {
    let reference_source = String::from_utf8_lossy(&match &options.widget {
        Some(path) => std::fs::read(path)?,
        None => jodo_mock::pages::WidgetBuild::reference().script,
    })
    .into_owned();
    // Every mutant is built first, so a stale one stops the self-test
    // before any browser starts.
    let dir = tempfile::tempdir()?;
    let mut builds: Vec<(&Mutant, PathBuf)> = Vec::with_capacity(mutants.len());
    for m in mutants {
        let folder = dir.path().join(&m.name);
        std::fs::create_dir_all(&folder)?;
        let path = folder.join("ext_integration-2.0.js");
        std::fs::write(&path, m.apply(&reference_source)?)?;
        builds.push((m, path));
    }
    let stop = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stopped| *stopped).await;
    };

    progress.build_started(None, 0, mutants.len());
    let reference = runner::run(options, &mut (), stop(interrupt.clone())).await?;
    let reference_failures = not_passed(&reference.cases).map(|c| c.id.clone()).collect();

    let mut results = Vec::with_capacity(builds.len());
    for (i, (m, path)) in builds.into_iter().enumerate() {
        progress.build_started(Some(m), i + 1, mutants.len());
        // Unless the whole matrix is wanted, a mutant's run ends at the
        // first case naming the broken check: that is all a kill needs.
        let run_options = RunOptions {
            widget: Some(path),
            fail_fast: (!full_matrix).then(|| FailFast::Naming(m.breaks.clone())),
            ..options.clone()
        };
        let report = runner::run(&run_options, &mut (), stop(interrupt.clone())).await?;
        let result = judge(m, &report.cases);
        progress.mutant_finished(&result);
        results.push(result);
    }
    let killed = results
        .iter()
        .filter(|r| r.verdict == Verdict::Killed)
        .count();
    #[allow(clippy::cast_precision_loss)]
    let kill_rate = if results.is_empty() {
        1.0
    } else {
        killed as f64 / results.len() as f64
    };
    Ok((
        reference,
        SelftestReport {
            reference_failures,
            mutants: results,
            killed,
            kill_rate,
        },
    ))
}

fn not_passed(cases: &[CaseReport]) -> impl Iterator<Item = &CaseReport> {
    cases.iter().filter(|c| c.outcome != Outcome::Pass)
}

/// The verdict on one mutant from the cases' outcomes and failures.
pub fn judge(m: &Mutant, cases: &[CaseReport]) -> MutantResult {
    let failed: Vec<&CaseReport> = not_passed(cases).collect();
    let naming_cases: Vec<String> = failed
        .iter()
        .filter(|c| {
            c.checks
                .iter()
                .flat_map(|check| &check.failures)
                .any(|f| runner::names_check(&f.rule, &m.breaks))
        })
        .map(|c| c.id.clone())
        .collect();
    let verdict = if !naming_cases.is_empty() {
        Verdict::Killed
    } else if failed.is_empty() {
        Verdict::Survived
    } else {
        Verdict::KilledUnnamed
    };
    MutantResult {
        name: m.name.clone(),
        area: m.area.clone(),
        breaks: m.breaks.clone(),
        summary: m.summary.clone(),
        failed_cases: failed.iter().map(|c| c.id.clone()).collect(),
        naming_cases,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use crate::runner::names_check;

    #[test]
    fn a_check_is_named_exactly_or_as_a_prefix() {
        assert!(names_check("schema", "schema"));
        assert!(names_check("schema:chat/messagesent", "schema"));
        assert!(names_check(
            "return-code:SendChatMessage",
            "return-code:SendChatMessage"
        ));
        assert!(!names_check("schemax", "schema"));
        assert!(!names_check(
            "return-code:SendDocument",
            "return-code:SendChatMessage"
        ));
    }
}
