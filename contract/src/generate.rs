//! Schemas generated from the catalogue: one eventdata schema per event and
//! profile, and the server payload of every server-driven event.
//!
//! The output is checked in under `schemas/` so editors and non-Rust tools
//! can use it; a test fails when it is stale, and
//! `JODO_UPDATE_SCHEMAS=1 cargo test -p jodo-contract` rewrites it.

use serde_json::{Map, Value, json};

use crate::bundle::{self, SCHEMA_BASE};
use crate::catalog::{Catalog, EventEntry, MethodEntry, Source};
use crate::profile::Profile;

const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Every generated schema as (path under `schemas/`, document).
pub fn all(catalog: &Catalog) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for profile in Profile::ALL {
        for entry in &catalog.events {
            out.push((
                eventdata_path(profile, entry),
                prune_defs(eventdata(catalog, entry, profile)),
            ));
        }
    }
    for entry in catalog
        .events
        .iter()
        .filter(|e| e.source.contains(&Source::Server))
    {
        out.push((
            server_event_path(entry),
            prune_defs(server_event(catalog, entry)),
        ));
    }
    out.push((ASYNCAPI_PATH.into(), asyncapi(catalog)));
    for profile in Profile::ALL {
        for method in &catalog.methods {
            out.push((
                input_path(profile, &method.name),
                prune_defs(input(catalog, method, profile)),
            ));
        }
    }
    out
}

/// Path of a method's argument-list schema in a profile.
pub fn input_path(profile: Profile, method: &str) -> String {
    format!("inputs/{}/{method}.schema.json", profile.name())
}

/// The schema of a method's arguments, as the JSON array of what the page
/// passes. Strict refuses extra arguments; compat ignores them.
pub fn input(catalog: &Catalog, method: &MethodEntry, profile: Profile) -> Value {
    let items: Vec<Value> = method
        .params
        .iter()
        .map(|p| {
            let fragment = match profile {
                Profile::Compat => p.compat_schema.clone().or_else(|| p.schema.clone()),
                Profile::Strict => p.schema.clone(),
            };
            let mut fragment = fragment.unwrap_or_else(|| json!({"type": p.ty}));
            if let Some(obj) = fragment.as_object_mut() {
                obj.insert("title".into(), json!(p.name));
            }
            fragment
        })
        .collect();
    let min_items = method.params.iter().filter(|p| !p.optional).count();
    let mut doc = json!({
        "$schema": DRAFT,
        "$id": format!("{SCHEMA_BASE}{}", input_path(profile, &method.name)),
        "title": format!("arguments of {} ({})", method.name, profile.name()),
        "description": format!(
            "The argument list a page passes to {}, as a JSON array. From {}, section \"{}\". Generated from schemas/catalog.yaml; do not edit.",
            method.js_path(), catalog.spec, method.section
        ),
        "x-catalog": method.name,
        "type": "array",
        "prefixItems": &items,
        "minItems": min_items,
        "$defs": defs(catalog, profile),
    });
    if items.is_empty() {
        if let Some(obj) = doc.as_object_mut() {
            obj.remove("prefixItems");
        }
    }
    if profile == Profile::Strict {
        doc["items"] = json!(false);
    }
    doc
}

/// Path of an event's eventdata schema in a profile.
pub fn eventdata_path(profile: Profile, entry: &EventEntry) -> String {
    format!(
        "eventdata/{}/{}.{}.schema.json",
        profile.name(),
        entry.media,
        entry.eventtype
    )
}

/// Path of a server event's payload schema (the `data` of an `event` frame).
pub fn server_event_path(entry: &EventEntry) -> String {
    format!(
        "wire/events/{}.{}.schema.json",
        entry.media, entry.eventtype
    )
}

/// Folders the generator owns entirely; anything else in them is stale.
pub const GENERATED_DIRS: &[&str] = &[
    "eventdata/strict",
    "eventdata/compat",
    "wire/events",
    "inputs/strict",
    "inputs/compat",
];

fn defs(catalog: &Catalog, profile: Profile) -> Map<String, Value> {
    let mut defs = catalog.defs.shared.clone();
    defs.extend(match profile {
        Profile::Strict => catalog.defs.strict.clone(),
        Profile::Compat => catalog.defs.compat.clone(),
    });
    let names: Vec<Value> = catalog
        .extdata_fields
        .iter()
        .map(|f| json!(f.name))
        .collect();
    let mut entry =
        json!({"type": "object", "additionalProperties": {"$ref": "#/$defs/extdata_value"}});
    if profile == Profile::Strict {
        entry["propertyNames"] = json!({"enum": names});
    }
    defs.insert(
        "extdata".into(),
        json!({
            "type": "object",
            "description": "External session data: entries keyed by the catalogue's extdata field names.",
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "conversation": {"type": "array", "items": entry}
            },
            "additionalProperties": profile == Profile::Compat
        }),
    );
    let codes: Vec<Value> = catalog.status_codes.iter().map(|s| json!(s.code)).collect();
    defs.insert(
        "status".into(),
        json!({"description": "A status code of the catalogue.", "enum": codes}),
    );
    defs
}

