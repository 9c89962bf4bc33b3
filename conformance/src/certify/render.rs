//! The certification report's files: `report.json`, `report.html` (one
//! self-contained page, the screenshot embedded) and `junit.xml` (one test
//! case per page check), all from one [`CertifyReport`].

use std::path::Path;
use std::time::Duration;

use maud::{DOCTYPE, Markup, PreEscaped, html};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::report::{Certification, CertifyReport, CheckState, Grade, PageCheckResult};

/// The same styles as the conformance report.
const STYLE: &str = include_str!("../report/report.css");

/// Writes the three files as the folder `dir`, replacing it whole.
///
/// # Errors
/// The I/O error.
pub fn write_all(report: &CertifyReport, dir: &Path) -> std::io::Result<()> {
    crate::report::files::publish(dir, |dir| {
        let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("report.json"), json)?;
        std::fs::write(dir.join("junit.xml"), junit(report))?;
        std::fs::write(dir.join("report.html"), html_page(report))?;
        crate::report::files::write_wires(&report.cases, &report.started_at, dir)
    })
}

/// The checks as JUnit: a failed required check is a failure; an advisory
/// one, a check not applicable and a manual one are skipped with why.
pub fn junit(report: &CertifyReport) -> String {
    let mut junit = Report::new("jodo-conformance certify");
    junit.set_time(Duration::from_millis(report.duration_ms));
    let mut suite = TestSuite::new("page-checks");
    for c in &report.checks {
        let skipped = |message: String| {
            let mut s = TestCaseStatus::skipped();
            s.set_message(message);
            s
        };
        let status = match (c.state, c.grade) {
            (CheckState::Pass, _) => TestCaseStatus::success(),
            (CheckState::Fail, Grade::Required) => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(c.evidence.first().cloned().unwrap_or_default());
                s.set_type("required");
                s.set_description(format!("{}\nspec: {}", c.evidence.join("\n"), c.section));
                s
            }
            (CheckState::Fail, Grade::Advisory) => {
                skipped(format!("advisory: {}", c.evidence.join("; ")))
            }
            (CheckState::NotApplicable, _) => {
                skipped(format!("not applicable: {}", c.evidence.join("; ")))
            }
            (CheckState::Manual, _) => skipped(format!("manual: {}", c.evidence.join("; "))),
        };
        let mut tc = TestCase::new(c.id.clone(), status);
        tc.set_classname("jodo.page");
        suite.add_test_case(tc);
    }
    junit.add_test_suite(suite);
    junit
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot render JUnit XML: {e} -->"))
}

fn state_class(c: &PageCheckResult) -> &'static str {
    match (c.state, c.grade) {
        (CheckState::Pass, _) => "good",
        (CheckState::Fail, Grade::Required) => "bad",
        (CheckState::Fail, Grade::Advisory) => "warn",
        (CheckState::NotApplicable | CheckState::Manual, _) => "neutral",
    }
}

/// The report as one self-contained page.
pub fn html_page(report: &CertifyReport) -> String {
    let (class, detail) = match report.verdict {
        Certification::Certified => ("ok", "Every required and advisory check passed."),
        Certification::CertifiedWithAdvisories => (
            "warn",
            "Every required check passed; the advisories below are recommended.",
        ),
        Certification::NotCertified => ("bad", "A required check failed; see below."),
    };
    let facts = [
        ("Page", report.page.url.clone()),
        (
            "SHA-256 of the HTML as served",
            report
                .page
                .sha256
                .clone()
                .unwrap_or_else(|| "not seen".into()),
        ),
        ("SDK build", report.widget.file.clone()),
        ("SDK SHA-256", report.widget.sha256.clone()),
        (
            "Browser",
            format!("{} {}", report.browser.name, report.browser.version),
        ),
        ("Date (UTC)", report.started_at.clone()),
        (
            "Jodo hosts (answered by the kit's mock)",
            report.jodo_hosts.join(", "),
        ),
        (
            "Cases run on the page",
            format!(
                "{} passed of {} ({} failed, {} errored, {} timed out, {} not applicable)",
                report.summary.passed,
                report.summary.total,
                report.summary.failed,
                report.summary.errored,
                report.summary.timed_out,
                report.summary.not_applicable
            ),
        ),
        ("Tool", format!("jodo-conformance {}", report.tool_version)),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Jodo integration certification — " (report.page.url) }
                style { (PreEscaped(STYLE)) }
            }
            body { main {
                h1 { "Jodo integration certification" }
                p.sub { (report.page.url) " checked against " (report.spec) }
                div class={ "verdict " (class) } { b { (report.verdict.label()) } (detail) }
                h2 { "Page under test" }
                dl.facts { @for (k, v) in facts { dt { (k) } dd { (v) } } }
                h2 { "Checks" }
                table {
                    tr { th { "Check" } th { "Grade" } th { "Result" } th { "Evidence" } th { "Spec" } }
                    @for c in &report.checks { (check_row(c)) }
                }
                @if let Some(png) = &report.screenshot_png {
                    h2 { "The page once the session started" }
                    img alt="screenshot of the page" style="max-width:100%;border:1px solid #d0d7de"
                        src={ "data:image/png;base64," (png) };
                }
                h2 { "The wire, case by case" }
                p.sub { "Every request and WebSocket frame the proxy saw, keys shown by name: HAR 1.2 (open it in a browser's devtools) and JSON Lines." }
                table {
                    tr { th { "Case" } th { "Result" } th { "Requests and frames" } th { "Files" } }
                    @for case in report.cases.iter().filter(|c| !c.wire.is_empty()) {
                        @let folder = crate::report::files::case_dir(&case.id);
                        tr {
                            td { (case.id) }
                            td { (case.label()) }
                            td { (case.wire.len()) }
                            td {
                                a href=(format!("{folder}/wire.har")) { "wire.har" } " · "
                                a href=(format!("{folder}/wire.jsonl")) { "wire.jsonl" }
                            }
                        }
                    }
                }
                footer {
                    "jodo-conformance " (report.tool_version) " · certification report format "
                    (report.report_version) " · keys are never shown in full"
                }
            } }
        }
    }
    .into_string()
}

fn check_row(c: &PageCheckResult) -> Markup {
    let grade = match c.grade {
        Grade::Required => "required",
        Grade::Advisory => "advisory",
    };
    html! {
        tr {
            td { code { (c.id) } div.small { (c.summary) } }
            td { (grade) }
            td { span class={ "badge " (state_class(c)) } { (c.state.label()) } }
            td { ul.failures { @for e in &c.evidence { li { (e) } } } }
            td.small { (c.section) }
        }
    }
}
