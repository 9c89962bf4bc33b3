//! The pages and scripts browsers load: the host page, the preload script
//! and the widget build.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::origin::host_of;
use crate::state::AppState;

/// The host page, its serverpath the address the browser used.
pub(crate) async fn host_page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let serverpath = format!("https://{}", host_of(&headers));
    let keys = state
        .gateway
        .page_keys()
        .unwrap_or_else(crate::gateway::development_keys);
    let page = crate::site::host_page(&serverpath, &keys.akey, &keys.skey, state.preload.is_some());
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response()
}

/// The script configured to run before the page's own; 404 when none is.
pub(crate) async fn preload(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match &state.preload {
        Some(p) => revalidated(&headers, p.script.to_vec()),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The runner's shell page, when its preload brought one.
pub(crate) async fn shell(State(state): State<Arc<AppState>>) -> Response {
    match state.preload.as_ref().and_then(|p| p.shell.clone()) {
        Some(page) => (
            [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page.to_vec(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The widget build under test.
pub(crate) async fn widget(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let script = state
        .widget
        .read()
        .map(|w| w.script.clone())
        .unwrap_or_default();
    revalidated(&headers, script)
}

/// A script the browser may keep but must revalidate on every load
/// (`no-cache` with an ETag of its content): a changed build is picked up
/// at once, while an unchanged one costs a 304 and keeps its compiled code
/// in the browser's cache, which saves the runner time on every case.
fn revalidated(headers: &HeaderMap, script: Vec<u8>) -> Response {
    let digest = Sha256::digest(&script);
    let etag = format!("\"{}\"", hex::encode(&digest[..12]));
    let cache = [
        (header::CACHE_CONTROL, "no-cache".to_owned()),
        (header::ETAG, etag.clone()),
    ];
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    if unchanged {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/javascript; charset=utf-8".to_owned(),
        )],
        cache,
        script,
    )
        .into_response()
}
