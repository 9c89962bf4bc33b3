//! A run that is interrupted, misconfigured, or given a build that hangs
//! or throws: clear exits, and no process left behind.

use crate::common::*;

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
