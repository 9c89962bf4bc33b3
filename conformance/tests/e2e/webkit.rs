//! The suite in WebKitGTK (Safari's engine) through WebKitWebDriver.

use crate::common::*;

/// The same suite in WebKitGTK's MiniBrowser on the kit's virtual display,
/// with its mock capture devices standing in for camera and microphone:
/// every case passes with no expectations file, the report names the
/// engine, and no process (driver, browser, its web and network processes,
/// Xvfb) outlives the run. Two workers, as a CI job would run it.
#[test]
fn reference_build_passes_in_webkit_and_leaves_no_process() {
    let report = passes_in("webkit", &["--jobs", "2"]);
    assert_eq!(report.browser.name, "MiniBrowser");
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
