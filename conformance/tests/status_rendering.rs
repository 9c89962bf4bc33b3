//! One status drives every rendering: each [`Status`] is fed through the
//! console lines, JUnit, HTML and JSON, and each must show what the status
//! means (its label, its JUnit kind, its tone, its JSON name). The console
//! lines are pinned as an insta snapshot.

use jodo_conformance::coverage::Coverage;
use jodo_conformance::report::{
    BrowserInfo, CaseReport, CheckResult, Failure, Outcome, REPORT_VERSION, RunReport, Status,
    Summary, Timing, WidgetInfo, html, junit,
};
use jodo_conformance::reporters::console;
use jodo_contract::Contract;

/// A case of each status, with the outcome that leads to it.
fn cases() -> Vec<CaseReport> {
    let outcome = |s: Status| match s {
        Status::Passed | Status::UnexpectedPass => Outcome::Pass,
        Status::AcceptedNonStrict | Status::NonStrict => Outcome::NonStrict,
        Status::Known | Status::Failed => Outcome::Fail,
        Status::Errored => Outcome::Error,
        Status::TimedOut => Outcome::Timeout,
        Status::NotApplicable => Outcome::NotApplicable,
    };
    Status::ALL
        .iter()
        .map(|&status| {
            let o = outcome(status);
            let failing = matches!(o, Outcome::Fail | Outcome::NonStrict);
            CaseReport {
                id: format!(
                    "case-{}",
                    serde_json::to_value(status).unwrap().as_str().unwrap()
                ),
                title: "t".into(),
                area: "chat".into(),
                spec: "API reference / Send chat message".into(),
                scenario: "allocated".into(),
                outcome: o,
                status,
                duration_ms: 12,
                overhead_ms: 3,
                reason: matches!(
                    o,
                    Outcome::Error | Outcome::Timeout | Outcome::NotApplicable
                )
                .then(|| format!("why it ended {}", o.label())),
                expected: (status == Status::Known || status == Status::UnexpectedPass)
                    .then_some(Outcome::Fail),
                checks: vec![CheckResult::from_failures(
                    if o == Outcome::NonStrict {
                        "schema"
                    } else {
                        "rules"
                    },
                    if failing {
                        vec![Failure::new("ack-order", "read before delivered")]
                    } else {
                        Vec::new()
                    },
                )],
                steps: Vec::new(),
                probe: Default::default(),
                wire: Vec::new(),
                console: Vec::new(),
            }
        })
        .collect()
}

fn report() -> RunReport {
    let schemas = Contract::embedded().unwrap();
    let cases = cases();
    RunReport {
        report_version: REPORT_VERSION,
        tool_version: "0.0.0".into(),
        spec: "spec".into(),
        started_at: "2026-12-03T08:00:00Z".into(),
        duration_ms: 100,
        profile: "strict".into(),
        widget: WidgetInfo {
            file: "w.js".into(),
            sha256: "0".repeat(64),
            sdk_version: None,
        },
        browser: BrowserInfo {
            name: "chrome".into(),
            version: "1".into(),
        },
        jobs: 1,
        summary: Summary::of(&cases),
        timing: Timing::default(),
        coverage: Coverage::of(schemas.catalog(), &[]),
        cases,
        kill_matrix: None,
        interrupted: None,
    }
}

/// What each status must look like in JUnit.
fn junit_kind(status: Status) -> &'static str {
    match status {
        Status::Passed | Status::AcceptedNonStrict => "success",
        Status::Known | Status::NotApplicable => "skipped",
        Status::Failed | Status::NonStrict | Status::UnexpectedPass => "failure",
        Status::Errored | Status::TimedOut => "error",
    }
}

#[test]
fn each_status_renders_alike_in_the_console_junit_html_and_json() {
    let report = report();
    let junit = junit::render(&report);
    let html = html::render(&report);
    let json = serde_json::to_value(&report).unwrap();
    let schemas = Contract::embedded().unwrap();
    assert_eq!(schemas.validate("report.schema.json", &json), vec![]);
    let mut console_text = String::new();
    for (i, case) in report.cases.iter().enumerate() {
        let label = case.label();
        // Console: the label, loud, and the failures only when it fails the run.
        let lines = console::case_lines(case);
        assert!(lines[0].contains(&label.to_uppercase()), "{lines:?}");
        assert_eq!(
            lines.iter().any(|l| l.contains("[rules] ack-order")),
            case.status.is_unexpected() && case.outcome == Outcome::Fail,
            "{:?}: {lines:?}",
            case.status
        );
        console_text.push_str(&lines.join("\n"));
        console_text.push('\n');
        // JUnit: the element that CI systems count.
        let element = junit
            .split("<testcase ")
            .find(|t| t.contains(&format!("name=\"{}\"", case.id)))
            .unwrap_or_else(|| panic!("{} not in {junit}", case.id));
        let element = element.split("</testcase>").next().unwrap();
        let kind = if element.contains("<failure") {
            "failure"
        } else if element.contains("<error") {
            "error"
        } else if element.contains("<skipped") {
            "skipped"
        } else {
            "success"
        };
        assert_eq!(
            kind,
            junit_kind(case.status),
            "{:?}: {element}",
            case.status
        );
        // HTML: the same words, in the status's tone.
        let tone = match case.status.tone() {
            jodo_conformance::report::Tone::Good => "good",
            jodo_conformance::report::Tone::Warn => "warn",
            jodo_conformance::report::Tone::Bad => "bad",
            jodo_conformance::report::Tone::Neutral => "neutral",
        };
        let badge = format!("<span class=\"badge {tone}\">{label}</span>");
        assert!(html.contains(&badge), "{badge} not in the HTML");
        // JSON: the status by name, and whether it fails the run.
        assert_eq!(
            json["cases"][i]["status"],
            serde_json::to_value(case.status).unwrap()
        );
    }
    let unexpected = report
        .cases
        .iter()
        .filter(|c| c.status.is_unexpected())
        .count();
    assert_eq!(json["summary"]["unexpected"], unexpected);
    assert_eq!(
        unexpected, 5,
        "failed, non-strict, unexpected pass, error, timeout"
    );
    assert!(junit.contains(&format!("failures=\"{}\"", 3)), "{junit}");
    insta::assert_snapshot!("console_lines_by_status", console_text);
}
