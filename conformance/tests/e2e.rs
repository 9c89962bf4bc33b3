//! End-to-end: the real mock, real TLS, real chromedriver and headless
//! Chromium, the real widget build. Needs `chromium` and `chromium-driver`
//! (`.ci/run` installs them).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jodo_conformance::report::{Outcome, RunReport, Status};
use jodo_conformance::runner::{self, RunOptions};

fn reference_widget() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/widget/ext_integration-2.0.js")
}

/// The reference build with one edit; panics if the edit no longer applies,
/// so the mutant follows the reference as it changes.
fn mutant(dir: &Path, find: &str, replace: &str) -> PathBuf {
    let reference = std::fs::read_to_string(reference_widget()).unwrap();
    assert_eq!(
        reference.matches(find).count(),
        1,
        "mutation site not found once: {find}"
    );
    let path = dir.join("ext_integration-2.0.js");
    std::fs::write(&path, reference.replace(find, replace)).unwrap();
    path
}

/// Pids of live (non-zombie) processes whose environment carries `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    let needle = format!("JODO_E2E_MARK={marker}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if state
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z'))
        {
            continue;
        }
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        if environ
            .split(|b| *b == 0)
            .any(|var| var == needle.as_bytes())
        {
            let cmd = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            found.push(format!("{pid} {}", cmd.replace('\0', " ")));
        }
    }
    found
}

