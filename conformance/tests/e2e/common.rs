//! What the end-to-end tests share: the reference build and its mutants,
//! the binary with a marker in its environment, leftover processes, and
//! reports read back through their schema.
#![allow(dead_code, unused_imports)]

pub use std::path::{Path, PathBuf};
pub use std::process::{Command, Stdio};
pub use std::time::{Duration, Instant};

pub use jodo_conformance::report::{Outcome, RunReport, Status};
pub use jodo_conformance::runner::{self, RunOptions};

pub fn reference_widget() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/widget/ext_integration-2.0.js")
}

/// The reference build with one edit; panics if the edit no longer applies,
/// so the mutant follows the reference as it changes.
pub fn mutant(dir: &Path, find: &str, replace: &str) -> PathBuf {
    let reference = std::fs::read_to_string(reference_widget()).unwrap();
    assert_eq!(
        reference.matches(find).count(),
        1,
        "mutation site not found once: {find}"
    );
    let path = dir.join("ext_integration-2.0.js");
    std::fs::write(&path, reference.replace(find, replace)).unwrap();
    path
}

/// Pids of live (non-zombie) processes whose environment carries `marker`.
pub fn processes_with(marker: &str) -> Vec<String> {
    let needle = format!("JODO_E2E_MARK={marker}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if state
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z'))
        {
            continue;
        }
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        if environ
            .split(|b| *b == 0)
            .any(|var| var == needle.as_bytes())
        {
            let cmd = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            found.push(format!("{pid} {}", cmd.replace('\0', " ")));
        }
    }
    found
}

/// Waits (bounded) until no process carries the marker; returns leftovers.
pub fn leftovers(marker: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_with(marker);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Reads a written report.json: it must match `schemas/report.schema.json`,
/// the contract CI systems parse it by.
pub fn read_report(dir: &Path) -> RunReport {
    let text = std::fs::read_to_string(dir.join("report.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let schemas = jodo_contract::Contract::embedded().unwrap();
    assert_eq!(schemas.validate("report.schema.json", &value), vec![]);
    serde_json::from_value(value).unwrap()
}

pub fn binary(marker: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jodo-conformance"));
    cmd.args(args)
        .env("JODO_E2E_MARK", marker)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// What a finished run of the binary left: its exit code and stderr.
pub struct Ran {
    pub code: Option<i32>,
    pub stderr: String,
}

/// Runs the binary to the end with the marker set.
pub fn run_cli(marker: &str, args: &[&str]) -> Ran {
    let out = binary(marker, args).output().unwrap();
    Ran {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn unique(name: &str) -> String {
    format!("{name}-{}-{:?}", std::process::id(), Instant::now())
}

/// A merged report says what the single run said: the same cases with the
/// same outcomes, the same counts and the same coverage.
pub fn assert_same_run(merged: &RunReport, single: &RunReport) {
    let outcomes = |r: &RunReport| -> Vec<(String, Outcome)> {
        r.cases.iter().map(|c| (c.id.clone(), c.outcome)).collect()
    };
    assert_eq!(outcomes(merged), outcomes(single));
    assert_eq!(
        serde_json::to_value(&merged.summary).unwrap(),
        serde_json::to_value(&single.summary).unwrap()
    );
    assert_eq!(
        serde_json::to_value(&merged.coverage).unwrap(),
        serde_json::to_value(&single.coverage).unwrap()
    );
}

/// Runs the whole suite in `browser` (with `extra` arguments) and checks
/// that every case passed and no process outlived the run; the report.
pub fn passes_in(browser: &str, extra: &[&str]) -> RunReport {
    let dir = tempfile::tempdir().unwrap();
    let marker = unique(browser);
    let mut args = vec![
        "run",
        "--browser",
        browser,
        "--report-dir",
        dir.path().to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run_cli(&marker, &args);
    let stderr = out.stderr.as_str();
    assert_eq!(out.code, Some(0), "{stderr}");
    let report = read_report(dir.path());
    let not_passed: Vec<&str> = report
        .cases
        .iter()
        .filter(|c| c.outcome != Outcome::Pass)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(not_passed, Vec::<&str>::new(), "{stderr}");
    assert!(report.summary.total >= 60, "{stderr}");
    assert!(
        !stderr.contains("Illegal SNI"),
        "no rustls noise per connection: {stderr}"
    );
    assert_eq!(
        leftovers(&marker),
        Vec::<String>::new(),
        "processes outlived the run"
    );
    report
}

/// `merge SHARD... --report-dir OUT`, run to the end.
pub fn merge_cli(marker: &str, shards: &[&str], out: &str) -> Ran {
    let mut args = vec!["merge"];
    args.extend_from_slice(shards);
    args.extend(["--report-dir", out]);
    run_cli(marker, &args)
}

/// Runs `selftest` with these arguments into a fresh report folder; it must
/// exit 0 and leave no process. The kill matrix and what it printed.
pub fn passing_selftest(
    name: &str,
    args: &[&str],
) -> (jodo_conformance::report::KillMatrix, String) {
    let dir = tempfile::tempdir().unwrap();
    let marker = unique(name);
    let mut all = vec!["selftest", "--report-dir", dir.path().to_str().unwrap()];
    all.extend_from_slice(args);
    let out = binary(&marker, &all).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let matrix = read_report(dir.path())
        .kill_matrix
        .expect("the report carries the kill matrix");
    assert_eq!(leftovers(&marker), Vec::<String>::new());
    (matrix, stdout)
}
