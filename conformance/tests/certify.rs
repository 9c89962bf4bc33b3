//! `certify` on host pages: the good page is certified (in Chromium and
//! Firefox, every case); each faulty page, the good page with one fault
//! applied by text edits (`fixtures/host-pages/faulty/`), is flagged by
//! exactly the check it names; pages the kit cannot certify get a clear
//! message and exit code 2. Every report.json is checked against its schema.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A faulty page's file, as its schema describes it.
#[derive(Debug, Deserialize)]
struct Fault {
    name: String,
    breaks: String,
    edits: Vec<Edit>,
}

#[derive(Debug, Deserialize)]
struct Edit {
    file: String,
    find: String,
    replace: String,
}

/// The good page copied into `dir`, with `edits` applied (each must find
/// its text exactly once, so a fault follows the good page as it changes).
fn page_with(dir: &Path, edits: &[Edit]) -> PathBuf {
    let good = root().join("fixtures/host-pages/good");
    for entry in std::fs::read_dir(&good).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    for e in edits {
        let path = dir.join(&e.file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.matches(&e.find).count(),
            1,
            "{}: {:?} must occur once",
            e.file,
            e.find
        );
        std::fs::write(&path, text.replacen(&e.find, &e.replace, 1)).unwrap();
    }
    dir.join("index.html")
}

/// Runs certify; its exit code, stderr and report.json (schema-checked).
fn certify(args: &[&str], reports: &Path) -> (Option<i32>, String, Option<Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_jodo-conformance"))
        .arg("certify")
        .args(args)
        .arg("--report-dir")
        .arg(reports)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = std::fs::read_to_string(reports.join("report.json"))
        .ok()
        .map(|t| serde_json::from_str::<Value>(&t).unwrap());
    if let Some(r) = &report {
        let contract = jodo_contract::Contract::embedded().unwrap();
        assert_eq!(
            contract.validate("certify-report.schema.json", r),
            vec![],
            "{stderr}"
        );
    }
    (out.status.code(), stderr, report)
}

fn failed_checks(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "fail")
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn each_faulty_page_is_flagged_by_exactly_its_check_and_the_good_page_by_none() {
    let contract = jodo_contract::Contract::embedded().unwrap();
    let folder = root().join("fixtures/host-pages/faulty");
    let mut faults: Vec<Fault> = Vec::new();
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let fault: Fault =
            jodo_contract::checked::load(&text, "host-page-fault.schema.json", &contract)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .value;
        assert_eq!(
            path.file_stem().unwrap().to_str(),
            Some(fault.name.as_str())
        );
        assert!(
            contract.catalog().page_check(&fault.breaks).is_some(),
            "{}",
            fault.breaks
        );
        faults.push(fault);
    }
    faults.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(faults.len() >= 12, "{}", faults.len());
    let mut flagged = Vec::new();
    for fault in faults.iter().map(Some).chain([None]) {
        let dir = tempfile::tempdir().unwrap();
        let page = page_with(dir.path(), fault.map(|f| f.edits.as_slice()).unwrap_or(&[]));
        let reports = dir.path().join("reports");
        let (code, stderr, report) = certify(
            &[
                "--page",
                page.to_str().unwrap(),
                "--filter",
                "chat-roundtrip",
            ],
            &reports,
        );
        let report = report.unwrap_or_else(|| panic!("no report: {stderr}"));
        let failed = failed_checks(&report);
        match fault {
            None => {
                assert_eq!(failed, Vec::<String>::new(), "the good page: {stderr}");
                assert_eq!(report["verdict"], "certified");
                assert_eq!(code, Some(0));
            }
            Some(f) => {
                assert_eq!(failed, vec![f.breaks.clone()], "{}: {stderr}", f.name);
                let required =
                    contract.catalog().page_check(&f.breaks).unwrap().grade == "required";
                let (verdict, exit) = if required {
                    ("not_certified", Some(1))
                } else {
                    ("certified_with_advisories", Some(0))
                };
                assert_eq!(
                    (report["verdict"].as_str(), code),
                    (Some(verdict), exit),
                    "{}",
                    f.name
                );
                flagged.push(f.breaks.clone());
            }
        }
    }
    flagged.sort();
    flagged.dedup();
    assert!(
        flagged.len() >= 12,
        "faulty pages cover {} checks: {flagged:?}",
        flagged.len()
    );
}
