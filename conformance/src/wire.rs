//! What crossed the wire between the page and the world: every HTTP
//! exchange and WebSocket frame the intercepting proxy ([`crate::proxy`])
//! saw, in order, with times. The page checks read it (mixed content, keys
//! sent to hosts other than the Jodo hosts, the page's own headers), and it
//! is the first record anyone has of a build's real protocol.

use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// How much of a body the record keeps (the rest is counted, not kept).
pub const BODY_KEPT: usize = 256 * 1024;

/// One thing seen on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WireEntry {
    /// A request, as the page sent it.
    Request {
        /// Milliseconds since the record began.
        at_ms: u64,
        /// Pairs a request with its response.
        id: u64,
        /// HTTP method.
        method: String,
        /// The URL the page asked for (before any redirect to the mock).
        url: String,
        /// Whether it went to the mock (a Jodo host) rather than out.
        jodo: bool,
        /// Its headers.
        headers: Vec<(String, String)>,
        /// Its body as text (lossy), at most [`BODY_KEPT`] bytes.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        body: String,
    },
    /// The answer to a request.
    Response {
        /// Milliseconds since the record began.
        at_ms: u64,
        /// The request it answers.
        id: u64,
        /// HTTP status.
        status: u16,
        /// Its headers.
        headers: Vec<(String, String)>,
        /// The body as text when it is an HTML document (the page as
        /// served), at most [`BODY_KEPT`] bytes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        html: Option<String>,
        /// SHA-256 of the whole body, hex, when it was read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha256: Option<String>,
    },
    /// A WebSocket text frame.
    Frame {
        /// Milliseconds since the record began.
        at_ms: u64,
        /// `out` from the page, `in` to it.
        dir: String,
        /// The socket's URL.
        url: String,
        /// The frame's text.
        text: String,
    },
}

impl WireEntry {
    /// The entry with every text in it (URL, headers, bodies, frames)
    /// passed through `f`: how secrets are hidden before it is kept.
    pub fn map_text(self, f: &dyn Fn(&str) -> String) -> Self {
        let pairs = |h: Vec<(String, String)>| h.into_iter().map(|(k, v)| (k, f(&v))).collect();
        match self {
            WireEntry::Request {
                at_ms,
                id,
                method,
                url,
                jodo,
                headers,
                body,
            } => WireEntry::Request {
                at_ms,
                id,
                method,
                url: f(&url),
                jodo,
                headers: pairs(headers),
                body: f(&body),
            },
            WireEntry::Response {
                at_ms,
                id,
                status,
                headers,
                html,
                sha256,
            } => WireEntry::Response {
                at_ms,
                id,
                status,
                headers: pairs(headers),
                html: html.map(|h| f(&h)),
                sha256,
            },
            WireEntry::Frame {
                at_ms,
                dir,
                url,
                text,
            } => WireEntry::Frame {
                at_ms,
                dir,
                url: f(&url),
                text: f(&text),
            },
        }
    }
}

/// The record, shared by every connection of the proxy.
#[derive(Debug)]
pub struct WireLog {
    started: Instant,
    entries: Mutex<Vec<WireEntry>>,
    next_id: std::sync::atomic::AtomicU64,
}

impl Default for WireLog {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            entries: Mutex::default(),
            next_id: std::sync::atomic::AtomicU64::new(1),
        }
    }
}

impl WireLog {
    /// Milliseconds since the record began.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A fresh request id.
    pub fn next_id(&self) -> u64 {
        self.next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Adds an entry.
    pub fn push(&self, entry: WireEntry) {
        if let Ok(mut e) = self.entries.lock() {
            e.push(entry);
        }
    }

    /// Everything so far, in order.
    pub fn entries(&self) -> Vec<WireEntry> {
        self.entries.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Forgets everything so far (between cases).
    pub fn clear(&self) {
        if let Ok(mut e) = self.entries.lock() {
            e.clear();
        }
    }
}

/// Text of a body, lossy, cut at [`BODY_KEPT`] bytes.
pub fn body_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_KEPT)]).into_owned()
}
