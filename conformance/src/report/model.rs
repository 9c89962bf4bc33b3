//! The run report: one typed value that *is* `report.json`. JUnit, HTML,
//! the terminal lines and the JSON Lines stream are renderings of it, and
//! none of them decides anything: a case's [`Status`] is settled once, by
//! [`crate::verdict`], and every renderer reads it.

use serde::{Deserialize, Serialize};

use crate::trace::{ProbeRecord, StepRecord};

/// Format version of `report.json` (see `schemas/report.schema.json`).
pub const REPORT_VERSION: u32 = 2;

/// What happened in one case. "The widget failed" and "the harness broke"
/// are kept apart, and neither is merged with "this backend cannot run it".
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
    /// The backend cannot give the case what it needs (a scenario, control
    /// triggers, faults); it was not run.
    NotApplicable,
}

impl Outcome {
    /// The word used in reports and in the known-results file.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::NonStrict => "non_strict",
            Outcome::Error => "error",
            Outcome::Timeout => "timeout",
            Outcome::NotApplicable => "not_applicable",
        }
    }
}

/// What a case's outcome means for the run, given the known results and
/// the profile: the one value CI gates on and every renderer shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Passed, and nothing else was expected.
    Passed,
    /// Non-strict, which the compat profile accepts.
    AcceptedNonStrict,
    /// Ended as the known-results file lists (a known failure).
    Known,
    /// Failed a check, unexpectedly.
    Failed,
    /// Non-strict in the strict profile, unexpectedly.
    NonStrict,
    /// Passed although the known-results file lists it as not passing: the
    /// file is stale, which fails the run so it stays current.
    UnexpectedPass,
    /// The harness could not run it, unexpectedly.
    Errored,
    /// It ran out of time, unexpectedly.
    TimedOut,
    /// Not run: the backend cannot serve it. Never a failure.
    NotApplicable,
}

/// How a status should strike a reader: the renderers' one colour rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Nothing to do.
    Good,
    /// Accepted, but worth a look.
    Warn,
    /// Fails the run.
    Bad,
    /// Not judged.
    Neutral,
}

impl Status {
    /// Every status, for renderers' tests and legends.
    pub const ALL: [Status; 9] = [
        Status::Passed,
        Status::AcceptedNonStrict,
        Status::Known,
        Status::Failed,
        Status::NonStrict,
        Status::UnexpectedPass,
        Status::Errored,
        Status::TimedOut,
        Status::NotApplicable,
    ];

    /// Whether this status fails the run (exit code 1).
    pub fn is_unexpected(self) -> bool {
        matches!(
            self,
            Status::Failed
                | Status::NonStrict
                | Status::UnexpectedPass
                | Status::Errored
                | Status::TimedOut
        )
    }

    /// Its tone.
    pub fn tone(self) -> Tone {
        match self {
            Status::Passed => Tone::Good,
            Status::AcceptedNonStrict | Status::Known => Tone::Warn,
            Status::NotApplicable => Tone::Neutral,
            _ => Tone::Bad,
        }
    }

    /// The words for it; a known failure names the outcome it was known for.
    pub fn label(self, outcome: Outcome) -> String {
        match self {
            Status::Passed => "pass".into(),
            Status::AcceptedNonStrict => "non-strict (accepted)".into(),
            Status::Known => format!("{} (expected)", outcome.label().replace('_', "-")),
            Status::Failed => "fail".into(),
            Status::NonStrict => "non-strict".into(),
            Status::UnexpectedPass => "unexpected pass".into(),
            Status::Errored => "error".into(),
            Status::TimedOut => "timeout".into(),
            Status::NotApplicable => "not applicable".into(),
        }
    }
}

/// Verdict of one check on one case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    /// Check name: steps, return-codes, schema, expectations, rules.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why not, one entry per problem.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
}

impl CheckResult {
    /// A check's result from its failures: passed when there are none.
    pub fn from_failures(name: &str, failures: Vec<Failure>) -> Self {
        Self {
            name: name.to_owned(),
            passed: failures.is_empty(),
            failures,
        }
    }
}

/// One problem found by a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// Rule or expectation broken, stable and short (e.g. `unique-messageid`).
    pub rule: String,
    /// What went wrong, for people.
    pub message: String,
    /// What the contract expects, when there is one value to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What the widget did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
}

