//! HTTP routes: pages, the session API, and the control API. The only
//! module besides [`crate::ws`] that knows about HTTP.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::gateway::Refusal;
use crate::scenario::Scenario;
use crate::scenario::model::SessionApi;
use crate::server::{AppState, MAX_FRAME_BYTES};

/// Path of the widget script, as the spec's example includes it.
pub const WIDGET_PATH: &str = "/jodowidgetapi/js/ext_integration-2.0.js";
/// Path of the session API.
pub const SESSIONS_PATH: &str = "/jodowidgetapi/v2/sessions";
/// Path of the WebSocket channel.
pub const WS_PATH: &str = "/jodowidgetapi/v2/ws";

/// Every route of the mock.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(host_page))
        .route("/fixtures/probe.js", get(probe))
        .route(WIDGET_PATH, get(widget))
        .route(SESSIONS_PATH, post(create_session).options(preflight))
        .route(WS_PATH, get(crate::ws::upgrade))
        .merge(crate::control::router())
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// An error answer in the shape of `schemas/wire/error-response.schema.json`.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    cors: Option<HeaderValue>,
}

impl ApiError {
    /// An error answer with a stable code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            cors: None,
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        Self::new(
            StatusCode::from_u16(r.status()).unwrap_or(StatusCode::FORBIDDEN),
            r.code(),
            r.message(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(origin) = self.cors {
            allow_cors(response.headers_mut(), origin);
        }
        response
    }
}

fn allow_cors(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
}

fn host_of(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned()
}

async fn host_page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let serverpath = format!("https://{}", host_of(&headers));
    let keys = state
        .gateway
        .page_keys()
        .cloned()
        .unwrap_or_else(crate::gateway::development_keys);
    let page = crate::pages::host_page(&serverpath, &keys.akey, &keys.skey);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response()
}

async fn probe(headers: HeaderMap) -> Response {
    revalidated(&headers, crate::pages::probe_script().as_bytes().to_vec())
}

async fn widget(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
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
    let etag = format!(
        "\"{}\"",
        digest[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
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

async fn preflight(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    if state.gateway.check_origin(origin).is_err() {
        return StatusCode::FORBIDDEN.into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    if let Some(o) = headers.get(header::ORIGIN) {
        allow_cors(h, o.clone());
    }
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

async fn create_session(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let origin_header = headers.get(header::ORIGIN).cloned();
    let origin = origin_header.as_ref().and_then(|o| o.to_str().ok());
    state.gateway.check_origin(origin)?;
    let origin = origin.unwrap_or_default().to_owned();
    let with_cors = |mut e: ApiError| {
        e.cors = origin_header.clone();
        e
    };
    if body.len() > MAX_FRAME_BYTES {
        return Err(with_cors(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("request body over {MAX_FRAME_BYTES} bytes"),
        )));
    }
    let request: Value = serde_json::from_slice(&body).map_err(|e| {
        with_cors(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("body is not JSON: {e}"),
        ))
    })?;
    let problems = state
        .schemas
        .validate("wire/session-request.schema.json", &request);
    if let Some(p) = problems.first() {
        // Never echo the document: it holds keys.
        return Err(with_cors(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("session request does not match the schema at {}", p.pointer),
        )));
    }
    let akey = request["akey"].as_str().unwrap_or_default();
    let skey = request["skey"].as_str().unwrap_or_default();
    state
        .gateway
        .check_keys(akey, skey)
        .map_err(|r| with_cors(r.into()))?;
    state
        .gateway
        .limit_session(akey)
        .map_err(|r| with_cors(r.into()))?;
    let init = request.get("init").cloned().unwrap_or(Value::Null);
    let scenario = choose_scenario(&state, &init).map_err(with_cors)?;
    match &scenario.api.session {
        SessionApi::Answer => {}
        SessionApi::Stall => {
            // Hold the request open, as a hung backend would; the client
            // gives up first (and dropping the connection ends this future).
            tokio::time::sleep(std::time::Duration::from_secs(600)).await;
            return Err(with_cors(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "scenario_fault",
                "the scenario stalls the session API",
            )));
        }
        SessionApi::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return Err(with_cors(ApiError::new(
                status,
                "scenario_fault",
                format!("the scenario {} fails the session API", scenario.name),
            )));
        }
    }
    let (session, token) = state.sessions.create(scenario, origin, init, akey);
    tracing::info!(session = %session.id, scenario = %session.scenario.name, "session created");
    let host = host_of(&headers);
    let body = json!({
        "sessionid": session.id,
        "systemcallid": session.systemcallid,
        "token": token,
        "websocket": format!("wss://{host}{WS_PATH}?token={token}"),
    });
    let mut response = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Some(o) = origin_header {
        allow_cors(response.headers_mut(), o);
    }
    Ok(response)
}

/// Prefix of a visitor name that picks the session's scenario, so every
/// situation can be reached from a page alone (`jodosessioninit({name: "scenario:allusersbusy"})`).
pub const SCENARIO_HINT: &str = "scenario:";

/// The scenario for a new session: a hint in the init data's `name`, else
/// the server's current default.
fn choose_scenario(state: &AppState, init: &Value) -> Result<Arc<Scenario>, ApiError> {
    if let Some(name) = init
        .get("name")
        .and_then(Value::as_str)
        .and_then(|n| n.strip_prefix(SCENARIO_HINT))
    {
        return state.library.get(name).cloned().ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown_scenario",
                format!(
                    "the name hint asks for scenario {name:?}, which is not a built-in scenario"
                ),
            )
        });
    }
    state.scenario.read().map(|s| s.clone()).map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "state poisoned",
        )
    })
}
