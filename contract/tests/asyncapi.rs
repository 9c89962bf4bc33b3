//! The AsyncAPI description of the wire protocol is checked by the official
//! AsyncAPI parser (npm `@asyncapi/parser`, run by node from tools/contract-check), not by hand.
//! `scripts/install-deps` installs node and the parser.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn parse(document: &Path) -> (Option<i32>, String) {
    let script = root().join("tools/contract-check/asyncapi.mjs");
    assert!(
        root()
            .join("tools/contract-check/node_modules/@asyncapi/parser")
            .is_dir(),
        "the AsyncAPI parser is not installed; run scripts/install-deps"
    );
    let out = Command::new("node")
        .arg(&script)
        .arg(document)
        .output()
        .expect("node runs (scripts/install-deps installs it)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

#[test]
fn asyncapi_document_is_valid() {
    let (code, text) = parse(&root().join("schemas/wire/asyncapi.yaml"));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("valid AsyncAPI 3.0.0"), "{text}");
    // One message per server-driven event of the catalogue, plus the frame kinds.
    let catalog = jodo_contract::Catalog::embedded().unwrap();
    let server_events = catalog
        .events
        .iter()
        .filter(|e| e.source.contains(&jodo_contract::catalog::Source::Server))
        .count();
    // Every frame kind but `event`, which becomes one message per event.
    let frame_kinds = std::fs::read_dir(root().join("schemas/wire/frames"))
        .unwrap()
        .filter(|f| {
            f.as_ref()
                .is_ok_and(|f| f.file_name().to_string_lossy().ends_with(".schema.json"))
        })
        .count();
    assert!(
        text.contains(&format!("{} messages", server_events + frame_kinds - 1)),
        "{text}"
    );
}

#[test]
fn the_parser_rejects_a_broken_document() {
    let original = std::fs::read_to_string(root().join("schemas/wire/asyncapi.yaml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("asyncapi.yaml");
    std::fs::write(
        &broken,
        original.replacen("action: send", "action: sned", 1),
    )
    .unwrap();
    let (code, text) = parse(&broken);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("action"), "{text}");
}
