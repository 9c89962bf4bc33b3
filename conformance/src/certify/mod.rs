//! `jodo-conformance certify --page URL`: an integrator's own page,
//! unmodified, put through the kit. The page is loaded as written; the
//! intercepting proxy answers for the Jodo hosts from the mock; the probe
//! arrives as a BiDi preload script; the built-in cases drive the page;
//! a few trials look at what only a page can get wrong; and the page
//! checks of the catalogue judge it all.
//!
//! - [`target`]: the page, at a URL or served from a file;
//! - [`discovery`]: what the page is made of, read on a first load;
//! - [`trials`]: the cases made for this page (masking, error messages,
//!   the session start with its screenshot);
//! - [`page_checks`]: one pure function per catalogue page check;
//! - [`report`] and [`render`]: the certification report and its files;
//! - [`run`]: the whole certification, in order.

pub mod discovery;
pub mod page_checks;
pub mod render;
pub mod report;
pub mod run;
pub mod target;
pub mod trials;

pub use run::{CertifyError, CertifyOptions, certify};
