//! What the mock's web site consists of: the widget build under test, the
//! host page with the spec's container ids, and an optional script that
//! runs before the page's own (the conformance runner's probe). The
//! routes in [`crate::routes::pages`] serve them.

use std::path::Path;
use std::sync::Arc;

use include_dir::{Dir, include_dir};

static HOST: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../fixtures/host");
static REFERENCE_WIDGET: &str = include_str!("../../fixtures/widget/ext_integration-2.0.js");

/// Path of the widget script, as the spec's example includes it.
pub const WIDGET_PATH: &str = "/jodowidgetapi/js/ext_integration-2.0.js";
/// Path of the preload script, when one is configured.
pub const PRELOAD_PATH: &str = "/kit/preload.js";

/// A widget build: its file name (for reports) and its bytes.
#[derive(Debug, Clone)]
pub struct WidgetBuild {
    /// File name shown in banners and reports.
    pub name: String,
    /// The script.
    pub script: Vec<u8>,
}

impl WidgetBuild {
    /// The reference build from `fixtures/widget/`.
    pub fn reference() -> Self {
        Self {
            name: "ext_integration-2.0.js (reference)".into(),
            script: REFERENCE_WIDGET.as_bytes().to_vec(),
        }
    }

    /// A build read from disk (`--widget PATH`).
    ///
    /// # Errors
    /// The I/O error, for the caller to report with the path.
    pub fn from_file(path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string()),
            script: std::fs::read(path)?,
        })
    }
}

/// A script the host page runs before its own: the conformance runner
/// gives its page probe, so the mock need not know what a probe is.
#[derive(Debug, Clone)]
pub struct Preload {
    /// The script.
    pub script: Arc<[u8]>,
}

/// The host page with its placeholders filled in, loading the widget from
/// this server.
pub fn host_page(serverpath: &str, akey: &str, skey: &str, preload: bool) -> String {
    render(serverpath, akey, skey, preload, WIDGET_PATH)
}

/// The host page loading the widget from `widget_url` without a preload:
/// a page served elsewhere than the mock (a live run's), whose SDK comes
/// from the Jodo host as on a real site.
pub fn host_page_loading(serverpath: &str, akey: &str, skey: &str, widget_url: &str) -> String {
    render(serverpath, akey, skey, false, widget_url)
}

fn render(serverpath: &str, akey: &str, skey: &str, preload: bool, widget_url: &str) -> String {
    let template = HOST
        .get_file("index.html")
        .and_then(|f| f.contents_utf8())
        .unwrap_or("<!doctype html><title>host page missing from build</title>");
    let preload = if preload {
        format!("<script src=\"{PRELOAD_PATH}\"></script>")
    } else {
        String::new()
    };
    template
        .replace("{{PRELOAD}}", &preload)
        .replace("{{SERVERPATH}}", &js_string(serverpath))
        .replace("{{AKEY}}", &js_string(akey))
        .replace("{{SKEY}}", &js_string(skey))
        .replace("{{WIDGET_URL}}", &html_attribute(widget_url))
}

/// Text safe inside a double-quoted HTML attribute.
fn html_attribute(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

/// A JSON string literal safe to drop into a script block.
fn js_string(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_else(|_| "\"\"".into())
        .replace("</", "<\\/")
}
