//! Return codes: each call that names an expected value returned exactly
//! it; likewise each page expression with an expected value.

use serde_json::Value;

use crate::case::Step;
use crate::report::Failure;
use crate::trace::{CaseTrace, StepOutcome};

/// Failures for calls whose return value differs from the case's.
pub fn check(trace: &CaseTrace) -> Vec<Failure> {
    let mut failures = Vec::new();
    for (i, record) in trace.steps.iter().enumerate() {
        let StepOutcome::Returned { value, .. } = &record.outcome else {
            continue;
        };
        let (rule, what, want) = match &record.step {
            Step::Call {
                call,
                args,
                returns: Some(want),
                ..
            } => (
                format!("return-code:{call}"),
                format!("{call}({})", describe_args(args)),
                want,
            ),
            Step::Eval {
                eval,
                returns: Some(want),
                rule,
            } => (
                rule.clone().unwrap_or_else(|| "page-state".into()),
                format!("the page's {eval}"),
                want,
            ),
            _ => continue,
        };
        if value != want {
            failures.push(
                Failure::new(
                    rule,
                    format!("step {i}: {what} gave {value}, expected {want}"),
                )
                .diff(want.to_string(), value.to_string()),
            );
        }
    }
    failures
}

/// Arguments shortened for messages: long strings show their length.
fn describe_args(args: &[Value]) -> String {
    args.iter()
        .map(|a| match a {
            Value::String(s) if s.chars().count() > 24 => {
                format!(
                    "<{} chars, {} UTF-16 units>",
                    s.chars().count(),
                    s.encode_utf16().count()
                )
            }
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
