//! The interface between the runner and its reporters, after
//! cargo-nextest's `TestEvent`: the runner says what happens as it happens,
//! and reporters (the terminal progress, the JSON Lines stream, the report
//! folder) only listen. Nothing here decides a verdict; a finished case
//! arrives already settled by [`crate::verdict`].

use serde::Serialize;

use crate::report::{BrowserInfo, CaseReport, RunReport, WidgetInfo};

/// One thing that happened in a run. It borrows what it reports: the
/// runner keeps the results, reporters only look.
#[derive(Debug, Clone, Serialize)]
pub struct RunEvent<'a> {
    /// Wall-clock time, RFC 3339 UTC.
    pub timestamp: String,
    /// Milliseconds since the run started.
    pub elapsed_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: RunEventKind<'a>,
}

/// The kinds of [`RunEvent`], in the order a run emits them.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunEventKind<'a> {
    /// The first browser is up and cases are about to run.
    RunStarted {
        /// Cases selected (after filter and shard).
        cases: usize,
        /// Workers.
        jobs: usize,
        /// Contract profile.
        profile: String,
        /// The build under test (its version is not known yet).
        widget: &'a WidgetInfo,
        /// The browser.
        browser: &'a BrowserInfo,
    },
    /// A worker took a case.
    CaseStarted {
        /// Place of the case in the selection.
        index: usize,
        /// Case id.
        id: &'a str,
    },
    /// A case finished, with its status settled.
    CaseFinished {
        /// Place of the case in the selection.
        index: usize,
        /// Its result.
        case: &'a CaseReport,
    },
    /// Ctrl-C: the run stops, browsers and drivers are being stopped.
    Interrupted,
    /// The run is over.
    RunFinished {
        /// The whole report.
        report: &'a RunReport,
    },
}

/// Something that listens to a run.
pub trait Reporter {
    /// Called for every event, in order, on the runner's task.
    fn report(&mut self, event: &RunEvent<'_>);
}

/// Listens to nothing.
impl Reporter for () {
    fn report(&mut self, _: &RunEvent<'_>) {}
}

/// Hands every event to each reporter in turn.
impl Reporter for Vec<&mut dyn Reporter> {
    fn report(&mut self, event: &RunEvent<'_>) {
        for r in self.iter_mut() {
            r.report(event);
        }
    }
}

/// Stamps events with the time since the run started.
#[derive(Debug)]
pub struct Clock {
    started: std::time::Instant,
}

impl Clock {
    /// A clock starting now.
    pub fn start() -> Self {
        Self {
            started: std::time::Instant::now(),
        }
    }

    /// An event of this kind, now.
    pub fn event<'a>(&self, kind: RunEventKind<'a>) -> RunEvent<'a> {
        RunEvent {
            timestamp: jodo_contract::clock::rfc3339_now(),
            elapsed_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            kind,
        }
    }

    /// Time since the start.
    pub fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }
}
