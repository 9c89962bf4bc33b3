//! `report.html`: the certification report a person reads, rendered from
//! the same [`RunReport`] as `report.json`. One file with its styles inline
//! and no script or external resource, so it can be mailed, archived or
//! attached to a ticket and still read the same years later. Built with
//! maud, which escapes every value it is given.

use std::collections::BTreeMap;

use maud::{DOCTYPE, Markup, PreEscaped, html};
use similar::{ChangeTag, TextDiff};

use super::{CaseReport, Failure, KillMatrix, Outcome, RunReport, Status, Tone};
use crate::trace::StepRecord;

/// The report's styles (`report.css`), inlined.
const STYLE: &str = include_str!("report.css");

/// Renders the report as one self-contained HTML page.
pub fn render(report: &RunReport) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Jodo widget conformance — " (report.widget.file) }
                style { (PreEscaped(STYLE)) }
            }
            body { main {
                h1 { "Jodo widget conformance report" }
                p.sub {
                    (report.widget.file) " checked against " (report.spec) " in the "
                    b { (report.profile) } " profile"
                }
                (verdict(report))
                (facts(report))
                (scores(report))
                (areas(report))
                @if let Some(matrix) = &report.kill_matrix { (kill_matrix(matrix)) }
                h2 { "Cases (" (report.summary.total) ")" }
                @for case in &report.cases { (case_section(case)) }
                (uncovered(report))
                footer {
                    "jodo-conformance " (report.tool_version) " · report format "
                    (report.report_version)
                    " · the same results are in report.json (machine-readable) and junit.xml"
                }
            } }
        }
    }
    .into_string()
}

/// The CSS class of a tone, shared by badges and verdict cells.
fn tone_class(tone: Tone) -> &'static str {
    match tone {
        Tone::Good => "good",
        Tone::Warn => "warn",
        Tone::Bad => "bad",
        Tone::Neutral => "neutral",
    }
}

fn verdict(report: &RunReport) -> Markup {
    let s = &report.summary;
    let known = report
        .cases
        .iter()
        .filter(|c| c.status == Status::Known)
        .count();
    let (class, title, detail) = if let Some(stopped) = &report.interrupted {
        (
            "bad",
            "Interrupted — not a verdict".to_owned(),
            format!(
                "The run was stopped before {} of {} cases finished; the {} that finished are below ({} as expected).",
                stopped.cases_not_run,
                stopped.cases_not_run + s.total,
                s.total,
                s.total - s.unexpected
            ),
        )
    } else if !s.as_expected() {
        (
            "bad",
            "Does not conform".to_owned(),
            format!(
                "{} of {} cases ended otherwise than expected ({} failed, {} errored, {} timed out, {} non-strict, {} unexpected passes).",
                s.unexpected,
                s.total,
                s.failed,
                s.errored,
                s.timed_out,
                s.non_strict,
                s.unexpected_passes
            ),
        )
    } else if s.passed == s.total {
        (
            "ok",
            format!("Conforms on the cases run — all {} passed", s.total),
            format!(
                "Every event matched the {} profile of the contract, every call returned the documented code, and every rule held. These cases exercise {:.0}% of the catalogue; the rest is listed under Not exercised.",
                report.profile,
                report.coverage.score * 100.0
            ),
        )
    } else {
        (
            "warn",
            "Conforms with listed exceptions".to_owned(),
            format!(
                "{} of {} cases passed; {} ended as the expectations file lists ({} non-strict, {} not applicable).",
                s.passed, s.total, known, s.non_strict, s.not_applicable
            ),
        )
    };
    html! { div class={ "verdict " (class) } { b { (title) } (detail) } }
}

fn facts(report: &RunReport) -> Markup {
    let w = &report.widget;
    let rows = [
        ("Widget build", w.file.clone()),
        ("SHA-256", w.sha256.clone()),
        (
            "Reported SDK version",
            w.sdk_version
                .clone()
                .unwrap_or_else(|| "not reported (getVersion unavailable)".into()),
        ),
        (
            "Browser",
            format!("{} {}", report.browser.name, report.browser.version),
        ),
        ("Run started (UTC)", report.started_at.clone()),
        ("Contract profile", report.profile.clone()),
        ("Specification", report.spec.clone()),
        (
            "Run time",
            format!(
                "{:.1} s on {} worker(s); harness overhead per case median {} ms",
                report.duration_ms as f64 / 1000.0,
                report.jobs,
                report.timing.overhead_median_ms
            ),
        ),
        ("Tool", format!("jodo-conformance {}", report.tool_version)),
    ];
    html! {
        h2 { "Build under test" }
        dl.facts { @for (k, v) in rows { dt { (k) } dd { (v) } } }
    }
}

