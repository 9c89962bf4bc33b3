//! The schema set: compiled from the embedded contract, each document kind checked, and errors that name the pointer and the catalogue entry.

use super::*;
use serde_json::json;

fn set() -> Contract {
    Contract::embedded().expect("contract compiles")
}

fn allocated() -> Value {
    json!({"media": "session", "eventtype": "allocated", "status": 1001,
           "msg": "Session Connected to Emma", "messageid": "m1",
           "timestamp": "2025-08-21 11:52:49"})
}

#[test]
fn canonical_event_is_valid_in_both_profiles() {
    for p in Profile::ALL {
        assert_eq!(set().validate_eventdata(&allocated(), p), vec![]);
    }
}

#[test]
fn per_event_fields_apply() {
    let mut doc = allocated();
    doc["status"] = json!(1003);
    let errors = set().validate_eventdata(&doc, Profile::Strict);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].pointer, "/status");
    assert_eq!(errors[0].entry.as_deref(), Some("session/allocated"));
}

#[test]
fn unknown_pair_names_the_catalogue() {
    let mut doc = allocated();
    doc["eventtype"] = json!("allocatd");
    let errors = set().validate_eventdata(&doc, Profile::Compat);
    assert_eq!(errors[0].schema, "catalog.yaml");
    assert_eq!(errors[0].pointer, "/eventtype");
}

#[test]
fn aliases_and_renamed_keys_pass_compat_only() {
    let s = set();
    let version = json!({"media": "session", "eventtype": "SDKVERSION", "msg": "2.0",
                         "messageid": "m", "timestamp": "2025-08-21 11:52:49"});
    assert!(
        s.validate_eventdata(&version, Profile::Strict)[0]
            .message
            .contains("compat spelling of session/SDKVersion")
    );
    assert_eq!(s.validate_eventdata(&version, Profile::Compat), vec![]);
    let sent = json!({"media": "chat", "eventtype": "messagesent", "Status": 1003, "msg": "hi",
                      "messageid": "m", "timestamp": "2025-08-21 11:52:49"});
    assert!(!s.validate_eventdata(&sent, Profile::Strict).is_empty());
    assert_eq!(s.validate_eventdata(&sent, Profile::Compat), vec![]);
}

#[test]
fn strict_rejects_unknown_properties_and_other_timestamps() {
    let s = set();
    let mut doc = allocated();
    doc["agentname"] = json!("Emma");
    assert!(!s.validate_eventdata(&doc, Profile::Strict).is_empty());
    assert_eq!(s.validate_eventdata(&doc, Profile::Compat), vec![]);
    for ts in [json!("05 Aug 2024 07:35 PM"), json!(1722880500)] {
        let mut doc = allocated();
        doc["timestamp"] = ts;
        assert_eq!(
            s.validate_eventdata(&doc, Profile::Strict)[0].pointer,
            "/timestamp"
        );
        assert_eq!(s.validate_eventdata(&doc, Profile::Compat), vec![]);
    }
}

#[test]
fn bad_timestamp_and_empty_messageid_are_rejected() {
    let mut doc = allocated();
    doc["timestamp"] = json!("21/08/2025 11:52");
    doc["messageid"] = json!("");
    let pointers: Vec<String> = set()
        .validate_eventdata(&doc, Profile::Compat)
        .into_iter()
        .map(|e| e.pointer)
        .collect();
    assert!(pointers.contains(&"/timestamp".to_string()), "{pointers:?}");
    assert!(pointers.contains(&"/messageid".to_string()), "{pointers:?}");
}

#[test]
fn frames_validate_by_kind() {
    let s = set();
    let ok = json!({"kind": "chat.send", "seq": 1, "messageid": "c1", "data": {"text": "hi"}});
    assert_eq!(s.validate_frame(&ok), vec![]);
    let extra =
        json!({"kind": "chat.send", "seq": 1, "messageid": "c1", "data": {"text": "hi"}, "x": 1});
    assert!(!s.validate_frame(&extra).is_empty());
    let zero = json!({"kind": "chat.send", "seq": 0, "messageid": "c1", "data": {"text": "hi"}});
    assert!(s.validate_frame(&zero).iter().any(|e| e.pointer == "/seq"));
    let unknown = json!({"kind": "nope", "seq": 1, "messageid": "c1", "data": {}});
    assert_eq!(s.validate_frame(&unknown)[0].pointer, "/kind");
}

#[test]
fn event_frames_carry_server_events_only() {
    let s = set();
    let frame = |data: Value| json!({"kind": "event", "seq": 2, "messageid": "s1", "data": data});
    assert_eq!(
        s.validate_frame(&frame(json!({"media": "chat", "eventtype": "typing"}))),
        vec![]
    );
    let widget_only = s.validate_frame(&frame(
        json!({"media": "chat", "eventtype": "messagesent", "status": 1003, "msg": "x"}),
    ));
    assert!(
        widget_only[0].message.contains("emitted by the widget"),
        "{widget_only:?}"
    );
    let bad = s.validate_frame(&frame(
        json!({"media": "livekit", "eventtype": "audioRequest", "type": 202}),
    ));
    assert_eq!(bad[0].pointer, "/data/type");
}

#[test]
fn every_catalogue_event_has_schemas_and_every_schema_an_entry() {
    let s = set();
    for e in &s.catalog().events {
        for p in Profile::ALL {
            assert!(
                s.validators.contains_key(&generate::eventdata_path(p, e)),
                "{} has no {} schema",
                e.key(),
                p.name()
            );
        }
    }
    for path in s.paths() {
        if let Some(rest) = path
            .strip_prefix("eventdata/")
            .or_else(|| path.strip_prefix("wire/events/"))
        {
            let name = rest
                .rsplit('/')
                .next()
                .unwrap()
                .trim_end_matches(".schema.json");
            let (media, eventtype) = name.split_once('.').expect("media.eventtype");
            assert!(
                s.catalog().event(media, eventtype).is_some(),
                "{path} has no catalogue entry"
            );
        }
    }
}
