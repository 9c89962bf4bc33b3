//! What the verdict says about faulty builds: a failing case, known
//! failures and unexpected passes, a replay passed through, fail-fast.

use crate::common::*;

#[test]
fn wrong_build_fails_the_length_case_and_leaves_no_process() {
    let dir = tempfile::tempdir().unwrap();
    let widget = mutant(
        dir.path(),
        "charCount(text) > MAX_CHARS)",
        "charCount(text) > MAX_CHARS + 1)",
    );
    let reports = dir.path().join("reports");
    let marker = unique("mutant");
    let out = run_cli(
        &marker,
        &[
            "run",
            "--filter",
            "chat-length-codes",
            "--filter",
            "session-allocated",
            "--widget",
            widget.to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
        ],
    );
    let stderr = out.stderr.as_str();
    assert_eq!(out.code, Some(1), "a failing case exits 1: {stderr}");
    let report = read_report(&reports);
    let outcome = |id: &str| report.cases.iter().find(|c| c.id == id).map(|c| c.outcome);
    assert_eq!(outcome("chat-length-codes"), Some(Outcome::Fail));
    assert_eq!(outcome("session-allocated"), Some(Outcome::Pass));
    let failed = report
        .cases
        .iter()
        .find(|c| c.id == "chat-length-codes")
        .unwrap();
    let failure = failed
        .checks
        .iter()
        .flat_map(|c| &c.failures)
        .find(|f| f.rule == "return-code:SendChatMessage")
        .expect("the broken rule is named");
    assert_eq!(failure.expected.as_deref(), Some("3"));
    assert_eq!(failure.actual.as_deref(), Some("1"));
    assert!(stderr.contains("return-code:SendChatMessage"), "{stderr}");
    let junit = std::fs::read_to_string(reports.join("junit.xml")).unwrap();
    assert!(junit.contains("failures=\"1\""), "{junit}");
    // The certification report says so, names the build and the broken
    // rule with its diff, and stands alone: no script, no external
    // resource; its only links are to the cases' wire files beside it.
    let html = std::fs::read_to_string(reports.join("report.html")).unwrap();
    assert!(html.contains("Does not conform"), "{html}");
    assert!(html.contains(&report.widget.sha256));
    assert!(html.contains("return-code:SendChatMessage"));
    assert!(html.contains("- expected 3") && html.contains("+ actual   1"));
    for outside in ["<script", "src=", "@import", "url("] {
        assert!(
            !html.contains(outside),
            "report.html refers outside itself: {outside}"
        );
    }
    for link in html.split("href=\"").skip(1) {
        let target = &link[..link.find('"').unwrap()];
        assert!(
            target.starts_with("cases/")
                && (target.ends_with("/wire.har") || target.ends_with("/wire.jsonl"))
                && reports.join(target).is_file(),
            "report.html links to {target}"
        );
    }
    assert_eq!(
        leftovers(&marker),
        Vec::<String>::new(),
        "processes outlived the run"
    );
}

/// Known failures, wptrunner style: a build failing only as listed passes
/// the gate (here on two workers), and once it is fixed the listed case is
/// reported as an unexpected pass, which fails the gate until the list is
/// updated.
#[test]
fn expectations_accept_known_failures_and_report_unexpected_passes() {
    let dir = tempfile::tempdir().unwrap();
    let widget = mutant(
        dir.path(),
        "charCount(text) > MAX_CHARS)",
        "charCount(text) > MAX_CHARS + 1)",
    );
    let expectations = dir.path().join("known.yaml");
    std::fs::write(
        &expectations,
        "chat-length-codes: fail  # counts one too many\n",
    )
    .unwrap();
    let marker = unique("expectations");
    let reports = dir.path().join("known");
    let out = run_cli(
        &marker,
        &[
            "run",
            "--filter",
            "chat-length-codes",
            "--filter",
            "session-allocated",
            "--jobs",
            "2",
            "--widget",
            widget.to_str().unwrap(),
            "--expectations",
            expectations.to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
        ],
    );
    let stderr = out.stderr.as_str();
    assert_eq!(out.code, Some(0), "{stderr}");
    let report = read_report(&reports);
    assert_eq!(report.jobs, 2);
    assert_eq!((report.summary.failed, report.summary.unexpected), (1, 0));
    let listed = report
        .cases
        .iter()
        .find(|c| c.id == "chat-length-codes")
        .unwrap();
    assert_eq!(
        (listed.outcome, listed.expected),
        (Outcome::Fail, Some(Outcome::Fail))
    );
    assert!(
        stderr.contains("FAIL (EXPECTED) chat-length-codes"),
        "{stderr}"
    );

    let fixed = dir.path().join("fixed");
    let out = run_cli(
        &marker,
        &[
            "run",
            "--filter",
            "chat-length-codes",
            "--filter",
            "session-allocated",
            "--expectations",
            expectations.to_str().unwrap(),
            "--report-dir",
            fixed.to_str().unwrap(),
        ],
    );
    let stderr = out.stderr.as_str();
    assert_eq!(out.code, Some(1), "{stderr}");
    let report = read_report(&fixed);
    assert_eq!(report.summary.unexpected_passes, 1);
    assert!(
        stderr.contains("UNEXPECTED PASS chat-length-codes"),
        "{stderr}"
    );
    let junit = std::fs::read_to_string(fixed.join("junit.xml")).unwrap();
    assert!(junit.contains("unexpected-pass"), "{junit}");
    assert_eq!(leftovers(&marker), Vec::<String>::new());
}

