//! Shared test harness: the mock over real TLS on loopback, and a
//! tokio-tungstenite client that trusts exactly the mock's certificate.
#![allow(dead_code)]

pub mod process;
pub mod raw_ws;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use jodo_contract::Contract;
use jodo_mock::gateway::{Gateway, development_keys};
use jodo_mock::{MockConfig, MockServer};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct Harness {
    /// The in-process mock, when the harness started one.
    pub mock: Option<MockServer>,
    /// Where the mock listens.
    pub addr: std::net::SocketAddr,
    pub schemas: Arc<Contract>,
    pub tls: Arc<rustls::ClientConfig>,
}

/// A client configuration that trusts exactly this certificate.
pub fn trusting(cert_der: &[u8]) -> Arc<rustls::ClientConfig> {
    jodo_mock::tls::client_trusting(cert_der).unwrap()
}

/// Reads an answer to its end (or 5 s): status, head (lower-cased), body.
async fn read_answer(
    tls: &mut tokio_rustls::client::TlsStream<TcpStream>,
) -> (u16, String, String) {
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (status, head.to_ascii_lowercase(), body.to_owned())
}

impl Harness {
    /// A harness for a mock running elsewhere (e.g. the jodo-mock binary).
    pub fn external(addr: std::net::SocketAddr, cert_der: &[u8]) -> Self {
        Self {
            mock: None,
            addr,
            schemas: Arc::new(Contract::embedded().unwrap()),
            tls: trusting(cert_der),
        }
    }
}

pub async fn harness() -> Harness {
    harness_with(|config| config).await
}

/// A harness whose mock's configuration `tweak` changes first.
pub async fn harness_with(tweak: impl FnOnce(MockConfig) -> MockConfig) -> Harness {
    let schemas = Arc::new(Contract::embedded().unwrap());
    let config = MockConfig::local(schemas.clone()).unwrap();
    let tls = trusting(config.tls.certificate_der());
    let mock = MockServer::start_local(tweak(MockConfig {
        gateway: Gateway::new(vec![development_keys()], vec!["https://host.test".into()]),
        preload: Some(jodo_mock::Preload {
            script: std::sync::Arc::from(&b"window.preloaded = true;"[..]),
            shell: None,
        }),
        ..config
    }))
    .await
    .unwrap();
    Harness {
        addr: mock.addr(),
        mock: Some(mock),
        schemas,
        tls,
    }
}

impl Harness {
    /// One HTTPS request with `Connection: close`; returns status and body.
    pub async fn https(
        &self,
        method: &str,
        path: &str,
        origin: Option<&str>,
        body: &[u8],
    ) -> (u16, String) {
        let headers: Vec<(&str, &str)> = origin.map(|o| ("Origin", o)).into_iter().collect();
        let (status, _, body) = self.https_with(method, path, &headers, body).await;
        (status, body)
    }

    /// One HTTPS request with extra headers; returns status, the response
    /// head (lower-cased) and the body.
    /// A TLS connection to the mock, nothing sent on it yet.
    pub async fn tls_connection(&self) -> tokio_rustls::client::TlsStream<TcpStream> {
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        connector.connect(name, tcp).await.unwrap()
    }

    pub async fn https_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String, String) {
        let mut tls = self.tls_connection().await;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        tls.write_all(head.as_bytes()).await.unwrap();
        // The mock may answer (413) and close before a large body is all
        // sent: the answer is still there to read.
        let _ = tls.write_all(body).await;
        read_answer(&mut tls).await
    }

    /// Sends `head` (the request line and headers, without the blank line
    /// ending them) and `body` exactly as given; status and body.
    pub async fn https_raw(&self, head: &str, body: &[u8]) -> (u16, String) {
        let mut tls = self.tls_connection().await;
        let head = format!(
            "{head}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        tls.write_all(head.as_bytes()).await.unwrap();
        let _ = tls.write_all(body).await;
        let (status, _, body) = read_answer(&mut tls).await;
        (status, body)
    }

    /// A request that leaves its connection open (a stream): the
    /// connection, to read from.
    pub async fn request_open(&self, path: &str) -> tokio_rustls::client::TlsStream<TcpStream> {
        let mut tls = self.tls_connection().await;
        let head = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.addr);
        tls.write_all(head.as_bytes()).await.unwrap();
        tls
    }

    pub async fn create_session(&self) -> Value {
        let request =
            json!({"akey": "jodo-dev-akey", "skey": "jodo-dev-skey", "init": {"name": "Satej"}});
        let (status, body) = self
            .https(
                "POST",
                "/jodowidgetapi/v2/sessions",
                Some("https://host.test"),
                request.to_string().as_bytes(),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let created: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            self.schemas
                .validate("wire/session-response.schema.json", &created),
            vec![]
        );
        created
    }

    pub async fn connect(
        &self,
        url: &str,
        origin: &str,
    ) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_str(origin).unwrap());
        let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(
            request,
            None,
            false,
            Some(Connector::Rustls(self.tls.clone())),
        )
        .await?;
        Ok(socket)
    }

    pub async fn open(&self) -> (Socket, Value) {
        let created = self.create_session().await;
        let socket = self
            .connect(created["websocket"].as_str().unwrap(), "https://host.test")
            .await
            .unwrap();
        (socket, created)
    }

    /// The next server frame, checked against its wire schema.
    pub async fn next(&self, socket: &mut Socket) -> Value {
        let frame = next_json(socket).await;
        assert_eq!(self.schemas.validate_frame(&frame), vec![], "{frame}");
        frame
    }
}

/// The next text message, as JSON (in whatever dialect the mock speaks).
pub async fn next_json(socket: &mut Socket) -> Value {
    let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .expect("a frame within 5 s")
        .expect("the channel is open")
        .unwrap();
    let Message::Text(text) = message else {
        panic!("expected a text frame, got {message:?}");
    };
    serde_json::from_str(&text).unwrap()
}

pub fn client_frame(kind: &str, seq: u64, id: &str, data: Value) -> Message {
    Message::text(json!({"kind": kind, "seq": seq, "messageid": id, "data": data}).to_string())
}
