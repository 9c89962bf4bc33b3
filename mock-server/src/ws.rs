//! The WebSocket channel of one session: sequence numbers, replay and gap
//! detection on client frames, the state timer, control commands, and the
//! steps the scenario engine asks for (including deliberate faults).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use jodo_contract::wire::kind;
use jodo_contract::{Direction, Frame, SchemaSet, clock};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::scenario::model::Upgrade;
use crate::scenario::{Fired, Machine, Step};
use crate::server::{AppState, MAX_FRAME_BYTES};
use crate::session::{Command, Recorded, Session, random_hex};

/// Initial read buffer of a channel; it grows for larger frames.
const READ_BUFFER_BYTES: usize = 4096;

/// How long a closing channel waits for the widget's answering Close.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(2);

/// How many sent frames a channel keeps for `replay`.
const REPLAY_MEMORY: usize = 32;

/// Query of the upgrade request.
#[derive(Debug, Deserialize)]
pub struct UpgradeQuery {
    token: Option<String>,
}

/// Upgrades to a channel if the Origin is allowed, the token is fresh and
/// the session's scenario does not refuse upgrades.
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
    if let Upgrade::Refuse(status) = session.scenario.api.websocket {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return (status, "the scenario refuses the channel").into_response();
    }
    let schemas = state.schemas.clone();
    let limits = state.gateway.clone();
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        // Frames are small; tungstenite's default 128 KiB read buffer per
        // connection would dominate the memory of many idle sessions.
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            let (tx, rx) = mpsc::unbounded_channel();
            session.attach(tx);
            let mut channel = Channel::new(socket, session.clone(), schemas, rx, limits);
            if let Err(e) = channel.run().await {
                tracing::debug!(session = %session.id, error = %e, "channel ended with an error");
            }
            session.detach();
        })
}

/// One open channel.
struct Channel {
    socket: WebSocket,
    session: Arc<Session>,
    schemas: Arc<SchemaSet>,
    gateway: crate::gateway::Gateway,
    commands: mpsc::UnboundedReceiver<Command>,
    machine: Machine,
    out_seq: u64,
    in_seq: u64,
    seen_in: HashSet<String>,
    sent: VecDeque<Utf8Bytes>,
    entered_at: Instant,
    entries: u64,
    closed: bool,
}

