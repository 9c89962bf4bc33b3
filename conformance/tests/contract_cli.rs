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
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
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
