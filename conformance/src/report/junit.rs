//! `junit.xml`: one test suite per area, one test case per case, so CI
//! systems show conformance results beside unit tests.

use std::collections::BTreeMap;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{CaseReport, RunReport, Status};

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
    if let Some(stopped) = &report.interrupted {
        // CI must not read a stopped run as a green one.
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_message(format!(
            "the run was interrupted: {} selected cases did not run",
            stopped.cases_not_run
        ));
        status.set_type("interrupted");
        let mut suite = TestSuite::new("run");
        suite.add_test_case(TestCase::new("interrupted", status));
        junit.add_test_suite(suite);
    }
    junit
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot render JUnit XML: {e} -->"))
}

fn test_case(case: &CaseReport) -> TestCase {
    let failure = |kind: &str| {
        let failures = case.failure_lines();
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
        s.set_message(failures.first().cloned().unwrap_or_default());
        s.set_type(kind);
        s.set_description(format!("{}\nspec: {}", failures.join("\n"), case.spec));
        s
    };
    let error = |kind: &str| {
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
        s.set_message(case.reason.clone().unwrap_or_default());
        s.set_type(kind);
        s
    };
    let skipped = |message: String| {
        let mut s = TestCaseStatus::skipped();
        s.set_message(message);
        s
    };
    let status = match case.status {
        Status::Passed | Status::AcceptedNonStrict => TestCaseStatus::success(),
        // A known failure: shown, not counted against the build.
        Status::Known => skipped(case.label()),
        Status::NotApplicable => skipped(format!(
            "not applicable: {}",
            case.reason
                .as_deref()
                .unwrap_or("the backend cannot serve this case")
        )),
        Status::UnexpectedPass => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message("unexpected pass: the expectations file lists this case as not passing");
            s.set_type("unexpected-pass");
            s
        }
        Status::Failed => failure("conformance"),
        Status::NonStrict => failure("non-strict"),
        Status::Errored => error("harness"),
        Status::TimedOut => error("timeout"),
    };
    let mut tc = TestCase::new(case.id.clone(), status);
    tc.set_classname(format!("jodo.{}", case.area));
    tc.set_time(Duration::from_millis(case.duration_ms));
    tc
}
