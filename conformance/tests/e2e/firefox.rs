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
