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

/// The good page with every built-in case, in both browsers, plus an
/// integrator's journey through the page's own input and button.
fn good_page_is_certified_in(browser: &str) {
    let dir = tempfile::tempdir().unwrap();
    let page = page_with(dir.path(), &[]);
    let journey = root().join("fixtures/host-pages/journeys/chat-from-the-page.yaml");
    let reports = dir.path().join("reports");
    let (code, stderr, report) = certify(
        &[
            "--page",
            page.to_str().unwrap(),
            "--browser",
            browser,
            "--journey",
            journey.to_str().unwrap(),
        ],
        &reports,
    );
    let report = report.unwrap_or_else(|| panic!("no report: {stderr}"));
    assert_eq!(
        failed_checks(&report),
        Vec::<String>::new(),
        "{browser}: {stderr}"
    );
    assert_eq!(
        (report["verdict"].as_str(), code),
        (Some("certified"), Some(0)),
        "{stderr}"
    );
    let cases = report["cases"].as_array().unwrap();
    assert!(
        cases.len() >= 63,
        "every built-in case and the trials ran: {}",
        cases.len()
    );
    let journeys = report["journeys"].as_array().unwrap();
    assert_eq!(journeys.len(), 1);
    assert_eq!(journeys[0]["status"], "passed", "{}", journeys[0]);
    // Keys appear masked or by name only, never in full.
    let text = std::fs::read_to_string(reports.join("report.json")).unwrap();
    let html = std::fs::read_to_string(reports.join("report.html")).unwrap();
    for secret in ["acme-live-akey-7f3a9c", "acme-live-skey-2b8d41"] {
        assert!(
            !text.contains(secret) && !html.contains(secret),
            "{secret} in a report"
        );
        assert!(!stderr.contains(secret), "{secret} printed");
    }
    assert!(
        html.contains("data:image/png;base64,"),
        "the screenshot is embedded"
    );
    assert!(
        report["page"]["sha256"]
            .as_str()
            .is_some_and(|h| h.len() == 64)
    );
}

#[test]
fn the_good_page_is_certified_in_chromium_with_a_journey() {
    good_page_is_certified_in("chromium");
}

#[test]
fn the_good_page_is_certified_in_firefox_with_a_journey() {
    good_page_is_certified_in("firefox");
}

/// Pages the kit cannot certify: a clear message, exit code 2, and no
/// report written.
#[test]
fn pages_that_cannot_be_certified_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mk = |name: &str, edits: &[Edit]| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        page_with(&d, edits)
    };
    let without_sdk = mk(
        "no-sdk",
        &[Edit {
            file: "index.html".into(),
            find: "<script src=\"https://myjodo.jodoworld.com/jodowidgetapi/js/ext_integration-2.0.js\"></script>".into(),
            replace: String::new(),
        }],
    );
    let not_object = mk(
        "not-object",
        &[Edit {
            file: "config.js".into(),
            find: "var extdata = {".into(),
            replace: "var extdata = \"acme\";\nvar unused = {".into(),
        }],
    );
    let bad_journey = dir.path().join("broken.yaml");
    std::fs::write(
        &bad_journey,
        "id: broken\ntitle: t\narea: journey\nscenario: allocated\nsteps:\n  - click: 3\n",
    )
    .unwrap();
    let good = mk("good", &[]);
    let url = format!("http://{closed}/index.html");
    let cases: [(Vec<&str>, &str); 5] = [
        (vec!["--page", &url], "did not load: nothing answered"),
        (
            vec!["--page", without_sdk.to_str().unwrap()],
            "has no Jodo SDK",
        ),
        (
            vec!["--page", not_object.to_str().unwrap()],
            "has no extdata object (extdata is string)",
        ),
        (
            vec![
                "--page",
                good.to_str().unwrap(),
                "--journey",
                bad_journey.to_str().unwrap(),
            ],
            "line 6, at /steps/0",
        ),
        (
            vec!["--page", "/nonexistent/page.html"],
            "no such HTML file",
        ),
    ];
    for (args, says) in cases {
        let reports = dir.path().join("reports-refused");
        let (code, stderr, report) = certify(&args, &reports);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(report.is_none(), "{args:?}: nothing is written");
    }
}

