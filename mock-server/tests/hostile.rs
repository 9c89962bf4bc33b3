//! The hostile-input suite: the jodo-mock binary, as a user runs it, fed
//! what a hostile or broken client sends, class by class, with a fixed
//! seed. After each class a fresh legitimate session must complete a chat
//! round trip in under 2 s, the health check must answer, the mock's
//! resident memory must stay under [`RSS_BOUND_KIB`], and its stderr must
//! show no panic.
//!
//! `cargo test -p jodo-mock --test hostile -- --nocapture` prints the
//! figures (inputs, slowest check, peak memory).

mod common;

use std::time::{Duration, Instant};

use common::process::MockProcess;
use common::raw_ws::{RawChannel, encode, text};
use common::{Harness, client_frame};
use futures_util::SinkExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The seed every random input comes from, so a failure replays.
const SEED: u64 = 0x4a6f_646f_2018;

/// The most resident memory the mock may use at any check: about twice
/// what it uses with 1 000 sessions open (its documented bound).
const RSS_BOUND_KIB: u64 = 256 * 1024;

/// A fresh session must get through within this.
const LEGIT_BOUND: Duration = Duration::from_secs(2);

/// How long the mock may take to answer the health check.
const HEALTH_BOUND: Duration = Duration::from_secs(1);

const SESSIONS: &str = "/jodowidgetapi/v2/sessions";
const ORIGIN: &str = "https://host.test";

struct Suite {
    mock: MockProcess,
    rng: StdRng,
    inputs: usize,
    slowest_check: Duration,
    peak_rss_kib: u64,
    figures: Vec<String>,
}

impl Suite {
    fn h(&self) -> &Harness {
        &self.mock.h
    }

    /// The checks after a class of hostile input.
    async fn after(&mut self, class: &str, inputs: usize) {
        self.inputs += inputs;
        assert!(self.mock.alive(), "{class}: the mock died");
        let started = Instant::now();
        let (status, body) = self.h().https("GET", "/healthz", None, b"").await;
        let health = started.elapsed();
        assert_eq!((status, body.as_str()), (200, "ok"), "{class}");
        assert!(
            health < HEALTH_BOUND,
            "{class}: health check took {health:?}"
        );
        let started = Instant::now();
        tokio::time::timeout(LEGIT_BOUND, legitimate_session(self.h()))
            .await
            .unwrap_or_else(|_| panic!("{class}: a fresh session took over {LEGIT_BOUND:?}"));
        let legit = started.elapsed();
        let rss = self.mock.rss_kib();
        assert!(rss < RSS_BOUND_KIB, "{class}: the mock holds {rss} KiB");
        let stderr = self.mock.stderr();
        assert!(!stderr.contains("panicked"), "{class}: {stderr}");
        self.slowest_check = self.slowest_check.max(health).max(legit);
        self.peak_rss_kib = self.peak_rss_kib.max(rss);
        self.figures.push(format!(
            "{class:<28} {inputs:>6} inputs  health {health:>9.1?}  fresh session {legit:>9.1?}  rss {} KiB",
            rss
        ));
    }
}

