//! A run that is interrupted, misconfigured, or given a build that hangs
//! or throws: clear exits, and no process left behind.

use crate::common::*;

/// Ctrl-C in the middle of a run: the run stops at once, leaves no
/// browser or driver, and writes the report of what finished, marked
/// interrupted (report.json, JUnit and HTML all say so).
#[test]
fn ctrl_c_stops_the_run_writes_what_finished_and_leaves_no_process() {
    interrupted_by(libc::SIGINT);
}

#[test]
fn sigterm_stops_the_run_as_ctrl_c_does() {
    // What a CI system sends when it cancels a job.
    interrupted_by(libc::SIGTERM);
}

fn interrupted_by(signal: i32) {
    let dir = tempfile::tempdir().unwrap();
    // A build whose session API call never resolves keeps the second case
    // waiting, so the interrupt lands while the browser is busy; the first
    // needs no session and finishes.
    let widget = mutant(
        dir.path(),
        "global.fetch(base + wire.sessionsPath(), {",
        "new Promise(function () {}).then(function () {}, {",
    );
    let reports = dir.path().join("r");
    let marker = unique("interrupt");
    let mut child = binary(
        &marker,
        &[
            "run",
            "--jobs",
            "1",
            "--filter",
            "chat-before-session",
            "--filter",
            "session-allocated",
            "--widget",
            widget.to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
        ],
    )
    .spawn()
    .unwrap();
    let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = stderr.clone();
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut pipe, &mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    // Wait until the first case has finished and the browser is busy with
    // the second.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stderr.lock().unwrap().contains("chat-before-session") {
        assert!(
            Instant::now() < deadline,
            "the first case never finished: {}",
            stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1000));
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "run did not stop after signal {signal}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    reader.join().unwrap();
    let stderr = stderr.lock().unwrap().clone();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(
        leftovers(&marker),
        Vec::<String>::new(),
        "processes outlived signal {signal}"
    );
    let report = read_report(&reports);
    let ran: Vec<&str> = report.cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ran, ["chat-before-session"], "{stderr}");
    assert_eq!(
        report.interrupted.as_ref().map(|i| i.cases_not_run),
        Some(1)
    );
    let junit = std::fs::read_to_string(reports.join("junit.xml")).unwrap();
    assert!(junit.contains("the run was interrupted"), "{junit}");
    let html = std::fs::read_to_string(reports.join("report.html")).unwrap();
    assert!(html.contains("Interrupted"), "{html}");
    // Nothing half-written beside it.
    let beside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert_eq!(beside, Vec::<String>::new());
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
        // The hanging and silent builds must be cut off by the case limit,
        // so it is short. The throwing build must fail on its own, so its
        // limit is long enough for a loaded CI machine (one case has taken
        // over 3 s there) and cannot turn a failure into a time-out.
        let timeout = if name == "throw" { "15000" } else { "3000" };
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
                timeout,
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

/// Builds that attack the harness rather than break the API (eight, the
/// tab crash among them): each case
/// still gets a verdict with a reason, within its time-out plus a few
/// seconds, the report is whole, and no process is left behind.
#[test]
fn hostile_builds_get_a_verdict_and_leave_no_process() {
    let top = "  'use strict';\n";
    let call = "    try {\n      callback(eventdata);";
    let builds: [(&str, &str, String); 8] = [
        (
            "throw-on-load",
            top,
            format!("{top}  throw new Error('broken build');\n"),
        ),
        (
            "no-websocket",
            top,
            format!(
                "{top}  try {{ delete global.WebSocket; }} catch (e) {{}}\n  global.WebSocket = undefined;\n"
            ),
        ),
        (
            "alert",
            top,
            format!("{top}  global.alert('hello from the build');\n"),
        ),
        (
            "reload-loop",
            top,
            format!("{top}  global.setTimeout(function () {{ global.location.reload(); }}, 0);\n"),
        ),
        (
            "spin-in-callback",
            call,
            format!("    while (true) {{}}\n{call}"),
        ),
        (
            "callback-storm",
            call,
            format!(
                "    for (var storm = 0; storm < 100000; storm++) {{ try {{ callback(eventdata); }} catch (e) {{}} }}\n{call}"
            ),
        ),
        (
            // Fills the script heap until the renderer dies of it (Chromium
            // reports "tab crashed" some seconds later).
            "crash-tab",
            top,
            format!(
                "{top}  var hog = [];\n  while (true) {{ hog.push(new Array(1 << 24).fill(hog.length)); }}\n"
            ),
        ),
        (
            "console-flood",
            top,
            format!(
                "{top}  for (var flood = 0; flood < 1000000; flood++) {{ global.console.log('flood ' + flood); }}\n"
            ),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let timeout_ms = 3000u64;
    let cases = ["session-allocated", "chat-roundtrip"];
    for (name, site, replacement) in &builds {
        let build_dir = dir.path().join(name);
        std::fs::create_dir_all(&build_dir).unwrap();
        let widget = mutant(&build_dir, site, replacement);
        let reports = dir.path().join(format!("reports-{name}"));
        let marker = unique(name);
        let started = Instant::now();
        let timeout = timeout_ms.to_string();
        let mut args = vec![
            "run",
            "--jobs",
            "1",
            "--widget",
            widget.to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
            "--timeout",
            &timeout,
        ];
        for case in cases {
            args.extend(["--filter", case]);
        }
        let out = run_cli(&marker, &args);
        let elapsed = started.elapsed();
        let stderr = out.stderr.as_str();
        assert_eq!(out.code, Some(1), "{name}: {stderr}");
        let report = read_report(&reports);
        let ran: Vec<&str> = report.cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ran.len(),
            cases.len(),
            "{name}: the report is not whole: {ran:?}"
        );
        for case in &report.cases {
            if case.outcome != Outcome::Pass {
                let reason = case.reason.clone().unwrap_or_default();
                let failures = case.failure_lines();
                assert!(
                    !reason.is_empty() || !failures.is_empty(),
                    "{name}: {} is {:?} without a reason",
                    case.id,
                    case.outcome
                );
            }
        }
        assert!(
            report.cases.iter().any(|c| c.outcome != Outcome::Pass),
            "{name}: a hostile build passed every case"
        );
        // Each case costs at most its time-out plus a few seconds (with
        // the browser's start and a restart after a wrecked page).
        let bound =
            Duration::from_millis(timeout_ms + 6000) * cases.len() as u32 + Duration::from_secs(10);
        assert!(elapsed < bound, "{name} took {elapsed:?}: {stderr}");
        assert_eq!(
            leftovers(&marker),
            Vec::<String>::new(),
            "{name}: processes outlived the run"
        );
        eprintln!(
            "{name:<18} {:>6.1?}  {}",
            elapsed,
            report
                .cases
                .iter()
                .map(|c| format!("{}={:?}", c.id, c.outcome))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
}
