//! jodo-conformance: puts a Jodo widget build through conformance cases in
//! a real browser against the mock, and writes reports.
//!
//! # Layout (the pipeline, in order)
//! - [`case`]: cases as data files.
//! - [`browser`]: WebDriver driver process and browser session.
//! - [`executor`]: runs one case in the page and collects its trace.
//! - [`checks`]: pure verdicts over a trace.
//! - [`report`]: the typed run report and its renderings.
//! - [`runner`]: a whole run, from mock start to report, on `--jobs`
//!   workers; [`shard`] and [`expectations`] choose and judge its cases.
//! - [`coverage`]: which catalogue entries the cases exercise.
//! - [`validate`] and [`catalog_view`]: the contract commands.

pub mod browser;
pub mod case;
pub mod catalog_view;
pub mod checks;
pub mod coverage;
pub mod executor;
pub mod expectations;
pub mod mutant;
pub mod report;
pub mod runner;
pub mod selftest;
pub mod shard;
pub mod validate;
