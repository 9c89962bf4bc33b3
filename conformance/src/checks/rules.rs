//! Contract rules over the whole event trace, written once for every case.

use std::collections::HashMap;

use serde_json::Value;

use super::{CheckContext, event_key};
use crate::report::Failure;
use crate::trace::{CaseTrace, order};

/// One rule: a stable id and a function from the trace to failures.
struct Rule {
    id: &'static str,
    check: fn(&Trace<'_>, &CheckContext<'_>) -> Vec<String>,
}

/// What rules read: the eventdata in order and the page probe's records.
struct Trace<'a> {
    events: Vec<&'a Value>,
    probe: &'a crate::trace::ProbeRecord,
}

impl Trace<'_> {
    /// Whether, before the record numbered `before`, the runner had called a
    /// method whose catalogue consent covers `device`.
    fn consented_by(&self, before: u64, device: &str, ctx: &CheckContext<'_>) -> bool {
        let catalog = ctx.schemas.catalog();
        self.probe.calls.iter().any(|c| {
            order(c.seq) < before
                && catalog
                    .method(c.method())
                    .is_some_and(|m| m.consent.iter().any(|d| d == device))
        })
    }

    /// Whether the runner called `method` after the record numbered `from`
    /// and before the one numbered `to`: a jodosessioninit after
    /// session/ended starts a new session, whose events the ended one's
    /// rule does not cover.
    fn called_between(&self, method: &str, from: u64, to: u64) -> bool {
        self.probe.calls.iter().any(|c| {
            let n = order(c.seq);
            n > from && n < to && c.method() == method
        })
    }
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
    Rule {
        id: "secure-transport",
        check: secure_transport,
    },
    Rule {
        id: "lifecycle",
        check: lifecycle,
    },
    Rule {
        id: "ack-order",
        check: ack_order,
    },
    Rule {
        id: "media-lifecycle",
        check: media_lifecycle,
    },
    Rule {
        id: "no-media-before-consent",
        check: no_media_before_consent,
    },
];

/// Failures of every rule, each naming its rule.
pub fn check(trace: &CaseTrace, ctx: &CheckContext<'_>) -> Vec<Failure> {
    let t = Trace {
        events: trace.probe.events.iter().map(|e| &e.event).collect(),
        probe: &trace.probe,
    };
    RULES
        .iter()
        .flat_map(|rule| {
            (rule.check)(&t, ctx)
                .into_iter()
                .map(move |message| Failure::new(rule.id, message))
        })
        .collect()
}

