//! The first load of the page: what it is made of. The probe (a BiDi
//! preload script) has watched the page define `extdata` and the SDK; the
//! proxy has seen the page's document and the SDK script go by. From that
//! come the page's keys (which the mock then accepts), its serverpath host
//! (which the proxy then answers for), and the facts the page checks read.

use fantoccini::Client;
use serde_json::Value;

use crate::trace::{PageFacts, mask};
use crate::wire::WireEntry;

/// What the first load found.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// The page's extdata with its keys masked.
    pub extdata: Option<Value>,
    /// The page's akey and skey, for the mock and for finding leaks; never
    /// shown in full.
    pub keys: Option<(String, String)>,
    /// What the probe saw (when extdata and the SDK appeared).
    pub facts: PageFacts,
    /// The `typeof` of the global the callbackfn names.
    pub callback_type: String,
    /// The page's document as served, its SHA-256, and its headers.
    pub document: Option<Document>,
    /// Everything the first load put on the wire (secrets shown by name).
    pub wire: Vec<WireEntry>,
}

/// The page's document as the proxy saw it.
#[derive(Debug, Clone, Default)]
pub struct Document {
    /// HTTP status.
    pub status: u16,
    /// Its text (at most 256 KiB), keys included: only checks read it.
    pub html: String,
    /// SHA-256 of the whole body, hex.
    pub sha256: String,
    /// Response headers.
    pub headers: Vec<(String, String)>,
}

impl Document {
    /// Why the proxy could not fetch it, when it could not.
    pub fn proxy_error(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == "x-jodo-proxy-error")
            .map(|(_, v)| v.as_str())
    }
}

/// Why the page cannot be certified at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The browser could not load it.
    #[error("the page at {url} did not load: {message}")]
    NotLoaded {
        /// The page.
        url: String,
        /// Why.
        message: String,
    },
    /// The probe never ran in it.
    #[error(
        "the probe did not reach the page at {0} (an error page, or a page the browser refused)"
    )]
    NoProbe(String),
    /// No SDK.
    #[error(
        "the page at {0} has no Jodo SDK: no script defined jodosessioninit and none was asked for under /jodowidgetapi/ (include ext_integration-2.0.js as the spec shows)"
    )]
    NoSdk(String),
    /// extdata is missing or not an object.
    #[error(
        "the page at {url} has no extdata object ({found}); the SDK reads its configuration from it"
    )]
    NoExtdata {
        /// The page.
        url: String,
        /// What there was instead.
        found: String,
    },
}

/// What the page script reports: extdata (raw), the probe's facts, and
/// the callback's type. Run by WebDriver, which no Content-Security-Policy
/// stops.
const READ_PAGE: &str = r#"
var ext;
try { ext = typeof extdata !== 'undefined' ? extdata : undefined; } catch (e) { ext = undefined; }
var p = window.__jodoProbe;
var name = ext && typeof ext === 'object' ? ext.callbackfn : undefined;
var kind = ext === null ? 'null' : typeof ext;
return {
  probe: !!p,
  facts: p ? p.page : null,
  extdataType: kind,
  extdata: kind === 'object' ? JSON.parse(JSON.stringify(ext)) : null,
  callbackType: typeof name === 'function' ? 'function' : (typeof name === 'string' ? typeof window[name] : 'undefined'),
  sdk: typeof window.jodosessioninit
};
"#;

/// Loads the page and reads it.
///
/// # Errors
/// [`DiscoveryError`] when the page does not load, has no SDK or no extdata.
pub async fn discover(client: &Client, url: &str) -> Result<Discovery, DiscoveryError> {
    let read = client
        .execute(READ_PAGE, vec![])
        .await
        .map_err(|e| DiscoveryError::NotLoaded {
            url: url.to_owned(),
            message: e.to_string(),
        })?;
    if read["probe"] != true {
        return Err(DiscoveryError::NoProbe(url.to_owned()));
    }
    if read["sdk"] != "function" {
        return Err(DiscoveryError::NoSdk(url.to_owned()));
    }
    let mut discovery = Discovery {
        facts: serde_json::from_value(read["facts"].clone()).unwrap_or_default(),
        callback_type: read["callbackType"]
            .as_str()
            .unwrap_or("undefined")
            .to_owned(),
        ..Discovery::default()
    };
    if read["extdataType"] != "object" {
        return Err(DiscoveryError::NoExtdata {
            url: url.to_owned(),
            found: format!(
                "extdata is {}",
                read["extdataType"].as_str().unwrap_or("undefined")
            ),
        });
    }
    let mut ext = read["extdata"].clone();
    let key = |k: &str| ext.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    discovery.keys = Some((key("akey"), key("skey")));
    for k in ["akey", "skey"] {
        if let Some(Value::String(s)) = ext.get_mut(k) {
            *s = mask(s);
        }
    }
    discovery.facts.extdata = Some(ext.clone());
    discovery.extdata = Some(ext);
    Ok(discovery)
}

/// The page's document among the first load's wire entries: the first
/// HTML response to a request for `url`.
pub fn document_of(wire: &[WireEntry], url: &str) -> Option<Document> {
    let wanted = url.split('#').next().unwrap_or(url);
    let id = wire.iter().find_map(|e| match e {
        WireEntry::Request { id, url, .. } if url == wanted => Some(*id),
        _ => None,
    })?;
    wire.iter().find_map(|e| match e {
        WireEntry::Response {
            id: rid,
            status,
            headers,
            html,
            sha256,
            ..
        } if *rid == id => Some(Document {
            status: *status,
            html: html.clone().unwrap_or_default(),
            sha256: sha256.clone().unwrap_or_default(),
            headers: headers.clone(),
        }),
        _ => None,
    })
}
