//! `run --live --upstream` against a backend the kit does not script: a
//! second mock on its own port, with its own certificate and its own
//! scenario, stands in for a staging server. The cases that need nothing
//! of a scripted backend pass with the reference build (as served by that
//! server) in Chromium and Firefox, the others are listed not applicable
//! with the reason, a faulty build given with `--widget` fails, and the
//! keys never reach an output. An unreachable upstream, one whose
//! certificate is not trusted, and a run without keys are refused with
//! exit code 2 before anything is written.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use jodo_contract::Contract;
use jodo_mock::{MockConfig, MockServer};
use serde_json::Value;

const AKEY: &str = "staging-akey-5c1e";
const SKEY: &str = "staging-skey-93d0";

/// The stand-in for a staging server: its own keys, the page's origin
/// admitted, its certificate written to `dir` for --upstream-ca.
struct Staging {
    mock: MockServer,
    ca: PathBuf,
    page_port: u16,
}

async fn staging(dir: &Path) -> Staging {
    staging_with(dir, |config| config).await
}

/// The same, its configuration changed by `tweak` first.
async fn staging_with(dir: &Path, tweak: impl FnOnce(MockConfig) -> MockConfig) -> Staging {
    let contract = Arc::new(Contract::embedded().unwrap());
    let config = MockConfig::local(contract).unwrap();
    let ca = dir.join("staging.der");
    std::fs::write(&ca, config.tls.certificate_der()).unwrap();
    let mock = MockServer::start_local(tweak(config)).await.unwrap();
    let page_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    mock.admit(
        format!("http://127.0.0.1:{page_port}"),
        Some(jodo_mock::gateway::KeyPair {
            akey: AKEY.into(),
            skey: SKEY.into(),
            limits: jodo_mock::gateway::Limits::default(),
        }),
    );
    Staging {
        mock,
        ca,
        page_port,
    }
}

/// Runs `run --live` with `args` (keys from the environment); exit code,
/// stderr, report.json.
async fn live(args: Vec<String>, reports: PathBuf) -> (Option<i32>, String, Option<Value>) {
    tokio::task::spawn_blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_jodo-conformance"))
            .args(["run", "--live"])
            .args(&args)
            .arg("--report-dir")
            .arg(&reports)
            .env("JODO_AKEY", AKEY)
            .env("JODO_SKEY", SKEY)
            .output()
            .unwrap();
        let report = std::fs::read_to_string(reports.join("report.json"))
            .ok()
            .map(|t| serde_json::from_str::<Value>(&t).unwrap());
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            report,
        )
    })
    .await
    .unwrap()
}

fn upstream_args(s: &Staging) -> Vec<String> {
    vec![
        "--upstream".into(),
        format!("https://{}", s.mock.addr()),
        "--upstream-ca".into(),
        s.ca.display().to_string(),
        "--page-port".into(),
        s.page_port.to_string(),
    ]
}

fn by_status<'r>(report: &'r Value, status: &str) -> Vec<&'r str> {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == status)
        .map(|c| c["id"].as_str().unwrap())
        .collect()
}

