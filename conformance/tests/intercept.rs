//! The intercepting proxy on an unmodified page: the page on one loopback
//! origin includes the SDK from `https://myjodo.jodoworld.com` and points
//! its serverpath there, as the spec's example does; the proxy answers for
//! that host from the mock (script, session API and channel), passes other
//! requests through, and records all of it, in Chromium and Firefox.

use std::sync::Arc;

use jodo_conformance::browser::{Browser, BrowserKind, BrowserOptions};
use jodo_conformance::page_server::PageServer;
use jodo_conformance::probe;
use jodo_conformance::proxy::InterceptProxy;
use jodo_conformance::wire::WireEntry;
use jodo_contract::Contract;
use jodo_mock::{MockConfig, MockServer};

const PAGE: &str = r#"<!doctype html><html><head>
<script>
var extdata = {
  akey: "jodo-dev-akey", skey: "jodo-dev-skey", serverpath: "https://myjodo.jodoworld.com",
  voicediv: "v", videodivremote: "r", videodivself: "s", screensharediv: "sc",
  imagecapturediv: "i", callbackfn: "onJodoEvent"
};
function onJodoEvent(e) {}
</script>
<script src="https://myjodo.jodoworld.com/jodowidgetapi/js/ext_integration-2.0.js"></script>
</head><body><div id=v></div><div id=r></div><div id=s></div><div id=sc></div><div id=i></div>
<img src="http://images.example.test/logo.png" alt=""></body></html>"#;

async fn run_in(kind: BrowserKind) {
    let schemas = Arc::new(Contract::embedded().unwrap());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), PAGE).unwrap();
    let pages = PageServer::start(dir.path()).await.unwrap();
    let config = MockConfig::local(schemas).unwrap();
    let cert = config.tls.certificate_der().to_vec();
    let mock = MockServer::start_local(config).await.unwrap();
    mock.admit(pages.origin(), None);
    let proxy = InterceptProxy::start(Vec::new(), mock.addr().to_string(), &cert)
        .await
        .unwrap();
    let browser = Browser::launch(&BrowserOptions {
        kind,
        bidi: true,
        proxy: Some(proxy.address()),
        ..BrowserOptions::default()
    })
    .await
    .unwrap();
    probe::install(browser.bidi().unwrap()).await.unwrap();
    let client = browser.client();
    client.goto(&pages.url("index.html")).await.unwrap();
    let answer = client
        .execute_async(
            "var done = arguments[arguments.length - 1];\
             var p = window.__jodoProbe;\
             if (!p) { done({noprobe: true}); return; }\
             var r = p.call('jodosessioninit', []);\
             if (!r.returned && r.returned !== 0) { done(r); return; }\
             p.waitFor('session', 'allocated', 0, 8000, done);",
            vec![],
        )
        .await
        .unwrap();
    let wire = proxy.log().entries();
    browser.shutdown().await;
    proxy.shutdown().await;
    mock.shutdown().await;
    assert!(
        answer.get("found").is_some(),
        "{kind:?}: {answer}\n{wire:#?}"
    );
    let requested = |needle: &str, jodo: bool| {
        wire.iter().any(|e| matches!(e, WireEntry::Request { url, jodo: j, .. } if url.contains(needle) && *j == jodo))
    };
    assert!(
        requested(
            "myjodo.jodoworld.com/jodowidgetapi/js/ext_integration-2.0.js",
            true
        ),
        "{wire:#?}"
    );
    assert!(
        requested("myjodo.jodoworld.com/jodowidgetapi/v2/sessions", true),
        "{wire:#?}"
    );
    assert!(
        requested("images.example.test/logo.png", false),
        "{wire:#?}"
    );
    assert!(
        requested("127.0.0.1", false),
        "the page itself went through the proxy: {wire:#?}"
    );
    let frames = wire
        .iter()
        .filter(|e| matches!(e, WireEntry::Frame { url, .. } if url.starts_with("wss://myjodo.jodoworld.com/")))
        .count();
    assert!(
        frames >= 2,
        "welcome and allocation were recorded: {wire:#?}"
    );
    let page_hash = wire.iter().find_map(|e| match e {
        WireEntry::Response {
            html: Some(h),
            sha256,
            ..
        } if h.contains("onJodoEvent") => sha256.clone(),
        _ => None,
    });
    assert_eq!(
        page_hash.map(|h| h.len()),
        Some(64),
        "the page as served is hashed"
    );
}

#[tokio::test]
async fn the_proxy_answers_for_the_jodo_host_in_chromium() {
    run_in(BrowserKind::Chromium).await;
}

#[tokio::test]
async fn the_proxy_answers_for_the_jodo_host_in_firefox() {
    run_in(BrowserKind::Firefox).await;
}
