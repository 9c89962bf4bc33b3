//! What the mock's web site consists of: the widget build under test, the
//! host page with the spec's container ids, and an optional script that
//! runs before the page's own (the conformance runner's probe). The
//! routes in [`crate::routes::pages`] serve them.

use std::path::Path;
use std::sync::Arc;

use include_dir::{Dir, include_dir};
use jodo_contract::dialect::Dialect;

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

/// The reference build's wire codec (`makeWire`, between its
/// `jodo:wire begin` and `jodo:wire end` comments): self-contained, so the
/// conformance probe runs the very text the build runs to read frames in
/// the kit's terms.
pub fn wire_codec() -> &'static str {
    let begin = REFERENCE_WIDGET.find("/* jodo:wire begin").unwrap_or(0);
    let end = REFERENCE_WIDGET
        .find("/* jodo:wire end */")
        .unwrap_or(begin);
    &REFERENCE_WIDGET[begin..end]
}

/// The line of the reference build that says which dialect it speaks
/// (none: the kit's own protocol).
pub const DIALECT_SLOT: &str = "var DIALECT = null; /* jodo:dialect */";

/// A build that cannot be made to speak a dialect: it was not made from
/// the reference build, which has a slot for one.
#[derive(Debug, thiserror::Error)]
#[error(
    "{build} has no dialect slot (the line `{DIALECT_SLOT}` of the reference build), so it cannot be made to speak {dialect}"
)]
pub struct NoDialectSlot {
    /// The build's name.
    pub build: String,
    /// The dialect asked for.
    pub dialect: String,
}

impl WidgetBuild {
    /// This build, speaking `dialect`: the dialect file, as JSON, written
    /// into the build's slot. The same source serves every dialect (and
    /// every mutant of it), so there is no second copy to keep in step.
    /// The kit's own dialect leaves the build as it is.
    ///
    /// # Errors
    /// [`NoDialectSlot`] when the build has no slot, or more than one.
    pub fn speaking(self, dialect: &Dialect) -> Result<Self, NoDialectSlot> {
        if dialect.is_identity() {
            return Ok(self);
        }
        let refused = || NoDialectSlot {
            build: self.name.clone(),
            dialect: dialect.name().to_owned(),
        };
        let text = std::str::from_utf8(&self.script).map_err(|_| refused())?;
        if text.matches(DIALECT_SLOT).count() != 1 {
            return Err(refused());
        }
        let line = format!(
            "var DIALECT = {}; /* jodo:dialect {} */",
            dialect.to_json(),
            dialect.name()
        );
        Ok(Self {
            name: format!("{} speaking {}", self.name, dialect.name()),
            script: text.replacen(DIALECT_SLOT, &line, 1).into_bytes(),
        })
    }
}

/// A script the host page runs before its own: the conformance runner
/// gives its page probe, so the mock need not know what a probe is.
#[derive(Debug, Clone)]
pub struct Preload {
    /// The script.
    pub script: Arc<[u8]>,
    /// A page served at [`SHELL_PATH`] that the runner keeps open and
    /// opens each case's host page in, as a fresh frame (the runner's, so
    /// the mock need not know it either).
    pub shell: Option<Arc<[u8]>>,
}

/// Where the runner's shell page is served, when it gave one.
pub const SHELL_PATH: &str = "/kit/shell";

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

#[cfg(test)]
mod tests {
    use super::*;
    use jodo_contract::Contract;

    #[test]
    fn the_reference_build_speaks_a_dialect_through_its_one_slot() {
        let schemas = Contract::embedded().unwrap();
        let rpc = Dialect::load("jsonrpc-2", &schemas).unwrap();
        let build = WidgetBuild::reference().speaking(&rpc).unwrap();
        let text = String::from_utf8(build.script).unwrap();
        assert!(!text.contains(DIALECT_SLOT));
        assert!(
            text.contains(r#""path":"/rpc/v2/conversation""#),
            "the file is in the build"
        );
        assert!(build.name.ends_with("speaking jsonrpc-2"));
        let kit = WidgetBuild::reference()
            .speaking(&Dialect::kit(&schemas))
            .unwrap();
        assert_eq!(kit.script, WidgetBuild::reference().script);
        let other = WidgetBuild {
            name: "vendor.js".into(),
            script: b"void 0".to_vec(),
        };
        let err = other.speaking(&rpc).unwrap_err().to_string();
        assert!(err.starts_with("vendor.js has no dialect slot"), "{err}");
        let codec = wire_codec();
        assert!(codec.contains("function makeWire(dialect, kit)") && codec.len() > 2000);
    }
}
