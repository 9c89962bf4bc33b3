//! `junit.xml`: one test suite per area, one test case per case, so CI
//! systems show conformance results beside unit tests.

use std::collections::BTreeMap;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{CaseReport, Outcome, RunReport};

/// The run as JUnit XML.
pub fn render(report: &RunReport) -> String {
    let mut junit = Report::new("jodo-conformance");
    junit.set_time(Duration::from_millis(report.duration_ms));
    let mut by_area: BTreeMap<&str, Vec<&CaseReport>> = BTreeMap::new();
    for case in &report.cases {
        by_area.entry(case.area.as_str()).or_default().push(case);
    }
    for (area, cases) in by_area {
        let mut suite = TestSuite::new(area);
        for case in cases {
            suite.add_test_case(test_case(case));
        }
        junit.add_test_suite(suite);
    }
    junit
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot render JUnit XML: {e} -->"))
}

fn test_case(case: &CaseReport) -> TestCase {
    let failures = || -> Vec<String> {
        case.checks
            .iter()
            .flat_map(|c| {
                c.failures
                    .iter()
                    .map(move |f| format!("[{}] {}: {}", c.name, f.rule, f.message))
            })
            .collect()
    };
    let status = match (case.unexpected, case.outcome) {
        (false, Outcome::Pass | Outcome::NonStrict) => TestCaseStatus::success(),
        // A known failure: shown, not counted against the build.
        (false, other) => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(format!("expected {}", other.label()));
            s
        }
        (true, Outcome::Pass) => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message("unexpected pass: the expectations file lists this case as not passing");
            s.set_type("unexpected-pass");
            s
        }
        (true, Outcome::Fail | Outcome::NonStrict) => {
            let failures = failures();
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(failures.first().cloned().unwrap_or_default());
            s.set_type(if case.outcome == Outcome::NonStrict {
                "non-strict"
            } else {
                "conformance"
            });
            s.set_description(format!("{}\nspec: {}", failures.join("\n"), case.spec));
            s
        }
        (true, Outcome::Error | Outcome::Timeout) => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(case.reason.clone().unwrap_or_default());
            s.set_type(if case.outcome == Outcome::Timeout {
                "timeout"
            } else {
                "harness"
            });
            s
        }
    };
    let mut tc = TestCase::new(case.id.clone(), status);
    tc.set_classname(format!("jodo.{}", case.area));
    tc.set_time(Duration::from_millis(case.duration_ms));
    tc
}
