//! The WebSocket channel of one session: sequence numbers, replay and gap
//! detection on client frames, and the steps the scenario engine asks for.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jodo_contract::wire::kind;
use jodo_contract::{Direction, Frame, SchemaSet, clock};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::scenario::{Fired, Machine, Step};
use crate::server::{AppState, MAX_FRAME_BYTES};
use crate::session::{Session, random_hex};

/// Query of the upgrade request.
#[derive(Debug, Deserialize)]
pub struct UpgradeQuery {
    token: Option<String>,
}

/// Upgrades to a channel if the Origin is allowed and the token is fresh.
pub async fn upgrade(
    State(state): State<Arc<AppState>>,
    Query(query): Query<UpgradeQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    if let Err(refusal) = state.gateway.check_origin(origin) {
        return (StatusCode::FORBIDDEN, refusal.message()).into_response();
    }
    let Some(session) = query
        .token
        .as_deref()
        .and_then(|t| state.sessions.redeem(t))
    else {
        return (
            StatusCode::UNAUTHORIZED,
            "unknown or already used channel token",
        )
            .into_response();
    };
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| async move {
            let mut channel = Channel::new(socket, session.clone(), state.schemas.clone());
            if let Err(e) = channel.run().await {
                tracing::debug!(session = %session.id, error = %e, "channel ended with an error");
            }
        })
}

/// One open channel.
struct Channel {
    socket: WebSocket,
    session: Arc<Session>,
    schemas: Arc<SchemaSet>,
    machine: Machine,
    out_seq: u64,
    in_seq: u64,
    seen_in: HashSet<String>,
    closed: bool,
}

impl Channel {
    fn new(socket: WebSocket, session: Arc<Session>, schemas: Arc<SchemaSet>) -> Self {
        let mut vars = Map::new();
        vars.insert("systemcallid".into(), json!(session.systemcallid));
        let machine = Machine::new(&session.scenario, vars);
        Self {
            socket,
            session,
            schemas,
            machine,
            out_seq: 0,
            in_seq: 0,
            seen_in: HashSet::new(),
            closed: false,
        }
    }

    async fn run(&mut self) -> Result<(), axum::Error> {
        self.send(
            kind::WELCOME,
            json!({"systemcallid": self.session.systemcallid, "loadmethod": "custom",
                   "startwithmedia": "chat", "isPSTN": 0}),
        )
        .await?;
        let scenario = self.session.scenario.clone();
        let steps = self.machine.fire(&scenario, Fired::Opened);
        self.perform(steps).await?;
        while !self.closed {
            let Some(message) = self.socket.recv().await else {
                break;
            };
            match message? {
                Message::Text(text) => self.on_text(text.as_str()).await?,
                Message::Binary(_) => {
                    self.refuse(
                        "binary_not_supported",
                        "frames are JSON text messages",
                        None,
                    )
                    .await?
                }
                Message::Close(_) => break,
                Message::Ping(_) | Message::Pong(_) => {}
            }
        }
        Ok(())
    }

    async fn on_text(&mut self, text: &str) -> Result<(), axum::Error> {
        let (frame, raw) = match Frame::decode(text) {
            Ok(decoded) => decoded,
            Err(e) => {
                self.session.record("in", json!({ "unparsed": text }));
                return self.refuse("bad_frame", &e.to_string(), None).await;
            }
        };
        self.session.record("in", raw.clone());
        if self.schemas.frame_direction(&frame.kind) == Some(Direction::Server) {
            let reason = format!(
                "{:?} frames are sent by the server, not by widgets",
                frame.kind
            );
            return self
                .refuse("unexpected_kind", &reason, Some(&frame.messageid))
                .await;
        }
        if let Some(p) = self.schemas.validate_frame(&raw).first() {
            return self
                .refuse("invalid_frame", &p.to_string(), Some(&frame.messageid))
                .await;
        }
        if !self.seen_in.insert(frame.messageid.clone()) {
            return self
                .refuse(
                    "replayed_messageid",
                    "messageid already used in this session",
                    Some(&frame.messageid),
                )
                .await;
        }
        if frame.seq != self.in_seq + 1 {
            let reason = format!("expected seq {}, got {}", self.in_seq + 1, frame.seq);
            self.in_seq = frame.seq;
            self.refuse("sequence_gap", &reason, Some(&frame.messageid))
                .await?;
        } else {
            self.in_seq = frame.seq;
        }
        let scenario = self.session.scenario.clone();
        let steps = self.machine.fire(&scenario, Fired::Frame(&frame));
        self.perform(steps).await?;
        if frame.kind == kind::SESSION_END && !self.closed {
            self.close(1000, "session ended by visitor").await?;
        }
        Ok(())
    }

    async fn perform(&mut self, steps: Vec<Step>) -> Result<(), axum::Error> {
        for step in steps {
            if self.closed {
                break;
            }
            match step {
                Step::Send(data) => self.send(kind::EVENT, Value::Object(data)).await?,
                Step::DelayMs(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                Step::Close { code, reason } => self.close(code, &reason).await?,
            }
        }
        Ok(())
    }

    async fn send(&mut self, kind: &str, data: Value) -> Result<(), axum::Error> {
        self.out_seq += 1;
        let frame = Frame {
            kind: kind.to_owned(),
            seq: self.out_seq,
            messageid: format!("s{}", random_hex(8)),
            ts: Some(clock::rfc3339_now()),
            data,
        };
        let text = frame.encode();
        self.session
            .record("out", serde_json::to_value(&frame).unwrap_or(Value::Null));
        self.socket.send(Message::Text(text.into())).await
    }

    async fn refuse(
        &mut self,
        code: &str,
        reason: &str,
        refers_to: Option<&str>,
    ) -> Result<(), axum::Error> {
        let mut data = json!({"code": code, "reason": reason});
        if let Some(id) = refers_to {
            data["refmessageid"] = json!(id);
        }
        self.send(kind::ERROR, data).await
    }

    async fn close(&mut self, code: u16, reason: &str) -> Result<(), axum::Error> {
        self.closed = true;
        self.socket
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.to_owned().into(),
            })))
            .await
    }
}
