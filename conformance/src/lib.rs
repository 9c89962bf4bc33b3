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
//! - [`backend`] and [`page`]: where a case's session is served, and the
//!   page the SDK runs in; [`probe`]: the script that watches it there.
//! - [`executor`]: runs one case in the page and collects its trace.
//! - [`worker`] and [`runner`]: a whole run on `--jobs` workers, told as
//!   [`events`] to the [`reporters`]; [`shard`] chooses its cases.
//! - [`mutation`]: the suite run against every mutant (`selftest`).
//! - [`certify`]: an integrator's own page, through the [`proxy`] (its
//!   [`wire`] record) and the BiDi probe, against the page checks.
//! - [`trace_file`]: traces recorded elsewhere (`check-trace`), checked
//!   a line at a time by the same schema and rule checks.
//! - [`live`]: `run --live`, the cases against a backend the kit does
//!   not script, through the [`proxy`].
//! - [`coverage`]: which catalogue entries the cases exercise.
//! - [`validate`] and [`catalog_view`]: the contract commands.

pub mod backend;
pub mod browser;
pub mod case;
pub mod catalog_view;
pub mod certify;
pub mod checks;
pub mod coverage;
pub mod events;
pub mod executor;
pub mod known_results;
pub mod live;
pub mod merge;
pub mod mutant;
pub mod mutation;
pub mod page;
pub mod page_server;
pub mod probe;
pub mod proxy;
pub mod report;
pub mod reporters;
pub mod run_options;
pub mod runner;
pub mod shard;
pub mod trace;
pub mod trace_file;
pub mod validate;
pub mod verdict;
pub mod wire;
pub mod worker;
