//! Schema: every eventdata validates against the contract.

use super::{CheckContext, Failure, event_key};
use crate::executor::CaseTrace;

/// One failure per schema error, naming the event index and JSON pointer.
pub fn check(trace: &CaseTrace, ctx: &CheckContext<'_>) -> Vec<Failure> {
    let mut failures = Vec::new();
    for (i, recorded) in trace.probe.events.iter().enumerate() {
        if recorded.js_type != "object" {
            failures.push(Failure::new(
                "eventdata-object",
                format!(
                    "event {i}: the callback received a {}, not an object",
                    recorded.js_type
                ),
            ));
            continue;
        }
        for e in ctx.schemas.validate_eventdata(&recorded.event, ctx.profile) {
            failures.push(Failure::new(
                format!("schema:{}", event_key(&recorded.event)),
                format!("event {i} ({}): {e}", event_key(&recorded.event)),
            ));
        }
    }
    failures
}
