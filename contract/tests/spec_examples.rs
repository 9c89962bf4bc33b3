//! Every example payload of the API document (fixtures/events/) validates
//! under compat, and under strict exactly when it is canonical.

use std::path::Path;

use jodo_contract::{Contract, Profile};
use serde_json::Value;

#[test]
fn spec_examples_validate_as_their_files_say() {
    let schemas = Contract::embedded().unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/events");
    let register = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/AMBIGUITIES.md"),
    )
    .unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let example: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let kind = example["kind"].as_str().expect("kind");
        let doc = &example["document"];
        let compat = schemas.validate_kind(kind, doc, Profile::Compat).unwrap();
        assert_eq!(compat, vec![], "{name} must validate under compat");
        let strict = schemas.validate_kind(kind, doc, Profile::Strict).unwrap();
        if example["strict"] == true {
            assert_eq!(
                strict,
                vec![],
                "{name} is canonical and must validate under strict"
            );
        } else {
            assert!(
                !strict.is_empty(),
                "{name} says it is not canonical, but strict accepts it"
            );
            let reasons = example["not_strict_because"]
                .as_array()
                .expect("not_strict_because");
            assert!(!reasons.is_empty());
            for r in reasons {
                let id = r.as_str().unwrap();
                assert!(
                    register.contains(&format!("## {id} ")),
                    "{name} cites {id}, which AMBIGUITIES.md lacks"
                );
            }
        }
        seen += 1;
    }
    assert!(seen >= 11, "only {seen} examples found");
}