fn properties(catalog: &Catalog, entry: &EventEntry) -> Map<String, Value> {
    let mut props = catalog.eventdata.common.clone();
    props.extend(entry.fields.clone());
    props.insert("media".into(), json!({"const": entry.media}));
    props.insert("eventtype".into(), json!({"const": entry.eventtype}));
    props
}

fn required(catalog: &Catalog, entry: &EventEntry) -> Vec<String> {
    let mut req = catalog.eventdata.required.clone();
    for r in &entry.required {
        if !req.contains(r) {
            req.push(r.clone());
        }
    }
    req
}

fn description(catalog: &Catalog, entry: &EventEntry) -> String {
    format!(
        "{} From {}, section \"{}\". Generated from schemas/catalog.yaml; do not edit.",
        entry.summary, catalog.spec, entry.section
    )
}

/// The eventdata schema of one event in one profile.
pub fn eventdata(catalog: &Catalog, entry: &EventEntry, profile: Profile) -> Value {
    let mut props = properties(catalog, entry);
    let mut req = required(catalog, entry);
    let mut doc = Map::new();
    doc.insert("$schema".into(), json!(DRAFT));
    doc.insert(
        "$id".into(),
        json!(format!("{SCHEMA_BASE}{}", eventdata_path(profile, entry))),
    );
    doc.insert(
        "title".into(),
        json!(format!("eventdata {} ({})", entry.key(), profile.name())),
    );
    doc.insert("description".into(), json!(description(catalog, entry)));
    doc.insert("x-catalog".into(), json!(entry.key()));
    doc.insert("type".into(), json!("object"));
    match profile {
        Profile::Strict => {
            doc.insert("additionalProperties".into(), json!(false));
        }
        Profile::Compat => {
            if !entry.aliases.is_empty() {
                let mut spellings = vec![json!(entry.eventtype)];
                spellings.extend(entry.aliases.iter().map(|a| json!(a)));
                props.insert("eventtype".into(), json!({"enum": spellings}));
            }
            req.retain(|r| !entry.compat.optional.contains(r));
            let mut any_of = Vec::new();
            for (other, canonical) in &entry.compat.renamed {
                if let Some(schema) = props.get(canonical).cloned() {
                    props.insert(other.clone(), schema);
                }
                if req.contains(canonical) {
                    req.retain(|r| r != canonical);
                    any_of
                        .push(json!({"anyOf": [{"required": [canonical]}, {"required": [other]}]}));
                }
            }
            if !any_of.is_empty() {
                doc.insert("allOf".into(), json!(any_of));
            }
        }
    }
    doc.insert("properties".into(), Value::Object(props));
    doc.insert("required".into(), json!(req));
    doc.insert("$defs".into(), Value::Object(defs(catalog, profile)));
    Value::Object(doc)
}

/// The payload a server sends for a server-driven event: the strict
/// eventdata without the fields the widget adds (messageid, timestamp).
pub fn server_event(catalog: &Catalog, entry: &EventEntry) -> Value {
    let mut props = properties(catalog, entry);
    props.remove("messageid");
    props.remove("timestamp");
    let req: Vec<String> = required(catalog, entry)
        .into_iter()
        .filter(|r| r != "messageid" && r != "timestamp")
        .collect();
    json!({
        "$schema": DRAFT,
        "$id": format!("{SCHEMA_BASE}{}", server_event_path(entry)),
        "title": format!("server event {}", entry.key()),
        "description": description(catalog, entry),
        "x-catalog": entry.key(),
        "type": "object",
        "properties": props,
        "required": req,
        "additionalProperties": false,
        "$defs": defs(catalog, Profile::Strict),
    })
}

/// Where the AsyncAPI description of the wire protocol goes.
pub const ASYNCAPI_PATH: &str = "wire/asyncapi.yaml";

