//! The case's own expectations: events in order (others may come between)
//! with the given field values, events that must not occur, and events
//! that must occur an exact number of times.

use serde_json::Value;

use super::event_key;
use crate::case::Case;
use crate::report::Failure;
use crate::trace::CaseTrace;

/// Failures for missing, misordered, mismatched or forbidden events.
pub fn check(case: &Case, trace: &CaseTrace) -> Vec<Failure> {
    let events: Vec<&Value> = trace.probe.events.iter().map(|e| &e.event).collect();
    let mut failures = Vec::new();
    let mut cursor = 0;
    for (n, want) in case.expect.in_order.iter().enumerate() {
        let found = events[cursor..]
            .iter()
            .position(|e| event_key(e) == want.event && fields_match(e, &want.fields));
        match found {
            Some(offset) => cursor += offset + 1,
            None => {
                let same_kind = events.iter().find(|e| event_key(e) == want.event);
                let message = match same_kind {
                    Some(e) if !fields_match(e, &want.fields) => {
                        format!("expected event {n} ({}) has other field values", want.event)
                    }
                    Some(_) => format!("expected event {n} ({}) came out of order", want.event),
                    None => format!("expected event {n} ({}) never came", want.event),
                };
                let actual = same_kind
                    .map(|e| pretty(&subset(e, &want.fields)))
                    .unwrap_or_else(|| trace_keys(&events));
                let expected = if want.fields.is_empty() {
                    want.event.clone()
                } else {
                    pretty(&Value::Object(want.fields.clone()))
                };
                failures.push(
                    Failure::new(format!("expect:{}", want.event), message).diff(expected, actual),
                );
            }
        }
    }
    for key in &case.expect.absent {
        let count = events.iter().filter(|e| event_key(e) == *key).count();
        if count > 0 {
            failures.push(Failure::new(
                format!("absent:{key}"),
                format!("{key} must not occur, but occurred {count} time(s)"),
            ));
        }
    }
    for (key, want) in &case.expect.counts {
        let count = events.iter().filter(|e| event_key(e) == *key).count();
        if count != *want {
            failures.push(
                Failure::new(
                    format!("count:{key}"),
                    format!("{key} must occur {want} time(s), but occurred {count} time(s)"),
                )
                .diff(want.to_string(), count.to_string()),
            );
        }
    }
    failures
}

fn fields_match(event: &Value, fields: &serde_json::Map<String, Value>) -> bool {
    fields.iter().all(|(k, v)| event.get(k) == Some(v))
}

/// The event's values for the expected fields (null where absent).
fn subset(event: &Value, fields: &serde_json::Map<String, Value>) -> Value {
    Value::Object(
        fields
            .keys()
            .map(|k| (k.clone(), event.get(k).cloned().unwrap_or(Value::Null)))
            .collect(),
    )
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn trace_keys(events: &[&Value]) -> String {
    if events.is_empty() {
        "(no events)".into()
    } else {
        events
            .iter()
            .map(|e| event_key(e))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
