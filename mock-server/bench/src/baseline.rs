//! The baseline: a bare tokio-tungstenite server behind the same rustls
//! configuration, answering each text frame with the frames the mock sent
//! for a sample message.

use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{REPLIES, Target, settle, small_buffers};
use crate::{BenchError, setup};

/// What the mock answers one visitor message with, captured on a session
/// of its own, for the baseline to answer with the same bytes.
pub async fn sample_replies(mock: &Target) -> Result<Arc<[Message]>, BenchError> {
    let mut socket = mock.open().await?;
    settle(&mut socket, true).await?;
    let frame = json!({"kind": "chat.send", "seq": 1, "messageid": "sample", "data": {"text": "benchmark message"}});
    socket
        .send(Message::text(frame.to_string()))
        .await
        .map_err(setup("send"))?;
    let mut replies = Vec::with_capacity(REPLIES);
    while replies.len() < REPLIES {
        match socket.next().await {
            Some(Ok(reply @ Message::Text(_))) => replies.push(reply),
            other => {
                return Err(BenchError::Setup(format!(
                    "expected a reply to the sample message, got {other:?}"
                )));
            }
        }
    }
    let _ = socket.close(None).await;
    Ok(replies.into())
}

/// The baseline: TLS + WebSocket, each text frame answered with `replies`.
pub async fn start_baseline(
    tls: Arc<rustls::ServerConfig>,
    replies: Arc<[Message]>,
) -> Result<SocketAddr, BenchError> {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(setup("bind"))?;
    let addr = listener.local_addr().map_err(setup("addr"))?;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let replies = replies.clone();
            tokio::spawn(async move {
                tcp.set_nodelay(true).ok();
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut ws) =
                    tokio_tungstenite::accept_async_with_config(tls, Some(small_buffers())).await
                else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if let Message::Text(_) = message {
                        // Queued, then written at once, as the mock writes a burst.
                        for reply in replies.iter() {
                            if ws.feed(reply.clone()).await.is_err() {
                                return;
                            }
                        }
                        if ws.flush().await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    Ok(addr)
}
