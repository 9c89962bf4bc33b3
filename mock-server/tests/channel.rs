//! The mock over real TLS on loopback, driven by a tokio-tungstenite client
//! that trusts exactly the mock's certificate. Every frame the mock sends is
//! checked against the wire schemas.

mod common;

use common::{client_frame, harness, harness_with};

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[tokio::test]
async fn allocated_scenario_over_tls() {
    let h = harness().await;
    let (mut ws, created) = h.open().await;
    let welcome = h.next(&mut ws).await;
    assert_eq!(welcome["kind"], "welcome");
    assert_eq!(welcome["seq"], 1);
    assert_eq!(welcome["data"]["systemcallid"], created["systemcallid"]);
    let allocated = h.next(&mut ws).await;
    assert_eq!(
        allocated["data"],
        json!({"media": "session", "eventtype": "allocated", "status": 1001, "msg": "Session Connected to Emma"})
    );
    ws.send(client_frame("chat.send", 1, "c1", json!({"text": "hi"})))
        .await
        .unwrap();
    let mut kinds = Vec::new();
    let mut ids = vec![welcome["messageid"].clone(), allocated["messageid"].clone()];
    for expected_seq in 3..=6 {
        let frame = h.next(&mut ws).await;
        assert_eq!(frame["seq"], expected_seq, "server seq counts without gaps");
        ids.push(frame["messageid"].clone());
        kinds.push(frame["data"]["eventtype"].as_str().unwrap().to_owned());
        if frame["data"]["eventtype"]
            .as_str()
            .unwrap()
            .ends_with("ack")
        {
            assert_eq!(frame["data"]["refmessageid"], "c1");
        }
    }
    assert_eq!(
        kinds,
        [
            "messagedeliveredack",
            "messagereadack",
            "typing",
            "messagereceived"
        ]
    );
    let unique: std::collections::HashSet<String> = ids.iter().map(Value::to_string).collect();
    assert_eq!(unique.len(), ids.len(), "server messageids are unique");
    ws.send(client_frame("session.end", 2, "c2", json!({})))
        .await
        .unwrap();
    match tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
    {
        Some(Ok(Message::Close(Some(close)))) => assert_eq!(close.code, CloseCode::Normal),
        other => panic!("expected a normal close, got {other:?}"),
    }
    // The transcript holds both directions.
    let session_id = created["sessionid"].as_str().unwrap();
    let (status, body) = h
        .https(
            "GET",
            &format!("/control/v1/sessions/{session_id}/transcript"),
            None,
            b"",
        )
        .await;
    assert_eq!(status, 200);
    let transcript: Value = serde_json::from_str(&body).unwrap();
    let frames = transcript["frames"].as_array().unwrap();
    let count = |dir: &str| {
        frames
            .iter()
            .filter(|f| f["dir"] == dir && f["frame"]["kind"].is_string())
            .count()
    };
    assert_eq!((count("in"), count("out")), (2, 6));
    assert!(
        frames.iter().any(|f| f["frame"]["close"] == 1000),
        "the close is recorded"
    );
}

#[tokio::test]
async fn gateway_refusals_are_documented_and_reveal_no_key() {
    let h = harness().await;
    let path = "/jodowidgetapi/v2/sessions";
    let cases: Vec<(Option<&str>, Vec<u8>, u16, &str)> = vec![
        (
            Some("https://host.test"),
            json!({"akey": "jodo-dev-akey", "skey": "wrong-skey-123"})
                .to_string()
                .into_bytes(),
            401,
            "bad_keys",
        ),
        (
            Some("https://evil.test"),
            json!({"akey": "jodo-dev-akey", "skey": "jodo-dev-skey"})
                .to_string()
                .into_bytes(),
            403,
            "origin_not_allowed",
        ),
        (
            None,
            json!({"akey": "jodo-dev-akey", "skey": "jodo-dev-skey"})
                .to_string()
                .into_bytes(),
            403,
            "origin_not_allowed",
        ),
        (
            Some("https://host.test"),
            b"{not json".to_vec(),
            400,
            "bad_request",
        ),
        (
            Some("https://host.test"),
            json!({"akey": "jodo-dev-akey", "skey": 7})
                .to_string()
                .into_bytes(),
            400,
            "bad_request",
        ),
        (
            Some("https://host.test"),
            vec![b' '; 70 * 1024],
            413,
            "too_large",
        ),
        // Past the 2 MiB the HTTP layer used to buffer first: the same
        // documented JSON error, not its plain-text 413.
        (
            Some("https://host.test"),
            vec![b' '; 3 * 1024 * 1024],
            413,
            "too_large",
        ),
    ];
    for (origin, body, status, code) in cases {
        let (got, text) = h.https("POST", path, origin, &body).await;
        assert_eq!(got, status, "{text}");
        let error: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            h.schemas
                .validate("wire/error-response.schema.json", &error),
            vec![]
        );
        assert_eq!(error["error"]["code"], code);
        assert!(
            !text.contains("jodo-dev") && !text.contains("wrong-skey"),
            "a key leaked: {text}"
        );
    }
}

