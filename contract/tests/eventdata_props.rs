//! Property tests over the generated eventdata schemas: instances built
//! from each catalogue entry's own schema validate, and every mutation of
//! them is rejected with an error that names the field.

use std::sync::OnceLock;

use jodo_contract::generate;
use jodo_contract::{Contract, EventEntry, Profile};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};

fn schemas() -> &'static Contract {
    static SET: OnceLock<Contract> = OnceLock::new();
    SET.get_or_init(|| Contract::embedded().unwrap())
}

fn entries() -> Vec<EventEntry> {
    schemas().catalog().events.clone()
}

/// A strategy for values of one schema fragment of a generated schema.
fn value_of(fragment: &Value, defs: &Map<String, Value>) -> BoxedStrategy<Value> {
    if let Some(target) = fragment.get("$ref").and_then(Value::as_str) {
        let name = target.trim_start_matches("#/$defs/");
        return match name {
            "timestamp" => (
                2000u32..2100,
                1u32..=12,
                1u32..=28,
                0u32..24,
                0u32..60,
                0u32..60,
            )
                .prop_map(|(y, mo, d, h, mi, s)| {
                    json!(format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"))
                })
                .boxed(),
            "url" => "[a-z]{1,10}\\.test/[a-z0-9]{0,12}"
                .prop_map(|rest| json!(format!("https://{rest}")))
                .boxed(),
            other => value_of(&defs[other], defs),
        };
    }
    if let Some(c) = fragment.get("const") {
        return Just(c.clone()).boxed();
    }
    if let Some(options) = fragment.get("enum").and_then(Value::as_array) {
        return select(options.clone()).boxed();
    }
    if let Some(first) = fragment.get("anyOf").and_then(|a| a.get(0)) {
        return value_of(first, defs);
    }
    let ty = match fragment.get("type") {
        Some(Value::Array(types)) => types[0].as_str().unwrap_or("string"),
        Some(Value::String(t)) => t.as_str(),
        _ => "string",
    };
    assert!(
        fragment.get("pattern").is_none(),
        "no strategy for pattern in {fragment}"
    );
    let num = |k: &str, d: f64| fragment.get(k).and_then(Value::as_f64).unwrap_or(d);
    match ty {
        "string" => {
            let min = num("minLength", 0.0) as usize;
            let max = (num("maxLength", 40.0) as usize).min(40).max(min.max(1));
            proptest::string::string_regex(&format!("[A-Za-z0-9 ]{{{},{max}}}", min.max(1)))
                .unwrap()
                .prop_map(Value::String)
                .boxed()
        }
        "integer" => (num("minimum", 0.0) as i64..=num("maximum", 1_000_000.0) as i64)
            .prop_map(|n| json!(n))
            .boxed(),
        "number" => (num("minimum", -1e6)..=num("maximum", 1e6))
            .prop_map(|n| json!(n))
            .boxed(),
        "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
        "object" => Just(json!({"field": "value"})).boxed(),
        "array" => Just(json!([])).boxed(),
        other => panic!("no strategy for type {other}"),
    }
}

/// A valid strict eventdata for `entry`: every required property, and each
/// optional one half of the time.
fn eventdata(entry: &EventEntry) -> BoxedStrategy<Value> {
    let schema = generate::eventdata(schemas().catalog(), entry, Profile::Strict);
    let defs = schema["$defs"].as_object().unwrap().clone();
    let required: Vec<String> = serde_json::from_value(schema["required"].clone()).unwrap();
    let mut fields: Vec<BoxedStrategy<(String, Option<Value>)>> = Vec::new();
    for (name, fragment) in schema["properties"].as_object().unwrap() {
        let value = value_of(fragment, &defs);
        let name = name.clone();
        if required.contains(&name) {
            fields.push(value.prop_map(move |v| (name.clone(), Some(v))).boxed());
        } else {
            fields.push(
                proptest::option::of(value)
                    .prop_map(move |v| (name.clone(), v))
                    .boxed(),
            );
        }
    }
    fields
        .prop_map(|pairs| {
            Value::Object(
                pairs
                    .into_iter()
                    .filter_map(|(k, v)| v.map(|v| (k, v)))
                    .collect(),
            )
        })
        .boxed()
}

fn any_event() -> impl Strategy<Value = (EventEntry, Value)> {
    select(entries()).prop_flat_map(|e| eventdata(&e).prop_map(move |doc| (e.clone(), doc)))
}

fn errors(doc: &Value, profile: Profile) -> Vec<jodo_contract::SchemaError> {
    schemas().validate_eventdata(doc, profile)
}

/// Whether some error names `field`: by pointer, or (for a missing
/// property) in its message.
fn names_field(errors: &[jodo_contract::SchemaError], field: &str) -> bool {
    errors
        .iter()
        .any(|e| e.pointer == format!("/{field}") || e.message.contains(&format!("\"{field}\"")))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn generated_eventdata_is_valid_in_both_profiles((entry, doc) in any_event()) {
        prop_assert_eq!(errors(&doc, Profile::Strict), vec![], "{} {}", entry.key(), doc);
        prop_assert_eq!(errors(&doc, Profile::Compat), vec![], "{} {}", entry.key(), doc);
    }

    #[test]
    fn dropping_a_required_field_is_rejected((entry, doc) in any_event(), pick in any::<prop::sample::Index>()) {
        let required = generate::eventdata(schemas().catalog(), &entry, Profile::Strict)["required"].clone();
        let required: Vec<String> = serde_json::from_value(required).unwrap();
        let field = pick.get(&required).clone();
        let mut doc = doc;
        doc.as_object_mut().unwrap().remove(&field);
        let e = errors(&doc, Profile::Strict);
        prop_assert!(names_field(&e, &field), "dropping {} from {}: {:?}", field, entry.key(), e);
    }

    #[test]
    fn a_wrong_type_is_rejected((entry, doc) in any_event(), pick in any::<prop::sample::Index>()) {
        let keys: Vec<String> = doc.as_object().unwrap().keys().filter(|k| *k != "media" && *k != "eventtype").cloned().collect();
        let field = pick.get(&keys).clone();
        let mut doc = doc;
        let wrong = match &doc[&field] {
            Value::String(_) => json!(12345),
            Value::Number(_) => json!("not a number"),
            Value::Bool(_) => json!("true"),
            _ => json!(false),
        };
        doc[&field] = wrong;
        let e = errors(&doc, Profile::Strict);
        prop_assert!(names_field(&e, &field), "{} of {} with a wrong type: {:?}", field, entry.key(), e);
    }

    #[test]
    fn an_unknown_media_or_eventtype_is_rejected((_entry, doc) in any_event(), which in select(vec!["media", "eventtype"]), suffix in "[A-Za-z]{1,4}") {
        let mut doc = doc;
        let renamed = format!("{}{suffix}", doc[which].as_str().unwrap());
        doc[which] = json!(renamed);
        for profile in Profile::ALL {
            let e = errors(&doc, profile);
            prop_assert!(names_field(&e, which), "{}: {:?}", doc, e);
        }
    }

    #[test]
    fn an_empty_messageid_is_rejected((_entry, doc) in any_event()) {
        let mut doc = doc;
        doc["messageid"] = json!("");
        for profile in Profile::ALL {
            prop_assert!(names_field(&errors(&doc, profile), "messageid"));
        }
    }

    #[test]
    fn a_malformed_timestamp_is_rejected(
        (_entry, doc) in any_event(),
        bad in select(vec!["2025-13-01 00:00:00", "2025-08-21T11:52:49", "21/08/2025 11:52:49", "", "2025-08-21 24:00:00", "2025-8-21 11:52:49", "yesterday"]),
    ) {
        let mut doc = doc;
        doc["timestamp"] = json!(bad);
        for profile in Profile::ALL {
            prop_assert!(names_field(&errors(&doc, profile), "timestamp"), "{bad:?} accepted in {}", profile.name());
        }
    }

    #[test]
    fn an_over_long_message_is_rejected(
        doc in eventdata(schemas().catalog().event("chat", "messagesent").unwrap()),
        text in proptest::collection::vec(prop_oneof![Just('a'), Just('\u{1F600}'), Just('\u{0301}'), Just('\u{05D0}'), any::<char>()], 256..300),
    ) {
        let mut doc = doc;
        doc["msg"] = json!(text.into_iter().collect::<String>());
        prop_assert!(names_field(&errors(&doc, Profile::Strict), "msg"));
    }
}

#[test]
fn every_schema_is_a_valid_2020_12_schema() {
    let mut checked = 0;
    for (path, text) in jodo_contract::bundle::json_schemas() {
        let doc: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            doc["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{path}"
        );
        if let Err(e) = jsonschema::meta::validate(&doc) {
            panic!("schemas/{path} breaks the 2020-12 meta-schema: {e}");
        }
        checked += 1;
    }
    assert!(checked > 200, "only {checked} schemas");
    assert!(
        jsonschema::meta::validate(
            &json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "strnig"})
        )
        .is_err()
    );
}
