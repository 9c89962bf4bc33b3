//! The agent console in a real browser: the mock's host page and its
//! console open in two windows of one Chromium session, a person's actions
//! in the console (typed with WebDriver keys, clicked buttons) reach the
//! host page's callback, bad input shows the control API's error, and the
//! console carries on across a restart of the mock. It also measures the
//! console's page weight and the time from Enter in the console to the
//! host page's callback (printed; run with `--nocapture` to read them).

use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use jodo_conformance::browser::{Browser, BrowserKind, BrowserOptions};
use jodo_contract::Contract;
use jodo_mock::{MockConfig, MockServer};
use serde_json::{Value, json};

/// Wraps the host page's callback so the test can read every eventdata
/// and when it arrived.
const RECORD: &str = "window.__seen = []; var original = window.eventcallback;\
    window.eventcallback = function (e) { window.__seen.push({e: JSON.parse(JSON.stringify(e)), at: Date.now()}); return original(e); };\
    extdata.reconnect_ms = 100; return true;";

/// WebDriver's Enter key.
const ENTER: &str = "\u{E007}";

fn config(schemas: &Arc<Contract>) -> MockConfig {
    MockConfig {
        scenario: jodo_mock::scenario::load("agent", schemas).unwrap(),
        ..MockConfig::local(schemas.clone()).unwrap()
    }
}

