//! The run report: one typed value that *is* `report.json`; JUnit (and
//! later HTML) are renderings of it. Reporters never decide verdicts.

pub mod html;
pub mod junit;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checks::CheckResult;
use crate::executor::{ProbeRecord, StepRecord};

/// Outcome of one case. "The widget failed" and "the harness broke" are
/// kept apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every check passed.
    Pass,
    /// At least one check failed.
    Fail,
    /// Every check passed in the compat profile, but some event is not in
    /// the strict profile's canonical form.
    NonStrict,
    /// The case could not run (browser, page or scenario trouble).
    Error,
    /// The case exceeded its time limit.
    Timeout,
}

impl Outcome {
    /// The word used in reports and progress lines.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::NonStrict => "non_strict",
            Outcome::Error => "error",
            Outcome::Timeout => "timeout",
        }
    }
}

/// The widget build under test.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WidgetInfo {
    /// File name.
    pub file: String,
    /// SHA-256 of the script, hex.
    pub sha256: String,
    /// What `jodoInitBOT.getVersion()` returned, if it could be called.
    pub sdk_version: Option<String>,
}

/// The browser used.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BrowserInfo {
    /// Name reported by the driver.
    pub name: String,
    /// Version reported by the driver.
    pub version: String,
}

/// One case's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseReport {
    /// Case id.
    pub id: String,
    /// Case title.
    pub title: String,
    /// Report grouping.
    pub area: String,
    /// Spec section.
    pub spec: String,
    /// Scenario the mock ran.
    pub scenario: String,
    /// Verdict.
    pub outcome: Outcome,
    /// Wall time, milliseconds.
    pub duration_ms: u64,
    /// Harness time: the wall time minus the time spent waiting for events
    /// (which the scenario's own timers and the widget decide).
    pub overhead_ms: u64,
    /// Why the case errored or timed out, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The outcome the expectations file lists, when not a pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Outcome>,
    /// Whether the outcome differs from what was expected (a pass, unless
    /// listed); what CI gates on.
    pub unexpected: bool,
    /// Verdict per check.
    pub checks: Vec<CheckResult>,
    /// Steps and what they did.
    pub steps: Vec<StepRecord>,
    /// What the page probe recorded, including the event trace.
    pub probe: ProbeRecord,
}

/// Counts per outcome.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Cases run.
    pub total: usize,
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Errored.
    pub errored: usize,
    /// Timed out.
    pub timed_out: usize,
    /// Passed in compat but not strict.
    pub non_strict: usize,
    /// Outcomes other than expected (exit code 1 when any).
    pub unexpected: usize,
    /// Of those, cases listed as failing that now pass.
    pub unexpected_passes: usize,
}

/// How long the run took, for the performance targets.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timing {
    /// Wall time of the whole run, milliseconds.
    pub suite_ms: u64,
    /// Median per-case harness overhead, milliseconds.
    pub overhead_median_ms: u64,
    /// Largest per-case harness overhead, milliseconds.
    pub overhead_max_ms: u64,
}

impl Timing {
    /// Timing of these cases over a run of `wall`.
    pub fn of(cases: &[CaseReport], wall: std::time::Duration) -> Self {
        let mut overheads: Vec<u64> = cases.iter().map(|c| c.overhead_ms).collect();
        overheads.sort_unstable();
        Self {
            suite_ms: u64::try_from(wall.as_millis()).unwrap_or(u64::MAX),
            overhead_median_ms: overheads.get(overheads.len() / 2).copied().unwrap_or(0),
            overhead_max_ms: overheads.last().copied().unwrap_or(0),
        }
    }
}

/// A whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    /// Format version of this document.
    pub report_version: u32,
    /// `jodo-conformance` version.
    pub tool_version: String,
    /// Spec the catalogue was written from.
    pub spec: String,
    /// When the run started, RFC 3339 UTC.
    pub started_at: String,
    /// Wall time of the whole run, milliseconds.
    pub duration_ms: u64,
    /// Contract profile the events were checked in.
    pub profile: String,
    /// Build under test.
    pub widget: WidgetInfo,
    /// Browser used.
    pub browser: BrowserInfo,
    /// Parallel workers (each a browser and a mock).
    pub jobs: usize,
    /// Counts.
    pub summary: Summary,
    /// Wall time and harness overhead.
    pub timing: Timing,
    /// What the cases of this run exercise of the catalogue.
    pub coverage: crate::coverage::Coverage,
    /// Every case, in run order.
    pub cases: Vec<CaseReport>,
    /// The self-test's kill matrix, when this report comes from
    /// `jodo-conformance selftest` (its cases are the reference build's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selftest: Option<crate::selftest::SelftestReport>,
}

impl Summary {
    /// Counts outcomes of these cases.
    pub fn of(cases: &[CaseReport]) -> Self {
        let count = |o: Outcome| cases.iter().filter(|c| c.outcome == o).count();
        Self {
            total: cases.len(),
            passed: count(Outcome::Pass),
            failed: count(Outcome::Fail),
            errored: count(Outcome::Error),
            timed_out: count(Outcome::Timeout),
            non_strict: count(Outcome::NonStrict),
            unexpected: cases.iter().filter(|c| c.unexpected).count(),
            unexpected_passes: cases
                .iter()
                .filter(|c| c.unexpected && c.outcome == Outcome::Pass)
                .count(),
        }
    }

    /// Whether every case ended as expected: what exit code 0 means.
    pub fn as_expected(&self) -> bool {
        self.unexpected == 0
    }
}

impl CaseReport {
    /// Whether this outcome is what the run should accept: the expected
    /// one, or a pass; a non-strict pass is accepted in the compat profile.
    pub fn acceptable(&self, profile: jodo_contract::Profile) -> bool {
        match (self.outcome, self.expected) {
            (o, Some(e)) => o == e,
            (Outcome::Pass, None) => true,
            (Outcome::NonStrict, None) => profile == jodo_contract::Profile::Compat,
            _ => false,
        }
    }
}

/// Writes `report.json`, `junit.xml` and `report.html` into `dir`, creating it.
///
/// # Errors
/// The I/O error with the path.
pub fn write_all(report: &RunReport, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("report.json"), json)?;
    std::fs::write(dir.join("junit.xml"), junit::render(report))?;
    std::fs::write(dir.join("report.html"), html::render(report))?;
    Ok(())
}
