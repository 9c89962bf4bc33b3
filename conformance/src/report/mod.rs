//! The run report: one typed value that *is* `report.json`; JUnit (and
//! later HTML) are renderings of it. Reporters never decide verdicts.

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
    /// The case could not run (browser, page or scenario trouble).
    Error,
    /// The case exceeded its time limit.
    Timeout,
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
    /// Why the case errored or timed out, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
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
    /// Counts.
    pub summary: Summary,
    /// Every case, in run order.
    pub cases: Vec<CaseReport>,
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
        }
    }

    /// Whether every case passed.
    pub fn all_passed(&self) -> bool {
        self.passed == self.total
    }
}

/// Writes `report.json` and `junit.xml` into `dir`, creating it.
///
/// # Errors
/// The I/O error with the path.
pub fn write_all(report: &RunReport, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("report.json"), json)?;
    std::fs::write(dir.join("junit.xml"), junit::render(report))?;
    Ok(())
}
