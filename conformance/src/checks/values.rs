//! Values, not only shapes: the catalogue says how each field's value is
//! judged (`values` and `common_values`, see `jodo_contract::field_values`),
//! and these checks judge them.
//!
//! The schemas say a `msg` is a string and a queue `position` an integer;
//! a build that hands the page the right type with the wrong value (a
//! message cut short, a position off by one, another session's id) passes
//! them. The case's wire (the mock's record, or the proxy's) holds what the
//! server sent, so each server `event` frame is paired, in order, with the
//! callback event of the same media and eventtype, and every field of the
//! frame's data, and its messageid, must be in the event, equal
//! (`server-values`). What the page chose comes back unchanged
//! (`sent-values`), and timestamps agree with the page's clock
//! (`timestamps`). Frames of a protocol other than the kit's (a live run's
//! own dialect) are not read here.

use jodo_contract::Catalog;
use serde_json::Value;

use super::event_key;
use crate::report::Failure;
use crate::trace::CaseTrace;
use crate::wire::WireEntry;

/// The rule id failures carry (`schemas/catalog.yaml`).
pub const RULE: &str = jodo_contract::field_values::SERVER_VALUES;

/// The rule of the values the page chose (`schemas/catalog.yaml`).
pub const SENT_VALUES: &str = "sent-values";

/// The rule of the timestamps (`schemas/catalog.yaml`).
pub const TIMESTAMPS: &str = "timestamps";

/// How far before its arrival at the callback an event may have been
/// stamped: a widget stamps when it emits, and a busy page delivers late.
const STAMPED_BEFORE_MS: i64 = 5_000;

/// How far after its arrival: only the rounding of the two clocks.
const STAMPED_AFTER_MS: i64 = 1_000;

/// Every field the catalogue says the page chose (`arg`: an argument of
/// the method's accepted call; `returned_by`: what the method returned)
/// reaches the callback unchanged, call by call, in order.
pub fn check_sent(trace: &CaseTrace, catalog: &Catalog) -> Vec<Failure> {
    let mut failures = Vec::new();
    for entry in &catalog.events {
        let key = entry.key();
        let chosen: Vec<(&String, &jodo_contract::catalog::FieldValue)> = entry
            .values
            .iter()
            .filter(|(_, v)| v.arg.is_some() || v.returned_by.is_some())
            .collect();
        if chosen.is_empty() {
            continue;
        }
        let got: Vec<(usize, &Value)> = trace
            .probe
            .events
            .iter()
            .enumerate()
            .filter(|(_, r)| event_key(&r.event) == key)
            .map(|(i, r)| (i, &r.event))
            .collect();
        for (field, how) in chosen {
            let (method, expected): (&str, Vec<Option<&Value>>) = match (&how.arg, &how.returned_by)
            {
                (Some((method, index)), _) => (
                    method,
                    accepted_calls(trace, catalog, method)
                        .map(|(args, _)| args.get(*index))
                        .collect(),
                ),
                (None, Some(method)) => (
                    method,
                    accepted_calls(trace, catalog, method)
                        .map(|(_, v)| Some(v))
                        .collect(),
                ),
                (None, None) => continue,
            };
            for (want, (index, event)) in expected.iter().zip(&got) {
                let Some(want) = want else { continue };
                let have = event.get(field.as_str());
                if have != Some(*want) {
                    failures.push(
                        Failure::new(
                            SENT_VALUES,
                            format!(
                                "event {index} ({key}): {field} is {}, but the page gave {method} {want}",
                                have.map_or("absent".into(), Value::to_string),
                            ),
                        )
                        .diff(want.to_string(), have.map_or(String::new(), Value::to_string)),
                    );
                }
            }
        }
    }
    failures
}

/// The arguments and the value of every call of `method` the widget
/// accepted, as the catalogue reads its return code.
fn accepted_calls<'t>(
    trace: &'t CaseTrace,
    catalog: &'t Catalog,
    method: &'t str,
) -> impl Iterator<Item = (&'t [Value], &'t Value)> + 't {
    let entry = catalog.method(method);
    trace
        .steps
        .iter()
        .filter_map(move |s| match (&s.step, &s.outcome) {
            (
                crate::case::Step::Call { call, args, .. },
                crate::trace::StepOutcome::Returned { value, .. },
            ) if call == method && entry.is_some_and(|m| m.accepted(value)) => {
                Some((args.as_slice(), value))
            }
            _ => None,
        })
}

