//! `jodo-conformance catalog`: the catalogue as tables for people.

use std::fmt::Write as _;

use jodo_contract::Catalog;

/// The catalogue as plain-text tables.
pub fn table(catalog: &Catalog) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Catalogue of {}", catalog.spec);
    let _ = writeln!(
        out,
        "{} methods, {} events, {} status codes, {} external-data fields\n",
        catalog.methods.len(),
        catalog.events.len(),
        catalog.status_codes.len(),
        catalog.extdata_fields.len()
    );
    let _ = writeln!(out, "METHODS");
    let _ = writeln!(
        out,
        "{:<34} {:<22} {:<26} events",
        "method", "returns", "frames"
    );
    for m in &catalog.methods {
        let returns = if m.returns.is_empty() {
            "(A13: 1/2)".to_owned()
        } else {
            m.returns.keys().cloned().collect::<Vec<_>>().join(",")
        };
        let _ = writeln!(
            out,
            "{:<34} {:<22} {:<26} {}",
            m.js_path().trim_start_matches("window."),
            returns,
            m.frames.join(","),
            m.events.join(", ")
        );
    }
    let _ = writeln!(out, "\nEVENTS");
    let _ = writeln!(out, "{:<38} {:<14} summary", "media/eventtype", "source");
    for e in &catalog.events {
        let source: Vec<String> = e
            .source
            .iter()
            .map(|s| format!("{s:?}").to_lowercase())
            .collect();
        let mut key = e.key();
        if !e.aliases.is_empty() {
            key.push_str(&format!(" ({})", e.aliases.join(",")));
        }
        let _ = writeln!(out, "{key:<38} {:<14} {}", source.join("+"), e.summary);
    }
    let _ = writeln!(out, "\nSTATUS CODES");
    for s in &catalog.status_codes {
        let _ = writeln!(out, "{:>5}  {:<32} {}", s.code, s.name, s.kind);
    }
    let _ = writeln!(out, "\nEXTERNAL DATA FIELDS");
    for f in &catalog.extdata_fields {
        let _ = writeln!(out, "{:>5}  {}", f.id, f.name);
    }
    out
}
