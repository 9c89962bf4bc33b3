//! What the dialect schema cannot say, checked once when a dialect is
//! loaded: kinds and fields the kit has, wire names used once, fields that
//! do not overwrite each other, and every kind's frame meeting the
//! dialect's own schema and reading back as it was written. Problems are
//! written `at POINTER: message`, so the loader can put the line in front.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use super::pointer::{Pointer, leaves};
use super::{Acks, Dialect, DialectFile, Envelope, Kind};
use crate::Contract;

/// The kit's data schema of a frame kind (`properties.data` of its file).
fn data_schema(kind: &str) -> Value {
    crate::bundle::text(&format!("wire/frames/{kind}.schema.json"))
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .and_then(|v| v.pointer("/properties/data").cloned())
        .unwrap_or(Value::Null)
}

/// Data field names of a kind, and whether it takes fields beyond them.
fn data_fields(kind: &str) -> (Vec<String>, bool) {
    let schema = data_schema(kind);
    let names = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
    (names, !closed)
}

/// A value of the right type for a field, to build a sample frame.
fn placeholder(schema: &Value) -> Value {
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
        return first.clone();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("integer" | "number") => json!(1),
        Some("boolean") => json!(true),
        Some("array") => json!([]),
        Some("object") => json!({}),
        _ => json!("x"),
    }
}

/// A kit frame of `kind` with every data field its schema names (and one
/// more where it takes more), as a sample for the checks.
pub(crate) fn sample(kind: &str) -> Value {
    let schema = data_schema(kind);
    let mut data = Map::new();
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, s) in props {
            data.insert(k.clone(), placeholder(s));
        }
    }
    if data_fields(kind).1 {
        data.insert("extra".into(), json!("x"));
    }
    json!({"kind": kind, "seq": 1, "messageid": "m1", "ts": "2026-01-01T00:00:00Z", "data": data})
}

/// A protocol a dialect cannot describe, said plainly.
fn out_of_reach(t: &super::Transport, problems: &mut Vec<String>) {
    let why = match t.messages.as_str() {
        "binary" => Some("binary messages are out of reach"),
        "socket.io" | "engine.io" => Some(
            "Socket.IO and Engine.IO framing (a packet-type prefix before the JSON, an Engine.IO handshake and its own pings) is out of reach",
        ),
        "stomp" => {
            Some("STOMP framing (a command line and headers before the body) is out of reach")
        }
        _ => None,
    };
    if let Some(why) = why {
        problems.push(format!(
            "at /transport/messages: {why}: a dialect describes JSON text messages, one frame per message (README, \"Which protocols a dialect can describe\")"
        ));
    }
    let why = match t.compression.as_str() {
        "permessage-deflate" => {
            Some("the mock's WebSocket layer does not negotiate permessage-deflate")
        }
        "payload" => Some("payloads compressed inside the messages are out of reach"),
        _ => None,
    };
    if let Some(why) = why {
        problems.push(format!(
            "at /transport/compression: {why}: a dialect describes uncompressed JSON text"
        ));
    }
}

