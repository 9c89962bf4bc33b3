//! The probe gets into a page nobody edited: as a WebDriver BiDi preload
//! script it runs before the page's own scripts, under a strict
//! Content-Security-Policy, wraps the page's callback, and pushes every
//! record to the runner as it happens, in Chromium and in Firefox. The page
//! here is served from another origin on loopback and loads the reference
//! build, which talks to the mock.

use std::sync::Arc;
use std::time::Duration;

use jodo_conformance::browser::{Browser, BrowserKind, BrowserOptions};
use jodo_conformance::page_server::PageServer;
use jodo_conformance::probe::{self, Pushed};
use jodo_contract::Contract;
use jodo_mock::gateway::{Gateway, development_keys};
use jodo_mock::{MockConfig, MockServer};
use serde_json::{Value, json};

const APP: &str = r#"
var extdata = {
  akey: "jodo-dev-akey", skey: "jodo-dev-skey", serverpath: "MOCK",
  voicediv: "v", videodivremote: "r", videodivself: "s", screensharediv: "sc",
  imagecapturediv: "i", callbackfn: "onJodoEvent"
};
var seen = [];
function onJodoEvent(e) { seen.push(e.media + "/" + e.eventtype); }
console.log("page ready", {at: "load"});
"#;

async fn run_in(kind: BrowserKind) {
    let schemas = Arc::new(Contract::embedded().unwrap());
    let dir = tempfile::tempdir().unwrap();
    // The page server's port is needed for the mock's allowlist, and the
    // mock's for the page's policy: bind the page server first.
    let pages = PageServer::start(dir.path()).await.unwrap();
    let config = MockConfig::local(schemas).unwrap();
    let mock = MockServer::start_local(MockConfig {
        gateway: Gateway::new(vec![development_keys()], vec![pages.origin()]),
        ..config
    })
    .await
    .unwrap();
    let mock_host = mock.origin().trim_start_matches("https://").to_owned();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><html><head><script src=\"app.js\"></script>\
         <script src=\"ext_integration-2.0.js\"></script></head><body>\
         <div id=v></div><div id=r></div><div id=s></div><div id=sc></div><div id=i></div></body></html>",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("index.html.headers"),
        format!(
            "Content-Security-Policy: default-src 'none'; script-src 'self'; connect-src https://{mock_host} wss://{mock_host}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("app.js"),
        APP.replace("MOCK", &mock.origin()),
    )
    .unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/widget/ext_integration-2.0.js"
        ),
        dir.path().join("ext_integration-2.0.js"),
    )
    .unwrap();

    let browser = Browser::launch(&BrowserOptions {
        kind,
        bidi: true,
        ..BrowserOptions::default()
    })
    .await
    .expect("the browser starts with BiDi");
    let bidi = browser.bidi().expect("a BiDi socket");
    probe::install(bidi).await.unwrap();
    let client = browser.client();
    client.goto(&pages.url("index.html")).await.unwrap();
    let answer = client
        .execute_async(
            "var done = arguments[arguments.length - 1];\
             var p = window.__jodoProbe;\
             if (!p) { done({noprobe: true}); return; }\
             p.call('jodosessioninit', []);\
             p.waitFor('session', 'allocated', 0, 5000, done);",
            vec![],
        )
        .await
        .unwrap();
    assert!(answer.get("found").is_some(), "{kind:?}: {answer}");
    let snapshot = client
        .execute("return window.__jodoProbe.snapshot();", vec![])
        .await
        .unwrap();
    let seen = client.execute("return seen;", vec![]).await.unwrap();
    // Give the last pushes a moment to cross the socket.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pushed = Pushed::of(bidi.take_events().await);
    browser.shutdown().await;
    mock.shutdown().await;

    // The page's own callback still got every event the probe recorded.
    let recorded: Vec<String> = snapshot["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}/{}",
                e["event"]["media"].as_str().unwrap(),
                e["event"]["eventtype"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        recorded.contains(&"session/allocated".to_owned()),
        "{recorded:?}"
    );
    assert_eq!(seen, json!(recorded), "{kind:?}");
    // It saw the page define extdata before the SDK.
    assert_eq!(snapshot["page"]["extdataBeforeSdk"], true, "{snapshot}");
    assert_eq!(snapshot["page"]["extdata"]["callbackfn"], "onJodoEvent");
    // Every event was pushed as it happened, and the console came along.
    let pushed_events: Vec<&Value> = pushed
        .records
        .iter()
        .filter(|r| r["kind"] == "events")
        .collect();
    assert_eq!(
        pushed_events.len(),
        recorded.len(),
        "{kind:?}: {:?}",
        pushed.records
    );
    assert!(
        pushed
            .console
            .iter()
            .any(|l| l.text.contains("page ready") && l.args.iter().any(|a| a["at"] == "load")),
        "{kind:?}: {:?}",
        pushed.console
    );
}

#[tokio::test]
async fn the_preloaded_probe_records_an_unmodified_strict_csp_page_in_chromium() {
    run_in(BrowserKind::Chromium).await;
}

#[tokio::test]
async fn the_preloaded_probe_records_an_unmodified_strict_csp_page_in_firefox() {
    run_in(BrowserKind::Firefox).await;
}
