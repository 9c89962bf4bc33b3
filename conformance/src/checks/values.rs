//! Values, not only shapes: every field of an event the server sent
//! reaches the page's callback with the value the server gave it.
//!
//! The schemas say a `msg` is a string and a queue `position` an integer;
//! a build that hands the page the right type with the wrong value (a
//! message cut short, a position off by one, another session's id) passes
//! them. The case's wire (the mock's record, or the proxy's) holds what the
//! server sent, so each server `event` frame is paired, in order, with the
//! callback event of the same media and eventtype, and every field of the
//! frame's data must be in the event, equal. Fields the widget adds itself
//! (messageid, timestamp) are not in the frame and are left to their own
//! rules. Frames of a protocol other than the kit's (a live run's own
//! dialect) are not read here.

use serde_json::Value;

use super::event_key;
use crate::report::Failure;
use crate::trace::CaseTrace;
use crate::wire::WireEntry;

/// The rule id failures carry (`schemas/catalog.yaml`).
pub const RULE: &str = "server-values";

/// The rule of the visitor's own text (`schemas/catalog.yaml`).
pub const SENT_TEXT: &str = "sent-text";

/// `chat/messagesent` carries the text the page passed to SendChatMessage,
/// unchanged, call by accepted call: the one value of a widget event the
/// case itself chose.
pub fn check_sent_text(trace: &CaseTrace) -> Vec<Failure> {
    let sent: Vec<&str> = trace
        .steps
        .iter()
        .filter_map(|s| match (&s.step, &s.outcome) {
            (
                crate::case::Step::Call { call, args, .. },
                crate::trace::StepOutcome::Returned { value, .. },
            ) if call == "SendChatMessage" && value == &Value::from(1) => {
                args.first().and_then(Value::as_str)
            }
            _ => None,
        })
        .collect();
    let got: Vec<(usize, &Value)> = trace
        .probe
        .events
        .iter()
        .enumerate()
        .filter(|(_, r)| event_key(&r.event) == "chat/messagesent")
        .map(|(i, r)| (i, &r.event))
        .collect();
    sent.iter()
        .zip(&got)
        .filter_map(|(text, (index, event))| {
            let msg = event.get("msg");
            (msg != Some(&Value::from(*text))).then(|| {
                Failure::new(
                    SENT_TEXT,
                    format!(
                        "event {index} (chat/messagesent): msg is {}, but the page sent {:?}",
                        msg.map_or("absent".into(), Value::to_string),
                        text
                    ),
                )
            })
        })
        .collect()
}

/// A server event frame's data, from a wire entry going to the page.
fn server_event(entry: &WireEntry) -> Option<serde_json::Map<String, Value>> {
    let WireEntry::Frame { dir, text, .. } = entry else {
        return None;
    };
    if dir != "in" {
        return None;
    }
    let frame: Value = serde_json::from_str(text).ok()?;
    if frame.get("kind")? != "event" {
        return None;
    }
    frame.get("data")?.as_object().cloned()
}

