//! The trace rules, each shown catching its fault on a hand-made trace and passing a clean one.

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
use jodo_contract::Contract;
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
            clock: None,
            tz: None,
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
    let schemas = Contract::embedded().unwrap();
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

#[test]
fn a_systemcallid_of_another_session_is_caught_and_a_new_session_may_have_its_own() {
    let ev = |eventtype: &str, id: &str, mid: &str| json!({"media": "session", "eventtype": eventtype, "systemcallid": id, "messageid": mid});
    let good = trace(vec![
        ev("initialized", "A", "m1"),
        ev("widgetInit", "A", "m2"),
        ev("initialized", "B", "m3"),
        ev("widgetInit", "B", "m4"),
    ]);
    assert!(!rules_broken(&good).contains(&"session-ids".to_owned()));
    let bad = trace(vec![
        ev("initialized", "A", "m1"),
        ev("widgetInit", "A", "m2"),
        ev("initialized", "B", "m3"),
        ev("widgetInit", "A", "m4"),
    ]);
    assert_eq!(
        rules_broken(&bad)
            .iter()
            .filter(|r| *r == "session-ids")
            .count(),
        1
    );
}
