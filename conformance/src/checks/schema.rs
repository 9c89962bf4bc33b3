//! Schema: every eventdata validates against the contract.

use jodo_contract::Profile;
use serde_json::Value;

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
    trace
        .probe
        .events
        .iter()
        .enumerate()
        .flat_map(|(i, recorded)| {
            let event = (recorded.js_type == "object").then_some(&recorded.event);
            event_failures(i, None, event, &recorded.js_type, ctx, profile)
        })
        .collect()
}

/// The failures of one eventdata (`None` when the callback received no
/// object, of type `js_type`), named by its index and, from a file, its line.
pub fn event_failures(
    index: usize,
    line: Option<u64>,
    event: Option<&Value>,
    js_type: &str,
    ctx: &CheckContext<'_>,
    profile: Profile,
) -> Vec<Failure> {
    let what = || super::rules::name(index, line);
    let Some(event) = event else {
        return vec![Failure::new(
            "eventdata-object",
            format!(
                "{}: the callback received a {js_type}, not an object",
                what()
            ),
        )];
    };
    ctx.schemas
        .validate_eventdata(event, profile)
        .into_iter()
        .map(|e| {
            Failure::new(
                format!("schema:{}", event_key(event)),
                format!("{} ({}): {e}", what(), event_key(event)),
            )
        })
        .collect()
}
