//! Checks: pure functions from a case and its trace to verdicts. None of
//! them talks to the browser; each is reported separately per case.

pub mod codes;
pub mod expectations;
pub mod golden;
pub mod rules;
pub mod schema;
pub mod steps;

use jodo_contract::{Profile, SchemaSet};
use serde::{Deserialize, Serialize};

use crate::case::Case;
use crate::executor::CaseTrace;

/// What every check may consult besides the trace.
#[derive(Debug)]
pub struct CheckContext<'a> {
    /// The compiled contract.
    pub schemas: &'a SchemaSet,
    /// Profile events are checked in.
    pub profile: Profile,
    /// Values that must never appear in eventdata (the page's akey and skey).
    pub secrets: Vec<String>,
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
}

impl CheckResult {
    fn from_failures(name: &str, failures: Vec<Failure>) -> Self {
        Self {
            name: name.to_owned(),
            passed: failures.is_empty(),
            failures,
        }
    }
}

/// Runs every check on a trace, in report order.
pub fn run_all(case: &Case, trace: &CaseTrace, ctx: &CheckContext<'_>) -> Vec<CheckResult> {
    let mut results = vec![
        CheckResult::from_failures("steps", steps::check(trace)),
        CheckResult::from_failures("return-codes", codes::check(trace)),
        CheckResult::from_failures("schema", schema::check(trace, ctx)),
        CheckResult::from_failures("expectations", expectations::check(case, trace)),
        CheckResult::from_failures("rules", rules::check(trace, ctx)),
    ];
    if case.golden {
        results.push(CheckResult::from_failures(
            "golden-trace",
            golden::check(&case.id, case.golden_snapshot.as_deref(), trace),
        ));
    }
    results
}

/// `media/eventtype` of an eventdata, or `?/?`.
pub fn event_key(event: &serde_json::Value) -> String {
    let field = |k: &str| {
        event
            .get(k)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("?")
            .to_owned()
    };
    format!("{}/{}", field("media"), field("eventtype"))
}
