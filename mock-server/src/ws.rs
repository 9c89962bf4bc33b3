//! The WebSocket channel of one session: sequence numbers, replay and gap
//! detection on client frames, the state timer, control commands, the
//! steps the scenario engine asks for (including deliberate faults), and
//! resuming a dropped session over a new channel.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use jodo_contract::wire::{self, ChatSend, Head, kind};
use jodo_contract::{Direction, clock};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::conversation::Conversation;
use crate::scenario::model::Upgrade;
use crate::scenario::{Fired, FrameRef, Step};
use crate::server::{AppState, MAX_FRAME_BYTES};
use crate::session::{Command, RESUME_GRACE, Recorded, Session};

/// Initial read buffer of a channel; it grows for larger frames.
const READ_BUFFER_BYTES: usize = 4096;

/// How long a closing channel waits for the widget's answering Close.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(2);

/// Query of the upgrade request: a new session's token, or the resume
/// secret of a session whose channel dropped.
#[derive(Debug, Deserialize)]
pub struct UpgradeQuery {
    token: Option<String>,
    resume: Option<String>,
}

/// Close codes after which the widget may resume the session: the server
/// went away or asks it to come back, rather than ending the session.
const RESUMABLE_CLOSES: [u16; 3] = [1001, 1012, 1013];

/// Upgrades to a channel if the Origin is allowed, the token (or resume
/// secret) is good and the session's scenario does not refuse upgrades.
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
    let opened = match (query.token.as_deref(), query.resume.as_deref()) {
        (Some(token), None) => open_new(&state, token),
        (None, Some(secret)) => open_resumed(&state, secret),
        _ => Err((
            StatusCode::BAD_REQUEST,
            "the upgrade needs either ?token= or ?resume=",
        )),
    };
    let (session, conversation, resumed) = match opened {
        Ok(opened) => opened,
        Err(refusal) => return refusal.into_response(),
    };
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        // Frames are small; tungstenite's default 128 KiB read buffer per
        // connection would dominate the memory of many idle sessions.
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            let (tx, rx) = mpsc::unbounded_channel();
            session.attach(tx);
            let mut channel = Channel {
                socket,
                session: session.clone(),
                state,
                commands: rx,
                conv: conversation,
                closed: false,
                ended: false,
                now: None,
            };
            if let Err(e) = channel.run(resumed).await {
                tracing::debug!(session = %session.id, error = %e, "channel ended with an error");
            }
            session.detach();
            if !channel.ended {
                session.park(channel.conv);
                tokio::spawn(async move {
                    tokio::time::sleep(RESUME_GRACE).await;
                    session.expire_parked();
                });
            }
        })
}

