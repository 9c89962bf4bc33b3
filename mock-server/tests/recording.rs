//! Record and replay at the mock: a session against one scenario, its
//! transcript through `jodo-mock record-to-scenario`, and the replay
//! answering the same frames with the same events.

mod common;

use std::sync::Arc;

use common::{Harness, client_frame, harness_with};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};

/// Chats twice and ends; the events the widget got, as media/eventtype/msg.
async fn converse(h: &Harness) -> Vec<String> {
    let (mut ws, _) = h.open().await;
    let mut seen = Vec::new();
    let mut take = |frame: Value| {
        let d = &frame["data"];
        if frame["kind"] == "event" {
            seen.push(format!(
                "{}/{} {} {}",
                d["media"].as_str().unwrap_or_default(),
                d["eventtype"].as_str().unwrap_or_default(),
                d["msg"].as_str().unwrap_or_default(),
                d["refmessageid"].as_str().unwrap_or_default()
            ));
        }
    };
    take(h.next(&mut ws).await); // welcome
    take(h.next(&mut ws).await); // allocated
    for (seq, text) in [(1, "first words"), (2, "second words")] {
        let id = format!("w{seq}-{}", h.addr.port());
        ws.send(client_frame("chat.send", seq, &id, json!({"text": text})))
            .await
            .unwrap();
        for _ in 0..4 {
            let frame = h.next(&mut ws).await;
            take(frame);
        }
    }
    ws.send(client_frame("session.end", 3, "end", json!({})))
        .await
        .unwrap();
    // Until the mock closes: then the transcript holds the whole session.
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(Ok(message)) = ws.next().await {
            if message.is_close() {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(closed, Ok(true));
    // The ids differ between the two mocks; the answer refers to each one's.
    seen.iter()
        .map(|s| s.replace(&format!("-{}", h.addr.port()), "-PORT"))
        .collect()
}

#[tokio::test]
async fn a_transcript_replays_as_a_scenario_that_answers_the_same_frames_the_same_way() {
    let original = common::harness().await;
    let events = converse(&original).await;
    assert_eq!(events.len(), 9, "{events:#?}");
    let mock = original.mock.as_ref().unwrap();
    let id = mock.sessions()[0].id.clone();
    let lines: Vec<String> = mock
        .transcript(&id)
        .unwrap()
        .iter()
        .map(Value::to_string)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("session.jsonl");
    std::fs::write(&recording, lines.join("\n")).unwrap();
    let scenario = dir.path().join("replay.yaml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jodo-mock"))
        .args(["record-to-scenario", recording.to_str().unwrap()])
        .args(["-o", scenario.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("scenario recorded-session: 3 visitor frame(s), 9 server event(s)"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&scenario).unwrap();
    assert!(
        text.contains("{{frame.messageid}}") && text.contains("{{frame.data.text}}"),
        "{text}"
    );

    let sc = jodo_mock::scenario::load(scenario.to_str().unwrap(), &original.schemas).unwrap();
    let replay = harness_with(|c| jodo_mock::MockConfig {
        scenario: Arc::clone(&sc),
        ..c
    })
    .await;
    assert_eq!(converse(&replay).await, events);
}

#[test]
fn what_is_not_a_recording_fails_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"type\":\"frame\",\"dir\":\"in\",\"text\":\"{}\"}\nnot json\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jodo-mock"))
        .args(["record-to-scenario", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.jsonl: line 2: not JSON"), "{stderr}");
    assert!(out.stdout.is_empty());
}
