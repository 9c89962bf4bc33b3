//! The contract commands as a user runs them: exit codes and output.

use std::io::Write;
use std::process::{Command, Stdio};

fn run(args: &[&str], stdin: &str) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jodo-conformance"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command refusing its arguments exits without reading its input;
    // the pipe is then closed, which is no failure of the command.
    let written = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

const ENDED: &str = r#"{"media":"session","eventtype":"ended","status":1003,"msg":"Session Ended","timestamp":"2025-08-21 11:52:49"}"#;

#[test]
fn validate_exit_codes() {
    let (code, text) = run(&["validate", "--profile", "compat", "-"], ENDED);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(&["validate", "-"], ENDED);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("\"messageid\" is a required property"),
        "{text}"
    );
    assert!(text.contains("concerns session/ended"), "{text}");
    let (code, text) = run(&["validate", "/no/such/file.json"], "");
    assert_eq!(code, Some(2), "{text}");
    let (code, text) = run(&["validate", "--kind", "Nope", "-"], ENDED);
    assert_eq!(code, Some(2), "{text}");
    let (code, text) = run(&["validate", "--profile", "lenient", "-"], ENDED);
    assert_eq!(code, Some(2), "{text}");
}

#[test]
fn catalog_json_is_the_catalogue() {
    let (code, text) = run(&["catalog", "--json"], "");
    assert_eq!(code, Some(0));
    let catalog: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(catalog["events"].as_array().unwrap().len(), 76);
    assert_eq!(catalog["methods"].as_array().unwrap().len(), 28);
    let (code, table) = run(&["catalog"], "");
    assert_eq!(code, Some(0));
    assert!(
        table.contains("28 methods, 76 events, 11 status codes, 34 external-data fields"),
        "{table}"
    );
}

/// `coverage` fails while a catalogue entry has no case, names the
/// entries, and agrees with its JSON form; a folder holding only cases
/// for a part of the catalogue covers less.
#[test]
fn coverage_lists_entries_without_cases_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let source =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cases/session-allocated.yaml");
    std::fs::copy(source, dir.path().join("session-allocated.yaml")).unwrap();
    let one_case = dir.path().to_str().unwrap();
    let (code, text) = run(&["coverage", "--uncovered", "--cases", one_case], "");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("StartBrowsing"), "{text}");
    assert!(
        !text.contains("session-allocated"),
        "--uncovered hides covered rows: {text}"
    );
    // The built-in cases: the JSON form agrees with the table's count.
    let (code, text) = run(&["coverage", "--uncovered"], "");
    let (json_code, json) = run(&["coverage", "--json"], "");
    assert_eq!(code, json_code, "{text}");
    let start = json.find('{').unwrap();
    let end = json.rfind('}').unwrap();
    let cov: serde_json::Value = serde_json::from_str(&json[start..=end]).unwrap();
    let uncovered = cov["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["cases"].as_array().unwrap().is_empty())
        .count();
    assert!(
        uncovered == 0 || text.contains(&format!("exercised by no case: {uncovered}")),
        "{text}"
    );
    assert_eq!(code, Some(if uncovered == 0 { 0 } else { 1 }), "{text}");

    let (_, one) = run(&["coverage", "--json", "--cases", one_case], "");
    let start = one.find('{').unwrap();
    let end = one.rfind('}').unwrap();
    let one: serde_json::Value = serde_json::from_str(&one[start..=end]).unwrap();
    assert!(one["score"].as_f64().unwrap() < cov["score"].as_f64().unwrap());
    let (code, text) = run(&["coverage", "--cases", "/nonexistent-jodo-cases"], "");
    assert_eq!(code, Some(2), "{text}");
}
