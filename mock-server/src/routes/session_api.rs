//! The session API: what a widget calls to start a session, before it
//! opens the channel.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use crate::api_error::ApiError;
use crate::origin::host_of;
use crate::scenario::Scenario;
use crate::scenario::model::SessionApi;
use crate::state::{AppState, MAX_FRAME_BYTES};

/// Prefix of a visitor name that picks the session's scenario, so every
/// situation can be reached from a page alone (`jodosessioninit({name: "scenario:allusersbusy"})`).
pub const SCENARIO_HINT: &str = "scenario:";

/// The answer to a created session (`schemas/wire/session-response.schema.json`).
#[derive(Debug, Serialize)]
struct SessionCreated {
    sessionid: String,
    systemcallid: String,
    token: String,
    websocket: String,
}

/// Session creation, at the dialect's method and path
/// (`POST /jodowidgetapi/v2/sessions` in the kit's own): the dialect's
/// body is read into the kit's request, checked, and the answer written
/// back in the dialect's shape.
pub(crate) async fn create_session(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    state.gateway.check_origin(origin)?;
    let origin = origin.unwrap_or_default().to_owned();
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("request body over {MAX_FRAME_BYTES} bytes"),
        )
    };
    let body = match body {
        Ok(body) if body.len() <= MAX_FRAME_BYTES => body,
        Ok(_) => return Err(too_large()),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
        Err(e) => {
            return Err(ApiError::bad_request(format!(
                "cannot read the body: {}",
                e.body_text()
            )));
        }
    };
    let mut request: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("body is not JSON: {e}")))?;
    let dialect = &state.dialect;
    if !dialect.is_identity() {
        request = dialect.request_from_wire(&request);
    }
    let problems = state
        .schemas
        .validate("wire/session-request.schema.json", &request);
    if let Some(p) = problems.first() {
        // Never echo the document: it holds keys.
        return Err(ApiError::bad_request(format!(
            "session request does not match the schema at {}",
            dialect.request_place(&p.pointer)
        )));
    }
    let akey = request["akey"].as_str().unwrap_or_default();
    let skey = request["skey"].as_str().unwrap_or_default();
    state.gateway.check_keys(akey, skey)?;
    let bound = state.open_sessions;
    let (open, open_for_key) = state.sessions.open(akey, bound.total.min(bound.per_key));
    if open >= bound.total || open_for_key >= bound.per_key {
        let (count, limit, whose) = if open >= bound.total {
            (open, bound.total, "in all")
        } else {
            (open_for_key, bound.per_key, "for this key")
        };
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_sessions",
            format!(
                "{count} sessions are open {whose}, the limit is {limit}; end one first (serve --max-sessions, --max-sessions-per-key)"
            ),
        ));
    }
    state.gateway.limit_session(akey)?;
    let init = request.get("init").cloned().unwrap_or(Value::Null);
    let scenario = choose_scenario(&state, &init)?;
    match &scenario.api.session {
        SessionApi::Answer => {}
        SessionApi::Stall => {
            // Hold the request open, as a hung backend would; the client
            // gives up first (and dropping the connection ends this future).
            tokio::time::sleep(std::time::Duration::from_secs(600)).await;
            return Err(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "scenario_fault",
                "the scenario stalls the session API",
            ));
        }
        SessionApi::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return Err(ApiError::new(
                status,
                "scenario_fault",
                format!("the scenario {} fails the session API", scenario.name),
            ));
        }
    }
    let (session, token) = state.sessions.create(scenario, origin, init, akey);
    tracing::info!(session = %session.id, scenario = %session.scenario.name, "session created");
    let host = host_of(&headers);
    let channel = &dialect.file.channel;
    let body = SessionCreated {
        sessionid: session.id.clone(),
        systemcallid: session.systemcallid.clone(),
        websocket: format!("wss://{host}{}?{}={token}", channel.path, channel.token),
        token,
    };
    if dialect.is_identity() {
        return Ok((StatusCode::CREATED, axum::Json(body)).into_response());
    }
    let body = serde_json::to_value(&body).unwrap_or(Value::Null);
    Ok((
        StatusCode::CREATED,
        axum::Json(dialect.answer_to_wire(&body)),
    )
        .into_response())
}

/// The scenario for a new session: a hint in the init data's `name`, else
/// the server's current default.
fn choose_scenario(state: &AppState, init: &Value) -> Result<Arc<Scenario>, ApiError> {
    if let Some(name) = init
        .get("name")
        .and_then(Value::as_str)
        .and_then(|n| n.strip_prefix(SCENARIO_HINT))
    {
        return state.library.get(name).cloned().ok_or_else(|| {
            ApiError::bad_request(format!(
                "the name hint asks for scenario {name:?}, which is not a built-in scenario"
            ))
            .with_code("unknown_scenario")
        });
    }
    Ok(state.current_scenario())
}