/// `check-trace` on a console log: the good page with the spec's reference
/// callback handler's log line, certified in `browser` on a few cases; the
/// console lines the browser printed (read over BiDi) are saved the way
/// that browser's "save as" writes them, one page load per case. That log
/// conforms; with a reused messageid, a 300-character message reported as
/// sent and an http: document URL it fails, naming each line.
fn recorded_console_is_checked_in(browser: &str) {
    let dir = tempfile::tempdir().unwrap();
    let page = page_with(
        dir.path(),
        &[Edit {
            file: "config.js".into(),
            find: "function acmeJodoEvent(eventdata) {".into(),
            replace: "function acmeJodoEvent(eventdata) {\n  console.log(\"Event data :: \" + JSON.stringify(eventdata));".into(),
        }],
    );
    let reports = dir.path().join("reports");
    let (_, stderr, report) = certify(
        &[
            "--page",
            page.to_str().unwrap(),
            "--browser",
            browser,
            "--filter",
            "chat-roundtrip",
            "--filter",
            "document-send",
        ],
        &reports,
    );
    let report = report.unwrap_or_else(|| panic!("no report: {stderr}"));
    let mut log = Vec::new();
    for (n, case) in report["cases"].as_array().unwrap().iter().enumerate() {
        log.push(format!(
            "Navigated to {}",
            report["page"]["url"].as_str().unwrap()
        ));
        log.push(format!("console cleared before case {n}"));
        for line in case["console"].as_array().unwrap() {
            let text = line["text"].as_str().unwrap();
            log.push(if browser == "firefox" {
                format!("{text} config.js:13:11")
            } else {
                format!(
                    "12:00:{:02}.{:03} config.js:13 {text}",
                    n % 60,
                    log.len() % 1000
                )
            });
        }
    }
    let events = log.iter().filter(|l| l.contains("Event data :: {")).count();
    assert!(events >= 8, "{browser}: the handler logged {events} events");
    let check = |lines: &[String]| {
        let file = dir.path().join(format!("console-{browser}.log"));
        std::fs::write(&file, lines.join("\n") + "\n").unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_jodo-conformance"))
            .args(["check-trace", file.to_str().unwrap(), "--report-dir"])
            .arg(dir.path().join("trace-reports"))
            .output()
            .unwrap();
        let report: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("trace-reports/report.json")).unwrap(),
        )
        .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            report,
        )
    };
    let (code, stderr, traced) = check(&log);
    assert_eq!(code, Some(0), "{browser}: {stderr}");
    assert_eq!(
        traced["cases"].as_array().unwrap().len(),
        report["cases"].as_array().unwrap().len(),
        "one trace per page load"
    );
    let contract = jodo_contract::Contract::embedded().unwrap();
    assert_eq!(contract.validate("report.schema.json", &traced), vec![]);

    // The faults, each on its own line of the log: the event's JSON is
    // replaced where it stands, the line's prefix and suffix kept.
    let json_at = |l: &str| -> (usize, usize, Value) {
        let at = l.find("Event data :: ").unwrap() + "Event data :: ".len();
        let mut values = serde_json::Deserializer::from_str(&l[at..]).into_iter::<Value>();
        let event = values.next().unwrap().unwrap();
        (at, at + values.byte_offset(), event)
    };
    let event_at = |l: &str| json_at(l).2;
    let mut bad = log.clone();
    let find = |key: &str| {
        log.iter()
            .position(|l| l.contains("Event data :: {") && event_at(l).to_string().contains(key))
            .unwrap_or_else(|| panic!("{browser}: no {key} line"))
    };
    let edit = |bad: &mut Vec<String>, at: usize, change: &dyn Fn(&mut Value)| {
        let (start, end, mut event) = json_at(&log[at]);
        change(&mut event);
        let new = format!("{}{event}{}", &log[at][..start], &log[at][end..]);
        assert_ne!(new, log[at], "the edit applies");
        bad[at] = new;
    };
    let sent = find(r#""eventtype":"messagesent""#);
    edit(&mut bad, sent, &|e| e["msg"] = Value::from("x".repeat(300)));
    let document = find(r#""media":"documentpush""#);
    edit(&mut bad, document, &|e| {
        e["url"] = Value::from("http://files.example/doc.pdf")
    });
    let first_id = event_at(&log[sent])["messageid"].clone();
    let reused = (sent + 1..log.len())
        .find(|&i| log[i].contains("Event data :: {") && !log[i].starts_with("Navigated"))
        .unwrap();
    edit(&mut bad, reused, &|e| e["messageid"] = first_id.clone());
    let (code, stderr, _) = check(&bad);
    assert_eq!(code, Some(1), "{browser}: {stderr}");
    // A console message may span lines (Firefox's often do).
    let line_of = |at: usize| {
        1 + bad[..at]
            .iter()
            .map(|l| l.matches('\n').count() + 1)
            .sum::<usize>()
    };
    for (at, rule) in [
        (sent, "longer than 255"),
        (document, "/url"),
        (reused, "unique-messageid"),
    ] {
        let named = format!("line {}", line_of(at));
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&named) && l.contains(rule)),
            "{browser}: line {} ({rule}) not named: {stderr}",
            line_of(at)
        );
    }
}

#[test]
fn a_console_recorded_in_chromium_is_checked_line_by_line() {
    recorded_console_is_checked_in("chromium");
}

#[test]
fn a_console_recorded_in_firefox_is_checked_line_by_line() {
    recorded_console_is_checked_in("firefox");
}
