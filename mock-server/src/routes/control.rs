//! The control API (`schemas/control-api.openapi.yaml`): what test tools
//! and people use to look at sessions and steer them while they run.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::api_error::ApiError;
use crate::control_access::ControlAccess;
use crate::scenario::Step;

use crate::scenario::model::{Action, MAX_SKIP_SEQ};
use crate::session::{Command, Session, SessionSummary};
use crate::state::AppState;

/// Routes under `/control/v1`, each behind `access`; bodies are read no
/// further than `body_limit` bytes.
pub(crate) fn router(body_limit: usize, access: Arc<ControlAccess>) -> Router<Arc<AppState>> {
    Router::new()
        .route("/control/v1/sessions", get(list))
        .route("/control/v1/sessions/{id}", get(one))
        .route("/control/v1/sessions/{id}/transcript", get(transcript))
        .route("/control/v1/sessions/{id}/stream", get(stream))
        .route("/control/v1/sessions/{id}/reply", post(reply))
        .route("/control/v1/server-events", get(server_events))
        .route("/control/v1/sessions/{id}/events", post(inject))
        .route("/control/v1/sessions/{id}/faults", post(fault))
        .route("/control/v1/sessions/{id}/triggers/{name}", post(trigger))
        .route("/control/v1/scenarios", get(scenarios))
        .route(
            "/control/v1/scenario",
            get(current_scenario).put(choose_scenario),
        )
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .route_layer(axum::middleware::from_fn_with_state(
            access,
            crate::control_access::check,
        ))
}

fn session(state: &AppState, id: &str) -> Result<Arc<Session>, ApiError> {
    state.sessions.get(id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_session",
            format!("no session {id:?}"),
        )
    })
}

/// `202` to a command handed to a live channel.
#[derive(Serialize)]
struct Accepted<'a> {
    session: &'a str,
    accepted: bool,
}

/// `GET /control/v1/sessions`.
#[derive(Serialize)]
struct SessionList {
    sessions: Vec<SessionSummary>,
}

/// `GET /control/v1/sessions/{id}`.
#[derive(Serialize)]
struct SessionDetail<'a> {
    id: &'a str,
    systemcallid: &'a str,
    scenario: &'a str,
    state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    visitor: Option<&'a str>,
    started: &'a str,
    duration_ms: u64,
    origin: &'a str,
    live: bool,
    init: &'a Value,
    /// Control triggers its scenario has (`POST .../triggers/{name}`).
    triggers: Vec<&'a str>,
}

/// One built-in scenario in `GET /control/v1/scenarios`.
#[derive(Serialize)]
struct ScenarioEntry<'a> {
    name: &'a str,
    summary: &'a str,
}

/// `GET /control/v1/scenarios`.
#[derive(Serialize)]
struct ScenarioList<'a> {
    scenarios: Vec<ScenarioEntry<'a>>,
}

/// The scenario for new sessions, read or chosen.
#[derive(Serialize)]
struct ScenarioName<'a> {
    name: &'a str,
}

fn deliver(session: &Session, command: Command) -> Result<Response, ApiError> {
    if session.command(command) {
        Ok((
            StatusCode::ACCEPTED,
            Json(Accepted {
                session: &session.id,
                accepted: true,
            }),
        )
            .into_response())
    } else {
        Err(ApiError::new(
            StatusCode::CONFLICT,
            "session_not_live",
            format!("session {} has no open channel", session.id),
        ))
    }
}

async fn list(State(state): State<Arc<AppState>>) -> Response {
    Json(SessionList {
        sessions: state.sessions.list(),
    })
    .into_response()
}

async fn one(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let s = session(&state, &id)?;
    Ok(Json(SessionDetail {
        id: &s.id,
        systemcallid: &s.systemcallid,
        scenario: &s.scenario.name,
        state: s.state(),
        visitor: s.visitor(),
        started: &s.started,
        duration_ms: u64::try_from(s.duration().as_millis()).unwrap_or(u64::MAX),
        origin: &s.origin,
        live: s.is_live(),
        init: &s.init,
        triggers: s.scenario.control_triggers().into_iter().collect(),
    })
    .into_response())
}

