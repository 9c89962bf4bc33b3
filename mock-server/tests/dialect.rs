//! The mock speaking another dialect (`schemas/dialects/jsonrpc-2.yaml`)
//! over real TLS, written and read as literal frames of that protocol: a
//! client that knows only the dialect's document gets a whole session.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Harness, Socket, harness_with};
use futures_util::SinkExt;
use jodo_contract::dialect::Dialect;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

async fn rpc_mock() -> Harness {
    harness_with(|config| {
        let dialect = Dialect::load("jsonrpc-2", &config.schemas).unwrap();
        jodo_mock::MockConfig {
            dialect: Arc::new(dialect),
            ..config
        }
    })
    .await
}

/// The next frame, which is JSON-RPC.
async fn next(socket: &mut Socket) -> Value {
    let frame = common::next_json(socket).await;
    assert_eq!(frame["jsonrpc"], "2.0", "{frame}");
    frame
}

/// A session API request in the dialect's method and path.
async fn put(h: &Harness, body: &Value) -> (u16, String) {
    h.https(
        "PUT",
        "/rpc/v2/conversation",
        Some("https://host.test"),
        body.to_string().as_bytes(),
    )
    .await
}

async fn send(socket: &mut Socket, frame: Value) {
    socket.send(Message::text(frame.to_string())).await.unwrap();
}

async fn create(h: &Harness) -> Value {
    let body = json!({"credentials": {"app": "jodo-dev-akey", "secret": "jodo-dev-skey"},
                      "visitor": {"name": "Satej"}, "client": {"version": "2.0.0"}});
    let (status, text) = put(h, &body).await;
    assert_eq!(status, 201, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn a_session_runs_in_the_dialects_own_frames_and_resumes_under_its_names() {
    let h = rpc_mock().await;
    let created = create(&h).await;
    let endpoint = created["result"]["endpoint"].as_str().unwrap();
    assert!(
        endpoint.contains("/rpc/v2/socket?ticket="),
        "the channel is where the dialect puts it: {created}"
    );
    assert!(created["result"]["conversation"].is_string());
    let mut socket = h.connect(endpoint, "https://host.test").await.unwrap();
    let ready = next(&mut socket).await;
    assert_eq!(ready["method"], "conversation.ready");
    assert_eq!(ready["params"]["n"], 1);
    let rejoin = ready["params"]["rejoin"].as_str().unwrap().to_owned();
    let allocated = next(&mut socket).await;
    assert_eq!(allocated["method"], "agent.event");
    assert_eq!(allocated["params"]["channel"], "session");
    assert_eq!(allocated["params"]["type"], "allocated");
    assert_eq!(allocated["params"]["body"]["status"], 1001);

    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "method": "ack", "params": {"of": allocated["params"]["ref"]}}),
    )
    .await;
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "method": "visitor.say",
               "params": {"n": 1, "ref": "w1", "text": "hello", "body": {}}}),
    )
    .await;
    assert_eq!(
        next(&mut socket).await,
        json!({"jsonrpc": "2.0", "method": "ack", "params": {"of": "w1"}})
    );
    let delivered = next(&mut socket).await;
    assert_eq!(delivered["params"]["type"], "messagedeliveredack");
    assert_eq!(delivered["params"]["body"]["refmessageid"], "w1");
    assert_eq!(delivered["params"]["n"], 3);
    // Two events have methods of their own, the agent's text beside the
    // sequence number.
    assert_eq!(next(&mut socket).await["params"]["type"], "messagereadack");
    assert_eq!(next(&mut socket).await["method"], "agent.typing");
    let reply = next(&mut socket).await;
    assert_eq!(reply["method"], "agent.says", "{reply}");
    assert!(
        reply["params"]["text"]
            .as_str()
            .unwrap()
            .ends_with("You wrote: hello"),
        "{reply}"
    );
    assert_eq!(reply["params"]["body"], json!({}));

    // The kit's own frame is not this dialect's: refused, in the dialect.
    socket
        .send(common::client_frame(
            "chat.send",
            2,
            "w2",
            json!({"text": "x"}),
        ))
        .await
        .unwrap();
    let refused = next(&mut socket).await;
    assert_eq!(refused["method"], "conversation.refused");
    assert_eq!(refused["params"]["code"], "bad_frame");

    // Dropped, then resumed under the dialect's query name.
    drop(socket);
    let base = endpoint.split('?').next().unwrap();
    let mut resumed = None;
    for _ in 0..50 {
        if let Ok(s) = h
            .connect(&format!("{base}?rejoin={rejoin}"), "https://host.test")
            .await
        {
            resumed = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut socket = resumed.expect("the session resumes");
    let ready = next(&mut socket).await;
    assert_eq!(ready["method"], "conversation.ready");
    assert_eq!(ready["params"]["body"]["resumed"], true);

    // The transcript keeps the kit's frames.
    let mock = h.mock.as_ref().unwrap();
    let id = mock.sessions()[0].id.clone();
    let transcript = mock.transcript(&id).unwrap();
    let said = transcript
        .iter()
        .find(|l| l["frame"]["kind"] == "chat.send")
        .expect("the visitor's frame, as the kit's");
    assert_eq!(said["frame"]["data"]["text"], "hello");
    assert!(
        transcript
            .iter()
            .any(|l| l["frame"] == json!({"ack": "w1"}))
    );
}

#[tokio::test]
async fn the_session_api_sits_and_answers_where_the_dialect_says() {
    let h = rpc_mock().await;
    // The kit's own path is not served by a mock speaking another dialect.
    let (status, _) = h
        .https(
            "POST",
            "/jodowidgetapi/v2/sessions",
            Some("https://host.test"),
            b"{}",
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = h
        .https(
            "POST",
            "/rpc/v2/conversation",
            Some("https://host.test"),
            b"{}",
        )
        .await;
    assert_eq!(status, 405, "the dialect's method is PUT");
    // A problem is named at the place the client wrote it.
    let body = json!({"credentials": {"app": 7, "secret": "jodo-dev-skey"}});
    let (status, text) = put(&h, &body).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("/credentials/app"), "{text}");
    // The upgrade asks for the dialect's query names.
    let created = create(&h).await;
    let endpoint = created["result"]["endpoint"].as_str().unwrap();
    let base = endpoint.split('?').next().unwrap();
    let err = h
        .connect(&format!("{base}?token=x"), "https://host.test")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("400"), "{err}");
}

