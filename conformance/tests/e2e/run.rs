//! Whole runs of the reference build in Chromium, through the library and
//! the binary: every case, a shard, golden traces, a remote WebDriver.

use crate::common::*;

#[tokio::test]
async fn reference_build_passes_every_case_in_chromium() {
    let report = runner::run(&RunOptions::default(), &mut (), std::future::pending())
        .await
        .expect("the run happens");
    // Golden cases: their normalised traces are insta snapshots beside the
    // cases (`cargo insta review` accepts a deliberate change), and the
    // runner compared the same files during the run.
    let mut goldens = 0;
    for case in &report.cases {
        if case.checks.iter().any(|c| c.name == "golden-trace") {
            goldens += 1;
            let mut settings = insta::Settings::clone_current();
            settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/cases/snapshots"));
            settings.set_prepend_module_to_snapshot(false);
            settings.set_omit_expression(true);
            settings.bind(|| {
                insta::assert_snapshot!(
                    case.id.clone(),
                    jodo_conformance::checks::golden::normalise_events(&case.probe.events)
                );
            });
        }
    }
    assert!(goldens >= 1, "at least one case keeps a golden trace");
    let ids: Vec<&str> = report.cases.iter().map(|c| c.id.as_str()).collect();
    for id in ["session-allocated", "chat-roundtrip", "chat-length-codes"] {
        assert!(ids.contains(&id), "case {id} ran: {ids:?}");
    }
    for case in &report.cases {
        assert_eq!(
            case.outcome,
            Outcome::Pass,
            "{}: {:#?}",
            case.id,
            case.checks
        );
    }
    let schemas = jodo_contract::Contract::embedded().unwrap();
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(schemas.validate("report.schema.json", &value), vec![]);
    // check-trace on this report.json checks every case again, from its
    // probe records alone, and agrees.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.json");
    std::fs::write(&file, serde_json::to_string(&report).unwrap()).unwrap();
    let ctx = jodo_conformance::checks::CheckContext {
        schemas: &schemas,
        profile: jodo_contract::Profile::Strict,
        secrets: Vec::new(),
    };
    let mut checker = jodo_conformance::trace_file::Checker::new(
        &ctx,
        jodo_conformance::trace_file::TraceFormat::Auto,
    );
    let traces = checker
        .file(&file, &mut |_| {})
        .expect("the report is read");
    assert_eq!(traces.len(), report.cases.len());
    for t in &traces {
        assert_eq!(t.outcome, Outcome::Pass, "{}: {:#?}", t.id, t.checks);
    }
    assert!(
        report.browser.name.contains("chrom"),
        "{:?}",
        report.browser
    );
    assert_eq!(report.widget.sdk_version.as_deref(), Some("2.0.0-ref.1"));
    // The trace is real: the round trip saw the agent's templated answer,
    // and the widget spoke only wss:// and https://.
    let roundtrip = report
        .cases
        .iter()
        .find(|c| c.id == "chat-roundtrip")
        .unwrap();
    let reply = roundtrip
        .probe
        .events
        .iter()
        .find(|e| e.event["eventtype"] == "messagereceived")
        .expect("a reply arrived");
    assert_eq!(reply.event["msg"], "Emma here. You wrote: Hello");
    // Its wire, from the mock's transcript: the visitor's message out, the
    // reply in, on the session's socket.
    let frame = |dir: &str, text: &str| {
        roundtrip.wire.iter().any(|w| {
            matches!(w, jodo_conformance::wire::WireEntry::Frame { dir: d, text: t, url, .. }
                if d == dir && t.contains(text) && url.starts_with("wss://"))
        })
    };
    assert!(
        frame("out", "Hello") && frame("in", "You wrote: Hello"),
        "{:#?}",
        roundtrip.wire
    );
    assert!(
        roundtrip
            .probe
            .sockets
            .iter()
            .all(|s| s.url.starts_with("wss://"))
    );
    assert!(!roundtrip.probe.requests.is_empty());
    assert!(
        roundtrip
            .probe
            .calls
            .iter()
            .any(|c| c.path == "jodoInitBOT.SendChatMessage"),
        "the probe records the calls consent checks judge by: {:?}",
        roundtrip.probe.calls
    );
    assert!(
        roundtrip
            .probe
            .requests
            .iter()
            .all(|r| r.url.starts_with("https://"))
    );
}