async fn reference_passes_live_in(browser: &str) {
    let dir = tempfile::tempdir().unwrap();
    let s = staging(dir.path()).await;
    let reports = dir.path().join("reports");
    let mut args = upstream_args(&s);
    args.extend(["--browser".into(), browser.into()]);
    let (code, stderr, report) = live(args, reports.clone()).await;
    let report = report.unwrap_or_else(|| panic!("no report: {stderr}"));
    assert_eq!(code, Some(0), "{browser}: {stderr}");
    let contract = Contract::embedded().unwrap();
    assert_eq!(contract.validate("report.schema.json", &report), vec![]);
    let passed = by_status(&report, "passed");
    let not_applicable = by_status(&report, "not_applicable");
    assert!(passed.len() >= 10, "{browser}: {passed:?}");
    assert!(passed.contains(&"chat-length-codes") && passed.contains(&"document-send"));
    assert_eq!(
        passed.len() + not_applicable.len(),
        report["cases"].as_array().unwrap().len(),
        "{browser}: every case passed or was not applicable: {stderr}"
    );
    assert!(
        not_applicable.contains(&"chat-roundtrip"),
        "{not_applicable:?}"
    );
    let reason = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "fault-replay")
        .unwrap()["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("needs"), "{reason}");
    // The build is the one the staging server served, and the staging
    // server saw the sessions.
    assert!(
        report["widget"]["file"]
            .as_str()
            .unwrap()
            .contains("served by https://127.0.0.1:")
    );
    assert!(
        !s.mock.sessions().is_empty(),
        "sessions reached the upstream"
    );
    // The wire of a case is in its report, through the Jodo host's name.
    let case = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "chat-length-codes")
        .unwrap();
    let wire = case["wire"].as_array().unwrap();
    assert!(
        wire.iter()
            .any(|w| w["type"] == "frame" && w["dir"] == "in"),
        "socket frames recorded: {wire:?}"
    );
    assert!(wire.iter().any(|w| {
        w["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://myjodo.jodoworld.com/jodowidgetapi/"))
    }));
    // …and beside the report as HAR 1.2 and JSON Lines, linked from the HTML.
    let har: Value = serde_json::from_str(
        &std::fs::read_to_string(reports.join("cases/chat-length-codes/wire.har")).unwrap(),
    )
    .unwrap();
    assert_eq!(har["log"]["version"], "1.2");
    let entries = har["log"]["entries"].as_array().unwrap();
    assert!(entries.iter().any(|e| {
        e["request"]["method"] == "POST"
            && e["response"]["status"]
                .as_u64()
                .is_some_and(|s| (200..300).contains(&s))
    }));
    // (A late frame of the previous case's socket may get an entry of its
    // own; the case's socket has frames both ways.)
    assert!(
        entries
            .iter()
            .filter_map(|e| e["_webSocketMessages"].as_array())
            .any(|socket| {
                socket.iter().any(|m| m["type"] == "send")
                    && socket.iter().any(|m| m["type"] == "receive")
            }),
        "{browser}: the socket's frames are in its entry: {entries:?}"
    );
    let jsonl =
        std::fs::read_to_string(reports.join("cases/chat-length-codes/wire.jsonl")).unwrap();
    assert_eq!(jsonl.lines().count(), wire.len());
    let html = std::fs::read_to_string(reports.join("report.html")).unwrap();
    assert!(html.contains("cases/chat-length-codes/wire.har"));
    let junit = std::fs::read_to_string(reports.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<skipped"),
        "not applicable cases are skipped in JUnit"
    );
    for file in [
        "report.json",
        "report.html",
        "junit.xml",
        "cases/chat-length-codes/wire.har",
    ] {
        let text = std::fs::read_to_string(reports.join(file)).unwrap();
        assert!(
            !text.contains(AKEY) && !text.contains(SKEY),
            "a key in {file}"
        );
    }
    assert!(!stderr.contains(AKEY) && !stderr.contains(SKEY));
    s.mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_build_passes_every_applicable_case_live_in_chromium() {
    reference_passes_live_in("chromium").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_build_passes_every_applicable_case_live_in_firefox() {
    reference_passes_live_in("firefox").await;
}

/// A staging server whose agents are all busy: a case waiting for an
/// allocated session accepts the outcome the backend decided, checks what
/// ran, and says so; a case that needs no session is unaffected.
#[tokio::test(flavor = "multi_thread")]
async fn an_allocation_outcome_the_backend_decides_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let s = staging(dir.path()).await;
    let contract = Contract::embedded().unwrap();
    s.mock
        .set_scenario(jodo_mock::scenario::load("allusersbusy", &contract).unwrap());
    let mut args = upstream_args(&s);
    for case in ["chat-length-codes", "session-version"] {
        args.extend(["--filter".into(), case.into()]);
    }
    let (code, stderr, report) = live(args, dir.path().join("reports")).await;
    let report = report.unwrap_or_else(|| panic!("no report: {stderr}"));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        by_status(&report, "passed"),
        vec!["chat-length-codes", "session-version"],
        "{stderr}"
    );
    let case = &report["cases"][0];
    assert!(
        case["reason"]
            .as_str()
            .unwrap()
            .contains("decided session/allusersbusy"),
        "{case}"
    );
    let steps = case["steps"].as_array().unwrap();
    assert_eq!(steps[1]["outcome"]["kind"], "decided", "{steps:?}");
    assert_eq!(steps[2]["outcome"]["kind"], "skipped");
    assert!(
        case["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"] != "expectations"),
        "the expectations of an allocated session do not apply"
    );
    s.mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_faulty_build_given_with_widget_fails_live() {
    let dir = tempfile::tempdir().unwrap();
    let s = staging(dir.path()).await;
    let contract = Contract::embedded().unwrap();
    let mutants = jodo_conformance::mutant::builtin(&contract).unwrap();
    let mutant = mutants
        .iter()
        .find(|m| m.name == "length-off-by-one")
        .unwrap();
    let reference = String::from_utf8(jodo_mock::WidgetBuild::reference().script).unwrap();
    let build = dir.path().join("ext_integration-2.0.js");
    std::fs::write(&build, mutant.apply(&reference).unwrap()).unwrap();
    let mut args = upstream_args(&s);
    args.extend([
        "--widget".into(),
        build.display().to_string(),
        "--filter".into(),
        "chat-length-codes".into(),
        "--filter".into(),
        "session-version".into(),
    ]);
    let (code, stderr, report) = live(args, dir.path().join("reports")).await;
    let report = report.unwrap_or_else(|| panic!("no report: {stderr}"));
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        by_status(&report, "failed"),
        vec!["chat-length-codes"],
        "{stderr}"
    );
    assert_eq!(
        by_status(&report, "passed"),
        vec!["session-version"],
        "{stderr}"
    );
    s.mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_that_cannot_be_used_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let s = staging(dir.path()).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let untrusted = vec![
        "--upstream".to_owned(),
        format!("https://{}", s.mock.addr()),
    ];
    let tries: [(Vec<String>, &str); 4] = [
        (
            vec!["--upstream".into(), format!("https://{closed}")],
            "cannot reach https://127.0.0.1:",
        ),
        (untrusted, "certificate"),
        (
            vec!["--upstream".into(), format!("http://{}", s.mock.addr())],
            "over https:// only",
        ),
        (
            vec![
                "--upstream".into(),
                format!("https://{}", s.mock.addr()),
                "--upstream-ca".into(),
                dir.path().join("missing.pem").display().to_string(),
            ],
            "cannot read",
        ),
    ];
    for (args, says) in tries {
        let reports = dir.path().join("reports");
        let (code, stderr, report) = live(args.clone(), reports.clone()).await;
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(
            report.is_none() && !reports.exists(),
            "{args:?}: nothing written"
        );
    }
    // No keys: refused too.
    let out = Command::new(env!("CARGO_BIN_EXE_jodo-conformance"))
        .args(["run", "--live", "--report-dir"])
        .arg(dir.path().join("reports"))
        .env_remove("JODO_AKEY")
        .env_remove("JODO_SKEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--live needs the page's akey"));
    s.mock.shutdown().await;
}

