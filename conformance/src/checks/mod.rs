//! Checks: pure functions from a case and its trace to verdicts. None of
//! them talks to the browser; each is reported separately per case.

pub mod codes;
pub mod expect;
pub mod golden;
pub mod rules;
pub mod schema;
pub mod steps;
pub mod values;

use jodo_contract::{Contract, Profile};

use crate::case::Case;
use crate::report::CheckResult;
use crate::trace::CaseTrace;

/// What every check may consult besides the trace.
#[derive(Debug)]
pub struct CheckContext<'a> {
    /// The compiled contract.
    pub schemas: &'a Contract,
    /// Profile events are checked in.
    pub profile: Profile,
    /// Values that must never appear in eventdata (the page's akey and skey).
    pub secrets: Vec<String>,
}

/// Runs every check on a trace and the case's wire, in report order.
pub fn run_all(
    case: &Case,
    trace: &CaseTrace,
    wire: &[crate::wire::WireEntry],
    ctx: &CheckContext<'_>,
) -> Vec<CheckResult> {
    let mut results = vec![
        CheckResult::from_failures("steps", steps::check(trace)),
        CheckResult::from_failures("return-codes", codes::check(trace)),
        CheckResult::from_failures("schema", schema::check(trace, ctx)),
    ];
    // A case's expectations describe the outcome it was written for; when
    // a live backend decided another one, only what ran is checked.
    if trace.decided().is_none() {
        results.push(CheckResult::from_failures(
            "expectations",
            expect::check(case, trace),
        ));
    }
    results.push(CheckResult::from_failures(
        "rules",
        rules::check(trace, ctx),
    ));
    let catalog = ctx.schemas.catalog();
    let mut value_failures = values::check_sent(trace, catalog);
    value_failures.extend(values::check(trace, wire, catalog));
    value_failures.extend(values::check_timestamps(trace));
    results.push(CheckResult::from_failures("values", value_failures));
    if case.golden {
        results.push(CheckResult::from_failures(
            "golden-trace",
            golden::check(&case.id, case.golden_snapshot.as_deref(), trace),
        ));
    }
    results
}

/// `media/eventtype` of an eventdata, or `?/?`.
pub fn event_key(event: &serde_json::Value) -> String {
    let field = |k: &str| {
        event
            .get(k)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("?")
            .to_owned()
    };
    format!("{}/{}", field("media"), field("eventtype"))
}
