//! The control API (`schemas/control-api.openapi.yaml`): what test tools
//! and people use to look at sessions and steer them while they run.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    origin: &'a str,
    live: bool,
    init: &'a Value,
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
        origin: &s.origin,
        live: s.is_live(),
        init: &s.init,
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
