//! `check-trace` without a browser: JSON Lines and console logs built from
//! the reference build's golden chat trace, a report.json, and the inputs
//! it must refuse (exit code 2, a message naming the file and line, and no
//! report written). The browser-recorded console is in `certify.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[path = "support/golden_sessions.rs"]
mod golden_sessions;

fn sessions(n: usize) -> Vec<Value> {
    let template = golden_sessions::template(&root());
    let mut out = Vec::new();
    for s in 0..n {
        golden_sessions::session(&template, s, &mut |e| out.push(e));
    }
    out
}

/// Runs check-trace on `files`: exit code, stderr, and report.json if written.
fn check_trace(
    files: &[&Path],
    extra: &[&str],
    reports: &Path,
) -> (Option<i32>, String, Option<Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_jodo-conformance"))
        .arg("check-trace")
        .args(files)
        .args(extra)
        .arg("--report-dir")
        .arg(reports)
        .env_remove("JODO_AKEY")
        .env_remove("JODO_SKEY")
        .output()
        .unwrap();
    let report = std::fs::read_to_string(reports.join("report.json"))
        .ok()
        .map(|t| serde_json::from_str::<Value>(&t).unwrap());
    if let Some(r) = &report {
        let contract = jodo_contract::Contract::embedded().unwrap();
        assert_eq!(contract.validate("report.schema.json", r), vec![]);
    }
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        report,
    )
}

fn lines(events: &[Value]) -> String {
    events.iter().map(|e| e.to_string() + "\n").collect()
}

#[test]
fn jsonl_of_conforming_sessions_passes_and_a_fault_fails_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.jsonl");
    let events = sessions(3);
    std::fs::write(&good, lines(&events)).unwrap();
    let reports = dir.path().join("reports");
    let (code, stderr, report) = check_trace(&[&good], &[], &reports);
    assert_eq!(code, Some(0), "{stderr}");
    let report = report.unwrap();
    assert_eq!(report["cases"][0]["status"], "passed");
    assert!(report["widget"]["sha256"].as_str().unwrap().len() == 64);
    assert!(reports.join("junit.xml").exists() && reports.join("report.html").exists());

    // An event after session/ended, and a key in a message.
    let mut bad = events.clone();
    let ended = bad.iter().position(|e| e["eventtype"] == "ended").unwrap();
    bad.insert(ended + 1, events[3].clone());
    bad[ended + 3]["msg"] = Value::from("my key is acme-akey-1");
    let file = dir.path().join("bad.jsonl");
    std::fs::write(&file, lines(&bad)).unwrap();
    let (code, stderr, report) =
        check_trace(&[&file], &["--akey", "acme-akey-1"], &dir.path().join("r2"));
    assert_eq!(code, Some(1), "{stderr}");
    let text = report.unwrap().to_string();
    for (line, rule) in [
        (ended + 2, "nothing-after-ended"),
        (ended + 4, "no-keys-in-eventdata"),
    ] {
        assert!(
            text.contains(rule)
                && stderr
                    .lines()
                    .any(|l| l.contains(rule) && l.contains(&format!("line {line}"))),
            "line {line} {rule}: {stderr}"
        );
    }
    assert!(
        !text.contains("acme-akey-1") && !stderr.contains("acme-akey-1"),
        "the key is never printed"
    );
}

#[test]
fn a_console_log_splits_at_navigations_and_a_report_json_is_checked_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::from("Navigated to https://shop.example/help\n");
    for (i, e) in sessions(2).iter().enumerate() {
        log.push_str(&format!(
            "12:00:0{}.{i:03} config.js:13 Event data :: {e}\n",
            i % 10
        ));
        if i == 8 {
            log.push_str("[HMR] connected\nNavigated to https://shop.example/help?again\n");
        }
    }
    let file = dir.path().join("console.log");
    std::fs::write(&file, &log).unwrap();
    let reports = dir.path().join("reports");
    let (code, stderr, report) = check_trace(&[&file], &[], &reports);
    assert_eq!(code, Some(0), "{stderr}");
    let report = report.unwrap();
    let cases = report["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2, "two page loads: {stderr}");
    assert!(cases[1]["id"].as_str().unwrap().ends_with("#2"));

    // The kit's own report.json, with its probe records.
    let (code, stderr, again) =
        check_trace(&[&reports.join("report.json")], &[], &dir.path().join("r2"));
    assert_eq!(
        code,
        Some(2),
        "a report without events is refused: {stderr}"
    );
    assert!(stderr.contains("recorded no event"), "{stderr}");
    assert!(again.is_none());
}

#[test]
fn inputs_that_cannot_be_checked_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let events = sessions(1);
    let no_events = dir.path().join("quiet.log");
    std::fs::write(
        &no_events,
        "Navigated to https://x.example/\nhello from the page\n",
    )
    .unwrap();
    let truncated = dir.path().join("cut.log");
    let cut = events[2].to_string();
    std::fs::write(
        &truncated,
        format!(
            "Event data :: {}\nEvent data :: {}\n",
            events[0],
            &cut[..cut.len() / 2]
        ),
    )
    .unwrap();
    let truncated_jsonl = dir.path().join("cut.jsonl");
    std::fs::write(
        &truncated_jsonl,
        format!("{}\n{}", events[0], &cut[..cut.len() / 2]),
    )
    .unwrap();
    let not_report = dir.path().join("report.json");
    std::fs::write(
        &not_report,
        "{\n  \"report_version\": 2,\n  \"cases\": 3\n}\n",
    )
    .unwrap();
    let good = dir.path().join("good.jsonl");
    std::fs::write(&good, lines(&events)).unwrap();
    let missing = dir.path().join("missing.log");
    let cases: [(&[&Path], &str); 5] = [
        (&[&no_events], "quiet.log: no eventdata in it"),
        (
            &[&good, &truncated],
            "cut.log:2: the JSON after 'Event data ::' does not parse",
        ),
        (
            &[&truncated_jsonl],
            "cut.jsonl:2: not one JSON eventdata per line",
        ),
        (&[&not_report], "not a jodo-conformance report.json"),
        (&[&good, &missing], "cannot read"),
    ];
    for (files, says) in cases {
        let reports = dir.path().join("reports");
        let (code, stderr, report) = check_trace(files, &[], &reports);
        assert_eq!(code, Some(2), "{files:?}: {stderr}");
        assert!(stderr.contains(says), "{files:?}: {stderr}");
        assert!(!reports.exists(), "{files:?}: nothing is written");
        assert!(report.is_none());
    }
}