/// Every messageid appears once within the session.
fn unique_messageid(t: &Trace<'_>, _: &CheckContext<'_>) -> Vec<String> {
    let events = &t.events;
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

/// After session/ended only sessionEnd events may reach the page, until
/// the page starts a new session with jodosessioninit.
fn nothing_after_ended(t: &Trace<'_>, _: &CheckContext<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let mut ended: Option<u64> = None;
    for (i, (e, recorded)) in t.events.iter().zip(&t.probe.events).enumerate() {
        if let Some(n) = ended {
            if t.called_between("jodosessioninit", n, order(recorded.seq)) {
                ended = None;
            } else if e.get("media").and_then(Value::as_str) != Some("sessionEnd") {
                out.push(format!(
                    "event {i} ({}) came after session/ended",
                    event_key(e)
                ));
                continue;
            }
        }
        if ended.is_none() && event_key(e) == "session/ended" {
            ended = Some(order(recorded.seq));
        }
    }
    out
}

/// Neither key appears in any string of any eventdata.
fn no_keys_in_eventdata(t: &Trace<'_>, ctx: &CheckContext<'_>) -> Vec<String> {
    let events = &t.events;
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

/// Sockets are wss:// and requests https:// (a relative URL inherits the
/// page's https origin).
fn secure_transport(t: &Trace<'_>, _: &CheckContext<'_>) -> Vec<String> {
    let insecure = |url: &str, secure: &str| {
        url.split_once("://")
            .is_some_and(|(scheme, _)| !scheme.eq_ignore_ascii_case(secure))
    };
    let sockets = t
        .probe
        .sockets
        .iter()
        .filter(|s| insecure(&s.url, "wss"))
        .map(|s| format!("the widget opened a WebSocket to {}, not wss://", s.url));
    let requests = t
        .probe
        .requests
        .iter()
        .filter(|r| insecure(&r.url, "https"))
        .map(|r| format!("the widget requested {}, not https://", r.url));
    sockets.chain(requests).collect()
}

/// Nothing but session events before session/initialized.
fn lifecycle(t: &Trace<'_>, _: &CheckContext<'_>) -> Vec<String> {
    let end = t
        .events
        .iter()
        .position(|e| event_key(e) == "session/initialized")
        .unwrap_or(t.events.len());
    t.events[..end]
        .iter()
        .enumerate()
        .filter(|(_, e)| e.get("media").and_then(Value::as_str) != Some("session"))
        .map(|(i, e)| {
            format!(
                "event {i} ({}) came before session/initialized",
                event_key(e)
            )
        })
        .collect()
}

/// Per visitor message: sent, then delivered, then read, matched by the
/// acks' refmessageid to the messagesent's messageid.
fn ack_order(t: &Trace<'_>, _: &CheckContext<'_>) -> Vec<String> {
    let str_field = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut sent: HashMap<String, usize> = HashMap::new();
    let mut delivered: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, e) in t.events.iter().enumerate() {
        match event_key(e).as_str() {
            "chat/messagesent" => {
                if let Some(id) = str_field(e, "messageid") {
                    sent.insert(id, i);
                }
            }
            key @ ("chat/messagedeliveredack" | "chat/messagereadack") => {
                let Some(r) = str_field(e, "refmessageid") else {
                    out.push(format!("event {i} ({key}) names no refmessageid"));
                    continue;
                };
                if !sent.contains_key(&r) {
                    out.push(format!(
                        "event {i} ({key}) acknowledges {r:?} before any messagesent with that messageid"
                    ));
                } else if key == "chat/messagedeliveredack" {
                    delivered.insert(r, i);
                } else if !delivered.contains_key(&r) {
                    out.push(format!(
                        "event {i} ({key}) reports {r:?} read before it was reported delivered"
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// Per media (voice, video, screenshare): answers follow a request, start
/// follows an acceptance or the visitor's own consenting call, mute and
/// unmute happen only while started.
fn media_lifecycle(t: &Trace<'_>, ctx: &CheckContext<'_>) -> Vec<String> {
    let mut out = Vec::new();
    // The LiveKit flow asks with livekit/audioRequest: type 201 for voice,
    // 206 for audio and video.
    for (media, device, livekit_type) in [
        ("voice", "microphone", Some(201)),
        ("video", "camera", Some(206)),
        ("screenshare", "screen", None),
    ] {
        let (mut requested, mut may_start, mut started) = (false, false, false);
        for (i, (e, recorded)) in t.events.iter().zip(&t.probe.events).enumerate() {
            let is_livekit_request = e.get("media").and_then(Value::as_str) == Some("livekit")
                && e.get("eventtype").and_then(Value::as_str) == Some("audioRequest")
                && livekit_type.is_some()
                && e.get("type").and_then(Value::as_i64) == livekit_type;
            if is_livekit_request {
                requested = true;
                continue;
            }
            if e.get("media").and_then(Value::as_str) != Some(media) {
                continue;
            }
            let eventtype = e.get("eventtype").and_then(Value::as_str).unwrap_or("");
            match eventtype {
                "requestReceived" => requested = true,
                "accepted" | "rejected" => {
                    if !requested {
                        out.push(format!(
                            "event {i} ({media}/{eventtype}) answers no requestReceived"
                        ));
                    }
                    requested = false;
                    may_start = eventtype == "accepted";
                }
                "initiated" | "answered" | "connecting" => may_start = true,
                "start" => {
                    if !(may_start || t.consented_by(order(recorded.seq), device, ctx)) {
                        out.push(format!(
                            "event {i} ({media}/start) without an acceptance or a consenting call before it"
                        ));
                    }
                    started = true;
                }
                "mute" | "unmute" if !started => {
                    out.push(format!(
                        "event {i} ({media}/{eventtype}) outside a started {media}"
                    ));
                }
                "End" | "terminate" => {
                    started = false;
                    may_start = false;
                }
                _ => {}
            }
        }
    }
    out
}

/// Every capture (getUserMedia, getDisplayMedia) needs, earlier in the
/// probe's order, a call to a method whose catalogue consent covers each
/// device it asks for.
fn no_media_before_consent(t: &Trace<'_>, ctx: &CheckContext<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for capture in &t.probe.media {
        for device in capture.devices() {
            if !t.consented_by(order(capture.seq), device, ctx) {
                out.push(format!(
                    "{} asked for the {device} at {:.0} ms before any call consenting to it",
                    capture.api, capture.at
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
