//! The suite in WebKitGTK (Safari's engine) through WebKitWebDriver.

use crate::common::*;

/// The same suite in WebKitGTK's MiniBrowser on the kit's virtual display,
/// with its mock capture devices standing in for camera and microphone:
/// every case passes with no expectations file, the report names the
/// engine, and no process (driver, browser, its web and network processes,
/// Xvfb) outlives the run. Two workers, as a CI job would run it.
#[test]
fn reference_build_passes_in_webkit_and_leaves_no_process() {
    let dir = tempfile::tempdir().unwrap();
    let marker = unique("webkit");
    let out = run_cli(
        &marker,
        &[
            "run",
            "--browser",
            "webkit",
            "--jobs",
            "2",
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    let stderr = out.stderr.as_str();
    assert_eq!(out.code, Some(0), "{stderr}");
    assert!(
        !stderr.contains("Illegal SNI"),
        "no rustls noise per connection: {stderr}"
    );
    let report = read_report(dir.path());
    assert_eq!(report.browser.name, "MiniBrowser");
    let not_passed: Vec<&str> = report
        .cases
        .iter()
        .filter(|c| c.outcome != Outcome::Pass)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(not_passed, Vec::<&str>::new(), "{stderr}");
    assert!(report.summary.total >= 60, "{stderr}");
    // The media cases really captured: WebKit's mock devices answered.
    let video = report
        .cases
        .iter()
        .find(|c| c.id == "video-request-accept")
        .unwrap();
    assert!(
        video
            .probe
            .events
            .iter()
            .any(|e| e.event["media"] == "video" && e.event["eventtype"] == "start"),
        "{:?}",
        video.probe.events
    );
    assert_eq!(
        leftovers(&marker),
        Vec::<String>::new(),
        "processes outlived the run"
    );
}

/// What needs WebDriver BiDi (a page under certification gets the probe
/// that way) is refused in WebKit with the reason, before a browser starts.
#[test]
fn certify_in_webkit_says_it_needs_bidi() {
    let marker = unique("webkit-certify");
    let out = run_cli(
        &marker,
        &[
            "certify",
            "--page",
            "https://127.0.0.1:9/",
            "--browser",
            "webkit",
        ],
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("BiDi"), "{}", out.stderr);
    assert_eq!(leftovers(&marker), Vec::<String>::new());
}