/// Recorded once against a staging server that speaks its own protocol,
/// replayed offline: the staging stand-in speaks jsonrpc-2 (and serves the
/// build that does), a live run records the cases' wire in that protocol,
/// the recordings become scenarios, and the same cases pass against the
/// kit's mock replaying them with `--dialect jsonrpc-2`, no staging server.
#[tokio::test(flavor = "multi_thread")]
async fn a_session_recorded_live_in_another_dialect_replays_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let contract = Contract::embedded().unwrap();
    let rpc = Arc::new(jodo_contract::dialect::Dialect::load("jsonrpc-2", &contract).unwrap());
    let s = staging_with(dir, |config| MockConfig {
        widget: jodo_mock::WidgetBuild::reference().speaking(&rpc).unwrap(),
        dialect: rpc.clone(),
        ..config
    })
    .await;
    let cases = ["chat-length-codes", "document-send"];
    let mut args = upstream_args(&s);
    for c in cases {
        args.extend(["--filter".into(), c.into()]);
    }
    let reports = dir.join("live");
    let (code, stderr, report) = live(args, reports.clone()).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(by_status(&report.unwrap(), "passed"), cases);

    let cases_dir = dir.join("cases");
    std::fs::create_dir_all(&cases_dir).unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases");
    for c in cases {
        let wire = std::fs::read_to_string(reports.join(format!("cases/{c}/wire.jsonl"))).unwrap();
        assert!(
            wire.contains("visitor.say") || wire.contains("\\\"jsonrpc\\\""),
            "the live wire is JSON-RPC: {wire}"
        );
        let recording = jodo_mock::recording::Recording::read(&wire, &rpc).unwrap();
        let scenario = dir.join(format!("recorded-{c}.yaml"));
        let doc = recording.to_scenario(&format!("recorded-{c}"), "replay");
        std::fs::write(&scenario, jodo_contract::yaml::to_text(&doc)).unwrap();
        let case = std::fs::read_to_string(source.join(format!("{c}.yaml"))).unwrap();
        let case = case.replace(
            "\nscenario: allocated\n",
            &format!("\nscenario: {}\n", scenario.display()),
        );
        assert!(case.contains("recorded-"), "{c} runs on allocated");
        std::fs::write(cases_dir.join(format!("{c}.yaml")), case).unwrap();
    }
    s.mock.shutdown().await;
    let offline = dir.join("offline");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_jodo-conformance"))
            .args(["run", "--dialect", "jsonrpc-2", "--cases"])
            .arg(&cases_dir)
            .arg("--report-dir")
            .arg(&offline)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("2 passed"), "{stderr}");
}
