//! The 255 rule as a property, in a real browser: proptest generates chat
//! texts around the boundary (ASCII, astral, combining, right-to-left,
//! control characters), each goes through `SendChatMessage` in headless
//! Chromium, and every return code is compared with the contract's rule
//! (AMBIGUITIES.md A9: code points; blank text is refused with 2). A
//! failure shrinks to the smallest text that breaks the rule, which the
//! second test shows on a build that counts UTF-16 units.

use std::sync::Arc;

use jodo_conformance::backend::{Backend, MockBackend};
use jodo_conformance::browser::{Browser, BrowserKind, BrowserOptions};
use jodo_contract::Contract;
use jodo_mock::WidgetBuild;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRunner};
use serde_json::{Value, json};

/// The limit, read from the catalogue rather than repeated here.
fn max_chars(schemas: &Contract) -> usize {
    schemas
        .catalog()
        .method("SendChatMessage")
        .and_then(|m| m.params.first())
        .and_then(|p| p.max_chars)
        .expect("the catalogue gives SendChatMessage's max_chars")
}

/// What the contract says SendChatMessage returns in a live session.
fn expected_code(text: &str, max: usize) -> i64 {
    if text.trim().is_empty() {
        2
    } else if text.chars().count() > max {
        3
    } else {
        1
    }
}

/// Texts of 0–3 or 245–265 code points drawn from characters where counting
/// goes wrong. U+FEFF and U+0085 are left out: JavaScript and Rust disagree
/// on whether they are white space, and the contract does not say.
fn texts() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        4 => Just('a'),
        2 => Just('😀'),
        2 => Just('\u{301}'),
        1 => Just('ש'),
        1 => Just('\u{202E}'),
        1 => Just('\u{7}'),
        1 => Just(' '),
        1 => any::<char>().prop_filter("no BOM or NEL", |c| !matches!(c, '\u{FEFF}' | '\u{85}')),
    ];
    prop_oneof![
        proptest::collection::vec(ch.clone(), 0..4),
        proptest::collection::vec(ch, 245..=265),
    ]
    .prop_map(|chars| chars.into_iter().collect())
}

/// A mock and a browser with the host page open and a live session.
struct Page {
    rt: tokio::runtime::Runtime,
    mock: Box<dyn Backend>,
    browser: Browser,
    schemas: Arc<Contract>,
}

impl Page {
    fn open(widget: WidgetBuild) -> Self {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let schemas = Arc::new(Contract::embedded().unwrap());
        let (mock, browser) = rt.block_on(async {
            let mock: Box<dyn Backend> = Box::new(
                MockBackend::start(
                    schemas.clone(),
                    widget,
                    jodo_conformance::probe::preload(),
                    None,
                )
                .await
                .unwrap(),
            );
            let browser = Browser::launch(&BrowserOptions {
                kind: BrowserKind::Chromium,
                webdriver_url: None,
                ..BrowserOptions::default()
            })
            .await
            .expect("chromium and chromedriver are installed (scripts/install-deps)");
            let client = browser.client();
            client.goto(&mock.origin()).await.unwrap();
            let allocated = client
                .execute_async(
                    "var done = arguments[arguments.length - 1];\
                     jodosessioninit();\
                     window.__jodoProbe.waitFor('session', 'allocated', 0, 5000, done);",
                    vec![],
                )
                .await
                .unwrap();
            assert!(allocated.get("found").is_some(), "{allocated}");
            (mock, browser)
        });
        Self {
            rt,
            mock,
            browser,
            schemas,
        }
    }

    fn send(&self, text: &str) -> Value {
        self.rt
            .block_on(self.browser.client().execute(
                "return window.jodoInitBOT.SendChatMessage(arguments[0]);",
                vec![json!(text)],
            ))
            .unwrap()
    }

    /// Runs the property; the smallest failing text, if any.
    fn check(&self, cases: u32) -> Result<(), (String, String)> {
        let max = max_chars(&self.schemas);
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&texts(), |text| {
                let got = self.send(&text);
                prop_assert_eq!(got, json!(expected_code(&text, max)));
                Ok(())
            })
            .map_err(|e| match e {
                TestError::Fail(why, text) => (why.to_string(), text),
                TestError::Abort(why) => (why.to_string(), String::new()),
            })
    }

    fn close(self) {
        self.rt.block_on(async {
            self.browser.shutdown().await;
            self.mock.shutdown().await;
        });
    }
}

#[test]
fn reference_build_follows_the_255_rule_on_generated_text() {
    let page = Page::open(WidgetBuild::reference());
    let result = page.check(200);
    page.close();
    if let Err((why, text)) = result {
        panic!(
            "SendChatMessage broke the rule for a text of {} code points ({} UTF-16 units) {text:?}: {why}",
            text.chars().count(),
            text.encode_utf16().count()
        );
    }
}

#[test]
fn a_build_counting_utf16_units_is_caught_and_shrunk_to_a_boundary_text() {
    let reference = WidgetBuild::reference();
    let source = String::from_utf8(reference.script.clone()).unwrap();
    let site = "charCount(text) > MAX_CHARS";
    assert_eq!(source.matches(site).count(), 1);
    let mutant = WidgetBuild {
        name: "utf16-counting".into(),
        script: source.replace(site, "text.length > MAX_CHARS").into_bytes(),
    };
    let page = Page::open(mutant);
    let result = page.check(200);
    page.close();
    let (_, text) = result.expect_err("counting UTF-16 units breaks the rule");
    // The shrunk text is one the contract accepts (at most 255 code points)
    // and a UTF-16 count refuses (over 255 units).
    assert!(text.chars().count() <= 255, "{text:?}");
    assert!(text.encode_utf16().count() > 255, "{text:?}");
    assert!(!text.trim().is_empty());
}
