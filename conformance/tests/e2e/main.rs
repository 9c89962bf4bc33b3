//! End-to-end: the real mock, real TLS, real chromedriver and headless
//! Chromium (and Firefox and WebKitGTK), the real widget build. Needs `chromium`,
//! `chromium-driver`, `firefox-esr`, `geckodriver`, `webkit2gtk-driver` and
//! `xvfb` (`.ci/run` installs them).

mod common;
mod dialect;
mod firefox;
mod grid;
mod isolation;
mod replay;
mod robustness;
mod run;
mod selftest;
mod verdicts;
mod webkit;
