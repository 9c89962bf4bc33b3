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

/// Writes `report.json`, `junit.xml` and `report.html` as the folder
/// `dir`, replacing it whole (see [`publish`]).
///
/// # Errors
/// The I/O error.
pub fn write_all(report: &RunReport, dir: &Path) -> std::io::Result<()> {
    publish(dir, |tmp| write_into(report, tmp))
}

/// Makes `dir` the folder that `write` fills, so that a run killed at any
/// moment leaves either the previous folder or the complete new one, never
/// a mix: `write` fills a hidden sibling (`.NAME.partial-PID`), which then
/// takes the place of `dir` in one step (Linux `renameat2` with
/// `RENAME_EXCHANGE`; elsewhere two renames, with the old folder kept
/// aside in between). A sibling left by a killed run is removed the next
/// time.
///
/// # Errors
/// The I/O error; `dir` is then as it was.
pub fn publish(
    dir: &Path,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let name = dir
        .file_name()
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} does not name a folder", dir.display()),
            )
        })?
        .to_string_lossy()
        .into_owned();
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)?;
    if let Some(foreign) = foreign_entry(dir)? {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!(
                "{} holds {foreign:?}, which is not part of a report; the folder is replaced whole, so choose a new or empty one",
                dir.display()
            ),
        ));
    }
    remove_leftovers(&parent, &name);
    let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    std::fs::create_dir(&tmp)?;
    if let Err(e) = write(&tmp) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if !dir.exists() {
        return std::fs::rename(&tmp, dir);
    }
    if exchange(&tmp, dir).is_err() {
        // No atomic exchange here: the old folder steps aside first.
        let aside = parent.join(format!(".{name}.old-{}", std::process::id()));
        std::fs::rename(dir, &aside)?;
        if let Err(e) = std::fs::rename(&tmp, dir) {
            let _ = std::fs::rename(&aside, dir);
            return Err(e);
        }
        let _ = std::fs::remove_dir_all(&aside);
        return Ok(());
    }
    // `tmp` now holds the previous folder.
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

/// What a report folder holds; a folder with anything else is not
/// replaced (it may be a folder of the user's own given by mistake).
const REPORT_ENTRIES: [&str; 4] = ["report.json", "junit.xml", "report.html", "cases"];

/// The first entry of `dir` that a report does not write, if any.
fn foreign_entry(dir: &Path) -> std::io::Result<Option<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            return Ok(Some(dir.display().to_string()));
        }
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !REPORT_ENTRIES.contains(&name.as_str()) {
            return Ok(Some(name));
        }
        if name == "cases" {
            if let Some(inner) = foreign_case_entry(&entry.path())? {
                return Ok(Some(format!("cases/{inner}")));
            }
        }
    }
    Ok(None)
}

/// The first entry under a report's `cases/` that a report does not
/// write: anything but folders of wire files (a folder of case files of
/// the user's own is named `cases` too).
fn foreign_case_entry(cases: &Path) -> std::io::Result<Option<String>> {
    for entry in std::fs::read_dir(cases)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.file_type()?.is_dir() {
            return Ok(Some(name));
        }
        for file in std::fs::read_dir(entry.path())? {
            let file = file?.file_name().to_string_lossy().into_owned();
            if file != "wire.jsonl" && file != "wire.har" {
                return Ok(Some(format!("{name}/{file}")));
            }
        }
    }
    Ok(None)
}

/// Swaps two paths in one step.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let a = std::ffi::CString::new(a.as_os_str().as_bytes())?;
    let b = std::ffi::CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated paths, relative to the
    // working directory (AT_FDCWD); the call reads nothing else.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Removes the hidden siblings of `name` that runs no longer alive left.
fn remove_leftovers(parent: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&format!(".{name}.")) else {
            continue;
        };
        let pid = rest
            .strip_prefix("partial-")
            .or_else(|| rest.strip_prefix("old-"))
            .and_then(|p| p.parse::<u32>().ok());
        let Some(pid) = pid else { continue };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The files of a run report, into the folder `dir` (which exists).
fn write_into(report: &RunReport, dir: &Path) -> std::io::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> std::io::Result<()> {
        std::fs::write(dir.join("report.json"), text)?;
        std::fs::create_dir_all(dir.join("cases").join(text))?;
        std::fs::write(dir.join("cases").join(text).join("wire.jsonl"), text)
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_new_report_replaces_the_old_one_whole_and_leaves_nothing_beside_it() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("reports");
        publish(&dir, |d| write(d, "first")).unwrap();
        publish(&dir, |d| write(d, "second")).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("report.json")).unwrap(),
            "second"
        );
        // Nothing of the first run is left: not its case file, not a sibling.
        assert_eq!(listing(&dir.join("cases")), ["second"]);
        assert_eq!(listing(root.path()), ["reports"]);
    }

    #[test]
    fn a_write_that_fails_leaves_the_previous_report_as_it_was() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("reports");
        publish(&dir, |d| write(d, "first")).unwrap();
        let err = publish(&dir, |d| {
            std::fs::write(d.join("report.json"), "torn")?;
            Err(std::io::Error::other("killed half-way"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "killed half-way");
        assert_eq!(
            std::fs::read_to_string(dir.join("report.json")).unwrap(),
            "first"
        );
        assert_eq!(listing(root.path()), ["reports"]);
    }

    #[test]
    fn a_killed_run_s_partial_folder_is_removed_by_the_next_one() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("reports");
        publish(&dir, |d| write(d, "first")).unwrap();
        // What a run killed while writing leaves: a sibling under a pid
        // that no longer runs (pids stay far below this on Linux).
        let leftover = root.path().join(".reports.partial-4194305");
        std::fs::create_dir(&leftover).unwrap();
        std::fs::write(leftover.join("report.json"), "torn").unwrap();
        publish(&dir, |d| write(d, "second")).unwrap();
        assert_eq!(listing(root.path()), ["reports"]);
    }

    #[test]
    fn a_folder_with_other_files_is_never_replaced() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("mine");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("notes.txt"), "keep me").unwrap();
        let err = publish(&dir, |d| write(d, "x")).unwrap_err();
        assert!(err.to_string().contains("\"notes.txt\""), "{err}");
        assert_eq!(listing(&dir), ["notes.txt"]);
        assert_eq!(listing(root.path()), ["mine"]);
        // A folder of the user's own cases is named like a report's.
        let dir = root.path().join("work");
        std::fs::create_dir_all(dir.join("cases")).unwrap();
        std::fs::write(dir.join("cases").join("chat.yaml"), "id: chat").unwrap();
        let err = publish(&dir, |d| write(d, "x")).unwrap_err();
        assert!(err.to_string().contains("\"cases/chat.yaml\""), "{err}");
        assert_eq!(listing(&dir.join("cases")), ["chat.yaml"]);
    }
}
