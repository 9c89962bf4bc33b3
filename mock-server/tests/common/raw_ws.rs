//! A WebSocket client that writes frames byte by byte, so tests can send
//! what no well-behaved library would: unmasked frames, reserved opcodes
//! and bits, endless fragments, absurd lengths.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::Harness;

/// An upgraded channel spoken in raw frames.
pub struct RawChannel {
    pub tls: TlsStream<TcpStream>,
    buf: Vec<u8>,
}

/// A frame from the server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerFrame {
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl ServerFrame {
    /// The close code of a Close frame.
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == 8 && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// Encodes one client frame.
pub fn encode(fin: bool, rsv: u8, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | ((rsv & 7) << 4) | (opcode & 0x0f)];
    let masked = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(masked | n as u8),
        n @ 126..=0xffff => {
            out.push(masked | 126);
            out.extend((n as u16).to_be_bytes());
        }
        n => {
            out.push(masked | 127);
            out.extend((n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend(key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend(payload),
    }
    out
}

/// A masked, final text frame.
pub fn text(payload: &str) -> Vec<u8> {
    encode(true, 0, 1, Some([7, 1, 9, 3]), payload.as_bytes())
}

impl Harness {
    /// A new session's channel, upgraded by hand; the welcome and the
    /// first event are left unread.
    pub async fn raw_channel(&self) -> (RawChannel, Value) {
        let created = self.create_session().await;
        let url = created["websocket"].as_str().unwrap();
        let path = &url[url.find("/jodowidgetapi").unwrap()..];
        let mut tls = self.tls_connection().await;
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nOrigin: https://host.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            self.addr
        );
        tls.write_all(head.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        let end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let mut chunk = [0u8; 1024];
            let n = tokio::time::timeout(Duration::from_secs(5), tls.read(&mut chunk))
                .await
                .expect("an upgrade answer within 5 s")
                .unwrap();
            assert!(n > 0, "the connection ended during the upgrade");
            buf.extend_from_slice(&chunk[..n]);
        };
        let answer = String::from_utf8_lossy(&buf[..end]).into_owned();
        assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
            "{answer}"
        );
        buf.drain(..end);
        (RawChannel { tls, buf }, created)
    }
}

impl RawChannel {
    /// Writes bytes as they are.
    pub async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.tls.write_all(bytes).await?;
        self.tls.flush().await
    }

    /// A client frame of the kit's protocol, as a masked text frame.
    pub async fn send_frame(&mut self, kind: &str, seq: u64, id: &str, data: Value) {
        let frame = json!({"kind": kind, "seq": seq, "messageid": id, "data": data});
        self.send(&text(&frame.to_string())).await.unwrap();
    }

    /// The next server frame, or None when the connection ends or nothing
    /// comes within `wait`.
    pub async fn next_frame(&mut self, wait: Duration) -> Option<ServerFrame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some((frame, used)) = parse(&self.buf) {
                self.buf.drain(..used);
                return Some(frame);
            }
            let mut chunk = [0u8; 8192];
            let read = tokio::time::timeout_at(deadline, self.tls.read(&mut chunk)).await;
            match read {
                Ok(Ok(n)) if n > 0 => self.buf.extend_from_slice(&chunk[..n]),
                _ => return None,
            }
        }
    }

    /// Reads frames until a Close and returns its code; None when the
    /// connection ends (or `wait` passes) without one.
    pub async fn close_code(&mut self, wait: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self.next_frame(left).await?;
            if frame.opcode == 8 {
                return frame.close_code();
            }
        }
    }

    /// Reads text frames until one of `kind` (None if the channel ends).
    pub async fn until_kind(&mut self, kind: &str, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self.next_frame(left).await?;
            if frame.opcode != 1 {
                continue;
            }
            let value: Value = serde_json::from_slice(&frame.payload).unwrap();
            if value["kind"] == kind {
                return Some(value);
            }
        }
    }
}

/// One unmasked server frame from the front of `buf`, and its length.
fn parse(buf: &[u8]) -> Option<(ServerFrame, usize)> {
    if buf.len() < 2 {
        return None;
    }
    let opcode = buf[0] & 0x0f;
    let (len, at) = match buf[1] & 0x7f {
        126 => (u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?]) as usize, 4),
        127 => {
            let mut n = [0u8; 8];
            n.copy_from_slice(buf.get(2..10)?);
            (u64::from_be_bytes(n) as usize, 10)
        }
        n => (n as usize, 2),
    };
    let payload = buf.get(at..at + len)?.to_vec();
    Some((ServerFrame { opcode, payload }, at + len))
}
