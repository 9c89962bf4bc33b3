//! Every step ran: calls found their function and did not throw, waits saw
//! their event.

use crate::report::Failure;
use crate::trace::{CaseTrace, StepOutcome};

/// Failures for steps that did not run as written.
pub fn check(trace: &CaseTrace) -> Vec<Failure> {
    trace
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, record)| {
            let what = format!("step {i} ({})", record.step.label());
            match &record.outcome {
                StepOutcome::Threw { message } => Some(Failure::new(
                    "no-exceptions",
                    format!("{what} threw: {message}"),
                )),
                StepOutcome::Missing { message } => {
                    Some(Failure::new("method-present", format!("{what}: {message}")))
                }
                StepOutcome::WaitTimedOut { timeout_ms } => Some(Failure::new(
                    "event-arrives",
                    format!("{what}: the event did not arrive within {timeout_ms} ms"),
                )),
                StepOutcome::ControlFailed { message } => {
                    Some(Failure::new("control-fired", format!("{what}: {message}")))
                }
                StepOutcome::Unfinished => Some(Failure::new(
                    "step-finishes",
                    format!("{what} never finished"),
                )),
                StepOutcome::ActionFailed { message } => {
                    Some(Failure::new("page-action", format!("{what}: {message}")))
                }
                StepOutcome::Returned { .. }
                | StepOutcome::Found { .. }
                | StepOutcome::Decided { .. }
                | StepOutcome::Skipped
                | StepOutcome::Triggered
                | StepOutcome::Acted => None,
            }
        })
        .collect()
}