/// Every timestamp is the page's local time when the event reached the
/// callback (to its form's resolution, stamped at most a few seconds
/// before), and never earlier than the one before it. Events without the
/// probe's clock (older records) and timestamps of no known form (the
/// schema's to judge) are passed over.
pub fn check_timestamps(trace: &CaseTrace) -> Vec<Failure> {
    let mut failures = Vec::new();
    let mut previous: Option<(usize, i64)> = None;
    for (index, record) in trace.probe.events.iter().enumerate() {
        let (Some(clock), Some(tz)) = (record.clock, record.tz) else {
            continue;
        };
        let Some(stamp) = record
            .event
            .get("timestamp")
            .and_then(jodo_contract::clock::parse_eventdata)
        else {
            continue;
        };
        let key = event_key(&record.event);
        let shown = record
            .event
            .get("timestamp")
            .map_or_else(String::new, Value::to_string);
        let start = stamp.unix_ms(i64::from(tz));
        let end = start + stamp.resolution * 1000;
        // `clock` is a whole number of milliseconds from the page.
        #[allow(clippy::cast_possible_truncation)]
        let arrived = clock as i64;
        if end + STAMPED_BEFORE_MS < arrived || start > arrived + STAMPED_AFTER_MS {
            let off = (arrived - start) / 1000;
            failures.push(Failure::new(
                TIMESTAMPS,
                format!(
                    "event {index} ({key}): timestamp {shown} is {} s {} the page's clock when it arrived",
                    off.abs(),
                    if off > 0 { "behind" } else { "ahead of" }
                ),
            ));
        }
        if let Some((before, before_start)) = previous {
            if end <= before_start {
                failures.push(Failure::new(
                    TIMESTAMPS,
                    format!(
                        "event {index} ({key}): timestamp {shown} is earlier than event {before}'s"
                    ),
                ));
            }
        }
        previous = Some((index, start));
    }
    failures
}

/// A frame of the kit's protocol going to the page.
fn server_frame(entry: &WireEntry) -> Option<Value> {
    let WireEntry::Frame { dir, text, .. } = entry else {
        return None;
    };
    if dir != "in" {
        return None;
    }
    let frame: Value = serde_json::from_str(text).ok()?;
    frame.get("kind")?.as_str()?;
    Some(frame)
}

