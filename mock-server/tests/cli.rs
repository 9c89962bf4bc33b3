//! The jodo-mock binary as a user runs it: own certificate, a free port,
//! transcripts on disk, and nothing lost when it is stopped with SIGTERM.

mod common;

use common::client_frame;
use futures_util::SinkExt;
use serde_json::{Value, json};

#[tokio::test]
async fn serve_writes_every_frame_to_its_transcript_before_sigterm_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let transcripts = dir.path().join("transcripts");
    let mut mock =
        common::process::MockProcess::start(&["--transcripts", transcripts.to_str().unwrap()]);
    let (h, origin) = (&mock.h, mock.origin.clone());
    let body = json!({"akey": "jodo-dev-akey", "skey": "jodo-dev-skey"}).to_string();
    let (status, text) = h
        .https(
            "POST",
            "/jodowidgetapi/v2/sessions",
            Some(&origin),
            body.as_bytes(),
        )
        .await;
    assert_eq!(status, 201, "{text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    let mut ws = h
        .connect(created["websocket"].as_str().unwrap(), &origin)
        .await
        .unwrap();
    h.next(&mut ws).await;
    h.next(&mut ws).await;
    ws.send(client_frame("chat.send", 1, "c1", json!({"text": "hello"})))
        .await
        .unwrap();
    for _ in 0..4 {
        h.next(&mut ws).await;
    }
    let status = mock.signal_and_wait(libc::SIGTERM);
    assert!(status.success(), "{status:?}");
    let file = transcripts.join(format!("{}.jsonl", created["sessionid"].as_str().unwrap()));
    let lines: Vec<Value> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<String> = lines
        .iter()
        .map(|l| {
            format!(
                "{} {}",
                l["dir"].as_str().unwrap(),
                l["frame"]["kind"].as_str().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "out welcome",
            "out event",
            "in chat.send",
            "out event",
            "out event",
            "out event",
            "out event"
        ]
    );
}

#[tokio::test]
async fn a_killed_mock_loses_no_frame_it_had_sent_or_received() {
    let dir = tempfile::tempdir().unwrap();
    let transcripts = dir.path().join("transcripts");
    let mut mock = common::process::MockProcess::start(&[
        "--transcripts",
        transcripts.to_str().unwrap(),
        "--allow-origin",
        "https://host.test",
    ]);
    let h = &mock.h;
    let (mut ws, created) = h.open().await;
    assert_eq!(h.next(&mut ws).await["kind"], "welcome");
    let mut events = 1;
    h.next(&mut ws).await;
    for i in 1..=5u64 {
        ws.send(client_frame(
            "chat.send",
            i,
            &format!("k{i}"),
            json!({"text": format!("message {i}")}),
        ))
        .await
        .unwrap();
        for _ in 0..4 {
            h.next(&mut ws).await;
            events += 1;
        }
    }
    // SIGKILL: no handler runs, nothing is flushed at exit.
    let status = mock.signal_and_wait(libc::SIGKILL);
    assert!(!status.success());
    let file = transcripts.join(format!("{}.jsonl", created["sessionid"].as_str().unwrap()));
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let count = |dir: &str, kind: &str| {
        lines
            .iter()
            .filter(|l| l["dir"] == dir && l["frame"]["kind"] == kind)
            .count()
    };
    // Every frame the client received, and every one it sent, is there.
    assert_eq!(count("out", "welcome"), 1, "{text}");
    assert_eq!(count("out", "event"), events, "{text}");
    assert_eq!(count("in", "chat.send"), 5, "{text}");
    assert!(text.ends_with('\n'), "a line was cut short: {text}");
}