impl Channel {
    fn new(
        socket: WebSocket,
        session: Arc<Session>,
        schemas: Arc<SchemaSet>,
        commands: mpsc::UnboundedReceiver<Command>,
        gateway: crate::gateway::Gateway,
    ) -> Self {
        let mut vars = Map::new();
        vars.insert("systemcallid".into(), json!(session.systemcallid));
        let machine = Machine::new(&session.scenario, vars);
        let entries = machine.entries();
        Self {
            socket,
            session,
            schemas,
            gateway,
            commands,
            machine,
            out_seq: 0,
            in_seq: 0,
            seen_in: HashSet::new(),
            sent: VecDeque::new(),
            entered_at: Instant::now(),
            entries,
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
        self.fire(Fired::Opened).await?;
        while !self.closed {
            // Frames of one burst go out together (one TLS record, one
            // write) before the channel waits for anything.
            self.socket.flush().await?;
            let deadline = self
                .machine
                .next_timer(&self.session.scenario)
                .map(|ms| (self.entered_at + Duration::from_millis(ms), ms));
            tokio::select! {
                message = self.socket.recv() => match message {
                    None => break,
                    Some(message) => match message? {
                        Message::Text(text) => self.on_text(text).await?,
                        Message::Binary(_) => {
                            self.refuse("binary_not_supported", "frames are JSON text messages", None).await?;
                        }
                        Message::Close(_) => break,
                        Message::Ping(_) | Message::Pong(_) => {}
                    },
                },
                Some(command) = self.commands.recv() => match command {
                    Command::Steps(steps) => self.perform(steps).await?,
                    Command::Trigger(name) => self.fire(Fired::Control(&name)).await?,
                },
                () = sleep_until(deadline.map(|(at, _)| at)), if deadline.is_some() => {
                    if let Some((_, ms)) = deadline {
                        self.fire(Fired::Timer(ms)).await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs the engine on a trigger and performs the steps it returns.
    async fn fire(&mut self, fired: Fired<'_>) -> Result<(), axum::Error> {
        let scenario = self.session.scenario.clone();
        let steps = self.machine.fire(&scenario, fired);
        if self.machine.entries() != self.entries {
            self.entries = self.machine.entries();
            self.entered_at = Instant::now();
        }
        self.perform(steps).await
    }

    async fn on_text(&mut self, text: Utf8Bytes) -> Result<(), axum::Error> {
        let (frame, raw) = match Frame::decode(text.as_str()) {
            Ok(decoded) => decoded,
            Err(e) => {
                self.session
                    .record("in", json!({ "unparsed": text.as_str() }));
                return self.refuse("bad_frame", &e.to_string(), None).await;
            }
        };
        // A copy of its own: the received text shares the socket's read
        // buffer, which a long-lived transcript entry would otherwise pin.
        self.session.record(
            "in",
            Recorded::Json(Utf8Bytes::from(text.as_str().to_owned())),
        );
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
        let over_limit = self
            .schemas
            .frame_rate_limit(&frame.kind)
            .and_then(|category| self.gateway.limit_frame(&self.session.akey, category));
        if let Some(limit) = over_limit {
            return self
                .refuse("rate_limited", &limit, Some(&frame.messageid))
                .await;
        }
        self.fire(Fired::Frame(&raw)).await?;
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
                Step::Send(data) => self.send_text(kind::EVENT, &data).await?,
                Step::DelayMs(ms) => {
                    self.socket.flush().await?;
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                Step::Close { code, reason } => self.close(code, &reason).await?,
                Step::Drop => {
                    // No close frame: the browser sees an abnormal closure (1006),
                    // after the frames queued before the drop.
                    self.socket.flush().await?;
                    self.session.record("out", json!({"dropped": true}));
                    self.closed = true;
                }
                Step::Raw(text) => {
                    self.session.record("out", json!({ "raw": text }));
                    self.socket.feed(Message::Text(text.into())).await?;
                }
                Step::SkipSeq(n) => self.out_seq += n,
                Step::Replay(back) => {
                    if let Some(text) = self
                        .sent
                        .len()
                        .checked_sub(back)
                        .and_then(|i| self.sent.get(i))
                        .cloned()
                    {
                        self.session.record("out", json!({ "replayed": serde_json::from_str::<Value>(text.as_str()).unwrap_or(Value::Null) }));
                        self.socket.feed(Message::Text(text)).await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Queues a frame; the run loop flushes once the burst is done.
    async fn send(&mut self, kind: &str, data: Value) -> Result<(), axum::Error> {
        self.send_text(kind, &data.to_string()).await
    }

    /// Queues a frame whose data is already JSON object text.
    async fn send_text(&mut self, kind: &str, data: &str) -> Result<(), axum::Error> {
        self.out_seq += 1;
        let ts = clock::rfc3339_now_shared();
        // The envelope's fields are plain ASCII (frame kinds, digits, hex,
        // an RFC 3339 time), so they are written as they are.
        let mut text = String::with_capacity(80 + data.len());
        text.push_str("{\"kind\":\"");
        text.push_str(kind);
        text.push_str("\",\"seq\":");
        text.push_str(&self.out_seq.to_string());
        text.push_str(",\"messageid\":\"s");
        text.push_str(&random_hex(8));
        text.push_str("\",\"ts\":\"");
        text.push_str(&ts);
        text.push_str("\",\"data\":");
        text.push_str(data);
        text.push('}');
        let text = Utf8Bytes::from(text);
        self.session.record("out", Recorded::Json(text.clone()));
        if self.sent.len() == REPLAY_MEMORY {
            self.sent.pop_front();
        }
        self.sent.push_back(text.clone());
        self.socket.feed(Message::Text(text)).await
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
        self.session
            .record("out", json!({"close": code, "reason": reason}));
        self.socket
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.to_owned().into(),
            })))
            .await?;
        // Wait (briefly) for the widget's answering Close before the TCP
        // connection goes: closing it with the widget's frames still unread
        // makes the kernel reset it, and a browser that sees the reset may
        // drop the frames sent just before the Close (Firefox does).
        let _ = tokio::time::timeout(CLOSE_HANDSHAKE, async {
            while let Some(Ok(message)) = self.socket.recv().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
        Ok(())
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
