//! The page probe: a script of the runner's (`conformance/assets/probe.js`)
//! that runs before a page's own, wraps the callback `extdata.callbackfn`
//! names, records what the widget does, and runs a case's page steps in
//! the page. The page need not know about it, so it works in any host
//! page; how it gets there is the [`crate::page`]'s business.

use std::sync::Arc;

use serde_json::Value;

use crate::browser::bidi::{Bidi, BidiError, plain};

/// The probe script.
pub const SCRIPT: &str = include_str!("../assets/probe.js");

/// The page a worker keeps open, opening each case's page in a new frame
/// (see [`crate::page::Fresh`]).
pub const SHELL: &str = include_str!("../assets/shell.html");

/// The name of the BiDi channel the probe pushes its records on.
pub const CHANNEL: &str = "jodo-probe";

/// The probe as a BiDi preload function: the browser calls it with the
/// channel before any of a page's own scripts, on every page the session
/// loads, whatever the page's Content-Security-Policy.
pub fn preload_function() -> String {
    format!("function (__jodoProbeChannel) {{\n{SCRIPT}\n}}")
}

/// Installs the probe in every page the session loads from now on, and
/// subscribes to what it pushes and to the console.
///
/// # Errors
/// [`BidiError`] when the browser refuses either.
pub async fn install(bidi: &Bidi) -> Result<(), BidiError> {
    bidi.command(
        "session.subscribe",
        serde_json::json!({"events": ["script.message", "log.entryAdded"]}),
    )
    .await?;
    bidi.command(
        "script.addPreloadScript",
        serde_json::json!({
            "functionDeclaration": preload_function(),
            "arguments": [{"type": "channel", "value": {"channel": CHANNEL}}],
        }),
    )
    .await?;
    Ok(())
}

/// What arrived on the BiDi socket, sorted: the probe's pushed records and
/// the console's lines.
#[derive(Debug, Clone, Default)]
pub struct Pushed {
    /// `{kind, record}` objects the probe sent, in order.
    pub records: Vec<Value>,
    /// Console entries: level, text and the arguments as plain JSON.
    pub console: Vec<ConsoleLine>,
}

/// One console entry of the page.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConsoleLine {
    /// `debug`, `info`, `warn` or `error`.
    pub level: String,
    /// The text the browser made of it.
    pub text: String,
    /// The arguments, as plain JSON (objects' contents are only here).
    pub args: Vec<Value>,
}

impl ConsoleLine {
    /// The line with its text and string arguments passed through `f`.
    pub fn map_text(self, f: &dyn Fn(&str) -> String) -> Self {
        Self {
            level: self.level,
            text: f(&self.text),
            args: self
                .args
                .into_iter()
                .map(|a| serde_json::from_str(&f(&a.to_string())).unwrap_or(a))
                .collect(),
        }
    }
}

impl Pushed {
    /// Sorts BiDi events into records and console lines; others are dropped.
    pub fn of(events: Vec<Value>) -> Self {
        let mut out = Self::default();
        for e in events {
            let params = &e["params"];
            match e.get("method").and_then(Value::as_str) {
                Some("script.message") if params["channel"] == CHANNEL => {
                    let data = plain(&params["data"]);
                    if let Some(record) = data.as_str().and_then(|t| serde_json::from_str(t).ok()) {
                        out.records.push(record);
                    }
                }
                Some("log.entryAdded") => out.console.push(ConsoleLine {
                    level: params["level"].as_str().unwrap_or("info").to_owned(),
                    text: params["text"].as_str().unwrap_or("").to_owned(),
                    args: params["args"]
                        .as_array()
                        .map(|a| a.iter().map(plain).collect())
                        .unwrap_or_default(),
                }),
                _ => {}
            }
        }
        out
    }
}

/// A browser whose traffic goes through the proxy at `proxy` and whose
/// every page gets the probe over BiDi (a page the kit does not serve).
///
/// # Errors
/// The browser's launch error, or BiDi's.
pub async fn browser_with_probe<E>(
    options: &crate::browser::BrowserOptions,
    proxy: String,
) -> Result<crate::browser::Browser, E>
where
    E: From<crate::browser::BrowserError> + From<BidiError>,
{
    let browser = crate::browser::Browser::launch(&crate::browser::BrowserOptions {
        bidi: true,
        proxy: Some(proxy),
        ..options.clone()
    })
    .await?;
    let bidi = browser.bidi().ok_or(BidiError::Unsupported)?;
    install(bidi).await?;
    Ok(browser)
}

/// The probe as the mock's host page preloads it.
pub fn preload() -> jodo_mock::Preload {
    jodo_mock::Preload {
        script: Arc::from(SCRIPT.as_bytes()),
        shell: Some(Arc::from(SHELL.as_bytes())),
    }
}

/// The probe for a mock speaking `dialect`: the reference build's own
/// codec, made for the dialect, goes first, so the probe records what a
/// build sends in the kit's terms (the frames cases look at) whatever
/// protocol carries it.
pub fn preload_for(dialect: Option<&jodo_contract::dialect::Dialect>) -> jodo_mock::Preload {
    let Some(dialect) = dialect.filter(|d| !d.is_identity()) else {
        return preload();
    };
    let script = format!(
        "var __jodoWire = (function () {{\n'use strict';\n{}\nreturn makeWire({}, null);\n}})();\n{SCRIPT}",
        jodo_mock::site::wire_codec(),
        dialect.to_json()
    );
    jodo_mock::Preload {
        script: Arc::from(script.into_bytes()),
        shell: Some(Arc::from(SHELL.as_bytes())),
    }
}