/// Checks a dialect file and compiles it.
pub(crate) fn compile(file: DialectFile, schemas: &Contract) -> Result<Dialect, Vec<String>> {
    let mut problems = Vec::new();
    if let Some(t) = &file.transport {
        out_of_reach(t, &mut problems);
    }
    let ptr = |text: &str| Pointer::parse(text).expect("the dialect schema allows pointers only");

    // The session API's bodies: fields must not overwrite each other.
    let mut request = Vec::new();
    let mut answer = Vec::new();
    for (part, map, out) in [
        ("request", &file.session.request, &mut request),
        ("answer", &file.session.answer, &mut answer),
    ] {
        for (field, text) in map {
            let p = ptr(text);
            if let Some((other, _)) = out
                .iter()
                .find(|(_, q): &&(String, Pointer)| q.overlaps(&p))
            {
                problems.push(format!(
                    "at /session/{part}/{field}: {text} overlaps the place of {other}"
                ));
            }
            out.push((field.clone(), p));
        }
    }
    if file.channel.token == file.channel.resume {
        problems.push(format!(
            "at /channel/resume: {:?} is already the token's parameter",
            file.channel.resume
        ));
    }
    if file.channel.path == file.session.path {
        problems
            .push("at /channel/path: the channel and the session API need their own paths".into());
    }

    let e = &file.envelope;
    let envelope = Envelope {
        kind: ptr(&e.kind),
        seq: ptr(&e.seq),
        messageid: ptr(&e.messageid),
        ts: e.ts.as_deref().map(ptr),
        data: e.data.as_deref().map(ptr),
    };
    let mut places: Vec<(String, Pointer)> = vec![
        ("/envelope/kind".into(), envelope.kind.clone()),
        ("/envelope/seq".into(), envelope.seq.clone()),
        ("/envelope/messageid".into(), envelope.messageid.clone()),
    ];
    places.extend(envelope.ts.clone().map(|p| ("/envelope/ts".into(), p)));
    places.extend(envelope.data.clone().map(|p| ("/envelope/data".into(), p)));
    overlaps(&places, &mut problems);
    for leaf in leaves(&Value::Object(file.template.clone())) {
        let p = ptr(&leaf);
        if let Some((at, q)) = places.iter().find(|(_, q)| q.overlaps(&p)) {
            problems.push(format!(
                "at /template{leaf}: a fixed member where {at} puts {}",
                q.as_str()
            ));
        }
    }

    for kind in file.frames.keys() {
        if !schemas.has_frame_kind(kind) {
            problems.push(format!(
                "at /frames/{kind}: {kind:?} is not a frame kind of the kit (schemas/wire/frames/: {})",
                schemas.frame_kinds().collect::<Vec<_>>().join(", ")
            ));
        }
    }

    let mut kinds = BTreeMap::new();
    let mut by_name: HashMap<String, String> = HashMap::new();
    for kind in schemas.frame_kinds() {
        let entry = file.frames.get(kind).cloned().unwrap_or_default();
        let at = format!("/frames/{kind}");
        let name = entry.name.clone().unwrap_or_else(|| kind.to_owned());
        if let Some(first) = by_name.get(&name) {
            problems.push(format!(
                "at {at}{}: the wire name {name:?} is already {first}'s: a receiver could not tell them apart",
                if entry.name.is_some() { "/name" } else { "" }
            ));
        } else {
            by_name.insert(name.clone(), kind.to_owned());
        }
        let (known, open) = data_fields(kind);
        let (fields, template) = place_fields(
            &Placing {
                at: &at,
                what: &format!("the kit's {kind} frame"),
                known: &known,
                open,
                in_file: file.frames.contains_key(kind),
            },
            &entry,
            &file,
            &places,
            envelope.data.is_none(),
            &mut problems,
        );
        kinds.insert(
            kind.to_owned(),
            Kind {
                name,
                fields,
                template,
            },
        );
    }

    // Server events with frames of their own.
    let mut events = BTreeMap::new();
    let mut event_by_name: HashMap<String, String> = HashMap::new();
    for (key, entry) in &file.events {
        let at = format!("/events/{}", key.replace('~', "~0").replace('/', "~1"));
        let server = key
            .split_once('/')
            .and_then(|(m, e)| schemas.catalog().event(m, e))
            .filter(|e| e.source.contains(&crate::catalog::Source::Server));
        let Some(event) = server else {
            problems.push(format!(
                "at {at}: {key:?} is not a server event of the catalogue (media/eventtype, as chat/messagereceived)"
            ));
            continue;
        };
        let Some(name) = entry.name.clone() else {
            problems.push(format!(
                "at {at}: an event with a frame of its own needs a name"
            ));
            continue;
        };
        if let Some(first) = by_name.get(&name).or_else(|| event_by_name.get(&name)) {
            problems.push(format!(
                "at {at}/name: the wire name {name:?} is already {first}'s: a receiver could not tell them apart"
            ));
        }
        event_by_name.insert(name.clone(), key.clone());
        let known = event_fields(event);
        let (fields, template) = place_fields(
            &Placing {
                at: &at,
                what: &format!("the catalogue's {key} event"),
                known: &known,
                open: false,
                in_file: true,
            },
            entry,
            &file,
            &places,
            envelope.data.is_none(),
            &mut problems,
        );
        events.insert(
            key.clone(),
            Kind {
                name,
                fields,
                template,
            },
        );
    }

    let acks = file.acks.as_ref().map(|a| Acks {
        name: a.name.clone(),
        of: ptr(&a.of),
        server: a.server,
    });
    if let Some(a) = &acks {
        if let Some(kind) = by_name.get(&a.name).or_else(|| event_by_name.get(&a.name)) {
            problems.push(format!(
                "at /acks/name: the wire name {:?} is already {kind}'s",
                a.name
            ));
        }
        if let Some((at, _)) = places[..1].iter().find(|(_, q)| q.overlaps(&a.of)) {
            problems.push(format!(
                "at /acks/of: {} overlaps the place of {at}",
                a.of.as_str()
            ));
        }
    }

    let schema = match &file.schema {
        Some(s) => match jsonschema::options().build(s) {
            Ok(v) => Some(v),
            Err(e) => {
                problems.push(format!(
                    "at /schema: not a JSON Schema the validator compiles: {e}"
                ));
                None
            }
        },
        None => None,
    };

    if !problems.is_empty() {
        return Err(problems);
    }
    let identity = is_identity(&file, &kinds);
    let dialect = Dialect {
        file,
        request,
        answer,
        envelope,
        kinds,
        by_name,
        events,
        event_by_name,
        acks,
        schema,
        identity,
    };
    round_trips(&dialect, schemas)?;
    Ok(dialect)
}