/// Runs `script` (a function body returning a value) until it returns
/// something truthy, or fails after 10 s saying what was awaited.
async fn until(client: &Client, what: &str, script: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = client.execute(script, vec![]).await.unwrap();
        let truthy =
            !matches!(&v, Value::Null | Value::Bool(false)) && v != json!("") && v != json!(0);
        if truthy {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits in the host page for an event `media/eventtype` (with `msg`, if
/// given) after the first `after` events; returns its index.
async fn host_event(client: &Client, key: &str, msg: Option<&str>, after: u64) -> u64 {
    let script = format!(
        "var k = {key}, m = {msg}; var s = window.__seen || [];\
         for (var i = {after}; i < s.length; i++) {{ var e = s[i].e;\
           if (e.media + '/' + e.eventtype === k && (m === null || e.msg === m)) {{ return i + 1; }} }}\
         return 0;",
        key = json!(key),
        msg = json!(msg),
    );
    until(client, key, &script).await.as_u64().unwrap() - 1
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn type_into(client: &Client, css: &str, text: &str) {
    let field = client.find(Locator::Css(css)).await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// The console's notice, once it shows the error `code`.
async fn notice(client: &Client, code: &str) -> String {
    let script = format!(
        "var n = document.getElementById('notice'); return !n.hidden && n.dataset.code === {} && n.textContent;",
        json!(code)
    );
    until(client, &format!("the console to show {code}"), &script)
        .await
        .as_str()
        .unwrap()
        .to_owned()
}

async fn open_host(client: &Client, origin: &str) {
    client.goto(&format!("{origin}/")).await.unwrap();
    client.execute(RECORD, vec![]).await.unwrap();
    client
        .execute(
            "jodosessioninit({name: 'Ada Visitor'}); return true;",
            vec![],
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_plays_the_agent_from_the_console() {
    let schemas = Arc::new(Contract::embedded().unwrap());
    let mock = MockServer::start_local(config(&schemas)).await.unwrap();
    let addr = mock.addr();
    let origin = mock.origin();
    let browser = Browser::launch(&BrowserOptions {
        kind: BrowserKind::Chromium,
        ..BrowserOptions::default()
    })
    .await
    .expect("Chromium starts (scripts/install-deps installs it)");
    let c = browser.client();
    c.set_window_size(1280, 720).await.unwrap();

    // The host page in the first window, the console in a second one.
    let host = c.window().await.unwrap();
    open_host(c, &origin).await;
    host_event(c, "session/allusersbusy", None, 0).await;
    let console = c.new_window(false).await.unwrap().handle;
    c.switch_to_window(console.clone()).await.unwrap();
    c.set_window_size(1280, 720).await.unwrap();
    c.goto(&format!("{origin}/console")).await.unwrap();

    // The waiting session is listed with its visitor and picked.
    until(
        c,
        "the session in the list",
        "var t = document.getElementById('session-title').textContent; return t.indexOf('Ada Visitor') >= 0 && t;",
    )
    .await;
    until(
        c,
        "the queue event in the conversation",
        "return document.querySelector('#frames li[data-event=\"session/allusersbusy\"]') !== null;",
    )
    .await;
    // Event buttons come from the catalogue: every server event, no other.
    let buttons = c
        .execute(
            "return Array.prototype.map.call(document.querySelectorAll('#events button'), function (b) { return b.dataset.event; });",
            vec![],
        )
        .await
        .unwrap();
    let server: Vec<String> = schemas
        .catalog()
        .events
        .iter()
        .filter(|e| e.source.contains(&jodo_contract::catalog::Source::Server))
        .map(|e| e.key())
        .collect();
    assert_eq!(buttons, json!(server));

    // Pick up, then a reply typed in the console reaches the host page.
    click(c, "#triggers button[data-trigger=pickup]").await;
    c.switch_to_window(host.clone()).await.unwrap();
    let mut seen = host_event(c, "session/allocated", None, 0).await;
    c.switch_to_window(console.clone()).await.unwrap();
    type_into(c, "#reply", &format!("Hello Ada, how can I help?{ENTER}")).await;
    c.switch_to_window(host.clone()).await.unwrap();
    seen = host_event(
        c,
        "chat/messagereceived",
        Some("Hello Ada, how can I help?"),
        seen,
    )
    .await;
    // The visitor answers; the console shows it as it comes.
    c.execute(
        "return jodoInitBOT.SendChatMessage('I need a video call');",
        vec![],
    )
    .await
    .unwrap();
    c.switch_to_window(console.clone()).await.unwrap();
    until(
        c,
        "the visitor's message in the console",
        "var v = document.querySelector('#frames li.visitor'); return v && v.textContent.indexOf('I need a video call') >= 0;",
    )
    .await;

    // Video: the console asks, the visitor's page accepts.
    click(c, "#events button[data-event=\"video/requestReceived\"]").await;
    click(c, "#event-form button[type=submit]").await;
    c.switch_to_window(host.clone()).await.unwrap();
    seen = host_event(c, "video/requestReceived", None, seen).await;
    c.execute("return jodoInitBOT.AcceptVideo();", vec![])
        .await
        .unwrap();
    seen = host_event(c, "video/accepted", None, seen).await;
    c.switch_to_window(console.clone()).await.unwrap();
    until(
        c,
        "the visitor's consent in the console",
        "return document.querySelector('#frames li[data-kind=\"media.accept\"]') !== null;",
    )
    .await;

    // The screenshot for the README, with a live conversation in it.
    until(
        c,
        "the session's state in the console",
        "return document.getElementById('session-facts').textContent.indexOf('state chatting') >= 0;",
    )
    .await;
    c.execute(
        "document.activeElement.blur(); window.scrollTo(0, 0); return true;",
        vec![],
    )
    .await
    .unwrap();
    let png = c.screenshot().await.unwrap();
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("console.png"), &png).unwrap();
    if std::env::var_os("JODO_UPDATE_SCREENSHOT").is_some() {
        std::fs::write(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/console.png"),
            &png,
        )
        .unwrap();
    }

    // Bad input: the control API's own error, shown in the page.
    type_into(c, "#reply", ENTER).await;
    let shown = notice(c, "invalid_reply").await;
    assert!(shown.starts_with("422 invalid_reply: "), "{shown}");
    click(c, "#events button[data-event=\"documentpush/received\"]").await;
    type_into(
        c,
        "#event-fields input[name=url]",
        "http://example.com/terms.pdf",
    )
    .await;
    click(c, "#event-form button[type=submit]").await;
    let shown = notice(c, "invalid_event").await;
    assert!(shown.contains("422 invalid_event"), "{shown}");
    // ... and the console still works: a good document goes through.
    c.find(Locator::Css("#event-fields input[name=url]"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    type_into(
        c,
        "#event-fields input[name=url]",
        "https://example.com/terms.pdf",
    )
    .await;
    click(c, "#event-form button[type=submit]").await;
    c.switch_to_window(host.clone()).await.unwrap();
    seen = host_event(c, "documentpush/received", None, seen).await;

    // A drop: the widget reports the lost channel and resumes the session.
    c.switch_to_window(console.clone()).await.unwrap();
    click(c, "button[data-fault=drop]").await;
    c.switch_to_window(host.clone()).await.unwrap();
    seen = host_event(c, "session/WebSocketNotConnected", None, seen).await;
    let back = host_event(c, "session/allocated", None, seen).await;
    let status = c
        .execute(&format!("return window.__seen[{back}].e.status;"), vec![])
        .await
        .unwrap();
    assert_eq!(status, 26, "a resumed session says 26");
    seen = back;

    // Latency: 100 replies typed in the console, each timed from its Enter
    // to the host page's callback (one clock: one browser).
    c.switch_to_window(console.clone()).await.unwrap();
    let rounds = 100;
    for i in 0..rounds {
        type_into(c, "#reply", &format!("reply {i}{ENTER}")).await;
        until(
            c,
            "the reply box to clear",
            &format!(
                "var r = window.__consoleReplies || []; return r.length >= {} && document.getElementById('reply').value === '';",
                i + 1
            ),
        )
        .await;
    }
    let sent = c
        .execute("return window.__consoleReplies;", vec![])
        .await
        .unwrap();
    c.switch_to_window(host.clone()).await.unwrap();
    host_event(
        c,
        "chat/messagereceived",
        Some(&format!("reply {}", rounds - 1)),
        seen,
    )
    .await;
    let got = c.execute("return window.__seen;", vec![]).await.unwrap();
    let mut latencies: Vec<f64> = (0..rounds)
        .map(|i| {
            let text = format!("reply {i}");
            let at_sent = sent
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["text"] == text.as_str())
                .and_then(|r| r["at"].as_f64())
                .unwrap();
            let at_got = got
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["e"]["msg"] == text.as_str())
                .and_then(|r| r["at"].as_f64())
                .unwrap_or_else(|| panic!("{text} never reached the host page"));
            at_got - at_sent
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    eprintln!(
        "console → callback latency over {rounds} replies: median {} ms, p90 {} ms, max {} ms",
        latencies[rounds / 2],
        latencies[rounds * 9 / 10],
        latencies[rounds - 1]
    );

    // The console at 1280×720, and at 200 % zoom (the same window is then
    // 640×360 CSS pixels): nothing wider than the window, the reply box there.
    c.switch_to_window(console.clone()).await.unwrap();
    let weight = c
        .execute(
            "var r = performance.getEntriesByType('resource').filter(function (e) { return e.name.indexOf('/console/') >= 0; });\
             var n = performance.getEntriesByType('navigation')[0];\
             return {requests: r.length + 1, bytes: r.reduce(function (s, e) { return s + e.encodedBodySize; }, n.encodedBodySize)};",
            vec![],
        )
        .await
        .unwrap();
    eprintln!(
        "console page weight: {weight} (then one request per second for the session list and one stream)"
    );
    let fits = "var d = document.documentElement; var r = document.getElementById('reply').getBoundingClientRect();\
                return {fits: d.scrollWidth <= window.innerWidth + 1, reply: r.width, width: window.innerWidth,\
                        columns: document.querySelector('.actions').getBoundingClientRect().left > r.left};";
    let wide = c.execute(fits, vec![]).await.unwrap();
    assert_eq!(wide["fits"], true, "{wide}");
    assert_eq!(wide["columns"], true, "three columns at 1280×720: {wide}");
    c.set_window_size(640, 360).await.unwrap();
    let zoomed = until(
        c,
        "the narrow layout",
        &format!("var v = (function () {{ {fits} }})(); return v.width <= 700 && v;"),
    )
    .await;
    assert_eq!(zoomed["fits"], true, "{zoomed}");
    assert!(zoomed["reply"].as_f64().unwrap() > 200.0, "{zoomed}");
    assert_eq!(zoomed["columns"], false, "one column when narrow: {zoomed}");
    c.set_window_size(1280, 720).await.unwrap();

    // The agent ends the session; a reply after that gets the API's answer.
    click(c, "#triggers button[data-trigger=end]").await;
    c.switch_to_window(host.clone()).await.unwrap();
    host_event(c, "session/ended", None, seen).await;
    c.switch_to_window(console.clone()).await.unwrap();
    until(
        c,
        "the session shown without a channel",
        "return document.getElementById('session-facts').textContent.indexOf('no channel') >= 0;",
    )
    .await;
    type_into(c, "#reply", &format!("Are you still there?{ENTER}")).await;
    let shown = notice(c, "session_not_live").await;
    assert!(shown.starts_with("409 session_not_live"), "{shown}");

    // The mock restarts on the same address: the console notices, comes
    // back by itself and follows the new session.
    mock.shutdown().await;
    until(
        c,
        "the console to see the mock gone",
        "return document.getElementById('link').textContent.indexOf('unreachable') >= 0;",
    )
    .await;
    let listener = std::net::TcpListener::bind(addr).expect("the same port again");
    let mock = MockServer::start(config(&schemas), listener).await.unwrap();
    until(
        c,
        "the console to reconnect",
        "return document.getElementById('link').textContent === 'connected';",
    )
    .await;
    c.switch_to_window(host.clone()).await.unwrap();
    open_host(c, &origin).await;
    host_event(c, "session/allusersbusy", None, 0).await;
    let fresh = mock.sessions().pop().expect("the new session").id;
    c.switch_to_window(console.clone()).await.unwrap();
    until(
        c,
        "the new session in the console",
        &format!(
            "return document.getElementById('session-title').textContent.indexOf({}) >= 0 &&\
             document.querySelector('#frames li[data-event=\"session/allusersbusy\"]') !== null;",
            json!(fresh)
        ),
    )
    .await;
    click(c, "#triggers button[data-trigger=pickup]").await;
    // What could not be sent stays in the box: clear it first.
    let reply = c.find(Locator::Css("#reply")).await.unwrap();
    assert_eq!(
        reply.prop("value").await.unwrap().as_deref(),
        Some("Are you still there?")
    );
    reply.clear().await.unwrap();
    type_into(c, "#reply", &format!("Welcome back{ENTER}")).await;
    c.switch_to_window(host.clone()).await.unwrap();
    host_event(c, "chat/messagereceived", Some("Welcome back"), 0).await;

    browser.shutdown().await;
    mock.shutdown().await;
}