/// The wire protocol as an AsyncAPI 3.0 document, from the point of view
/// of the server: it sends `welcome`, `error` and one `event` message per
/// server-driven event of the catalogue, and receives one message per frame
/// kind widgets send. Payloads reference the JSON Schemas.
pub fn asyncapi(catalog: &Catalog) -> Value {
    let payload = |schema: Value| json!({"schemaFormat": "application/schema+json;version=draft-07", "schema": schema});
    let mut messages = Map::new();
    let mut sent = Vec::new();
    let mut received = Vec::new();
    for (path, text) in bundle::json_schemas() {
        let Some(kind) = path
            .strip_prefix("wire/frames/")
            .and_then(|p| p.strip_suffix(".schema.json"))
        else {
            continue;
        };
        if kind == crate::wire::kind::EVENT {
            continue;
        }
        let doc: Value = serde_json::from_str(text).unwrap_or_default();
        let from_server = doc["x-direction"] == "server";
        let methods: Vec<&str> = catalog
            .methods
            .iter()
            .filter(|m| m.frames.iter().any(|f| f == kind))
            .map(|m| m.name.as_str())
            .collect();
        let mut message = json!({
            "name": kind,
            "title": doc["title"],
            "summary": doc["description"],
            "payload": payload(json!({"$ref": format!("./frames/{kind}.schema.json")})),
        });
        if !methods.is_empty() {
            message["x-methods"] = json!(methods);
        }
        messages.insert(kind.to_owned(), message);
        if from_server {
            &mut sent
        } else {
            &mut received
        }
        .push(kind.to_owned());
    }
    for entry in catalog
        .events
        .iter()
        .filter(|e| e.source.contains(&Source::Server))
    {
        let name = format!("event.{}.{}", entry.media, entry.eventtype);
        messages.insert(
            name.clone(),
            json!({
                "name": "event",
                "title": format!("event {}", entry.key()),
                "summary": entry.summary,
                "x-eventdata": entry.key(),
                "payload": payload(json!({"allOf": [
                    {"$ref": "./frames/event.schema.json"},
                    {"type": "object", "properties": {"data": {"$ref": format!("./events/{}.{}.schema.json", entry.media, entry.eventtype)}}}
                ]})),
            }),
        );
        sent.push(name);
    }
    let channel_refs = |names: &[String]| -> Vec<Value> {
        names
            .iter()
            .map(|n| json!({"$ref": format!("#/channels/session/messages/{n}")}))
            .collect()
    };
    let channel_messages: Map<String, Value> = messages
        .keys()
        .map(|n| {
            (
                n.clone(),
                json!({"$ref": format!("#/components/messages/{n}")}),
            )
        })
        .collect();
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "Jodo conformance kit wire protocol",
            "version": "1.0.0",
            "description": format!(
                "The protocol between a Jodo widget build and jodo-mock (see README.md beside this file). Session creation is HTTPS; this document covers the WSS channel. Generated from schemas/catalog.yaml and wire/frames/; do not edit. Events follow the catalogue of {}.",
                catalog.spec
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "mock": {"host": "127.0.0.1:8443", "protocol": "wss", "description": "jodo-mock on its default port"}
        },
        "channels": {
            "session": {
                "address": kit_channel_path(),
                "title": "A visitor session",
                "description": "Opened with the single-use token from the session API (?token=...). JSON text frames in both directions, each with a per-direction seq and a unique messageid.",
                "messages": channel_messages,
            }
        },
        "operations": {
            "sendToWidget": {
                "action": "send",
                "title": "Frames the server sends",
                "channel": {"$ref": "#/channels/session"},
                "messages": channel_refs(&sent),
            },
            "receiveFromWidget": {
                "action": "receive",
                "title": "Frames widgets send",
                "channel": {"$ref": "#/channels/session"},
                "messages": channel_refs(&received),
            }
        },
        "components": {"messages": messages},
    })
}

/// Keeps only the definitions a document refers to, directly or through
/// other definitions, so each generated file carries what it uses.
/// The kit's channel path, from the one file that says it: the built-in
/// dialect `jodo-kit-1`.
fn kit_channel_path() -> String {
    crate::bundle::text("dialects/jodo-kit-1.yaml")
        .and_then(|text| crate::yaml::from_str::<crate::dialect::DialectFile>(text).ok())
        .map(|d| d.channel.path)
        .unwrap_or_default()
}

fn prune_defs(mut doc: Value) -> Value {
    let Some(defs) = doc.get("$defs").and_then(Value::as_object).cloned() else {
        return doc;
    };
    let mut body = doc.clone();
    if let Some(obj) = body.as_object_mut() {
        obj.remove("$defs");
    }
    let mut used = std::collections::BTreeSet::new();
    let mut pending = vec![body];
    while let Some(v) = pending.pop() {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    if k == "$ref" {
                        if let Some(name) = child.as_str().and_then(|r| r.strip_prefix("#/$defs/"))
                        {
                            if used.insert(name.to_owned()) {
                                if let Some(def) = defs.get(name) {
                                    pending.push(def.clone());
                                }
                            }
                        }
                    } else {
                        pending.push(child);
                    }
                }
            }
            Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    let kept: Map<String, Value> = defs.into_iter().filter(|(k, _)| used.contains(k)).collect();
    if let Some(obj) = doc.as_object_mut() {
        if kept.is_empty() {
            obj.remove("$defs");
        } else {
            obj.insert("$defs".into(), Value::Object(kept));
        }
    }
    doc
}

/// The generated text of a document: YAML for `.yaml` paths, otherwise
/// pretty JSON, with a final newline.
pub fn render(path: &str, doc: &Value) -> String {
    if path.ends_with(".yaml") {
        return format!(
            "# Generated from schemas/catalog.yaml and wire/frames/; do not edit.\n{}",
            serde_norway::to_string(doc).unwrap_or_default()
        );
    }
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests;
