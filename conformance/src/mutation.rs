//! Mutation testing (`jodo-conformance selftest`): the suite judged by the
//! faults it catches, as mutation testing judges a test suite. (The mock's
//! scenario files have `selftest` scripts of their own; those test the
//! scenarios, this tests the suite.) The reference build must pass
//! every case; each mutant must fail at least one case whose failure names
//! the check the mutant's file says it breaks.

use std::path::PathBuf;

use tokio::sync::watch;

use crate::mutant::{Mutant, MutantError};
use crate::report::{KillMatrix, MutantResult, Outcome, RunReport};
use crate::runner::{self, RunError, RunOptions};
use crate::verdict::{self, FailFast};

/// Why the self-test could not run.
#[derive(Debug, thiserror::Error)]
pub enum MutationError {
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
pub trait MutationProgress {
    /// A build is about to run (`None` is the reference).
    fn build_started(&mut self, _mutant: Option<&Mutant>, _index: usize, _total: usize) {}
    /// A mutant's verdict is in.
    fn mutant_finished(&mut self, _result: &MutantResult) {}
}

impl MutationProgress for () {}

/// Runs the suite on the reference build and then on every mutant; with
/// `full_matrix` every case runs on every mutant, otherwise a mutant's run
/// stops at its first naming failure.
/// `interrupt` becoming true stops the current run and the self-test.
///
/// # Errors
/// [`MutationError`] when a run could not happen or a mutant is stale.
pub async fn run(
    options: &RunOptions,
    mutants: &[Mutant],
    full_matrix: bool,
    progress: &mut dyn MutationProgress,
    interrupt: watch::Receiver<bool>,
) -> Result<(RunReport, KillMatrix), MutationError> {
    let reference_source = String::from_utf8_lossy(&match &options.widget {
        Some(path) => std::fs::read(path)?,
        None => jodo_mock::WidgetBuild::reference().script,
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
        // The reference's mutant speaks the run's dialect as the reference
        // does; a build of one's own speaks it already.
        let mut build = jodo_mock::WidgetBuild {
            name: m.name.clone(),
            script: m.apply(&reference_source)?.into_bytes(),
        };
        if let (None, Some(dialect)) = (&options.widget, &options.dialect) {
            build = build.speaking(dialect).map_err(RunError::from)?;
        }
        std::fs::write(&path, &build.script)?;
        builds.push((m, path));
    }
    let stop = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stopped| *stopped).await;
    };

    progress.build_started(None, 0, mutants.len());
    let reference = runner::run(options, &mut (), stop(interrupt.clone())).await?;
    let reference_failures = reference
        .cases
        .iter()
        .filter(|c| !matches!(c.outcome, Outcome::Pass | Outcome::NotApplicable))
        .map(|c| c.id.clone())
        .collect();

    let mut results = Vec::with_capacity(builds.len());
    for (i, (m, path)) in builds.into_iter().enumerate() {
        progress.build_started(Some(m), i + 1, mutants.len());
        // A fault behind another engine's feature must not show here: the
        // build runs every case and must pass them all.
        let shows = m.shows_in(options.browser.kind.label());
        // Unless the whole matrix is wanted, a mutant's run ends at the
        // first case naming the broken check: that is all a kill needs.
        let run_options = RunOptions {
            widget: Some(path),
            fail_fast: (shows && !full_matrix).then(|| FailFast::Naming(m.breaks.clone())),
            ..options.clone()
        };
        let report = runner::run(&run_options, &mut (), stop(interrupt.clone())).await?;
        let result = if shows {
            verdict::kill_verdict(m, &report.cases)
        } else {
            verdict::dormant_verdict(m, &report.cases)
        };
        progress.mutant_finished(&result);
        results.push(result);
    }
    Ok((reference, KillMatrix::of(reference_failures, results)))
}
