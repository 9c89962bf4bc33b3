//! The WebSocket channel of one session: the upgrade (Origin, token or
//! resume secret, the scenario's refusals), then a loop that reads the
//! socket, the control commands and the state timer, hands each to the
//! session's [`Conversation`], and writes back what it asks for. The
//! protocol itself lives in the conversation; this is only the socket.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::api_error::UpgradeRefusal;
use crate::conversation::{Conversation, Env, Out, RESUMABLE_CLOSES};
use crate::parking::RESUME_GRACE;
use crate::scenario::Fired;
use crate::scenario::model::Upgrade;
use crate::session::{Command, Session};
use crate::state::{AppState, MAX_FRAME_BYTES};

/// Initial read buffer of a channel; it grows for larger frames.
const READ_BUFFER_BYTES: usize = 4096;

/// How long a closing channel waits for the widget's answering Close.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(2);

/// Query of the upgrade request: a new session's token, or the resume
/// secret of a session whose channel dropped.
#[derive(Debug, Deserialize)]
pub(crate) struct UpgradeQuery {
    token: Option<String>,
    resume: Option<String>,
}

/// Upgrades to a channel if the Origin is allowed, the token (or resume
/// secret) is good and the session's scenario does not refuse upgrades.
pub(crate) async fn upgrade(
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
        _ => Err(UpgradeRefusal::new(
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
                out: Vec::new(),
                closed: false,
                ended: false,
            };
            if let Err(e) = channel.run(resumed).await {
                tracing::debug!(session = %session.id, error = %e, "channel ended with an error");
            }
            session.detach();
            if !channel.ended {
                channel.state.parking.park(&session.id, channel.conv);
                let state = channel.state;
                tokio::spawn(async move {
                    tokio::time::sleep(RESUME_GRACE).await;
                    state.parking.expire(&session.id);
                });
            }
        })
}

type Opened = (Arc<Session>, Conversation, bool);

/// A new session's first channel, opened with its single-use token.
fn open_new(state: &AppState, token: &str) -> Result<Opened, UpgradeRefusal> {
    let session = state.sessions.redeem(token).ok_or(UpgradeRefusal::new(
        StatusCode::UNAUTHORIZED,
        "unknown or already used channel token",
    ))?;
    refused_by_scenario(&session.scenario.api.websocket)?;
    let conversation = Conversation::start(&session.scenario, &session.systemcallid);
    Ok((session, conversation, false))
}

/// A dropped session re-attached with the secret of its latest welcome.
fn open_resumed(state: &AppState, secret: &str) -> Result<Opened, UpgradeRefusal> {
    let session = state
        .sessions
        .resume_target(secret)
        .ok_or(UpgradeRefusal::new(
            StatusCode::UNAUTHORIZED,
            "unknown or outdated resume secret",
        ))?;
    refused_by_scenario(&session.scenario.api.resume)?;
    let conversation = state.parking.unpark(&session.id).ok_or(UpgradeRefusal::new(
        StatusCode::CONFLICT,
        "the session is not waiting to be resumed (still open, ended, or past its grace period)",
    ))?;
    Ok((session, conversation, true))
}

fn refused_by_scenario(upgrade: &Upgrade) -> Result<(), UpgradeRefusal> {
    match upgrade {
        Upgrade::Accept => Ok(()),
        Upgrade::Refuse(status) => Err(UpgradeRefusal::new(
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
    /// What the conversation asked for, reused from burst to burst.
    out: Vec<Out>,
    /// No more frames go out on this socket.
    closed: bool,
    /// The session cannot be resumed: it ended, or a side closed it for good.
    ended: bool,
}

/// The conversation's view of the channel's session and state.
macro_rules! env {
    ($self:ident) => {
        Env {
            schemas: &$self.state.schemas,
            gateway: &$self.state.gateway,
            session: &$self.session,
        }
    };
}

impl Channel {
    async fn run(&mut self, resumed: bool) -> Result<(), axum::Error> {
        let resume = self.state.sessions.issue_resume(&self.session.id);
        self.conv.open(env!(self), resumed, &resume, &mut self.out);
        self.write().await?;
        while !self.closed {
            // Frames of one burst go out together (one TLS record, one
            // write) before the channel waits for anything.
            self.socket.flush().await?;
            self.conv.end_burst();
            let deadline = self.conv.next_timer(&self.session.scenario);
            tokio::select! {
                message = self.socket.recv() => match message {
                    None => break,
                    Some(message) => match message? {
                        Message::Text(text) => {
                            self.conv.receive(env!(self), text.as_str(), &mut self.out);
                        }
                        Message::Binary(_) => self.conv.receive_binary(env!(self), &mut self.out),
                        Message::Close(_) => {
                            // The widget closed the channel itself. The
                            // WebSocket layer has queued the answering Close
                            // (RFC 6455 5.5.1, the client's code echoed);
                            // flushing sends it before the connection goes.
                            self.ended = true;
                            let _ = self.socket.flush().await;
                            break;
                        }
                        Message::Ping(_) | Message::Pong(_) => {}
                    },
                },
                Some(command) = self.commands.recv() => {
                    self.conv.command(env!(self), command, &mut self.out);
                }
                () = sleep_until(deadline.map(|(at, _)| at)), if deadline.is_some() => {
                    if let Some((_, ms)) = deadline {
                        self.conv.fire(env!(self), Fired::Timer(ms), &mut self.out);
                    }
                }
            }
            self.write().await?;
        }
        Ok(())
    }

    /// Does what the conversation asked for, in order; a delay waits here
    /// (reading nothing meanwhile) and then lets the conversation go on.
    async fn write(&mut self) -> Result<(), axum::Error> {
        // The buffer is taken out for the loop and put back, so its
        // allocation serves every burst of the channel.
        let mut outs = std::mem::take(&mut self.out);
        let result = 'burst: loop {
            let mut delay = None;
            for out in outs.drain(..) {
                let done = match out {
                    Out::Frame(text) => self.socket.feed(Message::Text(text)).await,
                    Out::Delay(ms) => {
                        delay = Some(ms);
                        Ok(())
                    }
                    Out::Close { code, reason } => self.close(code, reason).await,
                    Out::Drop => {
                        self.closed = true;
                        self.socket.flush().await
                    }
                };
                if let Err(e) = done {
                    break 'burst Err(e);
                }
            }
            let Some(ms) = delay else {
                break 'burst Ok(());
            };
            if let Err(e) = self.socket.flush().await {
                break 'burst Err(e);
            }
            tokio::time::sleep(Duration::from_millis(ms)).await;
            self.conv.end_burst();
            self.conv.resume(env!(self), &mut outs);
        };
        outs.clear();
        self.out = outs;
        result
    }

    async fn close(&mut self, code: u16, reason: String) -> Result<(), axum::Error> {
        self.closed = true;
        self.ended = !RESUMABLE_CLOSES.contains(&code);
        self.socket
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
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