/// What an entry of `frames` or `events` is checked against.
struct Placing<'a> {
    /// Its pointer in the file.
    at: &'a str,
    /// What it describes, for messages.
    what: &'a str,
    /// The data fields it may place.
    known: &'a [String],
    /// Whether the data takes fields beyond them.
    open: bool,
    /// Whether the file has the entry (else problems point at the envelope).
    in_file: bool,
}

/// An entry's field places and fixed members, checked: fields that exist,
/// places that overlap nothing, fixed members where no field goes, and
/// somewhere for every field when there is no data object.
fn place_fields(
    p: &Placing<'_>,
    entry: &super::FrameFile,
    file: &DialectFile,
    places: &[(String, Pointer)],
    no_data: bool,
    problems: &mut Vec<String>,
) -> (Vec<(String, Pointer)>, Value) {
    let ptr = |text: &str| Pointer::parse(text).expect("the dialect schema allows pointers only");
    let at = p.at;
    let mut fields = Vec::new();
    let mut own_places: Vec<(String, Pointer)> = Vec::new();
    for (field, text) in &entry.fields {
        if !p.known.contains(field) {
            problems.push(format!(
                "at {at}/fields/{field}: {} has no data field {field:?} (it has: {})",
                p.what,
                if p.known.is_empty() {
                    "none".into()
                } else {
                    p.known.join(", ")
                }
            ));
        }
        let q = ptr(text);
        own_places.push((format!("{at}/fields/{field}"), q.clone()));
        fields.push((field.clone(), q));
    }
    overlaps(&own_places, problems);
    for (label, q) in &own_places {
        if let Some((at_env, _)) = places.iter().find(|(_, r)| r.overlaps(q)) {
            problems.push(format!(
                "at {label}: {} overlaps the place of {at_env}",
                q.as_str()
            ));
        }
    }
    let mut template = Value::Object(file.template.clone());
    if let Some(own) = &entry.template {
        let all: Vec<&(String, Pointer)> = places.iter().chain(own_places.iter()).collect();
        for leaf in leaves(&Value::Object(own.clone())) {
            let q = ptr(&leaf);
            if let Some((label, r)) = all.iter().find(|(_, r)| r.overlaps(&q)) {
                problems.push(format!(
                    "at {at}/template{leaf}: a fixed member where {label} puts {}",
                    r.as_str()
                ));
            }
            if let Some(v) = q.get(&Value::Object(own.clone())) {
                q.set(&mut template, v.clone());
            }
        }
    }
    if no_data {
        let at = if p.in_file { at } else { "/envelope" };
        let unplaced: Vec<&String> = p
            .known
            .iter()
            .filter(|f| !entry.fields.contains_key(*f))
            .collect();
        if !unplaced.is_empty() || p.open {
            problems.push(format!(
                "at {at}: with no envelope.data, {} of {} {} nowhere to go; place {} by fields or add envelope.data",
                if p.open { "the data fields beyond its list".to_owned() } else { format!("{unplaced:?}") },
                p.what,
                if unplaced.len() == 1 && !p.open { "has" } else { "have" },
                if p.open { "them" } else { "each" },
            ));
        }
    }
    (fields, template)
}