#[tokio::test]
async fn channel_tokens_are_single_use_and_origin_checked() {
    let h = harness().await;
    let created = h.create_session().await;
    let url = created["websocket"].as_str().unwrap();
    assert!(
        h.connect(url, "https://evil.test").await.is_err(),
        "foreign origin refused"
    );
    let _first = h
        .connect(url, "https://host.test")
        .await
        .expect("first use works");
    let again = h.connect(url, "https://host.test").await;
    assert!(
        matches!(again, Err(tokio_tungstenite::tungstenite::Error::Http(ref r)) if r.status() == 401),
        "{again:?}"
    );
    let bogus = url.split("token=").next().unwrap().to_owned() + "token=nope";
    assert!(h.connect(&bogus, "https://host.test").await.is_err());
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_the_channel_survives() {
    let h = harness().await;
    let (mut ws, _) = h.open().await;
    h.next(&mut ws).await; // welcome
    h.next(&mut ws).await; // allocated
    let refusals: Vec<(Message, &str)> = vec![
        (Message::text("{not json"), "bad_frame"),
        (Message::text(r#"{"hello": 1}"#), "bad_frame"),
        (
            client_frame("chat.nope", 1, "x1", json!({})),
            "invalid_frame",
        ),
        (
            client_frame(
                "event",
                1,
                "x2",
                json!({"media": "chat", "eventtype": "typing"}),
            ),
            "unexpected_kind",
        ),
        (
            client_frame("chat.send", 1, "x3", json!({"text": ""})),
            "invalid_frame",
        ),
        (Message::binary(vec![1, 2, 3]), "binary_not_supported"),
    ];
    for (message, code) in refusals {
        ws.send(message).await.unwrap();
        let frame = h.next(&mut ws).await;
        assert_eq!(frame["kind"], "error");
        assert_eq!(frame["data"]["code"], code);
    }
    // A valid frame still works after all that.
    ws.send(client_frame(
        "chat.send",
        1,
        "ok1",
        json!({"text": "still here"}),
    ))
    .await
    .unwrap();
    let ack = h.next(&mut ws).await;
    assert_eq!(ack["data"]["eventtype"], "messagedeliveredack");
    for _ in 0..3 {
        h.next(&mut ws).await;
    }
    // Replay of a used messageid is refused, and not acted on.
    ws.send(client_frame(
        "chat.send",
        2,
        "ok1",
        json!({"text": "again"}),
    ))
    .await
    .unwrap();
    let replay = h.next(&mut ws).await;
    assert_eq!(replay["data"]["code"], "replayed_messageid");
    // A gap is reported, then the frame is processed.
    ws.send(client_frame("chat.send", 5, "ok2", json!({"text": "gap"})))
        .await
        .unwrap();
    let gap = h.next(&mut ws).await;
    assert_eq!(gap["data"]["code"], "sequence_gap");
    assert_eq!(gap["data"]["reason"], "expected seq 2, got 5");
    assert_eq!(h.next(&mut ws).await["data"]["refmessageid"], "ok2");
}

#[tokio::test]
async fn plain_http_on_the_tls_port_is_refused() {
    let h = harness().await;
    let mut tcp = TcpStream::connect(h.addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut raw)).await;
    assert!(
        !String::from_utf8_lossy(&raw).contains("200 OK"),
        "plain HTTP was served"
    );
    // The server is still up for TLS clients.
    assert_eq!(h.https("GET", "/healthz", None, b"").await.0, 200);
}

/// A dropped session is resumed over a new channel with the secret of its
/// latest welcome: same session, seq and replay memory carried over. A live
/// session, an outdated secret and a session that ended are refused.
#[tokio::test]
async fn a_dropped_session_resumes_with_its_latest_secret_only() {
    let h = harness().await;
    let (mut ws, created) = h.open().await;
    let welcome = h.next(&mut ws).await;
    let first_secret = welcome["data"]["resume"].as_str().unwrap().to_owned();
    h.next(&mut ws).await; // allocated, seq 2
    let base = created["websocket"]
        .as_str()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let resume_url = |secret: &str| format!("{base}?resume={secret}");
    let status_of = |r: Result<common::Socket, tokio_tungstenite::tungstenite::Error>| match r {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
        Err(e) => panic!("not an HTTP refusal: {e}"),
        Ok(_) => 101,
    };
    // Still open: nothing to resume.
    let live = h
        .connect(&resume_url(&first_secret), "https://host.test")
        .await;
    assert_eq!(status_of(live), 409);
    let unknown = h
        .connect(&resume_url(&"0".repeat(48)), "https://host.test")
        .await;
    assert_eq!(status_of(unknown), 401);
    let foreign = h
        .connect(&resume_url(&first_secret), "https://evil.test")
        .await;
    assert_eq!(status_of(foreign), 403);

    ws.send(client_frame("chat.send", 1, "r1", json!({"text": "hi"})))
        .await
        .unwrap();
    for _ in 0..4 {
        h.next(&mut ws).await; // deliveredack, readack, typing, received: seq 3..=6
    }
    // The connection goes without a close frame.
    drop(ws);
    let mut resumed = None;
    for _ in 0..50 {
        match h
            .connect(&resume_url(&first_secret), "https://host.test")
            .await
        {
            Ok(socket) => {
                resumed = Some(socket);
                break;
            }
            Err(e) => {
                assert_eq!(status_of(Err(e)), 409, "refused otherwise");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    let mut ws = resumed.expect("the session resumed within a second");
    let welcome = h.next(&mut ws).await;
    assert_eq!(welcome["kind"], "welcome");
    assert_eq!(welcome["seq"], 7, "seq continues: {welcome}");
    assert_eq!(welcome["data"]["resumed"], true);
    assert_eq!(welcome["data"]["systemcallid"], created["systemcallid"]);
    let second_secret = welcome["data"]["resume"].as_str().unwrap().to_owned();
    assert_ne!(second_secret, first_secret);

    // The replay memory came along: r1 is refused, r2 goes through, and the
    // client's seq continues without a gap.
    ws.send(client_frame("chat.send", 2, "r1", json!({"text": "again"})))
        .await
        .unwrap();
    let refused = h.next(&mut ws).await;
    assert_eq!(refused["data"]["code"], "replayed_messageid", "{refused}");
    // (A refused replay does not use up a seq.)
    ws.send(client_frame("chat.send", 2, "r2", json!({"text": "new"})))
        .await
        .unwrap();
    let ack = h.next(&mut ws).await;
    assert_eq!(ack["data"]["eventtype"], "messagedeliveredack", "{ack}");
    assert_eq!(ack["data"]["refmessageid"], "r2");

    // The first secret is spent by the second welcome.
    let outdated = h
        .connect(&resume_url(&first_secret), "https://host.test")
        .await;
    assert_eq!(status_of(outdated), 401);

    // A session the visitor ended cannot be resumed.
    ws.send(client_frame("session.end", 3, "r3", json!({})))
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Close(_))) | None) => break,
            Ok(Some(Ok(_))) => {}
            other => panic!("expected the close, got {other:?}"),
        }
    }
    drop(ws);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let ended = h
        .connect(&resume_url(&second_secret), "https://host.test")
        .await;
    assert_eq!(status_of(ended), 409);
}

