//! The terminal: a progress bar when stderr is one, and one line per case
//! either way, then the counts, the coverage and the timing.

use std::io::Write;

use crate::events::{Reporter, RunEvent, RunEventKind};
use crate::report::{CaseReport, RunReport, Status};

/// Progress and results on stderr.
#[derive(Debug)]
pub struct Console {
    bar: indicatif::ProgressBar,
}

impl Default for Console {
    fn default() -> Self {
        Self::new()
    }
}

impl Console {
    /// A console reporter; the bar appears once the run starts.
    pub fn new() -> Self {
        Self {
            bar: indicatif::ProgressBar::hidden(),
        }
    }

    fn line(&self, text: &str) {
        if self.bar.is_hidden() {
            eprintln!("{text}");
            let _ = std::io::stderr().flush();
        } else {
            self.bar.println(text);
        }
    }
}

/// The line (and the failure lines under it) a finished case gets.
pub fn case_lines(case: &CaseReport) -> Vec<String> {
    let label = case.label().to_uppercase();
    let mut lines = vec![format!("{label:>7} {} ({} ms)", case.id, case.duration_ms)];
    let explained = case.status.is_unexpected() || case.status == Status::NotApplicable;
    if case.status.is_unexpected() {
        for f in case.failure_lines() {
            lines.push(format!("          {f}"));
        }
    }
    if let (true, Some(reason)) = (explained, &case.reason) {
        lines.push(format!("          {reason}"));
    }
    lines
}

/// The lines that close a run.
pub fn summary_lines(report: &RunReport) -> Vec<String> {
    let s = &report.summary;
    let mut counts = format!(
        "{} passed, {} non-strict, {} failed, {} errored, {} timed out",
        s.passed, s.non_strict, s.failed, s.errored, s.timed_out
    );
    if s.not_applicable > 0 {
        counts.push_str(&format!(", {} not applicable", s.not_applicable));
    }
    let t = &report.timing;
    vec![
        format!(
            "{counts} of {}; {} unexpected ({} unexpected passes)",
            s.total, s.unexpected, s.unexpected_passes
        ),
        report.coverage.summary_line(),
        format!(
            "timing: suite {:.1} s wall with {} worker(s) (target <= 30 s); harness overhead per case median {} ms (target <= 50 ms), max {} ms",
            t.suite_ms as f64 / 1000.0,
            report.jobs,
            t.overhead_median_ms,
            t.overhead_max_ms
        ),
    ]
}

impl Reporter for Console {
    fn report(&mut self, event: &RunEvent<'_>) {
        match &event.kind {
            RunEventKind::RunStarted { cases, browser, .. } => {
                self.line(&format!(
                    "running {cases} case(s) in {} {}",
                    browser.name, browser.version
                ));
                // Drawn only when stderr is a terminal; CI logs get the lines alone.
                self.bar = indicatif::ProgressBar::with_draw_target(
                    Some(*cases as u64),
                    indicatif::ProgressDrawTarget::stderr(),
                );
                self.bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:30} {pos}/{len} cases {elapsed} {msg}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
            }
            RunEventKind::CaseStarted { id, .. } => self.bar.set_message(id.to_string()),
            RunEventKind::CaseFinished { case, .. } => {
                for line in case_lines(case) {
                    self.line(&line);
                }
                self.bar.inc(1);
            }
            RunEventKind::Interrupted => {
                self.bar.finish_and_clear();
                self.line("interrupted; stopping browsers and drivers");
            }
            RunEventKind::RunFinished { report } => {
                self.bar.finish_and_clear();
                for line in summary_lines(report) {
                    self.line(&line);
                }
            }
        }
    }
}
