//! jodo-conformance: puts a Jodo widget build through conformance cases in
//! a real browser against the mock, and writes reports.
//!
//! # Layout (the pipeline, in order)
//! - [`case`] and [`mutant`]: cases and faulty builds as data files.
//! - [`trace`]: what one case did and what the page probe recorded.
//! - [`report`]: the typed run report and its renderings.
//! - [`verdict`]: judging, in one place, with [`known_results`].
//! - [`checks`]: pure checks over a trace.
//! - [`browser`]: WebDriver driver process and browser session.
//! - [`executor`]: runs one case in the page and collects its trace.
//! - [`runner`]: a whole run, from mock start to report, on `--jobs`
//!   workers; [`shard`] chooses its cases.
//! - [`mutation`]: the suite run against every mutant (`selftest`).
//! - [`coverage`]: which catalogue entries the cases exercise.
//! - [`validate`] and [`catalog_view`]: the contract commands.

pub mod browser;
pub mod case;
pub mod catalog_view;
pub mod checks;
pub mod coverage;
pub mod executor;
pub mod known_results;
pub mod mutant;
pub mod mutation;
pub mod report;
pub mod runner;
pub mod shard;
pub mod trace;
pub mod validate;
pub mod verdict;