/// Shards split the suite by case id: shard 2/3 runs every third case
/// from the second, in id order.
#[test]
fn a_shard_runs_its_share_only() {
    let dir = tempfile::tempdir().unwrap();
    let marker = unique("shard");
    let out = run_cli(
        &marker,
        &[
            "run",
            "--shard",
            "2/3",
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let report = read_report(dir.path());
    let ids: Vec<&str> = report.cases.iter().map(|c| c.id.as_str()).collect();
    let schemas = jodo_contract::Contract::embedded().unwrap();
    let mut all: Vec<String> = jodo_conformance::case::builtin(&schemas)
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    all.sort();
    let share: Vec<&str> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 1)
        .map(|(_, id)| id.as_str())
        .collect();
    assert!(!share.is_empty() && share.len() < all.len());
    assert_eq!(ids, share, "every third case by id, from the second");
    let bad = run_cli(&marker, &["run", "--shard", "4/3"]);
    assert_eq!(bad.code, Some(2));
    assert!(bad.stderr.contains("K <= N"));
}

/// Shards merged: `merge` of shards 1/2 and 2/2 gives the report a single
/// run of the same cases gives (cases, outcomes, counts, coverage,
/// verdict), writes HTML and JUnit with it, and refuses folders that are
/// not shards of one run.
#[test]
fn merged_shards_give_the_report_of_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let marker = unique("merge");
    let folder = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let run = |shard: Option<&str>, out: &str| {
        let mut args = vec!["run", "--filter", "session-", "--filter", "chat-"];
        if let Some(s) = shard {
            args.extend(["--shard", s]);
        }
        let out = folder(out);
        args.extend(["--report-dir", out.as_str()]);
        let ran = run_cli(&marker, &args);
        assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    };
    run(None, "single");
    run(Some("1/2"), "one");
    run(Some("2/2"), "two");
    let merged = merge_cli(
        &marker,
        &[&folder("one"), &folder("two")],
        &folder("merged"),
    );
    assert_eq!(merged.code, Some(0), "{}", merged.stderr);
    let single = read_report(&dir.path().join("single"));
    let joined = read_report(&dir.path().join("merged"));
    assert!(single.cases.len() >= 20, "{}", single.cases.len());
    assert_same_run(&joined, &single);
    assert_eq!(joined.widget.sha256, single.widget.sha256);
    let junit = std::fs::read_to_string(dir.path().join("merged/junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase ").count(), single.cases.len());
    assert!(dir.path().join("merged/report.html").is_file());
    // Not shards of one run: a shard twice, or another build.
    let twice = merge_cli(&marker, &[&folder("one"), &folder("one")], &folder("bad"));
    assert_eq!(twice.code, Some(2), "{}", twice.stderr);
    assert!(twice.stderr.contains("is in both"), "{}", twice.stderr);
    let other = mutant(
        dir.path(),
        "var VERSION = '2.0.0-ref.1';",
        "var VERSION = '2.0.0-ref.2';",
    );
    let ran = run_cli(
        &marker,
        &[
            "run",
            "--filter",
            "session-allocated",
            "--widget",
            other.to_str().unwrap(),
            "--report-dir",
            &folder("other"),
        ],
    );
    assert_ne!(ran.code, Some(2), "{}", ran.stderr);
    let mixed = merge_cli(&marker, &[&folder("one"), &folder("other")], &folder("bad"));
    assert_eq!(mixed.code, Some(2), "{}", mixed.stderr);
    assert!(
        mixed.stderr.contains("the builds differ"),
        "{}",
        mixed.stderr
    );
    assert!(
        !dir.path().join("bad").exists(),
        "nothing written for a refused merge"
    );
    assert_eq!(leftovers(&marker), Vec::<String>::new());
}

/// An integrator's golden case: without a snapshot it fails and says how to
/// make one; `--update-golden` writes it beside the case; then it passes.
#[test]
fn update_golden_writes_the_snapshot_an_integrator_case_then_passes() {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases");
    std::fs::create_dir(&cases).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("cases/chat-roundtrip.yaml"),
        cases.join("chat-roundtrip.yaml"),
    )
    .unwrap();
    let marker = unique("golden");
    let reports = dir.path().join("reports");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--cases",
            cases.to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = run_cli(&marker, &args);
        (out.code, out.stderr)
    };
    let (code, stderr) = run(&[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("--update-golden"), "{stderr}");
    let (_, stderr) = run(&["--update-golden"]);
    let snap = cases.join("snapshots/chat-roundtrip.snap");
    assert!(snap.is_file(), "{stderr}");
    assert!(
        std::fs::read_to_string(&snap)
            .unwrap()
            .contains("Emma here. You wrote: Hello")
    );
    let (code, stderr) = run(&[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(leftovers(&marker), Vec::<String>::new());
}

/// `--webdriver URL` drives a browser through an endpoint the runner did
/// not start (here a chromedriver standing in for a Selenium Grid): the
/// suite passes and the runner leaves the endpoint's lifetime to its owner.
#[test]
fn a_remote_webdriver_endpoint_runs_the_suite() {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    let marker = unique("remote");
    let mut driver = Command::new("chromedriver")
        .arg("--port=0")
        .env("JODO_E2E_MARK", &marker)
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed (scripts/install-deps)");
    let pgid = i32::try_from(driver.id()).unwrap();
    let mut lines = std::io::BufReader::new(driver.stdout.take().unwrap()).lines();
    let port = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split("started successfully on port ")
                .nth(1)
                .map(|p| p.trim_end_matches('.').trim().to_owned())
        })
        .expect("chromedriver reports its port");
    std::thread::spawn(move || for _ in lines {});
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let out = run_cli(
        &marker,
        &[
            "run",
            "--webdriver",
            &url,
            "--filter",
            "chat-",
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    // SAFETY: signals the process group this test created; no memory is touched.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    let _ = driver.wait();
    let stderr = out.stderr.as_str();
    assert_eq!(out.code, Some(0), "{stderr}");
    let report = read_report(dir.path());
    assert!(
        report.browser.name.contains("chrom"),
        "{:?}",
        report.browser
    );
    assert_eq!(report.summary.passed, report.summary.total);
    assert_eq!(leftovers(&marker), Vec::<String>::new());
}
