//! The protocol fed frame by frame, with no socket: what goes out for each
//! frame in, and what the transcript keeps.

use std::sync::Arc;

use jodo_contract::Contract;
use serde_json::{Value, json};

use super::*;
use crate::gateway::{Gateway, development_keys};
use crate::session::Sessions;

/// The contract, compiled once for every test of the module.
static SCHEMAS: std::sync::LazyLock<Contract> =
    std::sync::LazyLock::new(|| Contract::embedded().unwrap());

/// The kit's dialect and the JSON-RPC example, loaded once.
static KIT: std::sync::LazyLock<Dialect> = std::sync::LazyLock::new(|| Dialect::kit(&SCHEMAS));
static RPC: std::sync::LazyLock<Dialect> =
    std::sync::LazyLock::new(|| Dialect::load("jsonrpc-2", &SCHEMAS).unwrap());

struct Fixture {
    schemas: &'static Contract,
    dialect: &'static Dialect,
    gateway: Gateway,
    session: Arc<Session>,
    conv: Conversation,
}

fn fixture(scenario: Arc<Scenario>) -> Fixture {
    let schemas = &*SCHEMAS;
    let (session, _) = Sessions::default().create(
        scenario.clone(),
        "https://host.test".into(),
        Value::Null,
        "jodo-dev-akey",
    );
    let conv = Conversation::start(&scenario, &session.systemcallid);
    Fixture {
        schemas,
        dialect: &KIT,
        gateway: Gateway::new(vec![development_keys()], vec![]),
        session,
        conv,
    }
}

fn builtin(name: &str) -> Fixture {
    fixture(crate::scenario::load(name, &SCHEMAS).unwrap())
}

fn inline(text: &str) -> Fixture {
    fixture(Arc::new(
        crate::scenario::parse(text, "t", &SCHEMAS).unwrap(),
    ))
}

