//! The control API over real TLS: its OpenAPI description is valid, and
//! each operation steers a live session or refuses clearly.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{client_frame, harness};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[test]
fn openapi_description_is_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    assert!(
        root.join("tools/contract-check/node_modules/@apidevtools/swagger-parser")
            .is_dir(),
        "the OpenAPI parser is not installed; run scripts/install-deps"
    );
    let out = Command::new("node")
        .arg(root.join("tools/contract-check/openapi.mjs"))
        .arg(root.join("schemas/control-api.openapi.yaml"))
        .output()
        .expect("node runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("valid OpenAPI 3.1.0"), "{text}");
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn inject_events_faults_and_triggers_into_a_live_session() {
    let h = harness().await;
    let (mut ws, created) = h.open().await;
    let id = created["sessionid"].as_str().unwrap();
    h.next(&mut ws).await; // welcome
    h.next(&mut ws).await; // allocated
    let post = |path: String, body: Value| {
        let h = &h;
        async move {
            h.https("POST", &path, None, body.to_string().as_bytes())
                .await
        }
    };
    // A valid server event goes through.
    let (status, _) = post(
        format!("/control/v1/sessions/{id}/events"),
        json!({"media": "chat", "eventtype": "systemmessage", "msg": "hello"}),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(h.next(&mut ws).await["data"]["eventtype"], "systemmessage");
    // An invalid one is refused unless unchecked.
    let bad = json!({"media": "livekit", "eventtype": "audioRequest", "type": 999});
    let (status, body) = post(format!("/control/v1/sessions/{id}/events"), bad.clone()).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        parse(&body)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/data/type"),
        "{body}"
    );
    let (status, _) = post(
        format!("/control/v1/sessions/{id}/events?unchecked=true"),
        bad,
    )
    .await;
    assert_eq!(status, 202);
    let frame: Value = match ws.next().await.unwrap().unwrap() {
        Message::Text(t) => parse(&t),
        other => panic!("{other:?}"),
    };
    assert_eq!(frame["data"]["type"], 999);
    // Faults: a gap, then a malformed frame.
    assert_eq!(
        post(
            format!("/control/v1/sessions/{id}/faults"),
            json!({"skip_seq": 3})
        )
        .await
        .0,
        202
    );
    assert_eq!(
        post(
            format!("/control/v1/sessions/{id}/events"),
            json!({"media": "chat", "eventtype": "typing"})
        )
        .await
        .0,
        202
    );
    let after_gap = h.next(&mut ws).await;
    assert_eq!(
        after_gap["seq"].as_u64().unwrap(),
        frame["seq"].as_u64().unwrap() + 4
    );
    assert_eq!(
        post(
            format!("/control/v1/sessions/{id}/faults"),
            json!({"raw": "{oops"})
        )
        .await
        .0,
        202
    );
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("{oops"));
    // A jump past the scenario schema's maximum is refused, not applied
    // (it once overflowed the sequence arithmetic of the session's task).
    for n in [0u64, 1001, u64::MAX] {
        let (status, body) = post(
            format!("/control/v1/sessions/{id}/faults"),
            json!({"skip_seq": n}),
        )
        .await;
        assert_eq!(status, 400, "skip_seq {n}: {body}");
        assert!(body.contains("out of range"), "{body}");
    }
    // Not a fault.
    let (status, body) = post(
        format!("/control/v1/sessions/{id}/faults"),
        json!({"incr": "x"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(parse(&body)["error"]["code"], "bad_fault");
    // A trigger the scenario does not know is refused, naming those it
    // has; the session lives on.
    let (status, body) = post(
        format!("/control/v1/sessions/{id}/triggers/nothing"),
        json!({}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(parse(&body)["error"]["code"], "unknown_trigger");
    assert!(body.contains(r#"trigger \"nothing\""#), "{body}");
    // Listing and detail.
    let (status, body) = h.https("GET", "/control/v1/sessions", None, b"").await;
    assert_eq!(status, 200);
    assert!(
        parse(&body)["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == id && s["live"] == true)
    );
    // Dropping: the client sees the connection end without a close frame.
    assert_eq!(
        post(format!("/control/v1/sessions/{id}/faults"), json!("drop"))
            .await
            .0,
        202
    );
    let end = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap();
    assert!(!matches!(end, Some(Ok(Message::Close(_)))), "{end:?}");
    // A session without a channel is a conflict, an unknown one is not found.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, body) = post(
        format!("/control/v1/sessions/{id}/events"),
        json!({"media": "chat", "eventtype": "typing"}),
    )
    .await;
    assert_eq!(
        (status, parse(&body)["error"]["code"].as_str().unwrap()),
        (409, "session_not_live")
    );
    for path in [
        "/control/v1/sessions/nope",
        "/control/v1/sessions/nope/transcript",
    ] {
        let (status, body) = h.https("GET", path, None, b"").await;
        assert_eq!(
            (status, parse(&body)["error"]["code"].as_str().unwrap()),
            (404, "unknown_session")
        );
    }
    let (status, _) = post("/control/v1/sessions/nope/triggers/x".into(), json!({})).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn scenario_choice_and_hints() {
    let h = harness().await;
    let (status, body) = h.https("GET", "/control/v1/scenarios", None, b"").await;
    assert_eq!(status, 200);
    assert!(parse(&body)["scenarios"].as_array().unwrap().len() >= 30);
    let (status, body) = h
        .https(
            "PUT",
            "/control/v1/scenario",
            None,
            br#"{"name": "notallocated"}"#,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (mut ws, _) = h.open().await;
    h.next(&mut ws).await;
    assert_eq!(h.next(&mut ws).await["data"]["eventtype"], "notallocated");
    let (status, body) = h
        .https("PUT", "/control/v1/scenario", None, br#"{"name": "nope"}"#)
        .await;
    assert_eq!(
        (status, parse(&body)["error"]["code"].as_str().unwrap()),
        (404, "unknown_scenario")
    );
    let (status, _) = h
        .https("PUT", "/control/v1/scenario", None, b"{not json")
        .await;
    assert_eq!(status, 400);
    let hint = json!({"akey": "jodo-dev-akey", "skey": "jodo-dev-skey", "init": {"name": "scenario:no-such"}});
    let (status, body) = h
        .https(
            "POST",
            "/jodowidgetapi/v2/sessions",
            Some("https://host.test"),
            hint.to_string().as_bytes(),
        )
        .await;
    assert_eq!(
        (status, parse(&body)["error"]["code"].as_str().unwrap()),
        (400, "unknown_scenario")
    );
}

#[tokio::test]
async fn floods_and_oversized_frames_are_refused_and_others_are_unaffected() {
    let h = harness().await;
    // The development key allows 50 chat messages a second: a flood of 200
    // gets rate_limited errors for the excess, never a crash. (A scenario
    // that answers without delays, so the flood is really that fast.)
    let (status, _) = h
        .https(
            "PUT",
            "/control/v1/scenario",
            None,
            br#"{"name": "chat-extras"}"#,
        )
        .await;
    assert_eq!(status, 200);
    let (mut ws, _) = h.open().await;
    h.next(&mut ws).await;
    h.next(&mut ws).await;
    for seq in 1..=200u64 {
        ws.send(client_frame(
            "chat.send",
            seq,
            &format!("f{seq}"),
            json!({"text": "spam"}),
        ))
        .await
        .unwrap();
    }
    let mut limited = 0;
    let mut acked = 0;
    while let Ok(Some(Ok(Message::Text(t)))) =
        tokio::time::timeout(Duration::from_millis(500), ws.next()).await
    {
        let f = parse(&t);
        if f["data"]["code"] == "rate_limited" {
            limited += 1;
        } else if f["data"]["eventtype"] == "messagedeliveredack" {
            acked += 1;
        }
    }
    assert!(limited >= 100, "{limited} refused, {acked} acknowledged");
    assert!(acked >= 40, "{limited} refused, {acked} acknowledged");
    // A frame over 64 KiB ends that channel...
    let (mut big, _) = h.open().await;
    h.next(&mut big).await;
    h.next(&mut big).await;
    let huge = "x".repeat(70 * 1024);
    let _ = big
        .send(client_frame("chat.send", 1, "b1", json!({"text": huge})))
        .await;
    let end = tokio::time::timeout(Duration::from_secs(5), big.next())
        .await
        .unwrap();
    assert!(!matches!(end, Some(Ok(Message::Text(_)))), "{end:?}");
    // ...and a fresh session still works.
    let (mut fresh, _) = h.open().await;
    assert_eq!(h.next(&mut fresh).await["kind"], "welcome");
    // Session creation is limited per key too (300 a minute by default).
    let body = json!({"akey": "jodo-dev-akey", "skey": "jodo-dev-skey"}).to_string();
    let mut statuses = Vec::new();
    for _ in 0..320 {
        statuses.push(
            h.https(
                "POST",
                "/jodowidgetapi/v2/sessions",
                Some("https://host.test"),
                body.as_bytes(),
            )
            .await
            .0,
        );
    }
    assert!(
        statuses.contains(&429),
        "no 429 among {} creations",
        statuses.len()
    );
    assert_eq!(
        statuses.iter().filter(|s| **s != 201 && **s != 429).count(),
        0
    );
}

/// The preload script and the widget build are revalidated, not re-downloaded: an
/// unchanged script answers 304 to its ETag, so browsers keep its compiled
/// code between page loads, and any change is seen on the next load.
#[tokio::test]
async fn scripts_carry_an_etag_and_answer_304_when_unchanged() {
    let h = harness().await;
    for path in [jodo_mock::PRELOAD_PATH, jodo_mock::WIDGET_PATH] {
        let (status, head, body) = h.https_with("GET", path, &[], b"").await;
        assert_eq!(status, 200, "{path}: {head}");
        assert!(!body.is_empty(), "{path}");
        assert!(head.contains("cache-control: no-cache"), "{path}: {head}");
        let etag = head
            .lines()
            .find_map(|l| l.strip_prefix("etag: "))
            .unwrap_or_else(|| panic!("{path}: no ETag in {head}"))
            .to_owned();
        let (status, _, body) = h
            .https_with("GET", path, &[("If-None-Match", etag.as_str())], b"")
            .await;
        assert_eq!((status, body.as_str()), (304, ""), "{path}");
        let (status, _, _) = h
            .https_with("GET", path, &[("If-None-Match", "\"stale\"")], b"")
            .await;
        assert_eq!(status, 200, "{path}: a stale tag gets the script");
    }
}

/// What a page the developer visits could send (measured before: a
/// cross-site text/plain POST to a trigger got 202, a PUT of the scenario
/// from a foreign Origin 200) is refused, and what a script sends is not.
#[tokio::test]
async fn a_foreign_page_cannot_steer_the_mock() {
    let h = harness().await;
    let (mut ws, created) = h.open().await;
    let id = created["sessionid"].as_str().unwrap().to_owned();
    h.next(&mut ws).await; // welcome
    let host = format!("Host: {}", h.addr);
    let code = |(status, body): (u16, String)| {
        (
            status,
            parse(&body)["error"]["code"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        )
    };
    let trigger = format!("POST /control/v1/sessions/{id}/triggers/agent_joins HTTP/1.1\r\n{host}");
    // A form or a no-preflight fetch from another site.
    let answer = h
        .https_raw(
            &format!("{trigger}\r\nOrigin: https://evil.example\r\nContent-Type: text/plain"),
            b"{}",
        )
        .await;
    assert_eq!(code(answer), (403, "foreign_origin".into()));
    // The same without an Origin still needs JSON.
    let answer = h
        .https_raw(&format!("{trigger}\r\nContent-Type: text/plain"), b"{}")
        .await;
    assert_eq!(code(answer), (415, "unsupported_media_type".into()));
    // A foreign Origin with JSON (what a preflight would have allowed).
    let answer = h
        .https_raw(
            &format!(
                "PUT /control/v1/scenario HTTP/1.1\r\n{host}\r\nOrigin: https://evil.example\r\nContent-Type: application/json"
            ),
            br#"{"name": "queued"}"#,
        )
        .await;
    assert_eq!(code(answer), (403, "foreign_origin".into()));
    // A rebound name: the page's own origin, addressed to the mock's port.
    let answer = h
        .https_raw(
            "GET /control/v1/sessions HTTP/1.1\r\nHost: rebound.example:8443",
            b"",
        )
        .await;
    assert_eq!(code(answer), (403, "foreign_host".into()));
    // The mock's own page, and a script without an Origin, may.
    let own = format!("Origin: https://{}", h.addr);
    let (status, body) = h
        .https_raw(
            &format!("PUT /control/v1/scenario HTTP/1.1\r\n{host}\r\n{own}\r\nContent-Type: application/json"),
            br#"{"name": "allocated"}"#,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = h
        .https_raw(
            &format!("GET /control/v1/sessions/{id} HTTP/1.1\r\n{host}"),
            b"",
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_control_token_is_asked_of_every_request() {
    let h = common::harness_with(|config| jodo_mock::MockConfig {
        control_token: Some("s3cret-token".into()),
        ..config
    })
    .await;
    assert_eq!(
        h.mock.as_ref().unwrap().control_token(),
        Some("s3cret-token")
    );
    let (status, head, body) = h.https_with("GET", "/control/v1/sessions", &[], b"").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(parse(&body)["error"]["code"], "unauthorized");
    assert!(head.contains("www-authenticate: bearer"), "{head}");
    assert!(
        !body.contains("s3cret"),
        "the refusal shows the token: {body}"
    );
    let wrong = [("Authorization", "Bearer s3cret-tokex")];
    assert_eq!(
        h.https_with("GET", "/control/v1/sessions", &wrong, b"")
            .await
            .0,
        401
    );
    let right = [("Authorization", "Bearer s3cret-token")];
    let (status, _, body) = h
        .https_with("GET", "/control/v1/sessions", &right, b"")
        .await;
    assert_eq!(status, 200, "{body}");
    // The session API, which widgets call, does not need it.
    let created = h.create_session().await;
    let id = created["sessionid"].as_str().unwrap();
    // Every control operation asks for it, the console's stream included.
    for (method, path) in [
        ("GET", format!("/control/v1/sessions/{id}")),
        ("GET", format!("/control/v1/sessions/{id}/transcript")),
        ("GET", format!("/control/v1/sessions/{id}/stream")),
        ("POST", format!("/control/v1/sessions/{id}/reply")),
        ("POST", format!("/control/v1/sessions/{id}/events")),
        ("POST", format!("/control/v1/sessions/{id}/faults")),
        ("POST", format!("/control/v1/sessions/{id}/triggers/x")),
        ("GET", "/control/v1/server-events".to_owned()),
        ("GET", "/control/v1/scenarios".to_owned()),
        ("PUT", "/control/v1/scenario".to_owned()),
    ] {
        let (status, _, body) = h.https_with(method, &path, &[], b"{}").await;
        assert_eq!(status, 401, "{method} {path}: {body}");
    }
    let (status, _, body) = h
        .https_with("GET", "/control/v1/server-events", &right, b"")
        .await;
    assert_eq!(status, 200, "{body}");
    // The console's page holds no data: it is served, and asks for the
    // token when the API refuses it; none of its files carries a key.
    for file in ["/console", "/console/console.js", "/console/console.css"] {
        let (status, _, body) = h.https_with("GET", file, &[], b"").await;
        assert_eq!(status, 200, "{file}");
        assert!(!body.contains("jodo-dev-akey") && !body.contains("jodo-dev-skey"));
    }
}

/// Reads from `tls` until `needle` has appeared in what came, or 5 s.
async fn read_until(
    tls: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    seen: &mut String,
    needle: &str,
) -> bool {
    use tokio::io::AsyncReadExt;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 4096];
    while !seen.contains(needle) {
        match tokio::time::timeout_at(deadline, tls.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            _ => return false,
        }
    }
    true
}

#[tokio::test]
async fn the_stream_shows_every_frame_as_it_goes_and_a_reply_reaches_the_widget() {
    let h = harness().await;
    let (mut ws, created) = h.open().await;
    let id = created["sessionid"].as_str().unwrap().to_owned();
    h.next(&mut ws).await; // welcome
    h.next(&mut ws).await; // allocated

    // The frames so far come first, numbered from 0.
    let mut stream = h
        .request_open(&format!("/control/v1/sessions/{id}/stream"))
        .await;
    let mut seen = String::new();
    assert!(
        read_until(&mut stream, &mut seen, "\"allocated\"").await,
        "{seen}"
    );
    assert!(seen.contains("text/event-stream"), "{seen}");
    assert!(seen.contains("event: frame\nid: 0\n"), "{seen}");

    // A reply goes to the widget as chat/messagereceived, and the stream
    // shows it as it is sent.
    let (status, body) = h
        .https(
            "POST",
            &format!("/control/v1/sessions/{id}/reply"),
            None,
            br#"{"text": "Hello from a person", "sender": "Ines"}"#,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let frame = h.next(&mut ws).await;
    assert_eq!(frame["data"]["eventtype"], "messagereceived");
    assert_eq!(frame["data"]["msg"], "Hello from a person");
    assert_eq!(frame["data"]["sender"], "Ines");
    assert!(
        read_until(&mut stream, &mut seen, "Hello from a person").await,
        "{seen}"
    );

    // A visitor frame shows up too, in order.
    ws.send(client_frame(
        "chat.send",
        1,
        "v-1",
        json!({"text": "and one from the visitor"}),
    ))
    .await
    .unwrap();
    assert!(
        read_until(&mut stream, &mut seen, "and one from the visitor").await,
        "{seen}"
    );

    // Taken up again from a frame number, nothing earlier comes back.
    let mut again = h
        .request_open(&format!("/control/v1/sessions/{id}/stream?from=2"))
        .await;
    let mut resumed = String::new();
    assert!(
        read_until(&mut again, &mut resumed, "and one from the visitor").await,
        "{resumed}"
    );
    assert!(
        !resumed.contains("id: 0\n") && !resumed.contains("id: 1\n"),
        "{resumed}"
    );
    assert!(resumed.contains("id: 2\n"), "{resumed}");

    // An empty reply, and one for a session that does not exist, are refused.
    let (status, body) = h
        .https(
            "POST",
            &format!("/control/v1/sessions/{id}/reply"),
            None,
            br#"{"text": "   "}"#,
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(parse(&body)["error"]["code"], "invalid_reply");
    let (status, body) = h
        .https("GET", "/control/v1/sessions/nope/stream", None, b"")
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(parse(&body)["error"]["code"], "unknown_session");
}

#[tokio::test]
async fn the_server_events_come_from_the_catalogue_with_their_schemas() {
    let h = harness().await;
    let (status, body) = h.https("GET", "/control/v1/server-events", None, b"").await;
    assert_eq!(status, 200, "{body}");
    let answer = parse(&body);
    let keys: Vec<&str> = answer["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    let catalog = jodo_contract::Catalog::embedded().unwrap();
    let server: Vec<String> = catalog
        .events
        .iter()
        .filter(|e| e.source.contains(&jodo_contract::catalog::Source::Server))
        .map(|e| e.key())
        .collect();
    assert_eq!(keys, server);
    for e in answer["events"].as_array().unwrap() {
        assert_eq!(e["schema"]["x-catalog"], e["key"], "{e}");
    }
    assert_eq!(
        answer["status_codes"].as_array().unwrap().len(),
        catalog.status_codes.len()
    );
}

#[tokio::test]
async fn the_console_is_served_with_a_strict_policy_and_only_to_its_own_name() {
    let h = harness().await;
    let (status, head, body) = h.https_with("GET", "/console", &[], b"").await;
    assert_eq!(status, 200);
    assert!(body.contains("/console/console.js"), "{body}");
    assert!(
        head.contains("content-security-policy: default-src 'none'; script-src 'self'"),
        "{head}"
    );
    let (status, _, _) = h.https_with("GET", "/console/console.js", &[], b"").await;
    assert_eq!(status, 200);
    let (status, _, _) = h.https_with("GET", "/console/nothing.txt", &[], b"").await;
    assert_eq!(status, 404);
    let (status, body) = h
        .https_raw("GET /console HTTP/1.1\r\nHost: rebound.example:8443", b"")
        .await;
    assert_eq!(status, 403, "{body}");
}