/// A session a real widget would have: created, opened, a chat round trip.
async fn legitimate_session(h: &Harness) {
    let (mut ws, _) = h.open().await;
    assert_eq!(h.next(&mut ws).await["kind"], "welcome");
    h.next(&mut ws).await;
    ws.send(client_frame(
        "chat.send",
        1,
        "legit-1",
        json!({"text": "hi"}),
    ))
    .await
    .unwrap();
    let ack = h.next(&mut ws).await;
    assert_eq!(ack["data"]["eventtype"], "messagedeliveredack", "{ack}");
    let _ = ws.close(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_survives_every_class_of_hostile_input() {
    let keys = tempfile::NamedTempFile::new().unwrap();
    // The development keys without a session rate limit, so that the
    // classes that open many sessions meet the bound on open sessions.
    std::fs::write(
        keys.path(),
        r#"{"keys": [{"akey": "jodo-dev-akey", "skey": "jodo-dev-skey", "limits": {"sessions_per_minute": 0, "messages_per_second": 0}}]}"#,
    )
    .unwrap();
    let mock = MockProcess::start(&[
        "--keys",
        keys.path().to_str().unwrap(),
        "--allow-origin",
        ORIGIN,
        "--header-timeout-ms",
        "1000",
        "--silent-timeout-ms",
        "1000",
        "--write-timeout-ms",
        "1000",
    ]);
    let mut suite = Suite {
        mock,
        rng: StdRng::seed_from_u64(SEED),
        inputs: 0,
        slowest_check: Duration::ZERO,
        peak_rss_kib: 0,
        figures: Vec::new(),
    };
    suite.after("start", 0).await;
    let started = Instant::now();

    let n = session_api(&mut suite).await;
    suite.after("session API", n).await;
    let n = slow_and_garbage_connections(&mut suite).await;
    suite.after("slowloris, plain HTTP, garbage", n).await;
    let n = framing_violations(&mut suite).await;
    suite.after("WebSocket framing", n).await;
    let n = protocol_games(&mut suite).await;
    suite.after("frames, ids, sequences", n).await;
    let n = floods_and_resets(&mut suite).await;
    suite.after("pings, resets, reconnects", n).await;
    let n = slow_readers(&mut suite).await;
    suite.after("slow readers", n).await;
    let n = idle_sessions(&mut suite).await;
    suite.after("idle sessions", n).await;
    let n = control_api(&mut suite).await;
    suite.after("control API", n).await;

    eprintln!("hostile-input suite, seed {SEED:#x}:");
    for line in &suite.figures {
        eprintln!("  {line}");
    }
    eprintln!(
        "  {} inputs in {:.1?}; crashes 0, hangs 0; slowest check {:?}; peak RSS {} KiB",
        suite.inputs,
        started.elapsed(),
        suite.slowest_check,
        suite.peak_rss_kib
    );
}

/// Bad keys and Origins, malformed, oversized and mistyped bodies.
async fn session_api(s: &mut Suite) -> usize {
    let good = json!({"akey": "jodo-dev-akey", "skey": "jodo-dev-skey"});
    let mut bodies: Vec<(Vec<u8>, Option<&str>, u16)> = vec![
        (json!({}).to_string().into(), Some(ORIGIN), 400),
        (
            json!({"akey": "jodo-dev-akey"}).to_string().into(),
            Some(ORIGIN),
            400,
        ),
        (
            json!({"akey": "nope", "skey": "nope"}).to_string().into(),
            Some(ORIGIN),
            401,
        ),
        (
            json!({"akey": "jodo-dev-akey", "skey": "wrong"})
                .to_string()
                .into(),
            Some(ORIGIN),
            401,
        ),
        (
            json!({"akey": 5, "skey": [1]}).to_string().into(),
            Some(ORIGIN),
            400,
        ),
        (good.to_string().into(), Some("https://evil.test"), 403),
        (good.to_string().into(), None, 403),
        (good.to_string().into(), Some("null"), 403),
        (vec![b'{'; 70 * 1024], Some(ORIGIN), 413),
        (vec![b' '; 3 * 1024 * 1024], Some(ORIGIN), 413),
        (b"\xff\xfe\x00garbage".to_vec(), Some(ORIGIN), 400),
    ];
    for _ in 0..120 {
        let len = s.rng.random_range(0..600);
        let body: Vec<u8> = (0..len).map(|_| s.rng.random()).collect();
        bodies.push((body, Some(ORIGIN), 400));
    }
    let count = bodies.len();
    for (body, origin, expected) in bodies {
        let (status, answer) = s.h().https("POST", SESSIONS, origin, &body).await;
        assert_eq!(status, expected, "{answer}");
        let error: Value = serde_json::from_str(&answer)
            .unwrap_or_else(|_| panic!("a {status} without a JSON error: {answer}"));
        assert!(error["error"]["code"].is_string(), "{answer}");
    }
    count
}

/// Headers trickled byte by byte, plain HTTP and random bytes on the TLS
/// port, connections that never speak: each one is closed by the mock.
async fn slow_and_garbage_connections(s: &mut Suite) -> usize {
    let addr = s.h().addr;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let tls = s.h().tls_connection().await;
        tasks.push(tokio::spawn(async move {
            let mut tls = tls;
            let head = b"POST /jodowidgetapi/v2/sessions HTTP/1.1\r\nHost: x\r\n";
            // Trickle the headers (or say nothing at all): the header or
            // silence time-out closes the connection within a few seconds.
            let started = Instant::now();
            for byte in head.iter().take(if i % 2 == 0 { head.len() } else { 0 }) {
                if tls.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            let mut buf = [0u8; 256];
            let closed = tokio::time::timeout(Duration::from_secs(10), async {
                loop {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
            })
            .await;
            assert!(closed.is_ok(), "a slow connection was held open");
            started.elapsed()
        }));
    }
    let mut garbage = 0;
    for i in 0..60 {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let bytes: Vec<u8> = if i % 3 == 0 {
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()
        } else {
            let len = s.rng.random_range(1..4096);
            (0..len).map(|_| s.rng.random()).collect()
        };
        let _ = tcp.write_all(&bytes).await;
        let mut buf = [0u8; 1024];
        let ended = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(
            ended.is_ok(),
            "garbage on the TLS port kept the connection open"
        );
        garbage += 1;
    }
    for task in tasks {
        task.await.unwrap();
    }
    40 + garbage
}

/// Every framing violation closes the channel with its RFC 6455 code, and
/// the transcript records what the widget did.
async fn framing_violations(s: &mut Suite) -> usize {
    let mask = Some([1, 2, 3, 4]);
    let huge = {
        // A text frame declaring 2^62 bytes, followed by a few.
        let mut f = vec![0x81, 0x80 | 127];
        f.extend((1u64 << 62).to_be_bytes());
        f.extend([1, 2, 3, 4, b'x', b'y']);
        f
    };
    let endless = {
        let mut f = encode(false, 0, 1, mask, b"{");
        for _ in 0..300 {
            f.extend(encode(false, 0, 0, mask, b""));
        }
        f
    };
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("unmasked frame", encode(true, 0, 1, None, b"{}"), 1002),
        (
            "reserved data opcode",
            encode(true, 0, 3, mask, b"{}"),
            1002,
        ),
        (
            "reserved control opcode",
            encode(true, 0, 0xb, mask, b""),
            1002,
        ),
        (
            "RSV1 without an extension",
            encode(true, 4, 1, mask, b"{}"),
            1002,
        ),
        ("RSV3", encode(true, 1, 1, mask, b"{}"), 1002),
        ("oversized ping", encode(true, 0, 9, mask, &[0; 126]), 1002),
        ("fragmented ping", encode(false, 0, 9, mask, b"hi"), 1002),
        ("continuation first", encode(true, 0, 0, mask, b"{}"), 1002),
        (
            "text inside a fragmented message",
            [
                encode(false, 0, 1, mask, b"{"),
                encode(true, 0, 1, mask, b"}"),
            ]
            .concat(),
            1002,
        ),
        (
            "invalid UTF-8",
            encode(true, 0, 1, mask, b"{\"a\":\"\xff\xfe\"}"),
            1007,
        ),
        (
            "message over the size bound",
            encode(true, 0, 1, mask, &[b' '; 70_000]),
            1009,
        ),
        ("a declared 2^62-byte length", huge, 1009),
        ("endless fragments", endless, 1009),
    ];
    let count = cases.len();
    for (what, bytes, code) in cases {
        let (mut ch, created) = s.h().raw_channel().await;
        ch.until_kind("welcome", Duration::from_secs(5))
            .await
            .unwrap();
        // The mock may close before all of it is sent.
        let _ = ch.send(&bytes).await;
        let got = ch.close_code(Duration::from_secs(5)).await;
        assert_eq!(got, Some(code), "{what}");
        let id = created["sessionid"].as_str().unwrap();
        let transcript = transcript(s.h(), id).await;
        let frames = transcript["frames"].as_array().unwrap();
        assert!(
            frames.iter().any(|f| f["frame"]["violation"].is_string()),
            "{what}: {transcript}"
        );
        assert!(
            frames.iter().any(|f| f["frame"]["close"] == code),
            "{what}: {transcript}"
        );
    }
    count
}

async fn transcript(h: &Harness, id: &str) -> Value {
    let (status, body) = h
        .https(
            "GET",
            &format!("/control/v1/sessions/{id}/transcript"),
            None,
            b"",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Malformed and wrongly typed frames, replayed ids and sequence games:
/// each refused with an error frame, none acted on, the channel goes on.
async fn protocol_games(s: &mut Suite) -> usize {
    let (mut ch, _) = s.h().raw_channel().await;
    ch.until_kind("welcome", Duration::from_secs(5))
        .await
        .unwrap();
    let mut frames: Vec<String> = vec![
        "{not json".into(),
        "[]".into(),
        "null".into(),
        "\"chat.send\"".into(),
        json!({"kind": 5, "seq": "1", "messageid": [], "data": 1}).to_string(),
        json!({"kind": "chat.send", "seq": -1, "messageid": "g1", "data": {"text": "x"}}).to_string(),
        json!({"kind": "chat.send", "seq": 1.5, "messageid": "g2", "data": {"text": "x"}}).to_string(),
        json!({"kind": "chat.send", "seq": u64::MAX, "messageid": "g3", "data": {"text": "x"}}).to_string(),
        json!({"kind": "chat.send", "seq": 1, "messageid": "", "data": {"text": "x"}}).to_string(),
        json!({"kind": "chat.send", "seq": 1, "messageid": "g4", "data": {"text": 7}}).to_string(),
        json!({"kind": "session.end", "seq": 0, "messageid": "g5", "data": {}}).to_string(),
        json!({"kind": "chat.send", "seq": 1, "messageid": "g6", "data": {"text": "x".repeat(5000)}}).to_string(),
        json!({"kind": "x".repeat(3000), "seq": 1, "messageid": "g7", "data": {}}).to_string(),
    ];
    for _ in 0..300 {
        frames.push(random_json(&mut s.rng, 3).to_string());
    }
    let count = frames.len();
    for frame in &frames {
        ch.send(&text(frame)).await.unwrap();
    }
    // Every one of them got an error frame (or, for the huge sequence
    // number, a gap report), and the channel is still open.
    ch.send_frame("chat.send", 2, "after-games", json!({"text": "still here"}))
        .await;
    let ack = loop {
        let frame = ch
            .until_kind("event", Duration::from_secs(10))
            .await
            .expect("the channel survived the games");
        if frame["data"]["refmessageid"] == "after-games" {
            break frame;
        }
    };
    assert_eq!(ack["data"]["eventtype"], "messagedeliveredack");
    // A replayed id is refused and not acted on.
    ch.send_frame("chat.send", 3, "after-games", json!({"text": "again"}))
        .await;
    let refused = ch
        .until_kind("error", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(refused["data"]["code"], "replayed_messageid", "{refused}");
    count + 2
}

/// Random JSON of bounded depth.
fn random_json(rng: &mut StdRng, depth: u32) -> Value {
    let pick = rng.random_range(0..if depth == 0 { 4 } else { 6 });
    let keys = [
        "kind",
        "seq",
        "messageid",
        "data",
        "text",
        "media",
        "\u{0}",
        "é",
    ];
    match pick {
        0 => Value::Null,
        1 => json!(rng.random::<i64>()),
        2 => json!(rng.random::<bool>()),
        3 => {
            let len = rng.random_range(0..20);
            Value::String((0..len).map(|_| rng.random::<char>()).collect())
        }
        4 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| random_json(rng, depth - 1))
                .collect(),
        ),
        _ => {
            let mut map = serde_json::Map::new();
            for _ in 0..rng.random_range(0..5) {
                let key = keys[rng.random_range(0..keys.len())];
                map.insert(key.into(), random_json(rng, depth - 1));
            }
            if rng.random_bool(0.5) {
                map.insert("kind".into(), json!("chat.send"));
            }
            Value::Object(map)
        }
    }
}

/// A ping flood, connections reset mid-frame, and a storm of reconnects
/// with stale or made-up resume secrets.
async fn floods_and_resets(s: &mut Suite) -> usize {
    let (mut ch, _) = s.h().raw_channel().await;
    ch.until_kind("welcome", Duration::from_secs(5))
        .await
        .unwrap();
    let ping = encode(true, 0, 9, Some([9, 9, 9, 9]), b"flood");
    let burst: Vec<u8> = ping
        .iter()
        .copied()
        .cycle()
        .take(ping.len() * 5000)
        .collect();
    ch.send(&burst).await.unwrap();
    ch.send_frame("chat.send", 1, "after-flood", json!({"text": "hi"}))
        .await;
    let ack = loop {
        let frame = ch
            .until_kind("event", Duration::from_secs(10))
            .await
            .expect("the channel survived the flood");
        if frame["data"]["refmessageid"] == "after-flood" {
            break frame;
        }
    };
    assert_eq!(ack["data"]["eventtype"], "messagedeliveredack");
    drop(ch);
    for i in 0..30u8 {
        let (mut ch, _) = s.h().raw_channel().await;
        // Half a frame, then the connection goes.
        let frame = text(&format!("{{\"kind\":\"chat.send\",\"seq\":1,\"id\":{i}}}"));
        ch.send(&frame[..frame.len() / 2]).await.unwrap();
        let RawChannel { tls, .. } = ch;
        let (tcp, _) = tls.into_inner();
        let _ = tcp.set_zero_linger();
        drop(tcp);
    }
    let mut refused = 0;
    for i in 0..100 {
        let url = format!(
            "wss://{}/jodowidgetapi/v2/ws?resume={}",
            s.h().addr,
            if i % 2 == 0 {
                "0".repeat(64)
            } else {
                format!("{i}")
            }
        );
        if s.h().connect(&url, ORIGIN).await.is_err() {
            refused += 1;
        }
    }
    assert_eq!(refused, 100, "a made-up resume secret opened a channel");
    5000 + 1 + 30 + 100
}

/// Widgets that stop reading while the mock has much to send them: each is
/// dropped after the write time-out, and the transcript says why.
async fn slow_readers(s: &mut Suite) -> usize {
    let mut readers = Vec::new();
    for _ in 0..3 {
        let (mut ch, created) = s.h().raw_channel().await;
        ch.until_kind("welcome", Duration::from_secs(5))
            .await
            .unwrap();
        readers.push((ch, created["sessionid"].as_str().unwrap().to_owned()));
    }
    // 10 MiB for each (more than the kernel's socket buffers hold), as
    // raw frames of 1 MiB, and none of it read.
    let raw = json!({"raw": "x".repeat(1024 * 1024)}).to_string();
    let mut sent = 0;
    for (_, id) in &readers {
        for _ in 0..10 {
            let (status, answer) = s
                .h()
                .https(
                    "POST",
                    &format!("/control/v1/sessions/{id}/faults"),
                    None,
                    raw.as_bytes(),
                )
                .await;
            if status == 404 || answer.contains("not_live") {
                break;
            }
            assert_eq!(status, 202, "{answer}");
            sent += 1;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for (_, id) in &readers {
        loop {
            let transcript = transcript(s.h(), id).await;
            let frames = transcript["frames"].as_array().unwrap();
            if frames
                .iter()
                .any(|f| f["frame"]["dropped"] == "slow reader")
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "a widget that reads nothing was not dropped: {}",
                frames
                    .iter()
                    .map(|f| f["frame"].to_string().chars().take(80).collect::<String>())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    drop(readers);
    sent
}

/// Sessions created and left unopened (forgotten beyond the sessions kept),
/// then idle channels until the bound on open sessions refuses one with
/// 503; the memory falls back once they go.
async fn idle_sessions(s: &mut Suite) -> usize {
    let body = json!({"akey": "jodo-dev-akey", "skey": "jodo-dev-skey", "init": {"name": "x".repeat(2000)}});
    let body = body.to_string();
    for _ in 0..1000 {
        let (status, answer) = s
            .h()
            .https("POST", SESSIONS, Some(ORIGIN), body.as_bytes())
            .await;
        assert_eq!(status, 201, "{answer}");
    }
    let mut channels = Vec::new();
    let refused_at = loop {
        assert!(
            channels.len() <= 500,
            "more than 500 channels open with one key"
        );
        let (status, answer) = s
            .h()
            .https("POST", SESSIONS, Some(ORIGIN), body.as_bytes())
            .await;
        if status == 503 {
            assert!(answer.contains("too_many_sessions"), "{answer}");
            break channels.len();
        }
        assert_eq!(status, 201, "{answer}");
        let created: Value = serde_json::from_str(&answer).unwrap();
        let ws = s
            .h()
            .connect(created["websocket"].as_str().unwrap(), ORIGIN)
            .await
            .unwrap();
        channels.push(ws);
    };
    // Unspent tokens of the sessions kept count too, so the refusal comes
    // between 500 minus the 256 kept and 500.
    assert!(
        refused_at >= 244,
        "refused after only {refused_at} channels"
    );
    let full = s.mock.rss_kib();
    for mut ws in channels {
        let _ = ws.close(None).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.figures.push(format!(
        "  ({refused_at} idle channels open: rss {full} KiB; closed: {} KiB)",
        s.mock.rss_kib()
    ));
    1000 + refused_at + 1
}

/// Garbage, wrong types, unknown ids and odd names against the control
/// API: every answer is a documented JSON error, never a 5xx.
async fn control_api(s: &mut Suite) -> usize {
    let (_ws, created) = s.h().open().await;
    let id = created["sessionid"].as_str().unwrap().to_owned();
    let odd = [
        "nope",
        "%00",
        "..%2F..%2Fetc%2Fpasswd",
        "%F0%9F%92%A9",
        "a%20b",
        "%E2%80%AE",
        &"z".repeat(4000),
    ];
    let mut requests: Vec<(String, String, Vec<u8>)> = Vec::new();
    for name in odd {
        requests.push(("GET".into(), format!("/control/v1/sessions/{name}"), vec![]));
        requests.push((
            "GET".into(),
            format!("/control/v1/sessions/{name}/transcript"),
            vec![],
        ));
        requests.push((
            "POST".into(),
            format!("/control/v1/sessions/{id}/triggers/{name}"),
            vec![],
        ));
        requests.push((
            "POST".into(),
            format!("/control/v1/sessions/{name}/faults"),
            b"{\"drop\": true}".to_vec(),
        ));
    }
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"[]".to_vec(),
        b"{\"skip_seq\": \"1\"}".to_vec(),
        b"{\"skip_seq\": 18446744073709551615}".to_vec(),
        b"{\"close\": 99999}".to_vec(),
        b"{\"media\": 5}".to_vec(),
        vec![b'['; 100_000],
    ];
    for body in &bodies {
        for path in ["faults", "events"] {
            requests.push((
                "POST".into(),
                format!("/control/v1/sessions/{id}/{path}"),
                body.clone(),
            ));
        }
        requests.push(("PUT".into(), "/control/v1/scenario".into(), body.clone()));
    }
    for _ in 0..100 {
        let len = s.rng.random_range(0..300);
        let body: Vec<u8> = (0..len).map(|_| s.rng.random()).collect();
        let path = ["faults", "events"][s.rng.random_range(0..2)];
        requests.push((
            "POST".into(),
            format!("/control/v1/sessions/{id}/{path}"),
            body,
        ));
    }
    // Past the body limit (2 MiB by default) the answer is 413 too_large.
    let (status, answer) = s
        .h()
        .https(
            "POST",
            &format!("/control/v1/sessions/{id}/events"),
            None,
            &vec![b' '; 3 * 1024 * 1024],
        )
        .await;
    assert_eq!(status, 413, "{answer}");
    assert!(answer.contains("too_large"), "{answer}");
    let count = requests.len() + 1;
    for (method, path, body) in requests {
        let (status, answer) = s.h().https(&method, &path, None, &body).await;
        assert!(
            (400..500).contains(&status),
            "{method} {path}: {status} {answer}"
        );
        let error: Value = serde_json::from_str(&answer)
            .unwrap_or_else(|_| panic!("{method} {path}: {status} without a JSON error: {answer}"));
        assert!(
            error["error"]["code"].is_string(),
            "{method} {path}: {answer}"
        );
    }
    count
}
