//! The report folder: `report.json`, `junit.xml` and `report.html`, all
//! rendered from one [`RunReport`].

use std::path::Path;

use super::{RunReport, html, junit};

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
    Ok(())
}