/// CORS on the session API follows the Origin allowlist: an allowed page's
/// preflight is granted and its answers (errors too) are readable; another
/// origin's preflight gets no grant. The control API grants nobody.
#[tokio::test]
async fn the_session_api_grants_cors_to_allowed_origins_only() {
    let h = harness().await;
    let preflight = |origin: &'static str, path: &'static str| {
        let h = &h;
        async move {
            h.https_with(
                "OPTIONS",
                path,
                &[
                    ("Origin", origin),
                    ("Access-Control-Request-Method", "POST"),
                    ("Access-Control-Request-Headers", "content-type"),
                ],
                b"",
            )
            .await
        }
    };
    let sessions = "/jodowidgetapi/v2/sessions";
    let (_, head, _) = preflight("https://host.test", sessions).await;
    assert!(
        head.contains("access-control-allow-origin: https://host.test"),
        "{head}"
    );
    assert!(
        head.contains("access-control-allow-methods: post"),
        "{head}"
    );
    let (_, head, _) = preflight("https://evil.test", sessions).await;
    assert!(!head.contains("access-control-allow-origin"), "{head}");
    let (_, head, _) = preflight("https://host.test", "/control/v1/scenario").await;
    assert!(!head.contains("access-control-allow-origin"), "{head}");
    // A refused session request from an allowed page is still readable there.
    let (status, head, body) = h
        .https_with(
            "POST",
            sessions,
            &[("Origin", "https://host.test")],
            br#"{"akey": "wrong", "skey": "wrong"}"#,
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert!(
        head.contains("access-control-allow-origin: https://host.test"),
        "{head}"
    );
}

/// A widget that closes the channel gets the answering Close frame RFC 6455
/// asks for, with its own code, not a dropped connection (1006).
#[tokio::test]
async fn a_close_from_the_widget_is_answered() {
    let h = harness().await;
    let (mut ws, _) = h.open().await;
    h.next(&mut ws).await; // welcome
    ws.send(Message::Close(Some(
        tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: CloseCode::Away,
            reason: "visitor left".into(),
        },
    )))
    .await
    .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => break Some(frame),
                Some(Ok(_)) => continue,
                _ => break None,
            }
        }
    })
    .await
    .expect("an answer within 5 s");
    let frame = answer.expect("a Close frame, not a dropped connection");
    assert_eq!(
        frame.map(|f| u16::from(f.code)),
        Some(1001),
        "the client's code is echoed"
    );
}

