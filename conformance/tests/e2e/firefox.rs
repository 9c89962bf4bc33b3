//! The suite in Firefox ESR through geckodriver.

use crate::common::*;

/// The same suite in Firefox ESR through geckodriver, with no expectations
/// file: every case passes, the screenshare ones too (their calls come
/// from real clicks, and Firefox draws on the kit's virtual display, so it
/// has a screen to share), the report names the browser, and no process
/// (driver, browser, Xvfb) outlives the run.
#[test]
fn reference_build_passes_in_firefox_and_leaves_no_process() {
    let dir = tempfile::tempdir().unwrap();
    let marker = unique("firefox");
    let out = run_cli(
        &marker,
        &[
            "run",
            "--browser",
            "firefox",
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    let stderr = out.stderr.as_str();
    assert_eq!(out.code, Some(0), "{stderr}");
    let report = read_report(dir.path());
    assert_eq!(report.browser.name, "firefox");
    let not_passed: Vec<&str> = report
        .cases
        .iter()
        .filter(|c| c.outcome != Outcome::Pass)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(not_passed, Vec::<&str>::new(), "{stderr}");
    assert!(report.summary.total >= 50, "{stderr}");
    assert_eq!(report.widget.sdk_version.as_deref(), Some("2.0.0-ref.1"));
    assert_eq!(
        leftovers(&marker),
        Vec::<String>::new(),
        "processes outlived the run"
    );
}
