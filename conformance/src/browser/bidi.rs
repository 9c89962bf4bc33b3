//! WebDriver BiDi beside the classic session: fantoccini speaks classic
//! WebDriver only, so the socket whose URL the session's `webSocketUrl`
//! capability returns is spoken here with tokio-tungstenite. BiDi gives
//! what classic cannot: a script that runs before a page's own
//! (`script.addPreloadScript`), records pushed from the page as they happen
//! (`script.message` on a channel), the console (`log.entryAdded`) and
//! screenshots of a context.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// How long a BiDi command may take before it counts as lost.
const COMMAND_LIMIT: Duration = Duration::from_secs(10);

/// Why a BiDi exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum BidiError {
    /// The session offered no BiDi socket (a driver without BiDi).
    #[error(
        "the WebDriver session has no BiDi socket (capability webSocketUrl); this driver or grid does not speak WebDriver BiDi"
    )]
    Unsupported,
    /// The socket could not be opened or broke.
    #[error("the BiDi socket at {url}: {message}")]
    Socket {
        /// Its URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The browser answered a command with an error.
    #[error("BiDi {method} failed: {error}: {message}")]
    Command {
        /// The command.
        method: String,
        /// BiDi's error code.
        error: String,
        /// The browser's explanation.
        message: String,
    },
    /// No answer in time.
    #[error("BiDi {0} got no answer within 10 s")]
    Timeout(String),
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A BiDi connection: commands with their answers, and the events the
/// session subscribed to, in order.
#[derive(Debug)]
pub struct Bidi {
    url: String,
    outgoing: mpsc::UnboundedSender<Message>,
    pending: Pending,
    next_id: std::sync::atomic::AtomicU64,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Value>>,
    task: tokio::task::JoinHandle<()>,
}

impl Bidi {
    /// Connects to a session's BiDi socket.
    ///
    /// # Errors
    /// [`BidiError::Socket`] when it cannot be opened.
    pub async fn connect(url: &str) -> Result<Self, BidiError> {
        let socket_error = |e: &dyn std::fmt::Display| BidiError::Socket {
            url: url.to_owned(),
            message: e.to_string(),
        };
        let (socket, _) =
            tokio::time::timeout(COMMAND_LIMIT, tokio_tungstenite::connect_async(url))
                .await
                .map_err(|_| socket_error(&"no connection within 10 s"))?
                .map_err(|e| socket_error(&e))?;
        let (mut sink, mut stream) = socket.split();
        let (outgoing, mut to_send) = mpsc::unbounded_channel::<Message>();
        let (event_tx, events) = mpsc::unbounded_channel();
        let pending: Pending = Arc::default();
        let answers = pending.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(message) = to_send.recv() => {
                        if sink.send(message).await.is_err() {
                            break;
                        }
                    }
                    incoming = stream.next() => {
                        let Some(Ok(Message::Text(text))) = incoming else {
                            if matches!(incoming, Some(Ok(_))) {
                                continue;
                            }
                            break;
                        };
                        let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
                            continue;
                        };
                        match value.get("id").and_then(Value::as_u64) {
                            Some(id) => {
                                let waiter = answers.lock().ok().and_then(|mut p| p.remove(&id));
                                if let Some(waiter) = waiter {
                                    let _ = waiter.send(value);
                                }
                            }
                            None => {
                                let _ = event_tx.send(value);
                            }
                        }
                    }
                }
            }
        });
        Ok(Self {
            url: url.to_owned(),
            outgoing,
            pending,
            next_id: std::sync::atomic::AtomicU64::new(1),
            events: tokio::sync::Mutex::new(events),
            task,
        })
    }

    /// Sends a command and waits for its result.
    ///
    /// # Errors
    /// [`BidiError`] when the browser refuses it, the socket broke, or no
    /// answer came in time.
    pub async fn command(&self, method: &str, params: Value) -> Result<Value, BidiError> {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        if let Ok(mut p) = self.pending.lock() {
            p.insert(id, tx);
        }
        let message = json!({"id": id, "method": method, "params": params});
        self.outgoing
            .send(Message::text(message.to_string()))
            .map_err(|_| BidiError::Socket {
                url: self.url.clone(),
                message: "the connection is closed".into(),
            })?;
        let answer = tokio::time::timeout(COMMAND_LIMIT, rx)
            .await
            .map_err(|_| BidiError::Timeout(method.to_owned()))?
            .map_err(|_| BidiError::Socket {
                url: self.url.clone(),
                message: "the connection closed before the answer".into(),
            })?;
        if answer.get("type").and_then(Value::as_str) == Some("error") {
            let text = |k: &str| {
                answer
                    .get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            return Err(BidiError::Command {
                method: method.to_owned(),
                error: text("error"),
                message: text("message"),
            });
        }
        Ok(answer.get("result").cloned().unwrap_or(Value::Null))
    }

    /// Every event received so far that has not been taken yet.
    pub async fn take_events(&self) -> Vec<Value> {
        let mut events = self.events.lock().await;
        let mut out = Vec::new();
        while let Ok(e) = events.try_recv() {
            out.push(e);
        }
        out
    }
}

impl Drop for Bidi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A BiDi remote value as plain JSON (`script.message` carries the
/// channel's argument serialised this way).
pub fn plain(remote: &Value) -> Value {
    let value = remote.get("value");
    match remote.get("type").and_then(Value::as_str) {
        Some("string") | Some("boolean") => value.cloned().unwrap_or(Value::Null),
        Some("number") => match value {
            Some(Value::String(_)) | None => Value::Null,
            Some(v) => v.clone(),
        },
        Some("array") => Value::Array(
            value
                .and_then(Value::as_array)
                .map(|items| items.iter().map(plain).collect())
                .unwrap_or_default(),
        ),
        Some("object") => Value::Object(
            value
                .and_then(Value::as_array)
                .map(|pairs| {
                    pairs
                        .iter()
                        .filter_map(|pair| {
                            let key = pair.get(0)?;
                            let key = key
                                .as_str()
                                .map(str::to_owned)
                                .or_else(|| plain(key).as_str().map(str::to_owned))?;
                            Some((key, plain(pair.get(1)?)))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        ),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_values_read_as_plain_json() {
        let remote = json!({"type": "object", "value": [
            ["kind", {"type": "string", "value": "event"}],
            ["n", {"type": "number", "value": 3}],
            ["inf", {"type": "number", "value": "Infinity"}],
            ["list", {"type": "array", "value": [{"type": "boolean", "value": true}, {"type": "null"}]}]
        ]});
        assert_eq!(
            plain(&remote),
            json!({"kind": "event", "n": 3, "inf": null, "list": [true, null]})
        );
    }
}
