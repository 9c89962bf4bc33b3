//! Conforming sessions for trace tests and the check-trace benchmark: the
//! reference build's golden chat trace with fresh ids per session, each
//! acknowledgement naming its session's sent message as the widget's do.

use std::path::Path;

use serde_json::Value;

/// The golden chat-roundtrip trace, ids and times redacted.
pub fn template(root: &Path) -> Vec<Value> {
    let snap =
        std::fs::read_to_string(root.join("conformance/cases/snapshots/chat-roundtrip.snap"))
            .expect("the golden chat trace");
    let events: Vec<Value> = snap
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a golden line is JSON"))
        .collect();
    assert!(
        events.len() >= 8,
        "the golden trace has {} events",
        events.len()
    );
    events
}

/// Session number `s` of the template, each event handed to `out`.
pub fn session(template: &[Value], s: usize, out: &mut dyn FnMut(Value)) {
    let sent = format!("s{s}-sent");
    for (i, e) in template.iter().enumerate() {
        let is_sent = e["eventtype"] == "messagesent";
        let mut e = e.clone();
        if let Some(o) = e.as_object_mut() {
            for (k, v) in o.iter_mut() {
                if v != "[redacted]" {
                    continue;
                }
                *v = match k.as_str() {
                    "timestamp" => "2026-12-03 12:00:00".into(),
                    "systemcallid" => format!("call-{s}").into(),
                    "refmessageid" => sent.clone().into(),
                    _ if is_sent => sent.clone().into(),
                    _ => format!("s{s}-m{i}").into(),
                };
            }
        }
        out(e);
    }
}
