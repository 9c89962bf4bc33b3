//! The self-test: every mutant killed, a survivor and a stale mutant refused.

use crate::common::*;

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
