//! Golden traces: a case marked `golden: true` keeps its normalised event
//! trace beside it, in `snapshots/<case id>.snap`, and a run compares the
//! trace it sees with that file.
//!
//! The files are insta snapshots, so the reference build's goldens are
//! reviewed with insta's own flow (`cargo insta review` after the e2e
//! test `golden_traces_match_their_snapshots` reports a change). Ids and
//! times differ on every run, so they are redacted before comparing; what
//! stays is the order of events and every other field, which is what a
//! golden trace is for.

use serde_json::Value;
use similar::TextDiff;

use crate::report::Failure;
use crate::trace::CaseTrace;

/// Fields that change on every run and are redacted.
const REDACTED: [&str; 4] = ["messageid", "refmessageid", "timestamp", "systemcallid"];

/// The trace as golden text: one event per line, keys sorted, run-specific
/// values replaced by `[redacted]`.
pub fn normalise(trace: &CaseTrace) -> String {
    normalise_events(&trace.probe.events)
}

/// [`normalise`] over the recorded events alone (as a report keeps them).
pub fn normalise_events(events: &[crate::trace::ProbeEvent]) -> String {
    let mut out = String::new();
    for e in events {
        let mut event = e.event.clone();
        if let Value::Object(map) = &mut event {
            for key in REDACTED {
                if let Some(v) = map.get_mut(key) {
                    *v = Value::String("[redacted]".into());
                }
            }
        }
        out.push_str(&event.to_string());
        out.push('\n');
    }
    out
}

/// The content of an insta `.snap` file: what follows its front matter.
pub fn snapshot_content(file: &str) -> String {
    let body = file
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n").map(|(_, body)| body))
        .unwrap_or(file);
    let mut body = body.trim_end_matches('\n').to_owned();
    body.push('\n');
    body
}

/// An insta snapshot file holding `content`, as `--update-golden` writes it.
pub fn snapshot_file(case_id: &str, content: &str) -> String {
    format!("---\nsource: jodo-conformance golden trace\nexpression: {case_id}\n---\n{content}")
}

/// Compares a trace with its golden text; a mismatch is one failure whose
/// message carries a unified diff and whose expected/actual feed the HTML
/// report's diff.
pub fn check(case_id: &str, golden: Option<&str>, trace: &CaseTrace) -> Vec<Failure> {
    let actual = normalise(trace);
    let Some(golden) = golden else {
        return vec![Failure::new(
            "golden-trace",
            format!(
                "no golden trace snapshots/{case_id}.snap yet; run with --update-golden to write one, then review it"
            ),
        )];
    };
    let expected = snapshot_content(golden);
    if expected == actual {
        return Vec::new();
    }
    let diff = TextDiff::from_lines(&expected, &actual)
        .unified_diff()
        .context_radius(2)
        .header("golden", "this run")
        .to_string();
    vec![
        Failure::new(
            "golden-trace",
            format!("the event trace differs from snapshots/{case_id}.snap:\n{diff}"),
        )
        .diff(expected, actual),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::ProbeEvent;
    use serde_json::json;

    fn trace(events: Vec<Value>) -> CaseTrace {
        let mut t = CaseTrace::default();
        t.probe.events = events
            .into_iter()
            .map(|event| ProbeEvent {
                at: 1.0,
                seq: None,
                js_type: "object".into(),
                clock: None,
                tz: None,
                event,
            })
            .collect();
        t
    }

    #[test]
    fn ids_and_times_are_redacted_and_order_kept() {
        let a = trace(vec![
            json!({"media": "chat", "eventtype": "messagesent", "messageid": "m1", "timestamp": "2026-01-01 00:00:00"}),
            json!({"media": "chat", "eventtype": "typing", "systemcallid": "123"}),
        ]);
        let b = trace(vec![
            json!({"media": "chat", "eventtype": "messagesent", "messageid": "m2", "timestamp": "2027-01-01 00:00:00"}),
            json!({"media": "chat", "eventtype": "typing", "systemcallid": "456"}),
        ]);
        assert_eq!(normalise(&a), normalise(&b));
        let golden = snapshot_file("x", &normalise(&a));
        assert!(check("x", Some(&golden), &b).is_empty());
    }

    #[test]
    fn a_changed_trace_fails_with_a_diff() {
        let golden = snapshot_file(
            "x",
            &normalise(&trace(vec![
                json!({"media": "chat", "eventtype": "typing"}),
            ])),
        );
        let changed = trace(vec![
            json!({"media": "chat", "eventtype": "typing"}),
            json!({"media": "chat", "eventtype": "messagereceived", "msg": "hi"}),
        ]);
        let failures = check("x", Some(&golden), &changed);
        assert_eq!(failures.len(), 1);
        let message = &failures[0].message;
        assert!(
            message.contains("+{\"eventtype\":\"messagereceived\""),
            "{message}"
        );
        assert!(failures[0].expected.is_some() && failures[0].actual.is_some());
        assert_eq!(check("x", None, &changed)[0].rule, "golden-trace");
    }

    #[test]
    fn reads_insta_front_matter() {
        let file = "---\nsource: conformance/tests/e2e.rs\nexpression: trace\n---\n{\"a\":1}\n";
        assert_eq!(snapshot_content(file), "{\"a\":1}\n");
    }
}
