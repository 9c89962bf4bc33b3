//! Schema: every eventdata validates against the contract.

use jodo_contract::Profile;

use super::{CheckContext, event_key};
use crate::report::Failure;
use crate::trace::CaseTrace;

/// One failure per schema error in the run's profile, naming the event
/// index and JSON pointer.
pub fn check(trace: &CaseTrace, ctx: &CheckContext<'_>) -> Vec<Failure> {
    check_in(trace, ctx, ctx.profile)
}

/// The same check in a given profile: a case failing strict but passing
/// compat is reported as non-strict rather than failed.
pub fn check_in(trace: &CaseTrace, ctx: &CheckContext<'_>, profile: Profile) -> Vec<Failure> {
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
        for e in ctx.schemas.validate_eventdata(&recorded.event, profile) {
            failures.push(Failure::new(
                format!("schema:{}", event_key(&recorded.event)),
                format!("event {i} ({}): {e}", event_key(&recorded.event)),
            ));
        }
    }
    failures
}
