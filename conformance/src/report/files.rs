//! The report folder: `report.json`, `junit.xml` and `report.html`, all
//! rendered from one [`RunReport`], and for each case the proxy watched,
//! its wire as `cases/ID/wire.jsonl` and `cases/ID/wire.har`.

use std::path::Path;

use super::{RunReport, har, html, junit};

/// The folder of a case's own files, relative to the report folder: the
/// id with anything but letters, digits, `-`, `_` and `.` replaced.
pub fn case_dir(id: &str) -> String {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("cases/{}", safe.trim_start_matches('.'))
}

/// Writes `report.json`, `junit.xml` and `report.html` into `dir`, creating it.
///
/// # Errors
/// The I/O error.
pub fn write_all(report: &RunReport, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("report.json"), json)?;
    std::fs::write(dir.join("junit.xml"), junit::render(report))?;
    std::fs::write(dir.join("report.html"), html::render(report))?;
    write_wires(&report.cases, &report.started_at, dir)?;
    Ok(())
}

/// Writes `cases/ID/wire.jsonl` and `cases/ID/wire.har` for each case with
/// a wire record; `started_at` is the run's start (RFC 3339).
///
/// # Errors
/// The I/O error.
pub fn write_wires(
    cases: &[super::CaseReport],
    started_at: &str,
    dir: &Path,
) -> std::io::Result<()> {
    let started = jodo_contract::clock::parse_rfc3339(started_at).unwrap_or(0);
    for case in cases.iter().filter(|c| !c.wire.is_empty()) {
        let folder = dir.join(case_dir(&case.id));
        std::fs::create_dir_all(&folder)?;
        let mut lines = String::new();
        for entry in &case.wire {
            lines.push_str(&serde_json::to_string(entry).map_err(std::io::Error::other)?);
            lines.push('\n');
        }
        std::fs::write(folder.join("wire.jsonl"), lines)?;
        let document = serde_json::to_string_pretty(&har::document(case, started))
            .map_err(std::io::Error::other)?;
        std::fs::write(folder.join("wire.har"), document)?;
    }
    Ok(())
}
