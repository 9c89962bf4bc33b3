//! The page probe: a script of the runner's (`conformance/assets/probe.js`)
//! that runs before a page's own, wraps the callback `extdata.callbackfn`
//! names, records what the widget does, and runs a case's page steps in
//! the page. The page need not know about it, so it works in any host
//! page; how it gets there is the [`crate::page`]'s business.

use std::sync::Arc;

/// The probe script.
pub const SCRIPT: &str = include_str!("../assets/probe.js");

/// The probe as the mock's host page preloads it.
pub fn preload() -> jodo_mock::Preload {
    jodo_mock::Preload {
        script: Arc::from(SCRIPT.as_bytes()),
    }
}