fn scores(report: &RunReport) -> Markup {
    let s = &report.summary;
    let pass = if s.total == 0 {
        0.0
    } else {
        s.passed as f64 / s.total as f64
    };
    let cov = &report.coverage;
    let kinds: Vec<String> = crate::coverage::KINDS
        .iter()
        .filter_map(|k| {
            cov.by_kind
                .get(*k)
                .map(|c| format!("{k}s {}/{}", c.covered, c.total))
        })
        .collect();
    html! {
        h2 { "Scores" }
        div.scores {
            div.score {
                div { "Pass score" }
                div.big { (format!("{:.0}%", pass * 100.0)) }
                div.small { (s.passed) " of " (s.total) " cases passed" }
                (bar(pass))
            }
            div.score {
                div { "Coverage score" }
                div.big { (format!("{:.0}%", cov.score * 100.0)) }
                div.small { "share of the catalogue these cases exercise: " (kinds.join(", ")) }
                (bar(cov.score))
            }
        }
    }
}

fn bar(share: f64) -> Markup {
    let width = format!("width:{:.1}%", (share * 100.0).clamp(0.0, 100.0));
    html! { div.bar { span style=(width) {} } }
}

fn areas(report: &RunReport) -> Markup {
    const COLUMNS: [(Outcome, &str); 6] = [
        (Outcome::Pass, "Passed"),
        (Outcome::NonStrict, "Non-strict"),
        (Outcome::Fail, "Failed"),
        (Outcome::Error, "Errored"),
        (Outcome::Timeout, "Timed out"),
        (Outcome::NotApplicable, "Not applicable"),
    ];
    let mut by_area: BTreeMap<&str, [usize; 6]> = BTreeMap::new();
    for c in &report.cases {
        let row = by_area.entry(c.area.as_str()).or_default();
        if let Some(i) = COLUMNS.iter().position(|(o, _)| *o == c.outcome) {
            row[i] += 1;
        }
    }
    html! {
        h2 { "Summary by area" }
        table {
            tr {
                th { "Area" } th.num { "Cases" }
                @for (_, name) in COLUMNS { th.num { (name) } }
            }
            @for (area, n) in by_area {
                tr {
                    td { (area) } td.num { (n.iter().sum::<usize>()) }
                    @for v in n { td.num { (v) } }
                }
            }
        }
    }
}

fn badge(case: &CaseReport) -> Markup {
    let class = tone_class(case.status.tone());
    html! { span class={ "badge " (class) } { (case.label()) } }
}

fn case_section(case: &CaseReport) -> Markup {
    let open = case.outcome != Outcome::Pass;
    html! {
        details.case open[open] {
            summary {
                (badge(case))
                span.case-title { (case.title) }
                span.case-id { (case.id) }
                span.small { (case.duration_ms) " ms" }
            }
            div.case-body {
                div.meta {
                    "Spec: " (case.spec) " · area " (case.area) " · mock scenario "
                    code { (case.scenario) }
                }
                @if let Some(reason) = &case.reason { p.check-bad { (reason) } }
                @if !case.wire.is_empty() {
                    @let folder = super::files::case_dir(&case.id);
                    p.meta {
                        "Wire (" (case.wire.len()) " requests and frames): "
                        a href=(format!("{folder}/wire.har")) { "wire.har" }
                        " (HAR 1.2: open it in a browser's devtools) · "
                        a href=(format!("{folder}/wire.jsonl")) { "wire.jsonl" }
                    }
                }
                @if !case.checks.is_empty() {
                    div {
                        @for check in &case.checks {
                            @if check.passed {
                                span.check-ok { "✓ " (check.name) } " \u{a0} "
                            } @else {
                                span.check-bad { "✗ " (check.name) } " \u{a0} "
                            }
                        }
                    }
                    @for check in case.checks.iter().filter(|c| !c.passed) {
                        ul.failures { @for f in &check.failures { (failure(&check.name, f)) } }
                    }
                }
                (steps(&case.steps))
                (trace(case, open))
            }
        }
    }
}

fn failure(check: &str, f: &Failure) -> Markup {
    html! {
        li {
            b { "[" (check) "] " (f.rule) } ": " (truncate(&f.message, 400))
            @if let (Some(expected), Some(actual)) = (&f.expected, &f.actual) {
                pre.diff {
                    @for change in TextDiff::from_lines(expected.as_str(), actual.as_str()).iter_all_changes() {
                        @let (class, sign) = match change.tag() {
                            ChangeTag::Delete => ("del", "- expected "),
                            ChangeTag::Insert => ("ins", "+ actual   "),
                            ChangeTag::Equal => ("", "           "),
                        };
                        span class=(class) { (sign) (change.value().trim_end_matches('\n')) } "\n"
                    }
                }
            }
        }
    }
}

