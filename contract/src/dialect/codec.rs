//! A dialect's frames and bodies, to and from the kit's.
//!
//! Reading takes each field out of the wire frame at its pointer and
//! builds the kit's frame (`kind`, `seq`, `messageid`, `ts`, `data`), so
//! every check, the scenario engine and the transcripts see one shape;
//! writing does the reverse. The dialect's fixed members are written, and
//! on reading only its schema (if it has one) looks at them.

use serde_json::{Map, Value, json};

use super::{Dialect, Kind};

/// A frame read off the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// A kit frame (its kind may be one the kit does not know: the
    /// receiver's schema check says so).
    Frame(Value),
    /// An acknowledgement of the frame with this messageid.
    Ack(String),
}

/// Why wire text is not a frame of the dialect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireProblem {
    /// Not JSON.
    #[error("frame is not JSON: {0}")]
    NotJson(String),
    /// JSON, but not of the dialect's shape.
    #[error("{0}")]
    NotFrame(String),
}

impl Dialect {
    /// Reads one text message.
    ///
    /// # Errors
    /// [`WireProblem`] naming the pointer or the schema rule missed.
    pub fn decode(&self, text: &str) -> Result<Inbound, WireProblem> {
        let mut wire: Value =
            serde_json::from_str(text).map_err(|e| WireProblem::NotJson(e.to_string()))?;
        if let Some(schema) = &self.schema {
            if let Some(e) = schema.iter_errors(&wire).next() {
                return Err(WireProblem::NotFrame(format!(
                    "frame does not meet the {} dialect's schema at {:?}: {e}",
                    self.name(),
                    e.instance_path().to_string()
                )));
            }
        }
        let env = &self.envelope;
        let name = match env.kind.get(&wire) {
            Some(Value::String(name)) => name.clone(),
            _ => {
                return Err(WireProblem::NotFrame(format!(
                    "frame has no kind (a string at {})",
                    env.kind.as_str()
                )));
            }
        };
        if let Some(acks) = self.acks.as_ref().filter(|a| a.name == name) {
            return match acks.of.get(&wire) {
                Some(Value::String(of)) => Ok(Inbound::Ack(of.clone())),
                _ => Err(WireProblem::NotFrame(format!(
                    "an ack names no messageid (a string at {})",
                    acks.of.as_str()
                ))),
            };
        }
        // A server event with a frame of its own is an `event` whose media
        // and eventtype the name implies.
        let own_event = self.event_by_name.get(&name);
        let kind = match own_event {
            Some(_) => "event".to_owned(),
            None => self.by_name.get(&name).cloned().unwrap_or(name),
        };
        let mut frame = Map::new();
        frame.insert("kind".into(), Value::String(kind.clone()));
        for (field, at) in [("seq", &env.seq), ("messageid", &env.messageid)] {
            match at.take(&mut wire) {
                Some(v) => {
                    frame.insert(field.into(), v);
                }
                None => {
                    return Err(WireProblem::NotFrame(format!(
                        "frame has no {field} (at {})",
                        at.as_str()
                    )));
                }
            }
        }
        if let Some(ts) = env.ts.as_ref().and_then(|p| p.take(&mut wire)) {
            frame.insert("ts".into(), ts);
        }
        // Fields first: a field placed inside the data object is not data.
        let mut placed = Map::new();
        let entry = match own_event {
            Some(key) => self.events.get(key),
            None => self.kinds.get(&kind),
        };
        if let Some(k) = entry {
            for (field, at) in &k.fields {
                if let Some(v) = at.take(&mut wire) {
                    placed.insert(field.clone(), v);
                }
            }
        }
        let mut data = match env.data.as_ref().and_then(|p| p.take(&mut wire)) {
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(WireProblem::NotFrame(format!(
                    "frame data (at {}) is {other}, not an object",
                    env.data.as_ref().map_or("", |p| p.as_str())
                )));
            }
            None => Map::new(),
        };
        data.extend(placed);
        if let Some((media, eventtype)) = own_event.and_then(|key| key.split_once('/')) {
            data.entry("media").or_insert_with(|| json!(media));
            data.entry("eventtype").or_insert_with(|| json!(eventtype));
        }
        frame.insert("data".into(), Value::Object(data));
        Ok(Inbound::Frame(Value::Object(frame)))
    }

    /// Writes a kit frame (an object with `kind`, `seq`, `messageid`,
    /// `ts`, `data`) as the dialect puts it on the wire. A kind the
    /// dialect does not know keeps its name.
    pub fn encode_frame(&self, frame: &Value) -> String {
        let kind = frame
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut data = match frame.get("data") {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        let fallback;
        let own_event = (kind == "event")
            .then(|| {
                let key = format!(
                    "{}/{}",
                    data.get("media").and_then(Value::as_str)?,
                    data.get("eventtype").and_then(Value::as_str)?
                );
                self.events.get(&key)
            })
            .flatten();
        if let Some(k) = own_event {
            // The name says which event it is, unless a field places them.
            for implied in ["media", "eventtype"] {
                if !k.fields.iter().any(|(f, _)| f == implied) {
                    data.remove(implied);
                }
            }
        }
        let k = match own_event.or_else(|| self.kinds.get(kind)) {
            Some(k) => k,
            None => {
                fallback = Kind {
                    name: kind.to_owned(),
                    fields: Vec::new(),
                    template: Value::Object(self.file.template.clone()),
                };
                &fallback
            }
        };
        let env = &self.envelope;
        let mut wire = k.template.clone();
        env.kind.set(&mut wire, json!(k.name));
        for (field, at) in [("seq", &env.seq), ("messageid", &env.messageid)] {
            if let Some(v) = frame.get(field) {
                at.set(&mut wire, v.clone());
            }
        }
        if let (Some(at), Some(ts)) = (&env.ts, frame.get("ts")) {
            at.set(&mut wire, ts.clone());
        }
        for (field, at) in &k.fields {
            if let Some(v) = data.remove(field) {
                at.set(&mut wire, v);
            }
        }
        if let Some(at) = &env.data {
            at.set(&mut wire, Value::Object(data));
        }
        wire.to_string()
    }

    /// An acknowledgement of `messageid`, if the dialect has them.
    pub fn encode_ack(&self, messageid: &str) -> Option<String> {
        let acks = self.acks.as_ref()?;
        let mut wire = Value::Object(self.file.template.clone());
        self.envelope.kind.set(&mut wire, json!(acks.name));
        acks.of.set(&mut wire, json!(messageid));
        Some(wire.to_string())
    }

    /// The kit's session request from the dialect's body: each field from
    /// its place; a field that is absent stays absent (the kit's schema
    /// then says what is missing).
    pub fn request_from_wire(&self, body: &Value) -> Value {
        gather(&self.request, body)
    }

    /// Where a field of the kit's session request (a pointer into it,
    /// as a schema error gives it) sits in the dialect's body, so that an
    /// error names the place the client wrote.
    pub fn request_place(&self, kit_pointer: &str) -> String {
        let mut parts = kit_pointer.splitn(3, '/').skip(1);
        let field = parts.next().unwrap_or_default();
        let rest = parts.next().map(|r| format!("/{r}")).unwrap_or_default();
        match self.request.iter().find(|(f, _)| f == field) {
            Some((_, at)) => format!("{}{rest}", at.as_str()),
            None => kit_pointer.to_owned(),
        }
    }

    /// The dialect's answer to a created session from the kit's.
    pub fn answer_to_wire(&self, answer: &Value) -> Value {
        scatter(&self.answer, answer)
    }
}

