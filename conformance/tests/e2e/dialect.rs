//! Another wire dialect end to end: the mock speaking `jsonrpc-2`, the
//! reference build made to speak it, the whole suite and the self-test.

use std::sync::Arc;

use crate::common::*;
use jodo_contract::dialect::Dialect;

/// Every case passes over JSON-RPC, and the protocol on the wire really is
/// JSON-RPC: the kit's own build, which speaks the kit's protocol, fails
/// against the same mock.
#[tokio::test]
async fn the_reference_build_speaking_jsonrpc_passes_every_case() {
    let schemas = jodo_contract::Contract::embedded().unwrap();
    let rpc = Arc::new(Dialect::load("jsonrpc-2", &schemas).unwrap());
    let options = RunOptions {
        dialect: Some(rpc.clone()),
        ..RunOptions::default()
    };
    let report = runner::run(&options, &mut (), std::future::pending())
        .await
        .expect("the run happens");
    assert!(report.cases.len() >= 150, "{}", report.cases.len());
    for case in &report.cases {
        assert_eq!(
            case.outcome,
            Outcome::Pass,
            "{}: {:#?}",
            case.id,
            case.checks
        );
    }
    assert!(
        report.widget.file.ends_with("speaking jsonrpc-2"),
        "{:?}",
        report.widget
    );
    let roundtrip = report
        .cases
        .iter()
        .find(|c| c.id == "chat-roundtrip")
        .unwrap();
    assert!(
        roundtrip
            .probe
            .sockets
            .iter()
            .all(|s| s.url.contains("/rpc/v2/socket?")),
        "{:?}",
        roundtrip.probe.sockets
    );

    let kit_build = RunOptions {
        dialect: Some(rpc),
        widget: Some(reference_widget()),
        filter: vec!["chat-roundtrip".into()],
        case_timeout: Some(Duration::from_secs(3)),
        ..RunOptions::default()
    };
    let report = runner::run(&kit_build, &mut (), std::future::pending())
        .await
        .expect("the run happens");
    assert_ne!(
        report.cases[0].outcome,
        Outcome::Pass,
        "a kit-protocol build cannot talk to a JSON-RPC mock"
    );
}

/// The self-test in the other dialect kills every mutant the kit's own
/// protocol kills: the mutants are edits of the same source.
#[test]
fn selftest_in_jsonrpc_kills_every_mutant() {
    let (matrix, stdout) = passing_selftest("selftest-rpc", &["--dialect", "jsonrpc-2"]);
    assert!(
        matrix.reference_failures.is_empty(),
        "{:?}",
        matrix.reference_failures
    );
    let schemas = jodo_contract::Contract::embedded().unwrap();
    let mutants = jodo_conformance::mutant::builtin(&schemas).unwrap();
    assert_eq!(matrix.mutants.len(), mutants.len());
    for m in &matrix.mutants {
        assert_eq!(
            m.verdict,
            jodo_conformance::report::KillVerdict::Killed,
            "{}: {stdout}",
            m.name
        );
    }
}

/// A bad dialect stops the run before any browser starts, each problem on
/// its own line with its line and field.
#[test]
fn a_bad_dialect_stops_the_run_with_its_problems() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "dialect: bad\nsession:\n  method: POST\n  path: /s\n  request: {akey: /a, skey: /b}\n  answer: {sessionid: /i, systemcallid: /c, token: /t, websocket: /w}\nchannel: {path: /ws, token: t, resume: r}\nenvelope: {kind: /k, seq: /n, messageid: /id}\n",
    )
    .unwrap();
    let marker = unique("bad-dialect");
    let ran = run_cli(&marker, &["run", "--dialect", bad.to_str().unwrap()]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("is not valid:\n  line 8, at /envelope"),
        "{}",
        ran.stderr
    );
    assert_eq!(leftovers(&marker), Vec::<String>::new());
}