fn steps(steps: &[StepRecord]) -> Markup {
    html! {
        @if !steps.is_empty() {
            table {
                tr { th { "#" } th { "Step" } th { "Result" } th.num { "ms" } }
                @for (i, s) in steps.iter().enumerate() {
                    tr {
                        td.num { (i + 1) }
                        td { code { (s.step.describe()) } }
                        td { (s.outcome.describe()) }
                        td.num { (s.elapsed_ms) }
                    }
                }
            }
        }
    }
}

fn trace(case: &CaseReport, open: bool) -> Markup {
    let events = &case.probe.events;
    let field = |e: &serde_json::Value, k: &str| {
        e.get(k)
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            })
            .unwrap_or_default()
    };
    let raw = serde_json::to_string_pretty(&events.iter().map(|e| &e.event).collect::<Vec<_>>())
        .unwrap_or_default();
    html! {
        details open[open] {
            summary { "Event trace: " (events.len()) " event(s) received by the callback" }
            @if !events.is_empty() {
                table {
                    tr { th { "#" } th.num { "ms" } th { "media/eventtype" } th { "status" } th { "msg" } }
                    @for (i, e) in events.iter().enumerate() {
                        tr {
                            td.num { (i) }
                            td.num { (format!("{:.0}", e.at)) }
                            td { code { (crate::checks::event_key(&e.event)) } }
                            td { (field(&e.event, "status")) }
                            td { (truncate(&field(&e.event, "msg"), 120)) }
                        }
                    }
                }
                details { summary.small { "raw eventdata" } pre { (raw) } }
            }
        }
    }
}

/// The kill matrix: each mutant, the check it breaks, and the cases that
/// caught it.
fn kill_matrix(st: &KillMatrix) -> Markup {
    let reference = if st.reference_failures.is_empty() {
        "passed every case".to_owned()
    } else {
        format!("failed {}", st.reference_failures.join(", "))
    };
    html! {
        h2 { "Self-test" }
        p {
            "The suite was also run on " (st.mutants.len()) " faulty builds, each the reference with one \
             named fault. " (st.killed) " of them (" (format!("{:.0}", st.kill_rate * 100.0))
            " %) were caught by a case whose failure names the broken check; the reference build "
            (reference) ". "
            (st.deeply_killed()) " were caught by two or more cases in different scenarios (counted fully \
             only with --full-matrix, where every case runs on every mutant)."
            @if st.dormant > 0 {
                " " (st.dormant) " show their fault only in other engines; here each passed every case, \
                 as it should."
            }
        }
        table {
            tr { th { "Mutant" } th { "Area" } th { "Breaks" } th { "Verdict" } th { "Caught by" } th { "Depth" } }
            @for m in &st.mutants {
                tr {
                    td { code { (m.name) } div.small { (m.summary) } }
                    td { (m.area) }
                    td { code { (m.breaks) } }
                    td class=(if m.verdict.is_ok() { "good" } else { "bad" }) {
                        (m.verdict.label())
                        @if !m.engines.is_empty() { div.small { "shows in " (m.engines.join(", ")) " only" } }
                    }
                    td.small { (m.caught_by().join(", ")) }
                    td.small {
                        @if m.verdict.is_killed() {
                            (m.naming_cases.len()) " case(s) in " (m.naming_scenarios.len()) " scenario(s)"
                        }
                    }
                }
            }
        }
    }
}

fn uncovered(report: &RunReport) -> Markup {
    let missing: Vec<_> = report.coverage.uncovered().collect();
    html! {
        h2 { "Not exercised" }
        p {
            (missing.len()) " catalogue entr" (if missing.len() == 1 { "y" } else { "ies" })
            " no case of this run exercises; the coverage score counts them against the run."
        }
        @if !missing.is_empty() {
            details {
                summary { "Show them" }
                table {
                    tr { th { "Kind" } th { "Entry" } }
                    @for e in missing { tr { td { (e.kind) } td { code { (e.id) } } } }
                }
            }
        }
    }
}

/// A long value cut, with its length said.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}… ({} chars)", s.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let markup = html! { p title=("\"x\"") { ("<a href=\"x\">&'") } }.into_string();
        assert_eq!(
            markup,
            "<p title=\"&quot;x&quot;\">&lt;a href=&quot;x&quot;&gt;&amp;'</p>"
        );
    }

    #[test]
    fn long_values_are_cut_with_their_length() {
        let s = "é".repeat(300);
        let t = truncate(&s, 10);
        assert!(
            t.starts_with(&"é".repeat(10)) && t.ends_with("(300 chars)"),
            "{t}"
        );
    }
}