/// The payload fields of a server event an own frame may place (media and
/// eventtype too: the name implies them unless a field places them).
fn event_fields(event: &crate::catalog::EventEntry) -> Vec<String> {
    event_properties(event).keys().cloned().collect()
}

/// The payload properties of a server event's schema (`wire/events/`).
fn event_properties(event: &crate::catalog::EventEntry) -> Map<String, Value> {
    crate::bundle::text(&crate::generate::server_event_path(event))
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .and_then(|v| v.get("properties").and_then(Value::as_object).cloned())
        .unwrap_or_default()
}

fn overlaps(places: &[(String, Pointer)], problems: &mut Vec<String>) {
    for (i, (label, p)) in places.iter().enumerate() {
        if let Some((first, _)) = places[..i].iter().find(|(_, q)| q.overlaps(p)) {
            problems.push(format!(
                "at {label}: {} overlaps the place of {first}",
                p.as_str()
            ));
        }
    }
}

/// Every kind's sample frame is written, must meet the dialect's schema,
/// and must read back as it was.
fn round_trips(dialect: &Dialect, schemas: &Contract) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let kinds = schemas.frame_kinds().map(|kind| {
        let at = if dialect.file.frames.contains_key(kind) {
            format!("/frames/{kind}")
        } else {
            "/envelope".to_owned()
        };
        (kind.to_owned(), at, sample(kind))
    });
    let events = dialect.file.events.keys().filter_map(|key| {
        let (media, eventtype) = key.split_once('/')?;
        let event = schemas.catalog().event(media, eventtype)?;
        let data: Map<String, Value> = event_properties(event)
            .into_iter()
            .map(|(field, schema)| (field, placeholder(&schema)))
            .collect();
        let at = format!("/events/{}", key.replace('~', "~0").replace('/', "~1"));
        let frame = json!({"kind": "event", "seq": 1, "messageid": "m1", "ts": "2026-01-01T00:00:00Z", "data": data});
        Some((key.clone(), at, frame))
    });
    for (kind, at, frame) in kinds.chain(events) {
        let text = dialect.encode_frame(&frame);
        if let Some(schema) = &dialect.schema {
            let wire: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if let Some(e) = schema.iter_errors(&wire).next() {
                problems.push(format!(
                    "at {at}: the {kind} frame {text} does not meet the dialect's schema at {:?}: {e}",
                    e.instance_path().to_string()
                ));
                continue;
            }
        }
        match dialect.decode(&text) {
            Ok(super::Inbound::Frame(back)) if back == frame => {}
            Ok(other) => problems.push(format!(
                "at {at}: the {kind} frame does not read back as written: {frame} became {text}, read as {other:?}"
            )),
            Err(e) => problems.push(format!(
                "at {at}: the {kind} frame does not read back: {frame} became {text}: {e}"
            )),
        }
    }
    if let Some(text) = dialect.encode_ack("m1") {
        if let Some(schema) = &dialect.schema {
            let wire: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if let Some(e) = schema.iter_errors(&wire).next() {
                problems.push(format!(
                    "at /acks: the ack frame {text} does not meet the dialect's schema: {e}"
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Frames are the kit's own: each field in its own place, names unchanged,
/// nothing added.
fn is_identity(file: &DialectFile, kinds: &BTreeMap<String, Kind>) -> bool {
    let e = &file.envelope;
    e.kind == "/kind"
        && e.seq == "/seq"
        && e.messageid == "/messageid"
        && e.ts.as_deref() == Some("/ts")
        && e.data.as_deref() == Some("/data")
        && file.template.is_empty()
        && file.events.is_empty()
        && file.acks.is_none()
        && file.schema.is_none()
        && kinds
            .iter()
            .all(|(kind, k)| k.name == *kind && k.fields.is_empty() && k.template == json!({}))
}

#[cfg(test)]
mod tests {
    use super::super::{Dialect, DialectError};
    use crate::Contract;

    fn problems(text: &str) -> String {
        let schemas = Contract::embedded().unwrap();
        match Dialect::parse(text, "t.yaml", &schemas) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e @ DialectError::Invalid { .. }) => e.to_string(),
            Err(e) => panic!("{e}"),
        }
    }

    const BASE: &str = "dialect: t\nsession:\n  method: POST\n  path: /s\n  request: {akey: /a, skey: /b}\n  answer: {sessionid: /i, systemcallid: /c, token: /t, websocket: /w}\nchannel: {path: /ws, token: token, resume: resume}\n";

    #[test]
    fn the_built_in_dialects_load_and_the_kit_is_the_identity() {
        let schemas = Contract::embedded().unwrap();
        let names = super::super::builtin_names();
        assert!(
            names.contains(&"jodo-kit-1".to_owned()) && names.contains(&"jsonrpc-2".to_owned())
        );
        for name in names {
            let d = Dialect::load(&name, &schemas).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(d.name(), name);
            assert_eq!(d.is_identity(), name == "jodo-kit-1", "{name}");
        }
    }

    #[test]
    fn a_field_that_does_not_exist_is_named_with_its_line() {
        let text = format!(
            "{BASE}envelope: {{kind: /k, seq: /n, messageid: /id, data: /d}}\nframes:\n  chat.send:\n    fields:\n      txt: /text\n"
        );
        let err = problems(&text);
        assert!(err.contains("line 12, at /frames/chat.send/fields/txt: the kit's chat.send frame has no data field \"txt\" (it has: text)"), "{err}");
        let err = problems(&format!(
            "{BASE}envelope: {{kind: /k, seq: /n, messageid: /id, data: /d}}\nframes:\n  chat.sendx: {{name: x}}\n"
        ));
        assert!(
            err.contains("line 10, at /frames/chat.sendx: \"chat.sendx\" is not a frame kind"),
            "{err}"
        );
    }

    #[test]
    fn a_protocol_out_of_reach_is_said_plainly() {
        let err = problems(&format!(
            "{BASE}envelope: {{kind: /k, seq: /n, messageid: /id, data: /d}}\ntransport: {{messages: socket.io, compression: permessage-deflate}}\n"
        ));
        assert!(
            err.contains("line 9, at /transport/messages: Socket.IO and Engine.IO framing"),
            "{err}"
        );
        assert!(err.contains("at /transport/compression: the mock's WebSocket layer does not negotiate permessage-deflate"), "{err}");
    }

    #[test]
    fn a_kind_mapped_twice_is_refused() {
        let err = problems(&format!(
            "{BASE}envelope: {{kind: /k, seq: /n, messageid: /id, data: /d}}\nframes:\n  chat.send: {{name: say}}\n  chat.readack:\n    name: say\n"
        ));
        assert!(err.contains("line 10, at /frames/chat.send/name: the wire name \"say\" is already chat.readack's"), "{err}");
        // A kind renamed onto another's own name.
        let err = problems(&format!(
            "{BASE}envelope: {{kind: /k, seq: /n, messageid: /id, data: /d}}\nframes:\n  chat.send: {{name: event}}\n"
        ));
        assert!(err.contains("\"event\" is already"), "{err}");
        let err = problems(&format!(
            "{BASE}envelope: {{kind: /k, seq: /n, messageid: /id, data: /d}}\nacks: {{name: welcome, of: /of}}\n"
        ));
        assert!(
            err.contains("at /acks/name: the wire name \"welcome\" is already welcome's"),
            "{err}"
        );
    }

    #[test]
    fn a_template_that_does_not_match_the_schema_is_refused() {
        let err = problems(&format!(
            "{BASE}envelope: {{kind: /method, seq: /params/n, messageid: /params/id, data: /params/body}}\ntemplate: {{jsonrpc: '1.0'}}\nschema:\n  type: object\n  properties: {{jsonrpc: {{const: '2.0'}}}}\n"
        ));
        assert!(
            err.contains("does not meet the dialect's schema at \"/jsonrpc\""),
            "{err}"
        );
        assert!(
            err.contains("line 8, at /envelope: the chat.send frame"),
            "{err}"
        );
    }

    #[test]
    fn fields_that_overwrite_each_other_are_refused() {
        let err = problems(&format!(
            "{BASE}envelope: {{kind: /k, seq: /p/n, messageid: /p, data: /d}}\n"
        ));
        assert!(
            err.contains("line 8, at /envelope/messageid: /p overlaps the place of /envelope/seq"),
            "{err}"
        );
        let err = problems(&format!(
            "{BASE}envelope: {{kind: /k, seq: /n, messageid: /id, data: /d}}\nframes:\n  chat.send: {{fields: {{text: /d/text}}}}\n"
        ));
        assert!(
            err.contains(
                "at /frames/chat.send/fields/text: /d/text overlaps the place of /envelope/data"
            ),
            "{err}"
        );
        let err = problems(&format!(
            "{BASE}envelope: {{kind: /k, seq: /n, messageid: /id, data: /d}}\ntemplate: {{n: 1}}\n"
        ));
        assert!(
            err.contains("at /template/n: a fixed member where /envelope/seq puts /n"),
            "{err}"
        );
    }

    #[test]
    fn without_a_data_place_every_field_needs_one() {
        let err = problems(&format!(
            "{BASE}envelope: {{kind: /k, seq: /n, messageid: /id}}\n"
        ));
        assert!(err.contains("at /envelope: with no envelope.data, [\"text\"] of the kit's chat.send frame has nowhere to go"), "{err}");
        assert!(err.contains("at /envelope: with no envelope.data, the data fields beyond its list of the kit's event frame have nowhere to go"), "{err}");
    }

    #[test]
    fn an_event_frame_of_its_own_names_a_server_event_and_its_fields() {
        let env = "envelope: {kind: /k, seq: /n, messageid: /id, data: /d}\n";
        let err = problems(&format!(
            "{BASE}{env}events:\n  chat/nosuch: {{name: a}}\n  chat/messagesent: {{name: b}}\n  chat/messagereceived:\n    name: welcome\n    fields: {{text: /t}}\n"
        ));
        assert!(err.contains("line 10, at /events/chat~1nosuch: \"chat/nosuch\" is not a server event of the catalogue"), "{err}");
        assert!(
            err.contains(
                "at /events/chat~1messagesent: \"chat/messagesent\" is not a server event"
            ),
            "{err}"
        );
        assert!(err.contains("line 13, at /events/chat~1messagereceived/name: the wire name \"welcome\" is already welcome's"), "{err}");
        assert!(err.contains("at /events/chat~1messagereceived/fields/text: the catalogue's chat/messagereceived event has no data field \"text\""), "{err}");
    }

    #[test]
    fn schema_problems_come_with_lines() {
        let err = problems("dialect: t\nsession: {method: GET}\n");
        assert!(err.contains("line 2, at /session"), "{err}");
        let err = problems(&format!(
            "{BASE}envelope: {{kind: k, seq: /n, messageid: /id}}\n"
        ));
        assert!(err.contains("line 8, at /envelope/kind"), "{err}");
    }
}
