//! The agent console: a page, a script and a style sheet built into the
//! binary (no build step, nothing fetched at run time). The page is a
//! client of the documented control API and nothing else, so whatever a
//! person does in it a script can do too.

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use include_dir::{Dir, include_dir};

use crate::control_access::ControlAccess;
use crate::state::AppState;

static FILES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/console");

/// Where the console lives.
pub const CONSOLE_PATH: &str = "/console";

/// What the console's page may load and talk to: only the mock itself, no
/// inline script, and it may not be framed by another page.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `/console` and its files, behind [`ControlAccess`]'s page check.
pub(crate) fn router(access: Arc<ControlAccess>) -> Router<Arc<AppState>> {
    Router::new()
        .route(CONSOLE_PATH, get(|| async { file("index.html") }))
        .route(
            "/console/{file}",
            get(|Path(name): Path<String>| async move { file(&name) }),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            access,
            crate::control_access::check_page,
        ))
}

fn file(name: &str) -> Response {
    let kind = match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => return (StatusCode::NOT_FOUND, "no such console file").into_response(),
    };
    match FILES.get_file(name) {
        Some(f) => (
            [
                (header::CONTENT_TYPE, kind),
                (header::CONTENT_SECURITY_POLICY, POLICY),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::REFERRER_POLICY, "no-referrer"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            f.contents(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such console file").into_response(),
    }
}
