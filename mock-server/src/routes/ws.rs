//! The WebSocket channel of one session: the upgrade (Origin, token or
//! resume secret, the scenario's refusals), then a loop that reads the
//! socket, the control commands and the state timer, hands each to the
//! session's [`Conversation`], and writes back what it asks for. The
//! protocol itself lives in the conversation; this is only the socket.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::api_error::UpgradeRefusal;
use crate::conversation::{Conversation, Env, Out, RESUMABLE_CLOSES};
use crate::frame_meter::{FrameMeter, TooManyFragments};
use crate::parking::RESUME_GRACE;
use crate::scenario::Fired;
use crate::scenario::model::Upgrade;
use crate::session::{Command, Session};
use crate::state::{AppState, ChannelLimits};

/// Initial read buffer of a channel; it grows for larger frames.
const READ_BUFFER_BYTES: usize = 4096;

/// How long a closing channel waits for the widget's answering Close.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(2);

/// Most a closing channel reads and drops from a widget that broke the
/// protocol, so that its close frame is not lost to a reset.
const DRAIN_BYTES: usize = 1024 * 1024;

/// The socket of a channel: the upgraded connection, its incoming frames
/// metered.
type Socket = WebSocketStream<FrameMeter<TokioIo<hyper::upgrade::Upgraded>>>;

/// Upgrades to a channel if the Origin is allowed, the token (or resume
/// secret) is good and the session's scenario does not refuse upgrades.
///
/// The handshake is done here rather than by axum's extractor so that the
/// socket is tungstenite's own, under the mock's control: its errors name
/// each framing violation (answered with the close code RFC 6455 gives
/// it), and the raw stream can be metered beneath it.
pub(crate) async fn upgrade(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HashMap<String, String>>,
    mut request: Request,
) -> Response {
    let headers = request.headers();
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    if let Err(refusal) = state.gateway.check_origin(origin) {
        return (StatusCode::FORBIDDEN, refusal.message()).into_response();
    }
    let accept = match handshake(headers) {
        Ok(accept) => accept,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(on_upgrade) = request
        .extensions_mut()
        .remove::<hyper::upgrade::OnUpgrade>()
    else {
        return UpgradeRefusal::new(
            StatusCode::UPGRADE_REQUIRED,
            "this connection cannot be upgraded",
        )
        .into_response();
    };
    // The query names a new session's token, or the resume secret of a
    // session whose channel dropped, under the dialect's names.
    let channel = &state.dialect.file.channel;
    let opened = match (query.get(&channel.token), query.get(&channel.resume)) {
        (Some(token), None) => open_new(&state, token),
        (None, Some(secret)) => open_resumed(&state, secret),
        _ => Err(UpgradeRefusal::new(
            StatusCode::BAD_REQUEST,
            format!(
                "the upgrade needs either ?{}= or ?{}=",
                channel.token, channel.resume
            ),
        )),
    };
    let (session, conversation, resumed) = match opened {
        Ok(opened) => opened,
        Err(refusal) => return refusal.into_response(),
    };
    let limits = state.channel_limits;
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(e) => {
                tracing::debug!(session = %session.id, error = %e, "upgrade failed");
                return;
            }
        };
        let socket = WebSocketStream::from_raw_socket(
            FrameMeter::new(TokioIo::new(upgraded), limits.max_fragments),
            Role::Server,
            Some(socket_config(&limits)),
        )
        .await;
        serve_channel(state, session, conversation, resumed, socket).await;
    });
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (header::CONNECTION, HeaderValue::from_static("upgrade")),
            (header::UPGRADE, HeaderValue::from_static("websocket")),
            (header::SEC_WEBSOCKET_ACCEPT, accept),
        ],
    )
        .into_response()
}

/// tungstenite's settings for a channel.
fn socket_config(limits: &ChannelLimits) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(limits.message_bytes))
        .max_frame_size(Some(limits.message_bytes))
        // Frames are small; tungstenite's default 128 KiB read buffer per
        // connection would dominate the memory of many idle sessions.
        .read_buffer_size(READ_BUFFER_BYTES)
        // What waits in the mock for a widget that does not read: past
        // it a write waits (and the write time-out drops the channel).
        .write_buffer_size(limits.write_queue_bytes)
}

