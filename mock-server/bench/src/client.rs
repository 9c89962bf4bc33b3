//! The benchmark's clients: how they reach the mock (session API, then the
//! channel) or the baseline (the channel straight away), and one visitor
//! message with its answers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::{BenchError, setup};

/// A client's channel.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Server frames per visitor chat message in the benchmarked scenario.
pub const REPLIES: usize = 4;

/// The same small read buffer the mock uses, for the clients and the baseline.
pub fn small_buffers() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(4096)
}

/// Where clients connect, and how.
pub struct Target {
    /// The server.
    pub addr: SocketAddr,
    /// TLS trusting the server's certificate.
    pub tls: Arc<rustls::ClientConfig>,
    /// Mock: create a session first. Baseline: connect straight away.
    pub mock: bool,
}

impl Target {
    /// Opens a session, giving up after 10 s (a benchmark must never hang).
    pub async fn open(&self) -> Result<Socket, BenchError> {
        tokio::time::timeout(Duration::from_secs(10), self.open_unbounded())
            .await
            .map_err(|_| BenchError::Setup("opening a session took over 10 s".into()))?
    }

    async fn open_unbounded(&self) -> Result<Socket, BenchError> {
        let origin = self.origin();
        let url = if self.mock {
            let created = self.create_session(&origin).await?;
            created["websocket"].as_str().unwrap_or_default().to_owned()
        } else {
            format!("wss://{}/", self.addr)
        };
        self.connect(&url).await
    }

    /// The Origin the clients send: the server's own.
    pub fn origin(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Opens a channel at `url` (a token's or a resume secret's).
    pub async fn connect(&self, url: &str) -> Result<Socket, BenchError> {
        self.open_url(url).await.map_err(setup("websocket"))
    }

    /// Opens a socket, keeping the handshake's own error, so that a caller
    /// can tell a refusal it should retry (409) from a failure.
    pub async fn open_url(
        &self,
        url: &str,
    ) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
        let origin = self.origin();
        let mut request = url.into_client_request()?;
        request.headers_mut().insert(
            "Origin",
            HeaderValue::from_str(&origin)
                .map_err(|e| tokio_tungstenite::tungstenite::Error::HttpFormat(e.into()))?,
        );
        let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(small_buffers()),
            true,
            Some(Connector::Rustls(self.tls.clone())),
        )
        .await?;
        Ok(socket)
    }

    /// Creates a session with the bench key; the session API's answer.
    pub async fn create_session(&self, origin: &str) -> Result<Value, BenchError> {
        let body = json!({"akey": "bench-akey", "skey": "bench-skey"}).to_string();
        let (_, text) = self
            .post("/jodowidgetapi/v2/sessions", origin, &body)
            .await?;
        serde_json::from_str(&text)
            .map_err(|e| BenchError::Setup(format!("session API answered {text:.120}: {e}")))
    }

    /// One HTTPS POST with a JSON body, on a connection of its own: the
    /// status and the body of the answer.
    pub async fn post(
        &self,
        path: &str,
        origin: &str,
        body: &str,
    ) -> Result<(u16, String), BenchError> {
        let tcp = TcpStream::connect(self.addr)
            .await
            .map_err(setup("connect"))?;
        tcp.set_nodelay(true).ok();
        let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").map_err(setup("name"))?;
        let mut tls = connector.connect(name, tcp).await.map_err(setup("tls"))?;
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nOrigin: {origin}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        tls.write_all(request.as_bytes())
            .await
            .map_err(setup("write"))?;
        let mut raw = Vec::new();
        let _ = tls.read_to_end(&mut raw).await;
        let text = String::from_utf8_lossy(&raw);
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Ok((
            status,
            text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned(),
        ))
    }
}

/// Reads until the welcome and the allocation have arrived (mock only).
pub async fn settle(socket: &mut Socket, mock: bool) -> Result<(), BenchError> {
    if mock {
        for _ in 0..2 {
            socket
                .next()
                .await
                .ok_or_else(|| BenchError::Setup("channel closed at start".into()))?
                .map_err(setup("read"))?;
        }
    }
    Ok(())
}

/// One visitor message and its four answers; returns the round trip.
pub async fn round_trip(socket: &mut Socket, seq: u64) -> Result<Duration, BenchError> {
    let frame = json!({"kind": "chat.send", "seq": seq, "messageid": format!("b{seq}"), "data": {"text": "benchmark message"}});
    let started = Instant::now();
    socket
        .send(Message::text(frame.to_string()))
        .await
        .map_err(setup("send"))?;
    for _ in 0..REPLIES {
        match socket.next().await {
            Some(Ok(Message::Text(_))) => {}
            other => {
                return Err(BenchError::Setup(format!(
                    "expected a reply, got {other:?}"
                )));
            }
        }
    }
    Ok(started.elapsed())
}