/// A client silent after TLS, or trickling its headers, is disconnected
/// once its time-out passes; a prompt client on the same mock is
/// served, and a WebSocket quiet for longer than it stays open.
#[tokio::test]
async fn silent_or_trickling_clients_are_dropped_after_the_header_timeout() {
    let h = harness_with(|c| jodo_mock::MockConfig {
        header_timeout: Duration::from_millis(300),
        silent_timeout: Duration::from_millis(300),
        ..c
    })
    .await;
    let (mut quiet_socket, _) = h.open().await;
    h.next(&mut quiet_socket).await; // welcome
    let mut silent = h.tls_connection().await;
    let mut trickling = h.tls_connection().await;
    trickling
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    for (name, conn) in [("trickling", &mut trickling), ("silent", &mut silent)] {
        let mut rest = Vec::new();
        let closed =
            tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "the {name} connection was closed");
        assert!(!String::from_utf8_lossy(&rest).contains("200 OK"));
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(h.https("GET", "/healthz", None, b"").await.0, 200);
    // The channel, quiet all this time, still carries frames.
    quiet_socket
        .send(client_frame(
            "chat.send",
            1,
            "q1",
            json!({"text": "still here?"}),
        ))
        .await
        .unwrap();
    let answer = h.next(&mut quiet_socket).await;
    assert_ne!(answer["kind"], "error", "{answer}");
}

/// Sessions open at once are bounded, in all and per key: one more is
/// refused with the documented 503 `too_many_sessions`, and a session that
/// ends makes room again.
#[tokio::test]
async fn open_sessions_are_bounded_in_all_and_per_key() {
    let request = json!({"akey": "jodo-dev-akey", "skey": "jodo-dev-skey"}).to_string();
    for (bound, whose) in [
        (
            jodo_mock::OpenSessions {
                total: 2,
                per_key: 5,
            },
            "in all",
        ),
        (
            jodo_mock::OpenSessions {
                total: 5,
                per_key: 2,
            },
            "for this key",
        ),
    ] {
        let h = harness_with(|c| jodo_mock::MockConfig {
            open_sessions: bound,
            ..c
        })
        .await;
        let (mut first, _) = h.open().await;
        h.next(&mut first).await; // welcome: the channel is live
        h.create_session().await; // a token not yet spent
        let refused = || async {
            h.https(
                "POST",
                "/jodowidgetapi/v2/sessions",
                Some("https://host.test"),
                request.as_bytes(),
            )
            .await
        };
        let (status, body) = refused().await;
        assert_eq!(status, 503, "{body}");
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            h.schemas
                .validate("wire/error-response.schema.json", &error),
            vec![]
        );
        assert_eq!(error["error"]["code"], "too_many_sessions");
        assert!(body.contains(whose), "{body}");
        // The live one ends: room for one more.
        first
            .send(client_frame("session.end", 1, "e1", json!({})))
            .await
            .unwrap();
        let started = std::time::Instant::now();
        loop {
            let (status, body) = refused().await;
            if status == 201 {
                break;
            }
            assert_eq!(status, 503, "{body}");
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "no room after the end"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