/// Checks the opening handshake (RFC 6455 4.2.1) and answers the accept
/// key.
fn handshake(headers: &HeaderMap) -> Result<HeaderValue, UpgradeRefusal> {
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str().is_ok_and(|v| {
                v.split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    if !has_token(header::CONNECTION, "upgrade") || !has_token(header::UPGRADE, "websocket") {
        return Err(UpgradeRefusal::new(
            StatusCode::UPGRADE_REQUIRED,
            "a WebSocket upgrade needs Connection: upgrade and Upgrade: websocket",
        ));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return Err(UpgradeRefusal::new(
            StatusCode::UPGRADE_REQUIRED,
            "only WebSocket version 13 is spoken (Sec-WebSocket-Version: 13)",
        ));
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or(UpgradeRefusal::new(
            StatusCode::BAD_REQUEST,
            "the upgrade has no Sec-WebSocket-Key",
        ))?;
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    HeaderValue::from_str(&accept)
        .map_err(|_| UpgradeRefusal::new(StatusCode::BAD_REQUEST, "unusable Sec-WebSocket-Key"))
}

/// Runs one upgraded channel to its end, then parks the conversation for a
/// resume unless the session ended.
async fn serve_channel(
    state: Arc<AppState>,
    session: Arc<Session>,
    conversation: Conversation,
    resumed: bool,
    socket: Socket,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    session.attach(tx);
    let mut channel = Channel {
        socket,
        session: session.clone(),
        limits: state.channel_limits,
        state,
        commands: rx,
        conv: conversation,
        out: Vec::new(),
        closed: false,
        ended: false,
        unreadable: false,
    };
    match channel.run(resumed).await {
        Ok(()) => {}
        Err(ChannelError::SlowReader(waited)) => session.record(
            "out",
            serde_json::json!({"dropped": "slow reader", "waited_ms": waited.as_millis() as u64}),
        ),
        Err(e) => {
            tracing::debug!(session = %session.id, error = %e, "channel ended with an error");
        }
    }
    if !channel.closed && !channel.ended {
        // The widget's connection went without a Close (its network, a
        // reset): the transcript says where its frames stop.
        session.record("in", serde_json::json!({"dropped": "connection lost"}));
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
    socket: Socket,
    session: Arc<Session>,
    state: Arc<AppState>,
    limits: ChannelLimits,
    commands: mpsc::UnboundedReceiver<Command>,
    conv: Conversation,
    /// What the conversation asked for, reused from burst to burst.
    out: Vec<Out>,
    /// No more frames go out on this socket.
    closed: bool,
    /// The session cannot be resumed: it ended, or a side closed it for good.
    ended: bool,
    /// The WebSocket layer reads no more (the widget broke the protocol).
    unreadable: bool,
}

/// Why a channel stopped before its conversation ended it.
#[derive(Debug, thiserror::Error)]
enum ChannelError {
    #[error(transparent)]
    Socket(#[from] tungstenite::Error),
    /// The widget took nothing of what was queued for it within the write
    /// time-out.
    #[error("the widget read nothing for {0:?}")]
    SlowReader(Duration),
}

/// The conversation's view of the channel's session and state.
macro_rules! env {
    ($self:ident) => {
        Env {
            schemas: &$self.state.schemas,
            gateway: &$self.state.gateway,
            session: &$self.session,
            dialect: &$self.state.dialect,
        }
    };
}

impl Channel {
    async fn run(&mut self, resumed: bool) -> Result<(), ChannelError> {
        let resume = self.state.sessions.issue_resume(&self.session.id);
        self.conv.open(env!(self), resumed, &resume, &mut self.out);
        self.write().await?;
        while !self.closed {
            // Frames of one burst go out together (one TLS record, one
            // write) before the channel waits for anything.
            self.flush().await?;
            self.conv.end_burst();
            let deadline = self.conv.next_timer(&self.session.scenario);
            tokio::select! {
                message = self.socket.next() => match message {
                    None => break,
                    Some(Err(e)) => {
                        self.unreadable = true;
                        self.violated(&e).await?;
                        return Err(e.into());
                    }
                    Some(Ok(message)) => match message {
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
                            let _ = self.flush().await;
                            break;
                        }
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
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

    /// A read failed: if the widget broke the protocol, the transcript says
    /// how and the channel closes with the code RFC 6455 gives it (7.4.1):
    /// 1002 for a framing violation, 1007 for text that is not UTF-8, 1009
    /// for a message over the size or fragment bound. A connection that
    /// merely went away gets nothing.
    async fn violated(&mut self, error: &tungstenite::Error) -> Result<(), ChannelError> {
        let Some(code) = close_code(error) else {
            return Ok(());
        };
        self.conv
            .violation(env!(self), code, &error.to_string(), &mut self.out);
        self.write().await
    }

    /// Does what the conversation asked for, in order; a delay waits here
    /// (reading nothing meanwhile) and then lets the conversation go on.
    async fn write(&mut self) -> Result<(), ChannelError> {
        // The buffer is taken out for the loop and put back, so its
        // allocation serves every burst of the channel.
        let mut outs = std::mem::take(&mut self.out);
        let result = 'burst: loop {
            let mut delay = None;
            for out in outs.drain(..) {
                let done = match out {
                    Out::Frame(text) => {
                        timed(
                            self.limits.write_timeout,
                            self.socket.feed(Message::Text(text)),
                        )
                        .await
                    }
                    Out::Delay(ms) => {
                        delay = Some(ms);
                        Ok(())
                    }
                    Out::Close { code, reason } => self.close(code, reason).await,
                    Out::Drop => {
                        self.closed = true;
                        self.flush().await
                    }
                };
                if let Err(e) = done {
                    break 'burst Err(e);
                }
            }
            let Some(ms) = delay else {
                break 'burst Ok(());
            };
            if let Err(e) = self.flush().await {
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

    /// Sends what is queued.
    async fn flush(&mut self) -> Result<(), ChannelError> {
        timed(self.limits.write_timeout, self.socket.flush()).await
    }

    async fn close(&mut self, code: u16, reason: String) -> Result<(), ChannelError> {
        self.closed = true;
        self.ended = !RESUMABLE_CLOSES.contains(&code);
        let frame = CloseFrame {
            code: code.into(),
            reason: reason.into(),
        };
        timed(
            self.limits.write_timeout,
            self.socket.send(Message::Close(Some(frame))),
        )
        .await?;
        // Wait (briefly) for the widget's answering Close before the TCP
        // connection goes: closing it with the widget's frames still unread
        // makes the kernel reset it, and a browser that sees the reset may
        // drop the frames sent just before the Close (Firefox does).
        if self.unreadable {
            // The widget broke the protocol and its frames cannot be read:
            // what it still sends is read and dropped, for the same reason.
            let raw = self.socket.get_mut().raw();
            let _ = tokio::time::timeout(CLOSE_HANDSHAKE, async {
                let mut sink = [0u8; 4096];
                let mut left = DRAIN_BYTES;
                while left > 0 {
                    match tokio::io::AsyncReadExt::read(raw, &mut sink).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => left = left.saturating_sub(n),
                    }
                }
            })
            .await;
            return Ok(());
        }
        let _ = tokio::time::timeout(CLOSE_HANDSHAKE, async {
            while let Some(Ok(message)) = self.socket.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
        Ok(())
    }
}

/// A write to the socket that must finish within `limit`: a widget that
/// stops reading holds at most the write queue in the mock (and the
/// kernel's socket buffer), then its channel is dropped.
async fn timed(
    limit: Duration,
    write: impl Future<Output = Result<(), tungstenite::Error>>,
) -> Result<(), ChannelError> {
    match tokio::time::timeout(limit, write).await {
        Ok(done) => Ok(done?),
        Err(_) => Err(ChannelError::SlowReader(limit)),
    }
}

/// The close code for a read error that is the widget's fault.
fn close_code(error: &tungstenite::Error) -> Option<u16> {
    use tungstenite::error::ProtocolError;
    match error {
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
        tungstenite::Error::Protocol(_) => Some(1002),
        tungstenite::Error::Utf8(_) => Some(1007),
        tungstenite::Error::Capacity(_) => Some(1009),
        tungstenite::Error::Io(io) => io
            .get_ref()
            .filter(|inner| inner.is::<TooManyFragments>())
            .map(|_| 1009),
        _ => None,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
