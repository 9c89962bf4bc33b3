//! `report.html`: the certification report a person reads, rendered from
//! the same [`RunReport`] as `report.json`. One file with its styles inline
//! and no script or external resource, so it can be mailed, archived or
//! attached to a ticket and still read the same years later.

use std::collections::BTreeMap;
use std::fmt::Write;

use similar::{ChangeTag, TextDiff};

use super::{CaseReport, Failure, KillMatrix, Outcome, RunReport, Status, Tone};
use crate::trace::StepOutcome;

const STYLE: &str = r#"
:root { --ok:#1a7f37; --bad:#cf222e; --warn:#9a6700; --muted:#57606a; --line:#d0d7de; --bg:#f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:#1f2328; margin:0; background:#fff; }
main { max-width: 1080px; margin: 0 auto; padding: 28px 24px 60px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
.sub { color: var(--muted); margin: 0 0 20px; }
.verdict { border-radius: 8px; padding: 16px 20px; margin: 18px 0; color: #fff; }
.verdict b { font-size: 20px; display:block; }
.verdict.ok { background: var(--ok); } .verdict.bad { background: var(--bad); } .verdict.warn { background: var(--warn); }
.facts { display:grid; grid-template-columns: 180px 1fr; gap: 4px 16px; margin: 0; }
.facts dt { color: var(--muted); } .facts dd { margin:0; word-break: break-all; }
.scores { display:flex; gap:16px; flex-wrap: wrap; }
.score { flex:1 1 200px; border:1px solid var(--line); border-radius:8px; padding:12px 16px; background: var(--bg); }
.score .big { font-size: 28px; font-weight: 600; }
.bar { height: 8px; background: #e6e9ed; border-radius: 4px; overflow: hidden; margin-top: 6px; }
.bar > span { display:block; height:100%; background: var(--ok); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display:inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px; font-weight: 600; color:#fff; white-space: nowrap; }
.good { background: var(--ok); } .bad { background: var(--bad); } .warn { background: var(--warn); } .neutral { background: var(--muted); }
details.case { border:1px solid var(--line); border-radius: 8px; margin: 8px 0; }
details.case > summary { cursor: pointer; padding: 8px 12px; list-style: none; display:flex; gap: 10px; align-items: baseline; }
details.case > summary::-webkit-details-marker { display:none; }
details.case[open] > summary { border-bottom: 1px solid var(--line); background: var(--bg); }
.case-body { padding: 8px 14px 12px; }
.case-title { flex: 1; } .case-id { color: var(--muted); font-family: ui-monospace, monospace; font-size: 12px; }
.meta { color: var(--muted); font-size: 13px; margin: 4px 0 8px; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 8px; overflow-x: auto; margin: 4px 0; }
.diff .del { color: var(--bad); } .diff .ins { color: var(--ok); }
.check-ok { color: var(--ok); } .check-bad { color: var(--bad); }
ul.failures { margin: 4px 0 8px 0; padding-left: 18px; overflow-wrap: anywhere; }
.small { font-size: 12px; color: var(--muted); }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
"#;

/// Renders the report as one self-contained HTML page.
pub fn render(report: &RunReport) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let s = &report.summary;
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Jodo widget conformance — {}</title><style>{STYLE}</style></head><body><main>",
        esc(&report.widget.file)
    );
    let _ = write!(
        h,
        "<h1>Jodo widget conformance report</h1><p class=\"sub\">{} checked against {} in the <b>{}</b> profile</p>",
        esc(&report.widget.file),
        esc(&report.spec),
        esc(&report.profile)
    );
    verdict(&mut h, report);
    facts(&mut h, report);
    scores(&mut h, report);
    areas(&mut h, report);
    if let Some(matrix) = &report.kill_matrix {
        kill_matrix(&mut h, matrix);
    }
    let _ = write!(h, "<h2>Cases ({})</h2>", s.total);
    for case in &report.cases {
        case_section(&mut h, case);
    }
    uncovered(&mut h, report);
    let _ = writeln!(
        h,
        "<footer>jodo-conformance {} · report format {} · the same results are in report.json (machine-readable) and junit.xml</footer></main></body></html>",
        esc(&report.tool_version),
        report.report_version
    );
    h
}

fn verdict(h: &mut String, report: &RunReport) {
    let s = &report.summary;
    let known = report
        .cases
        .iter()
        .filter(|c| c.status == Status::Known)
        .count();
    let (class, title, detail) = if !s.as_expected() {
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
                "{} of {} cases passed; {} ended as the expectations file lists ({} non-strict).",
                s.passed, s.total, known, s.non_strict
            ),
        )
    };
    let _ = write!(
        h,
        "<div class=\"verdict {class}\"><b>{}</b>{}</div>",
        esc(&title),
        esc(&detail)
    );
}

fn facts(h: &mut String, report: &RunReport) {
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
    h.push_str("<h2>Build under test</h2><dl class=\"facts\">");
    for (k, v) in rows {
        let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
    }
    h.push_str("</dl>");
}

fn scores(h: &mut String, report: &RunReport) {
    let s = &report.summary;
    let pass = if s.total == 0 {
        0.0
    } else {
        s.passed as f64 / s.total as f64
    };
    let cov = &report.coverage;
    h.push_str("<h2>Scores</h2><div class=\"scores\">");
    let _ = write!(
        h,
        "<div class=\"score\"><div>Pass score</div><div class=\"big\">{:.0}%</div>\
         <div class=\"small\">{} of {} cases passed</div>{}</div>",
        pass * 100.0,
        s.passed,
        s.total,
        bar(pass)
    );
    let kinds: Vec<String> = crate::coverage::KINDS
        .iter()
        .filter_map(|k| {
            cov.by_kind
                .get(*k)
                .map(|c| format!("{k}s {}/{}", c.covered, c.total))
        })
        .collect();
    let _ = write!(
        h,
        "<div class=\"score\"><div>Coverage score</div><div class=\"big\">{:.0}%</div>\
         <div class=\"small\">share of the catalogue these cases exercise: {}</div>{}</div>",
        cov.score * 100.0,
        esc(&kinds.join(", ")),
        bar(cov.score)
    );
    h.push_str("</div>");
}

fn bar(share: f64) -> String {
    format!(
        "<div class=\"bar\"><span style=\"width:{:.1}%\"></span></div>",
        (share * 100.0).clamp(0.0, 100.0)
    )
}

fn areas(h: &mut String, report: &RunReport) {
    let mut by_area: BTreeMap<&str, [usize; 6]> = BTreeMap::new();
    for c in &report.cases {
        let row = by_area.entry(c.area.as_str()).or_default();
        let i = match c.outcome {
            Outcome::Pass => 0,
            Outcome::NonStrict => 1,
            Outcome::Fail => 2,
            Outcome::Error => 3,
            Outcome::Timeout => 4,
            Outcome::NotApplicable => 5,
        };
        row[i] += 1;
    }
    h.push_str(
        "<h2>Summary by area</h2><table><tr><th>Area</th><th class=\"num\">Cases</th>\
         <th class=\"num\">Passed</th><th class=\"num\">Non-strict</th><th class=\"num\">Failed</th>\
         <th class=\"num\">Errored</th><th class=\"num\">Timed out</th><th class=\"num\">Not applicable</th></tr>",
    );
    for (area, n) in by_area {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td>",
            esc(area),
            n.iter().sum::<usize>()
        );
        for v in n {
            let _ = write!(h, "<td class=\"num\">{v}</td>");
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
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

fn badge(case: &CaseReport) -> String {
    format!(
        "<span class=\"badge {}\">{}</span>",
        tone_class(case.status.tone()),
        esc(&case.label())
    )
}

fn case_section(h: &mut String, case: &CaseReport) {
    let open = if case.outcome == Outcome::Pass {
        ""
    } else {
        " open"
    };
    let _ = write!(
        h,
        "<details class=\"case\"{open}><summary>{}<span class=\"case-title\">{}</span>\
         <span class=\"case-id\">{}</span><span class=\"small\">{} ms</span></summary><div class=\"case-body\">",
        badge(case),
        esc(&case.title),
        esc(&case.id),
        case.duration_ms
    );
    let _ = write!(
        h,
        "<div class=\"meta\">Spec: {} · area {} · mock scenario <code>{}</code></div>",
        esc(&case.spec),
        esc(&case.area),
        esc(&case.scenario)
    );
    if let Some(reason) = &case.reason {
        let _ = write!(h, "<p class=\"check-bad\">{}</p>", esc(reason));
    }
    if !case.checks.is_empty() {
        h.push_str("<div>");
        for check in &case.checks {
            if check.passed {
                let _ = write!(
                    h,
                    "<span class=\"check-ok\">✓ {}</span> &nbsp; ",
                    esc(&check.name)
                );
            } else {
                let _ = write!(
                    h,
                    "<span class=\"check-bad\">✗ {}</span> &nbsp; ",
                    esc(&check.name)
                );
            }
        }
        h.push_str("</div>");
        for check in case.checks.iter().filter(|c| !c.passed) {
            let _ = write!(h, "<ul class=\"failures\">");
            for f in &check.failures {
                failure(h, &check.name, f);
            }
            h.push_str("</ul>");
        }
    }
    steps(h, case);
    trace(h, case);
    h.push_str("</div></details>");
}

fn failure(h: &mut String, check: &str, f: &Failure) {
    let _ = write!(
        h,
        "<li><b>[{}] {}</b>: {}",
        esc(check),
        esc(&f.rule),
        esc(&truncate(&f.message, 400))
    );
    if let (Some(expected), Some(actual)) = (&f.expected, &f.actual) {
        h.push_str("<pre class=\"diff\">");
        let diff = TextDiff::from_lines(expected.as_str(), actual.as_str());
        for change in diff.iter_all_changes() {
            let (class, sign) = match change.tag() {
                ChangeTag::Delete => ("del", "- expected "),
                ChangeTag::Insert => ("ins", "+ actual   "),
                ChangeTag::Equal => ("", "           "),
            };
            let line = change.value().trim_end_matches('\n');
            let _ = writeln!(h, "<span class=\"{class}\">{sign}{}</span>", esc(line));
        }
        h.push_str("</pre>");
    }
    h.push_str("</li>");
}

fn steps(h: &mut String, case: &CaseReport) {
    if case.steps.is_empty() {
        return;
    }
    h.push_str("<table><tr><th>#</th><th>Step</th><th>Result</th><th class=\"num\">ms</th></tr>");
    for (i, s) in case.steps.iter().enumerate() {
        let step = match &s.step {
            crate::case::Step::Call {
                call,
                args,
                returns,
            } => {
                let args: Vec<String> = args.iter().map(short_json).collect();
                let want = returns
                    .as_ref()
                    .map(|r| format!(" → expect {r}"))
                    .unwrap_or_default();
                format!("call {call}({}){want}", args.join(", "))
            }
            crate::case::Step::Wait { wait, .. } => format!("wait for {wait}"),
            crate::case::Step::Control { control } => format!("agent side: {control}"),
            crate::case::Step::Eval { eval, returns, .. } => {
                let want = returns
                    .as_ref()
                    .map(|r| format!(" → expect {r}"))
                    .unwrap_or_default();
                format!("look at the page: {eval}{want}")
            }
        };
        let result = match &s.outcome {
            StepOutcome::Returned { value, js_type } => format!("returned {value} ({js_type})"),
            StepOutcome::Threw { message } => format!("threw: {message}"),
            StepOutcome::Missing { message } => format!("missing: {message}"),
            StepOutcome::Found { index } => format!("event #{index}"),
            StepOutcome::WaitTimedOut { timeout_ms } => format!("not within {timeout_ms} ms"),
            StepOutcome::Skipped => "skipped".into(),
            StepOutcome::Unfinished => "never finished".into(),
            StepOutcome::Triggered => "fired".into(),
            StepOutcome::ControlFailed { message } => format!("not fired: {message}"),
        };
        let _ = write!(
            h,
            "<tr><td class=\"num\">{}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td></tr>",
            i + 1,
            esc(&step),
            esc(&result),
            s.elapsed_ms
        );
    }
    h.push_str("</table>");
}

fn trace(h: &mut String, case: &CaseReport) {
    let events = &case.probe.events;
    let open = if case.outcome == Outcome::Pass {
        ""
    } else {
        " open"
    };
    let _ = write!(
        h,
        "<details{open}><summary>Event trace: {} event(s) received by the callback</summary>",
        events.len()
    );
    if !events.is_empty() {
        h.push_str("<table><tr><th>#</th><th class=\"num\">ms</th><th>media/eventtype</th><th>status</th><th>msg</th></tr>");
        for (i, e) in events.iter().enumerate() {
            let field = |k: &str| {
                e.event
                    .get(k)
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .unwrap_or_default()
            };
            let _ = write!(
                h,
                "<tr><td class=\"num\">{i}</td><td class=\"num\">{:.0}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                e.at,
                esc(&crate::checks::event_key(&e.event)),
                esc(&field("status")),
                esc(&truncate(&field("msg"), 120))
            );
        }
        h.push_str("</table>");
        let raw =
            serde_json::to_string_pretty(&events.iter().map(|e| &e.event).collect::<Vec<_>>())
                .unwrap_or_default();
        let _ = write!(
            h,
            "<details><summary class=\"small\">raw eventdata</summary><pre>{}</pre></details>",
            esc(&raw)
        );
    }
    h.push_str("</details>");
}

/// The kill matrix: each mutant, the check it breaks, and the cases that
/// caught it.
fn kill_matrix(h: &mut String, st: &KillMatrix) {
    let _ = write!(
        h,
        "<h2>Self-test</h2><p>The suite was also run on {} faulty builds, each the reference with one          named fault. {} of them ({:.0} %) were caught by a case whose failure names the broken check;          the reference build {}.</p>",
        st.mutants.len(),
        st.killed,
        st.kill_rate * 100.0,
        if st.reference_failures.is_empty() {
            "passed every case".to_owned()
        } else {
            format!("failed {}", esc(&st.reference_failures.join(", ")))
        }
    );
    h.push_str(
        "<table><tr><th>Mutant</th><th>Area</th><th>Breaks</th><th>Verdict</th><th>Caught by</th></tr>",
    );
    for m in &st.mutants {
        let class = if m.verdict.is_killed() { "good" } else { "bad" };
        let _ = write!(
            h,
            "<tr><td><code>{}</code><div class=\"small\">{}</div></td><td>{}</td><td><code>{}</code></td>\
             <td class=\"{class}\">{}</td><td class=\"small\">{}</td></tr>",
            esc(&m.name),
            esc(&m.summary),
            esc(&m.area),
            esc(&m.breaks),
            m.verdict.label(),
            esc(&m.caught_by().join(", "))
        );
    }
    h.push_str("</table>");
}

fn uncovered(h: &mut String, report: &RunReport) {
    let missing: Vec<_> = report.coverage.uncovered().collect();
    let _ = write!(
        h,
        "<h2>Not exercised</h2><p>{} catalogue entr{} no case of this run exercises; the coverage score counts them against the run.</p>",
        missing.len(),
        if missing.len() == 1 { "y" } else { "ies" }
    );
    if missing.is_empty() {
        return;
    }
    h.push_str("<details><summary>Show them</summary><table><tr><th>Kind</th><th>Entry</th></tr>");
    for e in missing {
        let _ = write!(
            h,
            "<tr><td>{}</td><td><code>{}</code></td></tr>",
            esc(&e.kind),
            esc(&e.id)
        );
    }
    h.push_str("</table></details>");
}

fn short_json(v: &serde_json::Value) -> String {
    truncate(&v.to_string(), 60)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}… ({} chars)", s.chars().count())
}

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
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