async fn transcript(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let s = session(&state, &id)?;
    // The frames are kept as JSON text already: no tree is built for them.
    let body = format!(
        "{{\"session\":{},\"frames\":{}}}",
        Value::String(id),
        s.transcript()
    );
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Query of `GET .../stream`.
#[derive(Debug, Deserialize)]
struct StreamQuery {
    /// Number of the first frame wanted (frames are numbered from 0 in
    /// the order the session recorded them).
    #[serde(default)]
    from: u64,
}

/// How often a quiet stream says it is still there, so that proxies keep
/// it open and a client notices a dead mock.
const STREAM_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// `GET .../stream`: the session's frames as server-sent events, the kept
/// ones first, then each as it is recorded. Every `frame` event carries
/// its number as the event id, so a client that reconnects (with
/// `Last-Event-ID`, or `?from=`) gets no frame twice; a client too slow to
/// keep up gets a `lagged` event with the number of frames it missed.
async fn stream(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let s = session(&state, &id)?;
    let from = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(query.from, |last| last.saturating_add(1));
    let watch = s.watch(from);
    let frame = |n: u64, line: &str| -> Result<Event, Infallible> {
        Ok(Event::default().event("frame").id(n.to_string()).data(line))
    };
    let kept =
        futures_util::stream::iter(watch.kept.into_iter().map(move |(n, line)| frame(n, &line)));
    let live = futures_util::stream::unfold(
        (watch.live, watch.next),
        move |(mut rx, mut n)| async move {
            loop {
                match rx.recv().await {
                    // Asked to start further on than the frames so far.
                    Ok(_) if n < from => n += 1,
                    Ok(line) => return Some((frame(n, &line), (rx, n + 1))),
                    Err(RecvError::Lagged(missed)) => {
                        let note = Event::default().event("lagged").data(missed.to_string());
                        return Some((Ok(note), (rx, n + missed)));
                    }
                    // The session was forgotten: the stream ends.
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(Sse::new(futures_util::StreamExt::chain(kept, live))
        .keep_alive(KeepAlive::new().interval(STREAM_KEEP_ALIVE))
        .into_response())
}

/// Body of `POST .../reply`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    /// What the agent says.
    text: String,
    /// Who says it (`sender` of the event), when given.
    #[serde(default)]
    sender: Option<String>,
}

/// `POST .../reply`: the agent says something; the widget gets a
/// `chat/messagereceived` with the text. A reply has the bounds of the
/// catalogue's chat text (`defs.shared.chat_text`): a person typing in the
/// console meets the same limits as a scripted agent's messages checked by
/// the suite.
async fn reply(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Result<Json<Reply>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let s = session(&state, &id)?;
    let Json(reply) = body.map_err(|e| ApiError::json_rejection(&e, state.control_body_bytes))?;
    let bound = |key: &str| {
        state.schemas.catalog().defs.shared["chat_text"]
            .get(key)
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
    };
    let chars = reply.text.trim().chars().count();
    let (min, max) = (bound("minLength").unwrap_or(1), bound("maxLength"));
    if chars < min.max(1) || max.is_some_and(|max| chars > max) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_reply",
            format!(
                "a reply needs from {} to {} characters of text besides spaces; this one has {chars}",
                min.max(1),
                max.map_or_else(|| "any number of".to_owned(), |m| m.to_string())
            ),
        ));
    }
    let mut event = json!({"media": "chat", "eventtype": "messagereceived", "msg": reply.text});
    if let Some(sender) = reply.sender {
        event["sender"] = Value::String(sender);
    }
    if let Some(e) = state.schemas.validate_server_event(&event).first() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_reply",
            e.to_string(),
        ));
    }
    deliver(&s, Command::Steps(vec![Step::Send(event.to_string())]))
}

