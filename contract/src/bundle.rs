//! The `schemas/` folder compiled into the binary.
//!
//! Embedding keeps `cargo install`ed binaries self-contained and guarantees
//! the mock and the runner read the very same contract. The files on disk
//! stay the source of truth: this is a build-time copy, not a second list.

use include_dir::{Dir, include_dir};

/// Every file under `schemas/`, by path relative to that folder.
pub static SCHEMAS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../schemas");

/// Base URI under which every schema declares its `$id`.
///
/// A reserved `.example` host: the validator runs offline, so nothing is
/// ever fetched from it.
pub const SCHEMA_BASE: &str = "https://jodo-kit.example/schemas/";

/// The text of one embedded contract file, e.g. `catalog.yaml`.
pub fn text(path: &str) -> Option<&'static str> {
    SCHEMAS.get_file(path).and_then(|f| f.contents_utf8())
}

/// Every embedded `.json` schema file as (path, text), in a stable order.
pub fn json_schemas() -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    collect(&SCHEMAS, &mut out);
    out.sort_by_key(|(p, _)| *p);
    out
}

fn collect(dir: &'static Dir<'static>, out: &mut Vec<(&'static str, &'static str)>) {
    for file in dir.files() {
        let path = file.path().to_str().unwrap_or_default();
        if path.ends_with(".schema.json") {
            if let Some(text) = file.contents_utf8() {
                out.push((path, text));
            }
        }
    }
    for sub in dir.dirs() {
        collect(sub, out);
    }
}
