//! Contract rules over the whole event trace, written once for every case.

use std::collections::HashMap;

use serde_json::Value;

use super::{CheckContext, Failure, event_key};
use crate::executor::CaseTrace;

/// One rule: a stable id and a function from the trace to failures.
struct Rule {
    id: &'static str,
    check: fn(&[&Value], &CheckContext<'_>) -> Vec<String>,
}

const RULES: &[Rule] = &[
    Rule {
        id: "unique-messageid",
        check: unique_messageid,
    },
    Rule {
        id: "nothing-after-ended",
        check: nothing_after_ended,
    },
    Rule {
        id: "no-keys-in-eventdata",
        check: no_keys_in_eventdata,
    },
];

/// Failures of every rule, each naming its rule.
pub fn check(trace: &CaseTrace, ctx: &CheckContext<'_>) -> Vec<Failure> {
    let events: Vec<&Value> = trace.probe.events.iter().map(|e| &e.event).collect();
    RULES
        .iter()
        .flat_map(|rule| {
            (rule.check)(&events, ctx)
                .into_iter()
                .map(move |message| Failure::new(rule.id, message))
        })
        .collect()
}

/// Every messageid appears once within the session.
fn unique_messageid(events: &[&Value], _: &CheckContext<'_>) -> Vec<String> {
    let mut first_seen: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if let Some(id) = e.get("messageid").and_then(Value::as_str) {
            if let Some(first) = first_seen.insert(id, i) {
                out.push(format!(
                    "event {i} ({}) reuses messageid {id:?} of event {first}",
                    event_key(e)
                ));
            }
        }
    }
    out
}

/// After session/ended only sessionEnd events may reach the page.
fn nothing_after_ended(events: &[&Value], _: &CheckContext<'_>) -> Vec<String> {
    let Some(ended) = events.iter().position(|e| event_key(e) == "session/ended") else {
        return Vec::new();
    };
    events[ended + 1..]
        .iter()
        .enumerate()
        .filter(|(_, e)| e.get("media").and_then(Value::as_str) != Some("sessionEnd"))
        .map(|(k, e)| {
            format!(
                "event {} ({}) came after session/ended",
                ended + 1 + k,
                event_key(e)
            )
        })
        .collect()
}

/// Neither key appears in any string of any eventdata.
fn no_keys_in_eventdata(events: &[&Value], ctx: &CheckContext<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let text = e.to_string();
        for (n, secret) in ctx.secrets.iter().enumerate() {
            if !secret.is_empty() && text.contains(secret.as_str()) {
                let which = if n == 0 { "akey" } else { "skey" };
                out.push(format!("event {i} ({}) contains the {which}", event_key(e)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_engine_rule_is_a_trace_rule_of_the_catalogue_and_back() {
        let catalog = jodo_contract::Catalog::embedded().unwrap();
        let engine: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        let listed: Vec<&str> = catalog
            .rules
            .iter()
            .filter(|r| r.checked_by == "trace")
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(engine, listed);
    }

    use super::*;
    use crate::executor::ProbeEvent;
    use jodo_contract::SchemaSet;
    use serde_json::json;

    fn trace(events: Vec<Value>) -> CaseTrace {
        let mut t = CaseTrace::default();
        t.probe.events = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| ProbeEvent {
                at: i as f64,
                js_type: "object".into(),
                event,
            })
            .collect();
        t
    }

    fn rules_broken(t: &CaseTrace) -> Vec<String> {
        let schemas = SchemaSet::embedded().unwrap();
        let ctx = CheckContext {
            schemas: &schemas,
            profile: jodo_contract::Profile::Strict,
            secrets: vec!["AK".into(), "SK".into()],
        };
        check(t, &ctx).into_iter().map(|f| f.rule).collect()
    }

    #[test]
    fn clean_trace_passes() {
        let t = trace(vec![
            json!({"media": "session", "eventtype": "initialized", "messageid": "a"}),
            json!({"media": "session", "eventtype": "ended", "messageid": "b"}),
            json!({"media": "sessionEnd", "eventtype": "feedbackSuccess", "messageid": "c"}),
        ]);
        assert!(rules_broken(&t).is_empty());
    }

    #[test]
    fn each_rule_catches_its_fault() {
        let t = trace(vec![
            json!({"media": "session", "eventtype": "ended", "messageid": "a"}),
            json!({"media": "chat", "eventtype": "typing", "messageid": "a"}),
            json!({"media": "session", "eventtype": "APINotConnected", "messageid": "c", "msg": "bad key AK"}),
        ]);
        let broken = rules_broken(&t);
        assert!(
            broken.contains(&"unique-messageid".to_string()),
            "{broken:?}"
        );
        assert!(
            broken.contains(&"nothing-after-ended".to_string()),
            "{broken:?}"
        );
        assert!(
            broken.contains(&"no-keys-in-eventdata".to_string()),
            "{broken:?}"
        );
    }
}