/// Pairs server events with callback events and compares their fields.
pub fn check(trace: &CaseTrace, wire: &[WireEntry]) -> Vec<Failure> {
    let events: Vec<&Value> = trace.probe.events.iter().map(|r| &r.event).collect();
    let mut next = 0;
    let mut failures = Vec::new();
    for data in wire.iter().filter_map(server_event) {
        let key = event_key(&Value::Object(data.clone()));
        // The next event of that kind the page got; one never delivered is
        // for the expectations and the trace rules to judge.
        let Some(offset) = events[next..].iter().position(|e| event_key(e) == key) else {
            continue;
        };
        let index = next + offset;
        next = index + 1;
        let event = events[index];
        for (field, sent) in &data {
            if field == "media" || field == "eventtype" {
                continue;
            }
            match event.get(field) {
                Some(got) if got == sent => {}
                Some(got) => failures.push(
                    Failure::new(
                        RULE,
                        format!(
                            "event {index} ({key}): {field} is {got}, but the server sent {sent}"
                        ),
                    )
                    .diff(sent.to_string(), got.to_string()),
                ),
                None => failures.push(Failure::new(
                    RULE,
                    format!(
                        "event {index} ({key}): the server sent {field} = {sent}, the page got no {field}"
                    ),
                )),
            }
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn frame(data: Value) -> WireEntry {
        WireEntry::Frame {
            at_ms: 0,
            dir: "in".into(),
            url: "wss://x".into(),
            text: json!({"kind": "event", "seq": 2, "messageid": "s2", "data": data}).to_string(),
        }
    }

    fn trace(events: Vec<Value>) -> CaseTrace {
        let records: Vec<Value> = events
            .into_iter()
            .map(|e| json!({"at": 1.0, "type": "object", "event": e}))
            .collect();
        CaseTrace {
            steps: Vec::new(),
            probe: crate::trace::ProbeRecord::from_value(json!({"events": records})).unwrap(),
            stopped: false,
        }
    }

    #[test]
    fn a_value_changed_or_dropped_on_the_way_to_the_page_fails() {
        let wire = vec![
            frame(
                json!({"media": "session", "eventtype": "allusersbusy", "msg": "wait", "position": 3}),
            ),
            frame(
                json!({"media": "chat", "eventtype": "messagereceived", "msg": "Hi", "sender": "Emma"}),
            ),
        ];
        let good = trace(vec![
            json!({"media": "session", "eventtype": "initialized", "systemcallid": "1"}),
            json!({"media": "session", "eventtype": "allusersbusy", "msg": "wait", "position": 3, "messageid": "s1"}),
            json!({"media": "chat", "eventtype": "messagereceived", "msg": "Hi", "sender": "Emma"}),
        ]);
        assert!(check(&good, &wire).is_empty());
        let bad = trace(vec![
            json!({"media": "session", "eventtype": "allusersbusy", "msg": "wait", "position": 4}),
            json!({"media": "chat", "eventtype": "messagereceived", "msg": "hi"}),
        ]);
        let failures: Vec<String> = check(&bad, &wire).into_iter().map(|f| f.message).collect();
        assert_eq!(
            failures,
            [
                "event 0 (session/allusersbusy): position is 4, but the server sent 3",
                "event 1 (chat/messagereceived): msg is \"hi\", but the server sent \"Hi\"",
                "event 1 (chat/messagereceived): the server sent sender = \"Emma\", the page got no sender",
            ]
        );
    }

    #[test]
    fn the_visitors_text_comes_back_unchanged_call_by_accepted_call() {
        let call = |text: &str, returned: i64| crate::trace::StepRecord {
            step: crate::case::Step::Call {
                call: "SendChatMessage".into(),
                args: vec![json!(text)],
                returns: None,
                gesture: false,
            },
            outcome: crate::trace::StepOutcome::Returned {
                value: json!(returned),
                js_type: "number".into(),
            },
            elapsed_ms: 0,
        };
        let mut t = trace(vec![
            json!({"media": "chat", "eventtype": "messagesent", "msg": "Hello"}),
            json!({"media": "chat", "eventtype": "messagesent", "msg": "Bye, now"}),
        ]);
        // The refused call (2) has no event of its own.
        t.steps = vec![call("Hello", 1), call("", 2), call("Bye, now", 1)];
        assert!(check_sent_text(&t).is_empty());
        t.steps = vec![call("Hello", 1), call("Bye, now!", 1)];
        let failures: Vec<String> = check_sent_text(&t).into_iter().map(|f| f.message).collect();
        assert_eq!(
            failures,
            ["event 1 (chat/messagesent): msg is \"Bye, now\", but the page sent \"Bye, now!\""]
        );
    }

    #[test]
    fn frames_of_another_protocol_and_the_pages_own_frames_are_not_compared() {
        let event = json!({"media": "chat", "eventtype": "typing", "msg": "y"});
        let wire = vec![
            WireEntry::Frame {
                at_ms: 0,
                dir: "in".into(),
                url: "wss://x".into(),
                text: json!({"jsonrpc": "2.0", "method": "agent.typing", "params": {"msg": "x"}})
                    .to_string(),
            },
            WireEntry::Frame {
                at_ms: 0,
                dir: "out".into(),
                url: "wss://x".into(),
                text: json!({"kind": "event", "data": {"media": "chat", "eventtype": "typing", "msg": "x"}})
                    .to_string(),
            },
        ];
        assert!(check(&trace(vec![event.clone()]), &wire).is_empty());
        // The same frame going to the page is compared, and differs.
        let to_page = vec![frame(
            json!({"media": "chat", "eventtype": "typing", "msg": "x"}),
        )];
        assert_eq!(check(&trace(vec![event]), &to_page).len(), 1);
    }
}