fn gather(places: &[(String, super::Pointer)], wire: &Value) -> Value {
    let mut out = Map::new();
    for (field, at) in places {
        if let Some(v) = at.get(wire) {
            out.insert(field.clone(), v.clone());
        }
    }
    Value::Object(out)
}

fn scatter(places: &[(String, super::Pointer)], kit: &Value) -> Value {
    let mut wire = json!({});
    for (field, at) in places {
        if let Some(v) = kit.get(field) {
            at.set(&mut wire, v.clone());
        }
    }
    wire
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Contract;

    fn rpc() -> Dialect {
        Dialect::load("jsonrpc-2", &Contract::embedded().unwrap()).unwrap()
    }

    #[test]
    fn json_rpc_frames_are_written_and_read_where_the_file_says() {
        let d = rpc();
        let text = d.encode_frame(&json!({"kind": "event", "seq": 3, "messageid": "s9",
            "ts": "2026-12-04T00:00:00Z", "data": {"media": "chat",
            "eventtype": "messagedeliveredack", "refmessageid": "w1", "status": 1003}}));
        let wire: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            wire,
            json!({"jsonrpc": "2.0", "method": "agent.event", "params": {
            "n": 3, "ref": "s9", "sent": "2026-12-04T00:00:00Z", "channel": "chat",
            "type": "messagedeliveredack", "body": {"refmessageid": "w1", "status": 1003}}})
        );
        // An event with a method of its own: the name says which it is.
        let kit = json!({"kind": "event", "seq": 4, "messageid": "s10", "ts": "t",
                         "data": {"media": "chat", "eventtype": "messagereceived", "msg": "hi"}});
        let text = d.encode_frame(&kit);
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            json!({"jsonrpc": "2.0", "method": "agent.says", "params": {
                "n": 4, "ref": "s10", "sent": "t", "text": "hi", "body": {}}})
        );
        assert_eq!(d.decode(&text).unwrap(), Inbound::Frame(kit));
        let visitor = r#"{"jsonrpc":"2.0","method":"visitor.say","params":{"n":1,"ref":"w1","text":"Hello","body":{}}}"#;
        assert_eq!(
            d.decode(visitor).unwrap(),
            Inbound::Frame(json!({
            "kind": "chat.send", "seq": 1, "messageid": "w1", "data": {"text": "Hello"}}))
        );
        assert_eq!(
            d.decode(r#"{"jsonrpc":"2.0","method":"ack","params":{"of":"s9"}}"#)
                .unwrap(),
            Inbound::Ack("s9".into())
        );
        assert_eq!(
            d.encode_ack("w1").unwrap(),
            r#"{"jsonrpc":"2.0","method":"ack","params":{"of":"w1"}}"#
        );
    }

    #[test]
    fn what_is_not_a_frame_of_the_dialect_says_why() {
        let d = rpc();
        let err = |t: &str| d.decode(t).unwrap_err().to_string();
        assert!(err("{").starts_with("frame is not JSON"));
        assert!(
            err(r#"{"jsonrpc":"1.0","method":"visitor.say","params":{}}"#)
                .contains("schema at \"/jsonrpc\"")
        );
        assert!(
            err(r#"{"jsonrpc":"2.0","method":"visitor.say","params":{"ref":"a"}}"#)
                .contains("no seq (at /params/n)")
        );
        assert!(
            err(r#"{"jsonrpc":"2.0","method":"ack","params":{}}"#)
                .contains("no messageid (a string at /params/of)")
        );
        assert!(
            err(r#"{"jsonrpc":"2.0","method":"visitor.say","params":{"n":1,"ref":"a","body":[]}}"#)
                .contains("not an object")
        );
        // An unknown wire name reads as a kind of that name, for the
        // receiver's schema check to refuse.
        let Inbound::Frame(f) = d
            .decode(r#"{"jsonrpc":"2.0","method":"nope","params":{"n":1,"ref":"a"}}"#)
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(f["kind"], "nope");
    }

    #[test]
    fn session_bodies_move_between_the_two_shapes() {
        let d = rpc();
        let kit = json!({"akey": "a", "skey": "b", "init": {"name": "x"}, "sdk": "2.0.0"});
        let wire = json!({"credentials": {"app": "a", "secret": "b"}, "visitor": {"name": "x"},
                          "client": {"version": "2.0.0"}, "other": 1});
        assert_eq!(d.request_from_wire(&wire), kit);
        assert_eq!(d.request_place("/init/name"), "/visitor/name");
        assert_eq!(d.request_place("/akey"), "/credentials/app");
        assert_eq!(d.request_place(""), "");
        let answer =
            json!({"sessionid": "1", "systemcallid": "2", "token": "t", "websocket": "wss://x"});
        assert_eq!(
            d.answer_to_wire(&answer),
            json!({"result": {"conversation": "1", "call": "2", "ticket": "t", "endpoint": "wss://x"}})
        );
    }
}