type Refusal = (StatusCode, &'static str);

/// A new session's first channel, opened with its single-use token.
fn open_new(state: &AppState, token: &str) -> Result<(Arc<Session>, Conversation, bool), Refusal> {
    let session = state.sessions.redeem(token).ok_or((
        StatusCode::UNAUTHORIZED,
        "unknown or already used channel token",
    ))?;
    refused_by_scenario(&session.scenario.api.websocket)?;
    let conversation = Conversation::start(&session.scenario, &session.systemcallid);
    Ok((session, conversation, false))
}

/// A dropped session re-attached with the secret of its latest welcome.
fn open_resumed(
    state: &AppState,
    secret: &str,
) -> Result<(Arc<Session>, Conversation, bool), Refusal> {
    let session = state.sessions.resume_target(secret).ok_or((
        StatusCode::UNAUTHORIZED,
        "unknown or outdated resume secret",
    ))?;
    refused_by_scenario(&session.scenario.api.resume)?;
    let conversation = session.unpark().ok_or((
        StatusCode::CONFLICT,
        "the session is not waiting to be resumed (still open, ended, or past its grace period)",
    ))?;
    Ok((session, conversation, true))
}

fn refused_by_scenario(upgrade: &Upgrade) -> Result<(), Refusal> {
    match upgrade {
        Upgrade::Accept => Ok(()),
        Upgrade::Refuse(status) => Err((
            StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            "the scenario refuses the channel",
        )),
    }
}

/// One open channel.
struct Channel {
    socket: WebSocket,
    session: Arc<Session>,
    state: Arc<AppState>,
    commands: mpsc::UnboundedReceiver<Command>,
    conv: Conversation,
    /// No more frames go out on this socket.
    closed: bool,
    /// The session cannot be resumed: it ended, or a side closed it for good.
    ended: bool,
    /// The time of the burst being handled: the frames a trigger sends at
    /// once share it (taken once, not per frame); a delay starts a new one.
    now: Option<Arc<str>>,
}

impl Channel {
    async fn run(&mut self, resumed: bool) -> Result<(), axum::Error> {
        let resume = self.state.sessions.issue_resume(&self.session.id);
        let mut welcome = json!({"systemcallid": self.session.systemcallid, "loadmethod": "custom",
                                 "startwithmedia": "chat", "isPSTN": 0, "resume": resume});
        if resumed {
            welcome["resumed"] = json!(true);
        }
        self.send(kind::WELCOME, welcome).await?;
        self.fire(if resumed {
            Fired::Resumed
        } else {
            Fired::Opened
        })
        .await?;
        while !self.closed {
            // Frames of one burst go out together (one TLS record, one
            // write) before the channel waits for anything.
            self.socket.flush().await?;
            self.now = None;
            let deadline = self
                .conv
                .machine
                .next_timer(&self.session.scenario)
                .map(|ms| (self.conv.entered_at + Duration::from_millis(ms), ms));
            tokio::select! {
                message = self.socket.recv() => match message {
                    None => break,
                    Some(message) => match message? {
                        Message::Text(text) => self.on_text(text).await?,
                        Message::Binary(_) => {
                            self.refuse("binary_not_supported", "frames are JSON text messages", None).await?;
                        }
                        Message::Close(_) => {
                            // The widget closed the channel itself.
                            self.ended = true;
                            break;
                        }
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
        let steps = self.conv.machine.fire(&self.session.scenario, fired);
        if self.conv.machine.entries() != self.conv.entries {
            self.conv.entries = self.conv.machine.entries();
            self.conv.entered_at = Instant::now();
        }
        self.perform(steps).await
    }

    async fn on_text(&mut self, text: Utf8Bytes) -> Result<(), axum::Error> {
        // A plain chat message, the most frequent frame, is read straight
        // into its fields; any other text is parsed into a tree, and the
        // envelope is borrowed from it: nothing of the frame is copied on
        // the way to the checks and the engine.
        // The frame is recorded with the time its answers will carry.
        let now = self.now();
        let chat;
        let raw;
        let (frame, head) = match ChatSend::parse(text.as_str()) {
            Some(c) => {
                self.session
                    .record_at(&now, "in", Recorded::Received(text.as_str()));
                chat = c;
                let head = Head {
                    kind: kind::CHAT_SEND,
                    seq: chat.seq,
                    messageid: &chat.messageid,
                };
                (FrameRef::Chat(&chat), head)
            }
            None => {
                raw = match wire::parse(text.as_str()) {
                    Ok(raw) => raw,
                    Err(e) => {
                        self.session
                            .record_at(&now, "in", json!({ "unparsed": text.as_str() }));
                        return self.refuse("bad_frame", &e.to_string(), None).await;
                    }
                };
                self.session
                    .record_at(&now, "in", Recorded::Received(text.as_str()));
                let head = match Head::of(&raw) {
                    Ok(head) => head,
                    Err(e) => return self.refuse("bad_frame", &e.to_string(), None).await,
                };
                if let Some(refusal) = self.refusal_of(&raw, &head) {
                    let (code, reason) = refusal;
                    return self.refuse(code, &reason, Some(head.messageid)).await;
                }
                (FrameRef::Json(&raw), head)
            }
        };
        let frame_kind = head.kind;
        if !self.conv.seen_in.insert(head.messageid) {
            return self
                .refuse(
                    "replayed_messageid",
                    "messageid already used in this session",
                    Some(head.messageid),
                )
                .await;
        }
        if head.seq != self.conv.in_seq + 1 {
            let reason = format!("expected seq {}, got {}", self.conv.in_seq + 1, head.seq);
            self.conv.in_seq = head.seq;
            self.refuse("sequence_gap", &reason, Some(head.messageid))
                .await?;
        } else {
            self.conv.in_seq = head.seq;
        }
        let over_limit = self
            .state
            .schemas
            .frame_rate_limit(frame_kind)
            .and_then(|category| self.state.gateway.limit_frame(&self.session.akey, category));
        if let Some(limit) = over_limit {
            return self
                .refuse("rate_limited", &limit, Some(head.messageid))
                .await;
        }
        self.fire(Fired::Frame(frame)).await?;
        if frame_kind == kind::SESSION_END && !self.closed {
            self.close(1000, "session ended by visitor").await?;
        }
        Ok(())
    }

    /// Why a parsed frame is refused before the scenario sees it: a
    /// server-only kind, or a schema violation.
    fn refusal_of(&self, raw: &Value, head: &Head<'_>) -> Option<(&'static str, String)> {
        if self.state.schemas.frame_direction(head.kind) == Some(Direction::Server) {
            return Some((
                "unexpected_kind",
                format!(
                    "{:?} frames are sent by the server, not by widgets",
                    head.kind
                ),
            ));
        }
        let problem = self.state.schemas.validate_frame(raw).into_iter().next()?;
        Some(("invalid_frame", problem.to_string()))
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
                    self.now = None;
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
                Step::SkipSeq(n) => self.conv.out_seq += n,
                Step::Replay(back) => {
                    if let Some(text) = self.conv.sent_back(back) {
                        self.session.record("out", json!({ "replayed": serde_json::from_str::<Value>(text.as_str()).unwrap_or(Value::Null) }));
                        self.socket.feed(Message::Text(text)).await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The time of the current burst, as the frames and transcript write it.
    fn now(&mut self) -> Arc<str> {
        self.now
            .get_or_insert_with(clock::rfc3339_now_shared)
            .clone()
    }

    /// Queues a frame; the run loop flushes once the burst is done.
    async fn send(&mut self, kind: &str, data: Value) -> Result<(), axum::Error> {
        self.send_text(kind, &data.to_string()).await
    }

    /// Queues a frame whose data is already JSON object text.
    async fn send_text(&mut self, kind: &str, data: &str) -> Result<(), axum::Error> {
        self.conv.out_seq += 1;
        let ts = self.now.get_or_insert_with(clock::rfc3339_now_shared);
        // The envelope's fields are plain ASCII (frame kinds, digits, hex,
        // an RFC 3339 time), so they are written as they are, into a buffer
        // of exactly the frame's length: the message then takes it over
        // without another allocation.
        const FIXED: usize = r#"{"kind":"","seq":,"messageid":"s","ts":"","data":}"#.len();
        let mut seq_digits = itoa::Buffer::new();
        let seq = seq_digits.format(self.conv.out_seq);
        let len =
            FIXED + kind.len() + 2 * seq.len() + self.conv.id_prefix.len() + ts.len() + data.len();
        let mut text = String::with_capacity(len);
        text.push_str("{\"kind\":\"");
        text.push_str(kind);
        text.push_str("\",\"seq\":");
        text.push_str(seq);
        // Unique within the session by construction: the conversation's
        // random prefix and the seq, which never repeats in a direction.
        text.push_str(",\"messageid\":\"s");
        text.push_str(&self.conv.id_prefix);
        text.push_str(seq);
        text.push_str("\",\"ts\":\"");
        text.push_str(ts);
        text.push_str("\",\"data\":");
        text.push_str(data);
        text.push('}');
        debug_assert_eq!(text.len(), len);
        let text = Utf8Bytes::from(text);
        self.session
            .record_at(ts, "out", Recorded::Json(text.as_str()));
        self.conv.remember_sent(&text);
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
        self.ended = !RESUMABLE_CLOSES.contains(&code);
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