/// A build that passes replayed server frames on is caught by the replay
/// case (an exact count, and the trace-wide unique-messageid rule), while
/// the sequence-gap case still passes.
#[test]
fn a_build_that_passes_replays_on_fails_the_replay_case() {
    let dir = tempfile::tempdir().unwrap();
    let widget = mutant(
        dir.path(),
        "      return; /* a replay never reaches the page */",
        "      /* replay check removed */",
    );
    let marker = unique("replay");
    let reports = dir.path().join("reports");
    let out = run_cli(
        &marker,
        &[
            "run",
            "--filter",
            "fault-",
            "--widget",
            widget.to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let report = read_report(&reports);
    let case = |id: &str| report.cases.iter().find(|c| c.id == id).unwrap();
    assert_eq!(case("fault-sequence-gap").outcome, Outcome::Pass);
    let replay = case("fault-replay");
    assert_eq!(replay.outcome, Outcome::Fail);
    let rules: Vec<&str> = replay
        .checks
        .iter()
        .flat_map(|c| &c.failures)
        .map(|f| f.rule.as_str())
        .collect();
    assert!(rules.contains(&"count:chat/messagereceived"), "{rules:?}");
    assert!(rules.contains(&"unique-messageid"), "{rules:?}");
    assert_eq!(leftovers(&marker), Vec::<String>::new());
}

/// `--fail-fast` stops where the run's own verdict fails, not earlier: in
/// the compat profile a non-strict case is accepted and the run goes on
/// past it, to stop at the first real failure (the cases after it are not
/// run). The build stamps events with Unix seconds, which only compat
/// accepts (A4), and takes http: documents, which fails document-send.
#[test]
fn fail_fast_in_compat_runs_past_an_accepted_non_strict_case_and_stops_at_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let reference = std::fs::read_to_string(reference_widget()).unwrap();
    let edits = [
        (
            "function timestamp() {",
            "function timestamp() {\n    return String(Math.floor(Date.now() / 1000));",
        ),
        (
            "if (!isHttpsUrl(docURL)) {",
            "if (typeof docURL !== 'string' || !/^https?:/.test(docURL)) {",
        ),
    ];
    let mut build = reference.clone();
    for (find, replace) in edits {
        assert_eq!(build.matches(find).count(), 1, "mutation site: {find}");
        build = build.replace(find, replace);
    }
    let widget = dir.path().join("ext_integration-2.0.js");
    std::fs::write(&widget, build).unwrap();
    let reports = dir.path().join("reports");
    let marker = unique("failfast");
    let out = run_cli(
        &marker,
        &[
            "run",
            "--profile",
            "compat",
            "--fail-fast",
            "--filter",
            "chat-roundtrip",
            "--filter",
            "document-send",
            "--filter",
            "session-allocated",
            "--widget",
            widget.to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let report = read_report(&reports);
    let ran: Vec<(&str, Outcome, Status)> = report
        .cases
        .iter()
        .map(|c| (c.id.as_str(), c.outcome, c.status))
        .collect();
    assert_eq!(
        ran,
        [
            (
                "chat-roundtrip",
                Outcome::NonStrict,
                Status::AcceptedNonStrict
            ),
            ("document-send", Outcome::Fail, Status::Failed),
        ],
        "{}",
        out.stderr
    );
    assert_eq!(leftovers(&marker), Vec::<String>::new());
}