/// `GET /control/v1/server-events`: every event the server may send, with
/// its schema, and the status codes by name, so that a client (the
/// console) builds its actions from the catalogue instead of a list of
/// its own.
async fn server_events(State(state): State<Arc<AppState>>) -> Response {
    let catalog = state.schemas.catalog();
    let events: Vec<Value> = catalog
        .events
        .iter()
        .filter(|e| e.source.contains(&jodo_contract::catalog::Source::Server))
        .map(|e| {
            let schema =
                jodo_contract::bundle::text(&jodo_contract::generate::server_event_path(e))
                    .and_then(|text| serde_json::from_str::<Value>(text).ok())
                    .unwrap_or(Value::Null);
            json!({
                "key": e.key(),
                "media": e.media,
                "eventtype": e.eventtype,
                "summary": e.summary,
                "section": e.section,
                "schema": schema,
            })
        })
        .collect();
    Json(json!({"events": events, "status_codes": catalog.status_codes})).into_response()
}

/// Query of `POST .../events`.
#[derive(Debug, Deserialize)]
struct InjectQuery {
    /// Send even when the data is not a valid server event (a fault).
    #[serde(default)]
    unchecked: bool,
}

async fn inject(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(query): Query<InjectQuery>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let s = session(&state, &id)?;
    let Json(data) = body.map_err(|e| ApiError::json_rejection(&e, state.control_body_bytes))?;
    let Value::Object(map) = data else {
        return Err(ApiError::bad_request(
            "the body must be a JSON object: the event's data",
        ));
    };
    if !query.unchecked {
        let errors = state
            .schemas
            .validate_server_event(&Value::Object(map.clone()));
        if let Some(e) = errors.first() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_event",
                format!("{e} (add ?unchecked=true to send it anyway)"),
            ));
        }
    }
    let text = Value::Object(map).to_string();
    deliver(&s, Command::Steps(vec![Step::Send(text)]))
}

async fn fault(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let s = session(&state, &id)?;
    let Json(body) = body.map_err(|e| ApiError::json_rejection(&e, state.control_body_bytes))?;
    let bad = |why: String| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_fault",
            format!(
                "{why}; a fault is \"drop\", {{\"close\": {{\"code\": N}}}}, {{\"raw\": TEXT}}, {{\"skip_seq\": N}} or {{\"replay\": N}}"
            ),
        )
    };
    let action: Action = serde_json::from_value(body).map_err(|e| bad(e.to_string()))?;
    let step = match action {
        Action::Drop => Step::Drop,
        Action::Close { code, reason } => Step::Close { code, reason },
        Action::Raw(text) => Step::Raw(text),
        Action::SkipSeq(n) if (1..=MAX_SKIP_SEQ).contains(&n) => Step::SkipSeq(n),
        Action::SkipSeq(n) => {
            return Err(bad(format!(
                "skip_seq {n} is out of range: from 1 to {MAX_SKIP_SEQ}"
            )));
        }
        Action::Replay(n) => Step::Replay(n),
        other => return Err(bad(format!("{other:?} is not a fault"))),
    };
    deliver(&s, Command::Steps(vec![step]))
}

async fn trigger(
    State(state): State<Arc<AppState>>,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let s = session(&state, &id)?;
    let known = s.scenario.control_triggers();
    if !known.contains(name.as_str()) {
        let known: Vec<&str> = known.into_iter().collect();
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_trigger",
            format!(
                "scenario {:?} has no control trigger {name:?} (it has: {})",
                s.scenario.name,
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
        ));
    }
    deliver(&s, Command::Trigger(name))
}

async fn scenarios(State(state): State<Arc<AppState>>) -> Response {
    let scenarios = state
        .library
        .values()
        .map(|s| ScenarioEntry {
            name: &s.name,
            summary: &s.summary,
        })
        .collect();
    Json(ScenarioList { scenarios }).into_response()
}

async fn current_scenario(State(state): State<Arc<AppState>>) -> Response {
    let current = state.current_scenario();
    Json(ScenarioName {
        name: &current.name,
    })
    .into_response()
}

/// Body of `PUT /control/v1/scenario`.
#[derive(Debug, Deserialize)]
struct Choice {
    name: String,
}

async fn choose_scenario(
    State(state): State<Arc<AppState>>,
    body: Result<Json<Choice>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(choice) = body.map_err(|e| ApiError::json_rejection(&e, state.control_body_bytes))?;
    let scenario = state.library.get(&choice.name).cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_scenario",
            format!("no built-in scenario {:?}", choice.name),
        )
    })?;
    state.set_scenario(scenario);
    Ok(Json(ScenarioName { name: &choice.name }).into_response())
}
