//! Record and replay: every session the suite records is turned into a
//! scenario (`jodo_mock::recording`, what `jodo-mock record-to-scenario`
//! runs), and the same cases pass against the replay as against the
//! scenarios they were written for.

use std::collections::BTreeSet;

use crate::common::*;
use jodo_conformance::wire::WireEntry;
use jodo_mock::recording::Recording;

#[tokio::test]
async fn recorded_sessions_replay_offline_and_pass_their_cases() {
    let schemas = jodo_contract::Contract::embedded().unwrap();
    let kit = jodo_contract::dialect::Dialect::kit(&schemas);
    let cases = jodo_conformance::case::builtin(&schemas).unwrap();
    let original = runner::run(&RunOptions::default(), &mut (), std::future::pending())
        .await
        .expect("the run happens");
    let dir = tempfile::tempdir().unwrap();
    let scenarios = tempfile::tempdir().unwrap();
    let cases_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases");
    copy_dir(&cases_dir.join("snapshots"), &dir.path().join("snapshots"));
    let mut replayed = Vec::new();
    let mut left_out = Vec::new();
    for report in &original.cases {
        let case = cases.iter().find(|c| c.id == report.id).unwrap();
        // One session, steered by the visitor alone: a recording holds
        // neither the agent's control triggers nor a second session.
        let sessions: BTreeSet<&str> = report
            .wire
            .iter()
            .filter_map(|w| match w {
                WireEntry::Frame { url, .. } => Some(url.as_str()),
                _ => None,
            })
            .collect();
        let controlled = case
            .needs()
            .contains(&jodo_conformance::case::Capability::Control);
        // Nor the session API's or the upgrade's answers: only frames.
        let scripted_http = jodo_mock::scenario::load(&case.scenario, &schemas)
            .map(|sc| sc.api != jodo_mock::scenario::model::Api::default())
            .unwrap_or(true);
        if report.outcome != Outcome::Pass || sessions.len() != 1 || controlled || scripted_http {
            left_out.push(report.id.clone());
            continue;
        }
        let jsonl: Vec<String> = report
            .wire
            .iter()
            .map(|w| serde_json::to_string(w).unwrap())
            .collect();
        let recording = Recording::read(&jsonl.join("\n"), &kit)
            .unwrap_or_else(|e| panic!("{}: {e}", report.id));
        let name = format!("recorded-{}", report.id);
        let scenario = recording.to_scenario(&name, "replay");
        let file = scenarios.path().join(format!("{name}.yaml"));
        std::fs::write(&file, jodo_contract::yaml::to_text(&scenario)).unwrap();
        // The case as loaded (a file's or a matrix's), on the recording.
        let mut written = serde_json::to_value(case).unwrap();
        strip_nulls(&mut written);
        written["scenario"] = serde_json::json!(file.display().to_string());
        std::fs::write(
            dir.path().join(format!("{}.yaml", report.id)),
            serde_json::to_string_pretty(&written).unwrap(),
        )
        .unwrap();
        replayed.push(report.id.clone());
    }
    let options = RunOptions {
        cases_dir: Some(dir.path().to_path_buf()),
        ..RunOptions::default()
    };
    let replay = runner::run(&options, &mut (), std::future::pending())
        .await
        .expect("the replay runs");
    let ids: Vec<&str> = replay.cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, replayed, "every recorded case ran on its replay");
    for case in &replay.cases {
        assert_eq!(
            case.outcome,
            Outcome::Pass,
            "{} replayed: {:#?}",
            case.id,
            case.checks
        );
        assert!(case.scenario.contains("recorded-"), "{}", case.scenario);
    }
    eprintln!(
        "replayed {} of {} cases from their recordings; left out (control triggers, scripted HTTP answers, several sessions or none): {}",
        replayed.len(),
        original.cases.len(),
        left_out.join(", ")
    );
    assert!(replayed.len() >= 30, "{replayed:?}");
}

/// Absent and null are one to serde, not to the case schema.
fn strip_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}