/// Pairs the server's frames with the callback events made of them and
/// compares their fields: every field of an `event` frame's data and its
/// messageid, and the fields the catalogue maps from other frames (the
/// welcome's systemcallid in `session/widgetInit`).
pub fn check(trace: &CaseTrace, wire: &[WireEntry], catalog: &Catalog) -> Vec<Failure> {
    let events: Vec<&Value> = trace.probe.events.iter().map(|r| &r.event).collect();
    let mut failures = Vec::new();
    let mut compare = |index: usize, key: &str, field: &str, sent: &Value, what: &str| {
        let event = events[index];
        match event.get(field) {
            Some(got) if got == sent => {}
            Some(got) => failures.push(
                Failure::new(
                    RULE,
                    format!("event {index} ({key}): {field} is {got}, but the server sent {sent}{what}"),
                )
                .diff(sent.to_string(), got.to_string()),
            ),
            None => failures.push(Failure::new(
                RULE,
                format!(
                    "event {index} ({key}): the server sent {field} = {sent}{what}, the page got no {field}"
                ),
            )),
        }
    };
    let frames: Vec<Value> = wire.iter().filter_map(server_frame).collect();
    // Event frames: in order, each with the next callback event of its kind;
    // one never delivered is for the expectations and the trace rules.
    let mut next = 0;
    for frame in frames.iter().filter(|f| f["kind"] == "event") {
        let Some(data) = frame.get("data").and_then(Value::as_object) else {
            continue;
        };
        let key = event_key(&frame["data"]);
        let Some(offset) = events[next..].iter().position(|e| event_key(e) == key) else {
            continue;
        };
        let index = next + offset;
        next = index + 1;
        for (field, sent) in data {
            if field != "media" && field != "eventtype" {
                compare(index, &key, field, sent, "");
            }
        }
        if let Some(id) = frame.get("messageid") {
            compare(index, &key, "messageid", id, " as the frame's messageid");
        }
    }
    // Other frames whose fields the catalogue maps into an event.
    for entry in &catalog.events {
        let key = entry.key();
        for (field, how) in &entry.values {
            let Some((kind, from)) = &how.frame else {
                continue;
            };
            // A welcome that resumes a session makes no new event.
            let sent = frames
                .iter()
                .filter(|f| f["kind"] == kind.as_str() && f["data"]["resumed"] != true);
            let got = events
                .iter()
                .enumerate()
                .filter(|(_, e)| event_key(e) == key)
                .map(|(i, _)| i);
            for (frame, index) in sent.zip(got) {
                if let Some(value) = frame.get("data").and_then(|d| d.get(from)) {
                    compare(index, &key, field, value, &format!(" in its {kind} frame"));
                }
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
            json!({"media": "session", "eventtype": "allusersbusy", "msg": "wait", "position": 3, "messageid": "s2"}),
            json!({"media": "chat", "eventtype": "messagereceived", "msg": "Hi", "sender": "Emma", "messageid": "s2"}),
        ]);
        let catalog = jodo_contract::Catalog::embedded().unwrap();
        assert!(check(&good, &wire, &catalog).is_empty());
        let bad = trace(vec![
            json!({"media": "session", "eventtype": "allusersbusy", "msg": "wait", "position": 4}),
            json!({"media": "chat", "eventtype": "messagereceived", "msg": "hi"}),
        ]);
        let failures: Vec<String> = check(&bad, &wire, &catalog)
            .into_iter()
            .map(|f| f.message)
            .collect();
        assert_eq!(
            failures,
            [
                "event 0 (session/allusersbusy): position is 4, but the server sent 3",
                "event 0 (session/allusersbusy): the server sent messageid = \"s2\" as the frame's messageid, the page got no messageid",
                "event 1 (chat/messagereceived): msg is \"hi\", but the server sent \"Hi\"",
                "event 1 (chat/messagereceived): the server sent sender = \"Emma\", the page got no sender",
                "event 1 (chat/messagereceived): the server sent messageid = \"s2\" as the frame's messageid, the page got no messageid",
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
        let catalog = jodo_contract::Catalog::embedded().unwrap();
        assert!(check_sent(&t, &catalog).is_empty());
        t.steps = vec![call("Hello", 1), call("Bye, now!", 1)];
        let failures: Vec<String> = check_sent(&t, &catalog)
            .into_iter()
            .map(|f| f.message)
            .collect();
        assert_eq!(
            failures,
            [
                "event 1 (chat/messagesent): msg is \"Bye, now\", but the page gave SendChatMessage \"Bye, now!\""
            ]
        );
    }

    #[test]
    fn a_timestamp_off_the_pages_clock_or_going_back_fails() {
        // 2025-08-21 11:52:49 UTC; the page is at UTC+05:30 (offset -330).
        let arrived = 1_755_777_169_000.0;
        let at = |stamp: &str, clock: f64| {
            json!({"at": 1.0, "type": "object", "clock": clock, "tz": -330,
                   "event": {"media": "chat", "eventtype": "typing", "timestamp": stamp}})
        };
        let traced = |records: Vec<Value>| CaseTrace {
            steps: Vec::new(),
            probe: crate::trace::ProbeRecord::from_value(json!({"events": records})).unwrap(),
            stopped: false,
        };
        let good = traced(vec![
            at("2025-08-21 17:22:49", arrived),
            at("2025-08-21 17:22:50", arrived + 900.0),
            at("21 Aug 2025 05:22 PM", arrived + 1_000.0),
        ]);
        assert_eq!(check_timestamps(&good), Vec::new());
        let bad = traced(vec![
            // UTC written as if it were local time.
            at("2025-08-21 11:52:49", arrived),
            at("2025-08-21 17:22:49", arrived),
            // A month off (getMonth without + 1).
            at("2025-07-21 17:22:49", arrived),
            at("2025-08-21 17:22:40", arrived),
        ]);
        let failures: Vec<String> = check_timestamps(&bad)
            .into_iter()
            .map(|f| f.message)
            .collect();
        assert_eq!(failures.len(), 4, "{failures:#?}");
        assert!(failures[0].contains("19800 s behind"), "{}", failures[0]);
        assert!(
            failures[2].contains("earlier than event 1"),
            "{}",
            failures[2]
        );
        assert!(
            failures[3].contains("earlier than event 2") || failures[3].contains("behind"),
            "{}",
            failures[3]
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
        let catalog = jodo_contract::Catalog::embedded().unwrap();
        assert!(check(&trace(vec![event.clone()]), &wire, &catalog).is_empty());
        // The same frame going to the page is compared, and differs.
        let to_page = vec![frame(
            json!({"media": "chat", "eventtype": "typing", "msg": "x"}),
        )];
        assert_eq!(check(&trace(vec![event]), &to_page, &catalog).len(), 2);
    }
}