/// Waits (bounded) until no process carries the marker; returns leftovers.
fn leftovers(marker: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_with(marker);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Reads a written report.json: it must match `schemas/report.schema.json`,
/// the contract CI systems parse it by.
fn read_report(dir: &Path) -> RunReport {
    let text = std::fs::read_to_string(dir.join("report.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let schemas = jodo_contract::SchemaSet::embedded().unwrap();
    assert_eq!(schemas.validate("report.schema.json", &value), vec![]);
    serde_json::from_value(value).unwrap()
}

fn binary(marker: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jodo-conformance"));
    cmd.args(args)
        .env("JODO_E2E_MARK", marker)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// What a finished run of the binary left: its exit code and stderr.
struct Ran {
    code: Option<i32>,
    stderr: String,
}

/// Runs the binary to the end with the marker set.
fn run_cli(marker: &str, args: &[&str]) -> Ran {
    let out = binary(marker, args).output().unwrap();
    Ran {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn unique(name: &str) -> String {
    format!("{name}-{}-{:?}", std::process::id(), Instant::now())
}

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
    let schemas = jodo_contract::SchemaSet::embedded().unwrap();
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(schemas.validate("report.schema.json", &value), vec![]);
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

#[test]
fn wrong_build_fails_the_length_case_and_leaves_no_process() {
    let dir = tempfile::tempdir().unwrap();
    let widget = mutant(
        dir.path(),
        "charCount(text) > MAX_CHARS)",
        "charCount(text) > MAX_CHARS + 1)",
    );
    let reports = dir.path().join("reports");
    let marker = unique("mutant");
    let out = run_cli(
        &marker,
        &[
            "run",
            "--filter",
            "chat-length-codes",
            "--filter",
            "session-allocated",
            "--widget",
            widget.to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
        ],
    );
    let stderr = out.stderr.as_str();
    assert_eq!(out.code, Some(1), "a failing case exits 1: {stderr}");
    let report = read_report(&reports);
    let outcome = |id: &str| report.cases.iter().find(|c| c.id == id).map(|c| c.outcome);
    assert_eq!(outcome("chat-length-codes"), Some(Outcome::Fail));
    assert_eq!(outcome("session-allocated"), Some(Outcome::Pass));
    let failed = report
        .cases
        .iter()
        .find(|c| c.id == "chat-length-codes")
        .unwrap();
    let failure = failed
        .checks
        .iter()
        .flat_map(|c| &c.failures)
        .find(|f| f.rule == "return-code:SendChatMessage")
        .expect("the broken rule is named");
    assert_eq!(failure.expected.as_deref(), Some("3"));
    assert_eq!(failure.actual.as_deref(), Some("1"));
    assert!(stderr.contains("return-code:SendChatMessage"), "{stderr}");
    let junit = std::fs::read_to_string(reports.join("junit.xml")).unwrap();
    assert!(junit.contains("failures=\"1\""), "{junit}");
    // The certification report says so, names the build and the broken
    // rule with its diff, and stands alone: no script, no external resource.
    let html = std::fs::read_to_string(reports.join("report.html")).unwrap();
    assert!(html.contains("Does not conform"), "{html}");
    assert!(html.contains(&report.widget.sha256));
    assert!(html.contains("return-code:SendChatMessage"));
    assert!(html.contains("- expected 3") && html.contains("+ actual   1"));
    for outside in ["<script", "src=", "href=", "@import", "url("] {
        assert!(
            !html.contains(outside),
            "report.html refers outside itself: {outside}"
        );
    }
    assert_eq!(
        leftovers(&marker),
        Vec::<String>::new(),
        "processes outlived the run"
    );
}

/// Known failures, wptrunner style: a build failing only as listed passes
/// the gate (here on two workers), and once it is fixed the listed case is
/// reported as an unexpected pass, which fails the gate until the list is
/// updated.
#[test]
fn expectations_accept_known_failures_and_report_unexpected_passes() {
    let dir = tempfile::tempdir().unwrap();
    let widget = mutant(
        dir.path(),
        "charCount(text) > MAX_CHARS)",
        "charCount(text) > MAX_CHARS + 1)",
    );
    let expectations = dir.path().join("known.yaml");
    std::fs::write(
        &expectations,
        "chat-length-codes: fail  # counts one too many\n",
    )
    .unwrap();
    let marker = unique("expectations");
    let reports = dir.path().join("known");
    let out = run_cli(
        &marker,
        &[
            "run",
            "--filter",
            "chat-length-codes",
            "--filter",
            "session-allocated",
            "--jobs",
            "2",
            "--widget",
            widget.to_str().unwrap(),
            "--expectations",
            expectations.to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
        ],
    );
    let stderr = out.stderr.as_str();
    assert_eq!(out.code, Some(0), "{stderr}");
    let report = read_report(&reports);
    assert_eq!(report.jobs, 2);
    assert_eq!((report.summary.failed, report.summary.unexpected), (1, 0));
    let listed = report
        .cases
        .iter()
        .find(|c| c.id == "chat-length-codes")
        .unwrap();
    assert_eq!(
        (listed.outcome, listed.expected),
        (Outcome::Fail, Some(Outcome::Fail))
    );
    assert!(
        stderr.contains("FAIL (EXPECTED) chat-length-codes"),
        "{stderr}"
    );

    let fixed = dir.path().join("fixed");
    let out = run_cli(
        &marker,
        &[
            "run",
            "--filter",
            "chat-length-codes",
            "--filter",
            "session-allocated",
            "--expectations",
            expectations.to_str().unwrap(),
            "--report-dir",
            fixed.to_str().unwrap(),
        ],
    );
    let stderr = out.stderr.as_str();
    assert_eq!(out.code, Some(1), "{stderr}");
    let report = read_report(&fixed);
    assert_eq!(report.summary.unexpected_passes, 1);
    assert!(
        stderr.contains("UNEXPECTED PASS chat-length-codes"),
        "{stderr}"
    );
    let junit = std::fs::read_to_string(fixed.join("junit.xml")).unwrap();
    assert!(junit.contains("unexpected-pass"), "{junit}");
    assert_eq!(leftovers(&marker), Vec::<String>::new());
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
    let schemas = jodo_contract::SchemaSet::embedded().unwrap();
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

#[test]
fn ctrl_c_stops_the_run_and_leaves_no_process() {
    let dir = tempfile::tempdir().unwrap();
    // A build whose session API call never resolves keeps the first case
    // waiting, so the interrupt lands while the browser is busy.
    let widget = mutant(
        dir.path(),
        "global.fetch(base + SESSIONS_PATH, {",
        "new Promise(function () {}).then(function () {}, {",
    );
    let marker = unique("interrupt");
    let mut child = binary(
        &marker,
        &[
            "run",
            "--widget",
            widget.to_str().unwrap(),
            "--report-dir",
            dir.path().join("r").to_str().unwrap(),
        ],
    )
    .spawn()
    .unwrap();
    // Wait until the browser is up (its processes carry the marker).
    let deadline = Instant::now() + Duration::from_secs(60);
    while processes_with(&marker)
        .iter()
        .filter(|p| p.contains("chrom"))
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "browser never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "run did not stop after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(
        leftovers(&marker),
        Vec::<String>::new(),
        "processes outlived Ctrl-C"
    );
}

#[test]
fn missing_widget_file_is_a_usage_error() {
    let marker = unique("usage");
    let out = run_cli(&marker, &["run", "--widget", "/nonexistent/widget.js"]);
    assert_eq!(out.code, Some(2));
    let stderr = out.stderr.as_str();
    assert!(stderr.contains("/nonexistent/widget.js"), "{stderr}");
}

#[test]
fn hanging_and_throwing_builds_fail_cleanly_within_their_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let hang_dir = dir.path().join("hang");
    let throw_dir = dir.path().join("throw");
    let silent_dir = dir.path().join("silent");
    for d in [&hang_dir, &throw_dir, &silent_dir] {
        std::fs::create_dir_all(d).unwrap();
    }
    let site = "  function SendChatMessage(text) {";
    let hanging = mutant(&hang_dir, site, &format!("{site}\n    while (true) {{}}"));
    let throwing = mutant(
        &throw_dir,
        site,
        &format!("{site}\n    throw new Error('boom');"),
    );
    // A build that never calls the page back.
    let silent = mutant(
        &silent_dir,
        "var callback = typeof name === 'function' ? name : global[name];",
        "var callback = null;",
    );
    for (widget, name) in [
        (&hanging, "hang"),
        (&throwing, "throw"),
        (&silent, "silent"),
    ] {
        let reports = dir.path().join(format!("reports-{name}"));
        let marker = unique(name);
        let started = Instant::now();
        let out = run_cli(
            &marker,
            &[
                "run",
                "--widget",
                widget.to_str().unwrap(),
                "--report-dir",
                reports.to_str().unwrap(),
                "--timeout",
                "3000",
                "--filter",
                "session-allocated",
                "--filter",
                "chat-length-codes",
                "--filter",
                "chat-roundtrip",
            ],
        );
        let elapsed = started.elapsed();
        let stderr = out.stderr.as_str();
        assert_eq!(out.code, Some(1), "{name}: {stderr}");
        let report = read_report(&reports);
        let outcome = |id: &str| report.cases.iter().find(|c| c.id == id).map(|c| c.outcome);
        if name == "silent" {
            // Its waits (5 s) outlast the case limit (3 s): the case times out
            // and the reason says where it was stuck.
            let case = report
                .cases
                .iter()
                .find(|c| c.id == "session-allocated")
                .unwrap();
            assert_eq!(case.outcome, Outcome::Timeout, "{stderr}");
            let reason = case.reason.clone().unwrap();
            assert!(
                reason.contains("it was at step 1 (wait session/allocated)"),
                "{reason}"
            );
            assert!(elapsed < Duration::from_secs(60), "{name} took {elapsed:?}");
            assert_eq!(leftovers(&marker), Vec::<String>::new(), "{name}");
            continue;
        }
        // The case that never calls SendChatMessage still passes: the hang
        // did not leak into it.
        assert_eq!(
            outcome("session-allocated"),
            Some(Outcome::Pass),
            "{name}: {stderr}"
        );
        if name == "hang" {
            assert_eq!(
                outcome("chat-length-codes"),
                Some(Outcome::Timeout),
                "{stderr}"
            );
            assert_eq!(
                outcome("chat-roundtrip"),
                Some(Outcome::Timeout),
                "{stderr}"
            );
            let reason = report
                .cases
                .iter()
                .find(|c| c.id == "chat-roundtrip")
                .unwrap()
                .reason
                .clone()
                .unwrap();
            assert!(reason.contains("did not finish within 3000 ms"), "{reason}");
        } else {
            assert_eq!(
                outcome("chat-length-codes"),
                Some(Outcome::Fail),
                "{stderr}"
            );
            let failed = report
                .cases
                .iter()
                .find(|c| c.id == "chat-length-codes")
                .unwrap();
            let rules: Vec<&str> = failed
                .checks
                .iter()
                .flat_map(|c| &c.failures)
                .map(|f| f.rule.as_str())
                .collect();
            assert!(rules.contains(&"no-exceptions"), "{rules:?}");
        }
        // Bounded: three cases at 3 s each plus browser restarts, far under a minute.
        assert!(elapsed < Duration::from_secs(60), "{name} took {elapsed:?}");
        assert_eq!(
            leftovers(&marker),
            Vec::<String>::new(),
            "{name}: processes outlived the run"
        );
    }
}

/// The same suite in Firefox ESR through geckodriver: every case passes,
/// the report names the browser, and no process outlives the run.
#[test]
fn reference_build_passes_in_firefox_and_leaves_no_process() {
    let dir = tempfile::tempdir().unwrap();
    let marker = unique("firefox");
    let out = run_cli(
        &marker,
        &[
            "run",
            "--browser",
            "firefox",
            "--expectations",
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("expectations/firefox.yaml")
                .to_str()
                .unwrap(),
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    let stderr = out.stderr.as_str();
    assert_eq!(out.code, Some(0), "{stderr}");
    let report = read_report(dir.path());
    assert_eq!(report.browser.name, "firefox");
    // Everything passes but the screen captures Firefox refuses without a
    // user gesture (expectations/firefox.yaml).
    let not_passed: Vec<&str> = report
        .cases
        .iter()
        .filter(|c| c.outcome != Outcome::Pass)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(
        not_passed,
        ["screenshare-request-accept", "screenshare-visitor"],
        "{stderr}"
    );
    assert!(report.summary.total >= 50, "{stderr}");
    assert_eq!(report.widget.sdk_version.as_deref(), Some("2.0.0-ref.1"));
    assert_eq!(
        leftovers(&marker),
        Vec::<String>::new(),
        "processes outlived the run"
    );
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
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--cases",
            cases.to_str().unwrap(),
            "--report-dir",
            dir.path().to_str().unwrap(),
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

/// A build that passes replayed server frames on is caught by the replay
/// case (an exact count, and the trace-wide unique-messageid rule), while
/// the sequence-gap case still passes.
#[test]
fn a_build_that_passes_replays_on_fails_the_replay_case() {
    let dir = tempfile::tempdir().unwrap();
    let widget = mutant(
        dir.path(),
        "      return; /* a replay never reaches the page */",
        "      /* replay check removed */",
    );
    let marker = unique("replay");
    let reports = dir.path().join("reports");
    let out = run_cli(
        &marker,
        &[
            "run",
            "--filter",
            "fault-",
            "--widget",
            widget.to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let report = read_report(&reports);
    let case = |id: &str| report.cases.iter().find(|c| c.id == id).unwrap();
    assert_eq!(case("fault-sequence-gap").outcome, Outcome::Pass);
    let replay = case("fault-replay");
    assert_eq!(replay.outcome, Outcome::Fail);
    let rules: Vec<&str> = replay
        .checks
        .iter()
        .flat_map(|c| &c.failures)
        .map(|f| f.rule.as_str())
        .collect();
    assert!(rules.contains(&"count:chat/messagereceived"), "{rules:?}");
    assert!(rules.contains(&"unique-messageid"), "{rules:?}");
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

/// The self-test over the kit's own mutants: the reference passes, every
/// mutant is killed by a case naming the check it breaks, and the kill
/// matrix goes into report.json (schema-checked) and report.html.
#[test]
fn selftest_kills_every_mutant_and_reports_the_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let marker = unique("selftest");
    let out = binary(
        &marker,
        &["selftest", "--report-dir", dir.path().to_str().unwrap()],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let report = read_report(dir.path());
    let st = report
        .kill_matrix
        .expect("the report carries the kill matrix");
    assert!(
        st.reference_failures.is_empty(),
        "{:?}",
        st.reference_failures
    );
    assert!(st.mutants.len() >= 30, "{}", st.mutants.len());
    for m in &st.mutants {
        assert_eq!(
            m.verdict,
            jodo_conformance::report::KillVerdict::Killed,
            "{} ({}): {stdout}",
            m.name,
            m.breaks
        );
    }
    assert!(stdout.contains("kill rate 100.0 %"), "{stdout}");
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("<h2>Self-test</h2>") && html.contains("utf16-length"));
    assert_eq!(leftovers(&marker), Vec::<String>::new());
}

/// A mutant no case catches fails the self-test (exit 1, "survived"); a
/// mutant whose edit no longer applies stops it before any browser starts
/// (exit 2, "stale").
#[test]
fn selftest_fails_on_a_survivor_and_refuses_a_stale_mutant() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, find: &str| {
        let folder = dir.path().join(name);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(
            folder.join(format!("{name}.yaml")),
            format!(
                "name: {name}\narea: robustness\nbreaks: schema\nsummary: s\nedits:\n  - find: {find:?}\n    replace: \"Plain JavaScript without dependencies\"\n"
            ),
        )
        .unwrap();
        folder
    };
    // Only a comment changes: nothing can catch it.
    let harmless = write("harmless", "Plain JavaScript, no dependencies");
    let stale = write("stale", "text that is not in the build");
    let marker = unique("survivor");
    let reports = dir.path().join("reports");
    let args = |mutants: &Path| {
        vec![
            "selftest".to_owned(),
            "--mutants".to_owned(),
            mutants.to_str().unwrap().to_owned(),
            "--report-dir".to_owned(),
            reports.to_str().unwrap().to_owned(),
        ]
    };
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        binary(&marker, &a).output().unwrap()
    };
    let out = run(args(&harmless));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("SURVIVED harmless"), "{stdout}");
    let st = read_report(&reports).kill_matrix.unwrap();
    assert_eq!(st.kill_rate, 0.0);
    let started = Instant::now();
    let out = run(args(&stale));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("mutant stale is stale"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no browser was started"
    );
    assert_eq!(leftovers(&marker), Vec::<String>::new());
}

/// `--fail-fast` stops where the run's own verdict fails, not earlier: in
/// the compat profile a non-strict case is accepted and the run goes on
/// past it, to stop at the first real failure (the cases after it are not
/// run). The build stamps events with Unix seconds, which only compat
/// accepts (A4), and takes http: documents, which fails document-send.
#[test]
fn fail_fast_in_compat_runs_past_an_accepted_non_strict_case_and_stops_at_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let reference = std::fs::read_to_string(reference_widget()).unwrap();
    let edits = [
        (
            "function timestamp() {",
            "function timestamp() {\n    return String(Math.floor(Date.now() / 1000));",
        ),
        (
            "if (!isHttpsUrl(docURL)) {",
            "if (typeof docURL !== 'string' || !/^https?:/.test(docURL)) {",
        ),
    ];
    let mut build = reference.clone();
    for (find, replace) in edits {
        assert_eq!(build.matches(find).count(), 1, "mutation site: {find}");
        build = build.replace(find, replace);
    }
    let widget = dir.path().join("ext_integration-2.0.js");
    std::fs::write(&widget, build).unwrap();
    let reports = dir.path().join("reports");
    let marker = unique("failfast");
    let out = run_cli(
        &marker,
        &[
            "run",
            "--profile",
            "compat",
            "--fail-fast",
            "--filter",
            "chat-roundtrip",
            "--filter",
            "document-send",
            "--filter",
            "session-allocated",
            "--widget",
            widget.to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let report = read_report(&reports);
    let ran: Vec<(&str, Outcome, Status)> = report
        .cases
        .iter()
        .map(|c| (c.id.as_str(), c.outcome, c.status))
        .collect();
    assert_eq!(
        ran,
        [
            (
                "chat-roundtrip",
                Outcome::NonStrict,
                Status::AcceptedNonStrict
            ),
            ("document-send", Outcome::Fail, Status::Failed),
        ],
        "{}",
        out.stderr
    );
    assert_eq!(leftovers(&marker), Vec::<String>::new());
}
