//! `--format jsonl`: one JSON object per event on a writer (stdout), so a
//! tool can follow a run as it goes. A finished case carries its whole
//! report; the run's end carries the summary, not the cases again (they
//! are in `report.json`).

use std::io::Write;

use serde::Serialize;

use crate::events::{Reporter, RunEvent, RunEventKind};
use crate::report::{RunReport, Summary, Timing, WidgetInfo};

/// Writes events as JSON Lines.
#[derive(Debug)]
pub struct JsonLines<W: Write> {
    out: W,
    /// The first write error; later events are dropped.
    failed: Option<std::io::Error>,
}

impl<W: Write> JsonLines<W> {
    /// Events to `out`.
    pub fn new(out: W) -> Self {
        Self { out, failed: None }
    }

    /// The first write error, if any (a closed pipe).
    pub fn error(&self) -> Option<&std::io::Error> {
        self.failed.as_ref()
    }
}

/// What the end of a run says in the stream.
#[derive(Serialize)]
struct Finished<'a> {
    timestamp: &'a str,
    elapsed_ms: u64,
    event: &'static str,
    widget: &'a WidgetInfo,
    profile: &'a str,
    summary: &'a Summary,
    timing: &'a Timing,
    coverage_score: f64,
    as_expected: bool,
}

impl<'a> Finished<'a> {
    fn of(event: &'a RunEvent<'_>, report: &'a RunReport) -> Self {
        Self {
            timestamp: &event.timestamp,
            elapsed_ms: event.elapsed_ms,
            event: "run_finished",
            widget: &report.widget,
            profile: &report.profile,
            summary: &report.summary,
            timing: &report.timing,
            coverage_score: report.coverage.score,
            as_expected: report.summary.as_expected(),
        }
    }
}

impl<W: Write> Reporter for JsonLines<W> {
    fn report(&mut self, event: &RunEvent<'_>) {
        if self.failed.is_some() {
            return;
        }
        let line = match &event.kind {
            RunEventKind::RunFinished { report } => {
                serde_json::to_string(&Finished::of(event, report))
            }
            _ => serde_json::to_string(event),
        };
        let written = line
            .map_err(std::io::Error::other)
            .and_then(|l| writeln!(self.out, "{l}"))
            .and_then(|()| self.out.flush());
        if let Err(e) = written {
            self.failed = Some(e);
        }
    }
}
