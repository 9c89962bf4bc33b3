//! What a run is asked to do, and why it may not happen: shared by the
//! coordinator ([`crate::runner`]) and its workers ([`crate::worker`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jodo_contract::dialect::Dialect;

use jodo_contract::{ContractError, Profile};
use jodo_mock::StartError;

use crate::backend::BackendKind;
use crate::browser::{BrowserError, BrowserOptions};
use crate::case::CaseError;
use crate::known_results::KnownResults;
use crate::page::Page;
use crate::shard::Shard;
use crate::verdict::FailFast;

/// What to run and where.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Widget build to test; the reference build when absent.
    pub widget: Option<PathBuf>,
    /// Case folder; the built-in cases when absent.
    pub cases_dir: Option<PathBuf>,
    /// Run only cases whose id contains one of these texts (all when empty).
    pub filter: Vec<String>,
    /// Browser to use.
    pub browser: BrowserOptions,
    /// The server the cases' sessions run against.
    pub backend: BackendKind,
    /// The page the SDK runs in.
    pub page: Page,
    /// How each case gets its page afresh.
    pub fresh: crate::page::Fresh,
    /// Contract profile events are checked in.
    pub profile: Profile,
    /// Per-case limit overriding each case's own `timeout_ms`.
    pub case_timeout: Option<Duration>,
    /// Parallel workers, each with its own backend and browser (0 counts as 1).
    pub jobs: usize,
    /// Only this share of the cases, so CI machines can split a run.
    pub shard: Option<Shard>,
    /// Stop taking new cases once one ends this way (the cases not run
    /// are left out of the report).
    pub fail_fast: Option<FailFast>,
    /// Known results: cases expected not to pass.
    pub known: KnownResults,
    /// The wire protocol the mock speaks (and the reference build with
    /// it); the kit's own when absent. A build given with `widget` is
    /// served as it is: it speaks the dialect itself.
    pub dialect: Option<Arc<Dialect>>,
}

/// Why a run could not happen (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The contract did not compile (a broken build).
    #[error("the contract does not load: {0}")]
    Contract(#[from] ContractError),
    /// Cases could not be loaded.
    #[error(transparent)]
    Cases(#[from] CaseError),
    /// No case matched the filter.
    #[error("no case matches {0}")]
    NoCases(String),
    /// The widget file could not be read.
    #[error("cannot read widget build {path}: {source}")]
    Widget {
        /// The path given.
        path: String,
        /// OS error.
        source: std::io::Error,
    },
    /// The widget build cannot be made to speak the run's dialect.
    #[error(transparent)]
    Dialect(#[from] jodo_mock::site::NoDialectSlot),
    /// The backend did not start.
    #[error("the mock server did not start: {0}")]
    Mock(#[from] StartError),
    /// A live backend could not be reached or set up.
    #[error(transparent)]
    Live(#[from] crate::live::LiveError),
    /// The browser's BiDi connection (for the probe of a live run) failed.
    #[error(transparent)]
    Bidi(#[from] crate::browser::BidiError),
    /// No browser.
    #[error(transparent)]
    Browser(#[from] BrowserError),
    /// Ctrl-C: the report of the cases that finished, marked interrupted.
    #[error("interrupted")]
    Interrupted(Box<crate::report::RunReport>),
}
