//! The suite in Firefox ESR through geckodriver.

use crate::common::*;

/// The same suite in Firefox ESR through geckodriver, with no expectations
/// file: every case passes, the screenshare ones too (their calls come
/// from real clicks, and Firefox draws on the kit's virtual display, so it
/// has a screen to share), the report names the browser, and no process
/// (driver, browser, Xvfb) outlives the run.
#[test]
fn reference_build_passes_in_firefox_and_leaves_no_process() {
    let report = passes_in("firefox", &[]);
    assert_eq!(report.browser.name, "firefox");
    assert_eq!(report.widget.sdk_version.as_deref(), Some("2.0.0-ref.1"));
}

/// A fault behind a Chromium-only feature (`navigator.userAgentData`) does
/// not show in Firefox: there the self-test runs its build on every case,
/// which must all pass, and calls it dormant rather than a survivor (the
/// default self-test, in Chromium, kills it).
#[test]
fn a_chromium_only_fault_is_dormant_in_firefox() {
    let (st, stdout) = passing_selftest(
        "dormant",
        &["--browser", "firefox", "--only", "client-hints-on-chromium"],
    );
    assert_eq!(st.mutants.len(), 1);
    let m = &st.mutants[0];
    assert_eq!(m.verdict, jodo_conformance::report::KillVerdict::Dormant);
    assert!(m.failed_cases.is_empty(), "{:?}", m.failed_cases);
    assert_eq!(m.engines, ["chromium"]);
    assert!(
        stdout.contains("dormant  client-hints-on-chromium"),
        "{stdout}"
    );
}
