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
    use crate::trace::{MediaCapture, ProbeEvent, RequestMade, SdkCall, SocketOpened};
    use jodo_contract::SchemaSet;
    use serde_json::json;

    fn trace(events: Vec<Value>) -> CaseTrace {
        let mut t = CaseTrace::default();
        t.probe.events = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| ProbeEvent {
                at: i as f64,
                seq: Some(10 * (i as u64 + 1)),
                js_type: "object".into(),
                event,
            })
            .collect();
        t
    }

    fn call(at: f64, seq: u64, path: &str) -> SdkCall {
        SdkCall {
            at,
            seq: Some(seq),
            path: path.into(),
        }
    }

    fn capture(at: f64, seq: u64, api: &str, constraints: Value) -> MediaCapture {
        MediaCapture {
            at,
            seq: Some(seq),
            api: api.into(),
            constraints,
            events_before: 0,
        }
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
    fn insecure_transport_is_caught_and_relative_urls_are_not() {
        let mut t = trace(vec![]);
        let socket = |url: &str| SocketOpened {
            at: 0.0,
            url: url.into(),
        };
        let request = |url: &str| RequestMade {
            at: 0.0,
            api: "fetch".into(),
            method: "GET".into(),
            url: url.into(),
        };
        t.probe.sockets = vec![socket("wss://h/x"), socket("ws://h/x")];
        t.probe.requests = vec![
            request("https://h/a"),
            request("/relative"),
            request("http://h/b"),
        ];
        let broken = rules_broken(&t);
        assert_eq!(
            broken,
            ["secure-transport", "secure-transport"],
            "{broken:?}"
        );
    }

    #[test]
    fn capture_needs_an_earlier_consenting_call() {
        let mut t = trace(vec![]);
        t.probe.calls = vec![
            call(10.0, 10, "jodoInitBOT.SendChatMessage"),
            call(50.0, 50, "jodoInitBOT.AcceptVoice"),
        ];
        // Microphone after AcceptVoice: fine.
        t.probe.media = vec![capture(60.0, 60, "getUserMedia", json!({"audio": true}))];
        assert!(rules_broken(&t).is_empty());
        // Camera too: AcceptVoice does not consent to it.
        t.probe.media = vec![capture(
            60.0,
            60,
            "getUserMedia",
            json!({"audio": true, "video": {}}),
        )];
        assert_eq!(rules_broken(&t), ["no-media-before-consent"]);
        // Microphone before the consent.
        t.probe.media = vec![capture(20.0, 20, "getUserMedia", json!({"audio": true}))];
        assert_eq!(rules_broken(&t), ["no-media-before-consent"]);
        // Screen needs a screenshare consent.
        t.probe.media = vec![capture(60.0, 60, "getDisplayMedia", json!({}))];
        assert_eq!(rules_broken(&t), ["no-media-before-consent"]);
        // Same page time as the consent but earlier in order: still before.
        t.probe.media = vec![capture(50.0, 49, "getUserMedia", json!({"audio": true}))];
        assert_eq!(rules_broken(&t), ["no-media-before-consent"]);
    }

    #[test]
    fn events_before_initialized_break_the_lifecycle() {
        let t = trace(vec![
            json!({"media": "session", "eventtype": "widgetInit"}),
            json!({"media": "chat", "eventtype": "typing"}),
            json!({"media": "session", "eventtype": "initialized"}),
        ]);
        assert_eq!(rules_broken(&t), ["lifecycle"]);
    }

    #[test]
    fn acks_follow_their_message_in_order() {
        let sent = json!({"media": "chat", "eventtype": "messagesent", "messageid": "m"});
        let delivered = json!({"media": "chat", "eventtype": "messagedeliveredack", "messageid": "d", "refmessageid": "m"});
        let read = json!({"media": "chat", "eventtype": "messagereadack", "messageid": "r", "refmessageid": "m"});
        let init = json!({"media": "session", "eventtype": "initialized"});
        let ok = trace(vec![
            init.clone(),
            sent.clone(),
            delivered.clone(),
            read.clone(),
        ]);
        assert!(rules_broken(&ok).is_empty());
        let read_first = trace(vec![
            init.clone(),
            sent.clone(),
            read.clone(),
            delivered.clone(),
        ]);
        assert_eq!(rules_broken(&read_first), ["ack-order"]);
        let unsent = trace(vec![init, delivered, sent]);
        assert_eq!(rules_broken(&unsent), ["ack-order"]);
    }

    #[test]
    fn media_events_follow_their_lifecycle() {
        let ev = |m: &str, e: &str| json!({"media": m, "eventtype": e});
        let init = ev("session", "initialized");
        let ok = trace(vec![
            init.clone(),
            ev("video", "requestReceived"),
            ev("video", "accepted"),
            ev("video", "start"),
            ev("video", "mute"),
            ev("video", "unmute"),
            ev("video", "End"),
        ]);
        assert!(rules_broken(&ok).is_empty(), "{:?}", rules_broken(&ok));
        let unrequested = trace(vec![init.clone(), ev("voice", "accepted")]);
        assert_eq!(rules_broken(&unrequested), ["media-lifecycle"]);
        let rejected_then_start = trace(vec![
            init.clone(),
            ev("screenshare", "requestReceived"),
            ev("screenshare", "rejected"),
            ev("screenshare", "start"),
        ]);
        assert_eq!(rules_broken(&rejected_then_start), ["media-lifecycle"]);
        let mute_after_end = trace(vec![
            init.clone(),
            ev("voice", "initiated"),
            ev("voice", "start"),
            ev("voice", "End"),
            ev("voice", "mute"),
        ]);
        assert_eq!(rules_broken(&mute_after_end), ["media-lifecycle"]);
        // The visitor's own StartVoiceCall consents to starting voice.
        let mut own = trace(vec![init, ev("voice", "start")]);
        own.probe.calls = vec![call(0.0, 15, "jodoInitBOT.StartVoiceCall")];
        assert!(rules_broken(&own).is_empty());
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

    #[test]
    fn a_new_session_after_ended_is_not_after_ended() {
        let events = vec![
            json!({"media": "session", "eventtype": "initialized", "messageid": "i", "systemcallid": "1"}),
            json!({"media": "session", "eventtype": "ended", "messageid": "a"}),
            json!({"media": "sessionEnd", "eventtype": "chatTranscriptSuccess", "messageid": "b"}),
            json!({"media": "session", "eventtype": "initialized", "messageid": "c", "systemcallid": "2"}),
        ];
        // Events are numbered 10, 20, 30, 40. Without a jodosessioninit
        // call before the last it breaks the rule; with one after the
        // transcript, it opens a new session; with one before
        // session/ended, it does not.
        let t = trace(events.clone());
        assert_eq!(rules_broken(&t), ["nothing-after-ended"]);
        let mut t = trace(events.clone());
        t.probe.calls = vec![call(2.5, 35, "jodosessioninit")];
        assert!(rules_broken(&t).is_empty(), "{:?}", rules_broken(&t));
        let mut t = trace(events.clone());
        t.probe.calls = vec![call(0.5, 15, "jodosessioninit")];
        assert_eq!(rules_broken(&t), ["nothing-after-ended"]);
        // Firefox clamps page time to whole milliseconds, so the ended
        // event, the new call and the new session can share one time; the
        // order numbers still tell them apart.
        let mut t = trace(events);
        for e in &mut t.probe.events {
            e.at = 7.0;
        }
        t.probe.calls = vec![call(7.0, 35, "jodosessioninit")];
        assert!(rules_broken(&t).is_empty(), "{:?}", rules_broken(&t));
    }

    #[test]
    fn a_livekit_audio_request_asks_for_voice_or_video_by_type() {
        let accepted = |media: &str| json!({"media": media, "eventtype": "accepted", "messageid": format!("x{media}")});
        let request = |kind: i64| json!({"media": "livekit", "eventtype": "audioRequest", "type": kind, "messageid": format!("r{kind}")});
        let start = json!({"media": "session", "eventtype": "initialized", "messageid": "i"});
        let t = trace(vec![
            start.clone(),
            request(201),
            accepted("voice"),
            request(206),
            accepted("video"),
        ]);
        assert!(rules_broken(&t).is_empty(), "{:?}", rules_broken(&t));
        // A 201 request does not ask for video.
        let t = trace(vec![start, request(201), accepted("video")]);
        assert_eq!(rules_broken(&t), ["media-lifecycle"]);
    }
}
