//! The mock's routes: the only modules that know HTTP and WebSocket.
//!
//! - [`pages`]: the host page, the preload script and the widget build;
//! - [`session_api`]: session creation, with CORS for the allowed origins;
//! - [`ws`]: the channel of one session;
//! - [`control`]: the control API;
//! - [`console`]: the agent console, a page that uses the control API.

pub mod console;
pub mod control;
pub mod pages;
pub mod session_api;
pub mod ws;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, Method, header};
use axum::routing::{MethodFilter, get, on};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::site::{PRELOAD_PATH, SHELL_PATH, WIDGET_PATH};
use crate::state::AppState;

/// Every route of the mock. The session API and the channel sit where
/// the dialect puts them.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let session = &state.dialect.file.session;
    let (method, filter) = session_method(&session.method);
    Router::new()
        .route("/", get(pages::host_page))
        .route(PRELOAD_PATH, get(pages::preload))
        .route(SHELL_PATH, get(pages::shell))
        .route(WIDGET_PATH, get(pages::widget))
        .route(
            &session.path,
            // The body is read no further than the limit: a larger one is
            // refused as soon as it goes past it, not buffered first.
            on(filter, session_api::create_session)
                .layer::<_, std::convert::Infallible>(axum::extract::DefaultBodyLimit::max(
                    crate::state::MAX_FRAME_BYTES,
                ))
                .layer(cors(&state, method)),
        )
        .route(&state.dialect.file.channel.path, get(ws::upgrade))
        .merge(control::router(
            state.control_body_bytes,
            state.control_access.clone(),
        ))
        .merge(console::router(state.control_access.clone()))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// CORS for the session API: a page on an allowed origin may call it from
/// the browser (its answers, errors included, are readable there); any
/// other origin's preflight gets no grant, so the browser never sends it.
fn cors(state: &Arc<AppState>, method: Method) -> CorsLayer {
    let state = state.clone();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(
            move |origin: &HeaderValue, _parts| {
                origin
                    .to_str()
                    .is_ok_and(|o| state.gateway.check_origin(Some(o)).is_ok())
            },
        ))
        .allow_methods([method])
        .allow_headers([header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(600))
}

/// The session API's method: the dialect schema allows POST and PUT.
fn session_method(name: &str) -> (Method, MethodFilter) {
    if name.eq_ignore_ascii_case("PUT") {
        (Method::PUT, MethodFilter::PUT)
    } else {
        (Method::POST, MethodFilter::POST)
    }
}