impl Failure {
    /// A failure without expected/actual values.
    pub fn new(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            rule: rule.into(),
            message: message.into(),
            expected: None,
            actual: None,
        }
    }

    /// Adds expected and actual values for a diff.
    pub fn diff(mut self, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self.actual = Some(actual.into());
        self
    }

    /// Whether this failure's rule is `check`, exactly or as
    /// `check:detail` (`return-code` names `return-code:SendChatMessage`):
    /// how a mutant's `breaks:` and `--fail-fast` on a check find it.
    pub fn names(&self, check: &str) -> bool {
        self.rule == check
            || self
                .rule
                .strip_prefix(check)
                .is_some_and(|rest| rest.starts_with(':'))
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
    /// What happened.
    pub outcome: Outcome,
    /// What that means for the run; settled once by [`crate::verdict`].
    pub status: Status,
    /// Wall time, milliseconds.
    pub duration_ms: u64,
    /// Harness time: the wall time minus the time spent waiting for events
    /// (which the scenario's own timers and the widget decide).
    pub overhead_ms: u64,
    /// Why the case errored, timed out or was not applicable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The outcome the known-results file lists, when not a pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Outcome>,
    /// Verdict per check.
    pub checks: Vec<CheckResult>,
    /// Steps and what they did.
    pub steps: Vec<StepRecord>,
    /// What the page probe recorded, including the event trace.
    pub probe: ProbeRecord,
    /// What crossed the wire during the case, when a proxy watched it
    /// (secrets shown by name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wire: Vec<crate::wire::WireEntry>,
    /// The page's console during the case, when BiDi watched it (secrets
    /// shown by name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub console: Vec<crate::probe::ConsoleLine>,
}

impl CaseReport {
    /// How every renderer names this case's status.
    pub fn label(&self) -> String {
        self.status.label(self.outcome)
    }

    /// Every failure of every check, as `[check] rule: message` lines.
    pub fn failure_lines(&self) -> Vec<String> {
        self.checks
            .iter()
            .flat_map(|c| {
                c.failures
                    .iter()
                    .map(move |f| format!("[{}] {}: {}", c.name, f.rule, f.message))
            })
            .collect()
    }

    /// Whether a failure of this case names `check` (see [`Failure::names`]).
    pub fn fails_naming(&self, check: &str) -> bool {
        self.checks
            .iter()
            .flat_map(|c| &c.failures)
            .any(|f| f.names(check))
    }
}

/// Counts per outcome.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Cases in the report (run or not applicable).
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
    /// Not run, because the backend cannot serve them.
    #[serde(default)]
    pub not_applicable: usize,
    /// Statuses that fail the run (exit code 1 when any).
    pub unexpected: usize,
    /// Of those, cases listed as failing that now pass.
    pub unexpected_passes: usize,
}

impl Summary {
    /// Counts outcomes and statuses of these cases.
    pub fn of(cases: &[CaseReport]) -> Self {
        let count = |o: Outcome| cases.iter().filter(|c| c.outcome == o).count();
        Self {
            total: cases.len(),
            passed: count(Outcome::Pass),
            failed: count(Outcome::Fail),
            errored: count(Outcome::Error),
            timed_out: count(Outcome::Timeout),
            non_strict: count(Outcome::NonStrict),
            not_applicable: count(Outcome::NotApplicable),
            unexpected: cases.iter().filter(|c| c.status.is_unexpected()).count(),
            unexpected_passes: cases
                .iter()
                .filter(|c| c.status == Status::UnexpectedPass)
                .count(),
        }
    }

    /// Whether every case ended as expected: what exit code 0 means.
    pub fn as_expected(&self) -> bool {
        self.unexpected == 0
    }
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
    /// Timing of these cases over a run of `wall` (cases not run are left out).
    pub fn of(cases: &[CaseReport], wall: std::time::Duration) -> Self {
        let mut overheads: Vec<u64> = cases
            .iter()
            .filter(|c| c.outcome != Outcome::NotApplicable)
            .map(|c| c.overhead_ms)
            .collect();
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
    /// Format version of this document ([`REPORT_VERSION`]).
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
    /// Parallel workers (each a browser and a backend).
    pub jobs: usize,
    /// Counts.
    pub summary: Summary,
    /// Wall time and harness overhead.
    pub timing: Timing,
    /// What the cases of this run exercise of the catalogue.
    pub coverage: crate::coverage::Coverage,
    /// Every case, in run order.
    pub cases: Vec<CaseReport>,
    /// The kill matrix, when this report comes from `jodo-conformance
    /// selftest` (its cases are the reference build's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_matrix: Option<super::kill_matrix::KillMatrix>,
    /// Set when the run was stopped (Ctrl-C) before every case ran: the
    /// report holds the cases that finished, and says it is not whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<Interrupted>,
}

/// What an interrupted run did not do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interrupted {
    /// Selected cases that did not finish.
    pub cases_not_run: usize,
}