/// `jodo-mock` with these arguments: exit code, stdout, stderr.
fn jodo_mock(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jodo-mock"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A bad dialect file fails `dialects check` and `serve` alike, each
/// problem with its line and field; the built-in ones pass.
#[test]
fn a_bad_dialect_is_refused_by_check_and_serve_with_lines_and_fields() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "dialect: bad\n\
         session:\n  method: POST\n  path: /s\n  request: {akey: /a, skey: /b}\n  answer: {sessionid: /i, systemcallid: /c, token: /t, websocket: /w}\n\
         channel: {path: /ws, token: t, resume: r}\n\
         envelope: {kind: /k, seq: /n, messageid: /id, data: /d}\n\
         frames:\n  chat.send:\n    name: say\n    fields: {txt: /text}\n  chat.readack: {name: say}\n",
    )
    .unwrap();
    let path = bad.to_str().unwrap();
    let (code, _, stderr) = jodo_mock(&["dialects", "check", path]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("line 12, at /frames/chat.send/fields/txt: the kit's chat.send frame has no data field \"txt\""),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "line 11, at /frames/chat.send/name: the wire name \"say\" is already chat.readack's"
        ),
        "{stderr}"
    );
    let (code, stdout, serve_err) = jodo_mock(&["serve", "--port", "0", "--dialect", path]);
    assert_eq!(code, 2, "{stdout}{serve_err}");
    assert_eq!(serve_err, stderr, "serve names the same problems");
    assert!(stdout.is_empty(), "no banner for a mock that did not start");

    let (code, stdout, stderr) = jodo_mock(&["dialects", "list"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("jodo-kit-1") && stdout.contains("jsonrpc-2"),
        "{stdout}"
    );
    for name in ["jodo-kit-1", "jsonrpc-2"] {
        let file = format!(
            "{}/../schemas/dialects/{name}.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        let (code, stdout, stderr) = jodo_mock(&["dialects", "check", &file]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains(&format!("ok (dialect {name}")), "{stdout}");
    }
    let (code, _, stderr) = jodo_mock(&["dialects", "check", "no-such-dialect"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("no dialect \"no-such-dialect\""),
        "{stderr}"
    );
    let (code, stdout, _) = jodo_mock(&["dialects", "widget", "jsonrpc-2"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("var DIALECT = {\"") && stdout.contains("/rpc/v2/conversation"));
}