impl Fixture {
    /// Runs one call on the conversation; what it asked the socket to do.
    fn with(&mut self, op: impl FnOnce(&mut Conversation, Env<'_>, &mut Vec<Out>)) -> Vec<Out> {
        let mut out = Vec::new();
        let env = Env {
            schemas: self.schemas,
            gateway: &self.gateway,
            session: &self.session,
            dialect: self.dialect,
        };
        op(&mut self.conv, env, &mut out);
        out
    }

    fn open(&mut self) -> Vec<Out> {
        self.with(|c, env, out| c.open(env, false, "secret", out))
    }

    fn receive(&mut self, frame: Value) -> Vec<Out> {
        self.with(|c, env, out| c.receive(env, &frame.to_string(), out))
    }

    fn resume(&mut self) -> Vec<Out> {
        self.with(|c, env, out| c.resume(env, out))
    }

    fn trigger(&mut self, name: &str) -> Vec<Out> {
        self.with(|c, env, out| c.command(env, Command::Trigger(name.into()), out))
    }
}

/// The frames among the outs, parsed.
fn frames(out: &[Out]) -> Vec<Value> {
    out.iter()
        .filter_map(|o| match o {
            Out::Frame(text) => Some(serde_json::from_str(text.as_str()).unwrap()),
            _ => None,
        })
        .collect()
}

fn chat(seq: u64, id: &str) -> Value {
    json!({"kind": "chat.send", "seq": seq, "messageid": id, "data": {"text": "hi"}})
}

#[test]
fn a_channel_opens_with_a_welcome_and_the_scenarios_first_frames() {
    let mut f = builtin("allocated");
    let out = f.open();
    let sent = frames(&out);
    assert_eq!(sent[0]["kind"], "welcome");
    assert_eq!(sent[0]["data"]["resume"], "secret");
    assert_eq!(sent[1]["data"]["eventtype"], "allocated");
    let seqs: Vec<u64> = sent.iter().map(|f| f["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2]);
    assert_ne!(sent[0]["messageid"], sent[1]["messageid"]);
}

/// In another dialect the same conversation goes out in that dialect's
/// frames, each accepted client frame is acknowledged, the widget's own
/// acknowledgements are taken, and the transcript keeps the kit's frames.
#[test]
fn another_dialect_carries_the_same_conversation_and_acknowledges_frames() {
    let mut f = builtin("allocated");
    f.dialect = &RPC;
    let sent = frames(&f.open());
    assert_eq!(sent[0]["jsonrpc"], "2.0");
    assert_eq!(sent[0]["method"], "conversation.ready");
    assert_eq!(sent[0]["params"]["rejoin"], "secret");
    assert_eq!(sent[1]["method"], "agent.event");
    assert_eq!(sent[1]["params"]["type"], "allocated");
    assert_eq!(sent[1]["params"]["n"], 2);
    let ready_id = sent[0]["params"]["ref"].as_str().unwrap().to_owned();
    let ack = json!({"jsonrpc": "2.0", "method": "ack", "params": {"of": ready_id}});
    assert_eq!(f.receive(ack), vec![], "a widget's ack gets no answer");
    let say = json!({"jsonrpc": "2.0", "method": "visitor.say",
                     "params": {"n": 1, "ref": "w1", "text": "hi", "body": {}}});
    let out = frames(&f.receive(say));
    assert_eq!(
        out[0],
        json!({"jsonrpc": "2.0", "method": "ack", "params": {"of": "w1"}})
    );
    assert_eq!(out[1]["params"]["type"], "messagedeliveredack");
    assert_eq!(out[1]["params"]["body"]["refmessageid"], "w1");
    // A frame of the kit's own protocol is not this dialect's.
    let refused = frames(&f.receive(chat(2, "w2")));
    assert_eq!(refused[0]["method"], "conversation.refused");
    assert_eq!(refused[0]["params"]["code"], "bad_frame");
    let transcript: Vec<Value> = serde_json::from_str(&f.session.transcript()).unwrap();
    let kinds: Vec<&str> = transcript
        .iter()
        .map(|l| l["frame"]["kind"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        kinds,
        [
            "welcome",
            "event",
            "-",
            "chat.send",
            "-",
            "event",
            "-",
            "error"
        ],
        "{transcript:#?}"
    );
    assert_eq!(transcript[2]["frame"], json!({"ack": ready_id}));
    assert_eq!(transcript[3]["frame"]["data"]["text"], "hi");
    assert_eq!(transcript[4]["frame"], json!({"ack": "w1"}));
}

#[test]
fn a_delay_holds_back_the_rest_of_the_burst_until_resumed() {
    let mut f = builtin("allocated");
    f.open();
    let out = f.receive(chat(1, "w1"));
    assert_eq!(frames(&out)[0]["data"]["eventtype"], "messagedeliveredack");
    assert_eq!(out.last(), Some(&Out::Delay(20)));
    let out = f.resume();
    let kinds: Vec<Value> = frames(&out)
        .iter()
        .map(|f| f["data"]["eventtype"].clone())
        .collect();
    assert_eq!(kinds, ["messagereadack", "typing"]);
    assert_eq!(out.last(), Some(&Out::Delay(40)));
    let out = f.resume();
    assert_eq!(frames(&out)[0]["data"]["eventtype"], "messagereceived");
    assert_eq!(f.resume(), vec![]);
}

#[test]
fn replays_gaps_wrong_directions_and_bad_json_get_error_frames() {
    let mut f = inline(
        "name: t\nsummary: s\ninitial: a\nstates:\n  a:\n    on:\n      - when: {frame: chat.send}\n        do:\n          - send: {media: chat, eventtype: typing, msg: \"x\"}\n",
    );
    f.open();
    assert_eq!(frames(&f.receive(chat(1, "w1"))).len(), 1);
    let replay = frames(&f.receive(chat(2, "w1")));
    assert_eq!(replay[0]["data"]["code"], "replayed_messageid");
    assert_eq!(replay[0]["data"]["refmessageid"], "w1");
    // A gap is reported and the frame still acted on.
    let gap = frames(&f.receive(chat(7, "w7")));
    assert_eq!(gap[0]["data"]["code"], "sequence_gap");
    assert_eq!(gap[1]["data"]["eventtype"], "typing");
    let server_only =
        json!({"kind": "event", "seq": 8, "messageid": "w8", "data": {"media": "chat"}});
    assert_eq!(
        frames(&f.receive(server_only))[0]["data"]["code"],
        "unexpected_kind"
    );
    let out = f.with(|c, env, out| c.receive(env, "{not json", out));
    assert_eq!(frames(&out)[0]["data"]["code"], "bad_frame");
    // Every frame in and out is in the transcript, the unparsable one too.
    let transcript: Vec<Value> = serde_json::from_str(&f.session.transcript()).unwrap();
    assert!(
        transcript
            .iter()
            .any(|l| l["frame"]["unparsed"] == "{not json")
    );
    let outs = transcript.iter().filter(|l| l["dir"] == "out").count();
    assert_eq!(outs, 1 + 1 + 1 + 2 + 1 + 1, "{transcript:#?}");
}

/// Sequence games: a number that goes back is refused and not acted on,
/// even with a fresh messageid; the largest numbers neither overflow nor
/// panic (a client may send any integer the parser accepts).
#[test]
fn a_sequence_number_that_goes_back_is_refused_and_not_acted_on() {
    let mut f = inline(
        "name: t\nsummary: s\ninitial: a\nstates:\n  a:\n    on:\n      - when: {frame: chat.send}\n        do:\n          - send: {media: chat, eventtype: typing, msg: \"x\"}\n",
    );
    f.open();
    assert_eq!(frames(&f.receive(chat(1, "w1"))).len(), 1);
    assert_eq!(frames(&f.receive(chat(2, "w2"))).len(), 1);
    for (seq, id) in [(2, "w2b"), (1, "w1b")] {
        let out = frames(&f.receive(chat(seq, id)));
        assert_eq!(out.len(), 1, "only the refusal: {out:?}");
        assert_eq!(out[0]["data"]["code"], "sequence_backwards");
        assert_eq!(out[0]["data"]["refmessageid"], id);
    }
    // The sequence went on from 2: the next frame is no gap.
    let next = frames(&f.receive(chat(3, "w3")));
    assert_eq!(next.len(), 1);
    assert_eq!(next[0]["data"]["eventtype"], "typing");
    // A number beyond what a JSON reader keeps exactly (2^53 - 1) is a bad
    // frame, refused before any sequence arithmetic; the largest one that
    // is not is a gap, and the sequence goes on from it.
    let huge = frames(&f.receive(chat(u64::MAX, "wmax")));
    assert_eq!(huge.len(), 1);
    assert_ne!(huge[0]["data"]["code"], "sequence_gap", "{huge:?}");
    let top = 9_007_199_254_740_991;
    let gap = frames(&f.receive(chat(top, "wtop")));
    assert_eq!(gap[0]["data"]["code"], "sequence_gap");
    let back = frames(&f.receive(chat(4, "w4")));
    assert_eq!(back[0]["data"]["code"], "sequence_backwards");
}

#[test]
fn the_visitors_session_end_closes_and_nothing_follows_the_close() {
    let mut f = inline(
        "name: t\nsummary: s\ninitial: a\nstates:\n  a:\n    on:\n      - when: {control: bye}\n        do:\n          - close: {code: 4000, reason: bye}\n          - send: {media: chat, eventtype: typing, msg: \"late\"}\n",
    );
    f.open();
    let end = json!({"kind": "session.end", "seq": 1, "messageid": "e", "data": {}});
    let out = f.receive(end);
    assert_eq!(
        out.last(),
        Some(&Out::Close {
            code: 1000,
            reason: "session ended by visitor".into()
        })
    );
    let mut f = inline(
        "name: t\nsummary: s\ninitial: a\nstates:\n  a:\n    on:\n      - when: {control: bye}\n        do:\n          - close: {code: 4000, reason: bye}\n          - send: {media: chat, eventtype: typing, msg: \"late\"}\n",
    );
    f.open();
    let out = f.trigger("bye");
    assert_eq!(
        out,
        vec![Out::Close {
            code: 4000,
            reason: "bye".into()
        }]
    );
}

#[test]
fn faults_skip_sequence_numbers_and_replay_earlier_frames() {
    let mut f = inline(
        "name: t\nsummary: s\ninitial: a\nstates:\n  a:\n    on:\n      - when: {control: go}\n        do:\n          - send: {media: chat, eventtype: typing, msg: \"one\"}\n          - skip_seq: 2\n          - send: {media: chat, eventtype: typing, msg: \"two\"}\n          - replay: 2\n",
    );
    f.open();
    let out = f.trigger("go");
    let sent = frames(&out);
    let seqs: Vec<u64> = sent.iter().map(|f| f["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        [2, 5, 2],
        "welcome was 1; two skipped; the replay repeats 2"
    );
    assert_eq!(sent[2], sent[0]);
}

#[test]
fn an_id_is_seen_once_and_distinct_ids_are_told_apart() {
    let mut seen = SeenIds::default();
    for i in 0..100_000 {
        assert!(seen.insert(&format!("w{i}")), "w{i}");
    }
    for i in (0..100_000).step_by(997) {
        assert!(!seen.insert(&format!("w{i}")), "w{i}");
    }
    assert!(seen.insert(""));
    assert!(!seen.insert(""));
}

/// Whatever a widget sends, the conversation never panics, and every frame
/// it answers with is one the wire contract allows.
mod random_frames {
    use super::*;
    use proptest::prelude::*;

    fn frame() -> impl Strategy<Value = String> {
        let kinds = prop::sample::select(vec![
            "chat.send",
            "chat.readack",
            "session.end",
            "media.start",
            "media.accept",
            "event",
            "welcome",
            "nonsense",
        ]);
        let seq = prop_oneof![0u64..6, any::<u64>()];
        let data = prop_oneof![
            Just(json!({"text": "hi"})),
            Just(json!({"text": ""})),
            Just(json!({"messageids": ["a", 5]})),
            Just(json!({"media": "video"})),
            Just(json!(null)),
            ".{0,20}".prop_map(|t| json!({ "text": t })),
        ];
        prop_oneof![
            any::<String>(),
            (kinds, seq, "[a-z0-9]{0,4}", data).prop_map(|(kind, seq, id, data)| {
                json!({"kind": kind, "seq": seq, "messageid": id, "data": data}).to_string()
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn any_frames_get_valid_answers(texts in proptest::collection::vec(frame(), 1..25)) {
            let mut f = builtin("video-request");
            f.open();
            for text in &texts {
                let out = f.with(|c, env, out| c.receive(env, text, out));
                for answer in frames(&out) {
                    let problems = f.schemas.validate_frame(&answer);
                    prop_assert!(problems.is_empty(), "{answer} for {text}: {problems:?}");
                }
            }
        }
    }
}
