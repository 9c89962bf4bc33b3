//! The intercepting proxy: the browser sends everything through it, and it
//! answers for the Jodo hosts from the mock while passing every other
//! request through unchanged, so an integrator's page is tested exactly as
//! written. It records every exchange and frame in a [`WireLog`].
//!
//! hudsucker does the MITM work (CONNECT, a certificate per host from a CA
//! made at start, HTTP/1 and WebSocket forwarding); it is maintained, built
//! on the hyper and rustls the kit already uses, and intercepts WebSockets,
//! which hand-written CONNECT handling would have to do frame by frame.
//! The browser accepts the proxy's certificates with `acceptInsecureCerts`.
//!
//! A request goes to the mock when its host is a Jodo host: one named at
//! start (`--jodo-host`, the page's serverpath host once known) or one
//! seen asking for a `/jodowidgetapi/` path, which is where the SDK script
//! and the session API live.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use http_body_util::BodyExt;
use hudsucker::certificate_authority::RcgenAuthority;
use hudsucker::hyper::{Request, Response, Uri};
use hudsucker::rcgen::{self, BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use hudsucker::rustls::crypto::aws_lc_rs;
use hudsucker::tokio_tungstenite::Connector;
use hudsucker::tokio_tungstenite::tungstenite::Message;
use hudsucker::{
    Body, HttpContext, HttpHandler, Proxy, RequestOrResponse, WebSocketContext, WebSocketHandler,
};
use sha2::{Digest, Sha256};

use crate::wire::{WireEntry, WireLog, body_text};

/// The path prefix of everything the SDK asks its backend for.
pub const JODO_PATH: &str = "/jodowidgetapi/";

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The CA could not be made.
    #[error("cannot make the proxy's certificate authority: {0}")]
    Ca(#[from] rcgen::Error),
    /// The mock's certificate could not be trusted, or TLS failed to set up.
    #[error("cannot set up the proxy's TLS client: {0}")]
    Tls(String),
    /// No port.
    #[error("cannot listen for the proxy: {0}")]
    Listen(#[from] std::io::Error),
}

/// Which hosts are Jodo's and where the mock is.
#[derive(Debug, Default)]
pub struct Routes {
    /// Host names (lower case, without port) answered from the mock.
    hosts: BTreeSet<String>,
    /// `HOST:PORT` the Jodo hosts' requests go to (the mock, or a staging
    /// server); `None` passes them through to the hosts themselves.
    target: Option<String>,
    /// A build answered for the SDK script path instead of the backend's.
    widget: Option<Arc<[u8]>>,
    /// The page's URL of each socket sent to the mock, by path and query
    /// (the token makes it unique), so frames are logged under it.
    sockets: std::collections::HashMap<String, String>,
}

impl Routes {
    /// Whether a request for `uri` goes to the mock; a host asking for a
    /// Jodo path becomes a Jodo host from then on.
    fn is_jodo(&mut self, uri: &Uri) -> bool {
        let Some(host) = uri.host().map(str::to_ascii_lowercase) else {
            return false;
        };
        if uri.path().starts_with(JODO_PATH) {
            self.hosts.insert(host.clone());
        }
        self.hosts.contains(&host)
    }
}

/// Shared between the proxy's connections.
#[derive(Clone)]
struct Handler {
    routes: Arc<RwLock<Routes>>,
    log: Arc<WireLog>,
    /// For each relayed socket (by URL), how one direction tells the other
    /// that its side went away.
    ends: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Notify>>>>,
    /// The exchange this instance is handling (hudsucker hands a request
    /// and its response to the same instance).
    current: Option<u64>,
}

impl Handler {
    /// Where a request really goes: the target for a Jodo host (unchanged
    /// when there is none).
    fn route(&self, uri: &Uri) -> (bool, Option<Uri>) {
        let Ok(mut routes) = self.routes.write() else {
            return (false, None);
        };
        if !routes.is_jodo(uri) {
            return (false, None);
        }
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let scheme = match uri.scheme_str() {
            Some("ws" | "wss") => "wss",
            _ => "https",
        };
        routes.sockets.insert(path.to_owned(), shown_url(uri));
        let target = routes
            .target
            .as_ref()
            .and_then(|t| format!("{scheme}://{t}{path}").parse().ok());
        (true, target)
    }

    /// The build to answer a Jodo host's SDK script request with, if one
    /// replaces the backend's.
    fn widget_for(&self, jodo: bool, uri: &Uri) -> Option<Arc<[u8]>> {
        if !jodo || uri.path() != jodo_mock::WIDGET_PATH {
            return None;
        }
        self.routes.read().ok()?.widget.clone()
    }
}

/// A URL as people write it: without the scheme's default port, which
/// hudsucker spells out for intercepted TLS (`https://host:443/...`).
fn shown_url(uri: &Uri) -> String {
    let text = uri.to_string();
    match (uri.scheme_str(), uri.port_u16(), uri.host()) {
        (Some(scheme @ ("https" | "wss")), Some(443), Some(host))
        | (Some(scheme @ ("http" | "ws")), Some(80), Some(host)) => {
            let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            format!("{scheme}://{host}{path}")
        }
        _ => text,
    }
}

fn header_pairs(headers: &hudsucker::hyper::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

impl HttpHandler for Handler {
    async fn handle_error(
        &mut self,
        _ctx: &HttpContext,
        err: hudsucker::hyper_util::client::legacy::Error,
    ) -> Response<Body> {
        self.failed(&err)
    }

    async fn handle_request(
        &mut self,
        _ctx: &HttpContext,
        req: Request<Body>,
    ) -> RequestOrResponse {
        if req.method() == hudsucker::hyper::Method::CONNECT {
            return req.into();
        }
        let (mut parts, body) = req.into_parts();
        let bytes = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => Default::default(),
        };
        let id = self.log.next_id();
        self.current = Some(id);
        let (jodo, target) = self.route(&parts.uri);
        let widget = self.widget_for(jodo, &parts.uri);
        self.log.push(WireEntry::Request {
            at_ms: self.log.now_ms(),
            id,
            method: parts.method.to_string(),
            url: shown_url(&parts.uri),
            jodo,
            headers: header_pairs(&parts.headers),
            body: body_text(&bytes),
        });
        if let Some(script) = widget {
            let mut res = Response::new(Body::from(script.to_vec()));
            res.headers_mut().insert(
                hudsucker::hyper::header::CONTENT_TYPE,
                hudsucker::hyper::header::HeaderValue::from_static(
                    "text/javascript; charset=utf-8",
                ),
            );
            self.log.push(WireEntry::Response {
                at_ms: self.log.now_ms(),
                id,
                status: 200,
                headers: vec![(
                    "x-jodo-proxy".into(),
                    "the build under test (--widget)".into(),
                )],
                html: None,
                sha256: Some(hex::encode(Sha256::digest(&script))),
            });
            self.current = None;
            return res.into();
        }
        if let Some(target) = target {
            // The client sets Host from the new URI; the mock names the
            // address the page used in its answers from this header.
            if let Some(authority) = parts.uri.authority() {
                let shown = match (authority.port_u16(), parts.uri.scheme_str()) {
                    (Some(443), Some("https" | "wss")) | (Some(80), Some("http" | "ws")) => {
                        authority.host().to_owned()
                    }
                    _ => authority.as_str().to_owned(),
                };
                if let Ok(v) = shown.parse() {
                    parts.headers.insert("x-forwarded-host", v);
                }
            }
            parts.uri = target;
        }
        Request::from_parts(parts, Body::from(bytes)).into()
    }

    async fn handle_response(&mut self, _ctx: &HttpContext, res: Response<Body>) -> Response<Body> {
        let Some(id) = self.current.take() else {
            return res;
        };
        let (parts, body) = res.into_parts();
        let html = parts
            .headers
            .get(hudsucker::hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/html"));
        // Only documents are read whole (for their hash and source); other
        // bodies stream through untouched.
        if !html {
            self.log.push(WireEntry::Response {
                at_ms: self.log.now_ms(),
                id,
                status: parts.status.as_u16(),
                headers: header_pairs(&parts.headers),
                html: None,
                sha256: None,
            });
            return Response::from_parts(parts, body);
        }
        let bytes = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => Default::default(),
        };
        self.log.push(WireEntry::Response {
            at_ms: self.log.now_ms(),
            id,
            status: parts.status.as_u16(),
            headers: header_pairs(&parts.headers),
            html: Some(body_text(&bytes)),
            sha256: Some(hex::encode(Sha256::digest(&bytes))),
        });
        Response::from_parts(parts, Body::from(bytes))
    }
}

impl Handler {
    /// Records a request the proxy could not forward, and answers 502 with
    /// why, so a page that does not load says so.
    fn failed(&mut self, err: &dyn std::error::Error) -> Response<Body> {
        let mut why = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            why = format!("{why}: {s}");
            source = s.source();
        }
        if let Some(id) = self.current.take() {
            self.log.push(WireEntry::Response {
                at_ms: self.log.now_ms(),
                id,
                status: 502,
                headers: vec![("x-jodo-proxy-error".into(), why.clone())],
                html: None,
                sha256: None,
            });
        }
        let mut res = Response::new(Body::from(format!(
            "the proxy could not reach the server: {why}"
        )));
        *res.status_mut() = hudsucker::hyper::StatusCode::BAD_GATEWAY;
        res
    }
}

impl WebSocketHandler for Handler {
    /// Relays one direction of a socket. Unlike hudsucker's default, a side
    /// that goes away without a Close frame is mirrored as such: both
    /// directions stop and the other connection is dropped, so the page
    /// sees the abnormal closure (1006) a dropped backend gives, not a
    /// clean close the proxy made up. (A widget resumes after 1006.)
    fn handle_websocket(
        mut self,
        ctx: WebSocketContext,
        mut stream: impl futures_util::Stream<
            Item = Result<Message, hudsucker::tokio_tungstenite::tungstenite::Error>,
        > + Unpin
        + Send
        + 'static,
        mut sink: impl futures_util::Sink<
            Message,
            Error = hudsucker::tokio_tungstenite::tungstenite::Error,
        > + Unpin
        + Send
        + 'static,
    ) -> impl std::future::Future<Output = ()> + Send {
        use futures_util::{SinkExt, StreamExt};
        async move {
            let key = match &ctx {
                WebSocketContext::ClientToServer { dst, .. } => dst.to_string(),
                WebSocketContext::ServerToClient { src, .. } => src.to_string(),
            };
            let end = self
                .ends
                .lock()
                .map(|mut m| m.entry(key.clone()).or_default().clone())
                .unwrap_or_default();
            let mut closed_cleanly = false;
            loop {
                tokio::select! {
                    next = stream.next() => match next {
                        Some(Ok(message)) => {
                            closed_cleanly |= matches!(message, Message::Close(_));
                            let Some(message) = self.handle_message(&ctx, message).await else {
                                continue;
                            };
                            if sink.send(message).await.is_err() {
                                break;
                            }
                        }
                        Some(Err(_)) | None => break,
                    },
                    () = end.notified() => break,
                }
            }
            // A side that went away without a Close wakes the other
            // direction (a permit waits if it is not listening yet) so it
            // stops too; after a relayed Close the other side answers it
            // and ends its direction itself. The map entry goes with the
            // second one.
            if !closed_cleanly {
                end.notify_one();
            }
            if let Ok(mut m) = self.ends.lock() {
                if Arc::strong_count(&end) <= 2 {
                    m.remove(&key);
                }
            }
        }
    }

    async fn handle_message(
        &mut self,
        ctx: &WebSocketContext,
        message: Message,
    ) -> Option<Message> {
        if let Message::Text(text) = &message {
            let (dir, uri) = match ctx {
                WebSocketContext::ClientToServer { dst, .. } => ("out", dst),
                WebSocketContext::ServerToClient { src, .. } => ("in", src),
            };
            let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let url = self
                .routes
                .read()
                .ok()
                .and_then(|r| r.sockets.get(path).cloned())
                .unwrap_or_else(|| shown_url(uri));
            // The upgrade arrived as an https request; the socket is wss.
            let url = match url.split_once("://") {
                Some(("https", rest)) => format!("wss://{rest}"),
                Some(("http", rest)) => format!("ws://{rest}"),
                _ => url,
            };
            self.log.push(WireEntry::Frame {
                at_ms: self.log.now_ms(),
                dir: dir.into(),
                url,
                text: text.as_str().to_owned(),
            });
        }
        Some(message)
    }
}

/// The TLS client the proxy (and a live run's preflight) uses: the public
/// roots and the certificates given (DER).
///
/// # Errors
/// [`ProxyError::Tls`] for a certificate rustls refuses.
pub fn client_config(trust: &[Vec<u8>]) -> Result<rustls::ClientConfig, ProxyError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in trust {
        roots
            .add(cert.clone().into())
            .map_err(|e| ProxyError::Tls(e.to_string()))?;
    }
    Ok(
        rustls::ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| ProxyError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Where a proxy sends the Jodo hosts' requests.
#[derive(Debug, Clone, Default)]
pub struct ProxyRoutes {
    /// Host names answered by the target (besides hosts seen asking for a
    /// Jodo path).
    pub jodo_hosts: Vec<String>,
    /// `HOST:PORT` of the mock or a staging server; `None` lets the
    /// requests go to the Jodo hosts themselves (a live run on production).
    pub target: Option<String>,
    /// DER certificates to trust besides the public roots (the mock's, a
    /// staging server's own CA).
    pub trust: Vec<Vec<u8>>,
    /// A build to answer for the SDK script instead of the backend's.
    pub widget: Option<Vec<u8>>,
}

/// A running proxy.
pub struct InterceptProxy {
    addr: SocketAddr,
    routes: Arc<RwLock<Routes>>,
    log: Arc<WireLog>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for InterceptProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InterceptProxy")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl InterceptProxy {
    /// Starts a proxy on a free loopback port that answers for `jodo_hosts`
    /// (and hosts asking for Jodo paths) from the mock at `target`
    /// (`127.0.0.1:PORT`), trusting the mock's certificate `mock_cert`.
    ///
    /// # Errors
    /// [`ProxyError`] when the CA, the TLS client or the port fails.
    pub async fn start(
        jodo_hosts: impl IntoIterator<Item = String>,
        target: String,
        mock_cert: &[u8],
    ) -> Result<Self, ProxyError> {
        Self::start_with(ProxyRoutes {
            jodo_hosts: jodo_hosts.into_iter().collect(),
            target: Some(target),
            trust: vec![mock_cert.to_vec()],
            widget: None,
        })
        .await
    }

    /// Starts a proxy with these routes.
    ///
    /// # Errors
    /// [`ProxyError`] when the CA, the TLS client or the port fails.
    pub async fn start_with(routes: ProxyRoutes) -> Result<Self, ProxyError> {
        let ProxyRoutes {
            jodo_hosts,
            target,
            trust,
            widget,
        } = routes;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            "jodo-conformance intercepting proxy",
        );
        let issuer = Issuer::new(params, key);
        let ca = RcgenAuthority::new(issuer, 1_000, aws_lc_rs::default_provider());

        let client = client_config(&trust)?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(client.clone())
            .https_or_http()
            .enable_http1()
            .build();

        let routes = Arc::new(RwLock::new(Routes {
            hosts: jodo_hosts
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            target,
            widget: widget.map(Arc::from),
            sockets: Default::default(),
        }));
        let log = Arc::new(WireLog::default());
        let handler = Handler {
            routes: routes.clone(),
            log: log.clone(),
            ends: Arc::default(),
            current: None,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let proxy = Proxy::builder()
            .with_listener(listener)
            .with_ca(ca)
            .with_http_connector(https)
            .with_http_handler(handler.clone())
            .with_websocket_handler(handler)
            .with_websocket_connector(Connector::Rustls(Arc::new(client)))
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .build()
            .map_err(|e| ProxyError::Tls(e.to_string()))?;
        let task = tokio::spawn(async move {
            if let Err(e) = proxy.start().await {
                tracing::warn!(error = %e, "the intercepting proxy stopped");
            }
        });
        Ok(Self {
            addr,
            routes,
            log,
            stop: Some(stop),
            task,
        })
    }

    /// `127.0.0.1:PORT`, as the browser's proxy capability takes it.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Adds a host answered from the mock.
    pub fn add_jodo_host(&self, host: &str) {
        if let Ok(mut r) = self.routes.write() {
            r.hosts.insert(host.to_ascii_lowercase());
        }
    }

    /// The Jodo hosts known so far.
    pub fn jodo_hosts(&self) -> Vec<String> {
        self.routes
            .read()
            .map(|r| r.hosts.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// What it has seen so far.
    pub fn log(&self) -> &Arc<WireLog> {
        &self.log
    }

    /// Stops it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), &mut self.task).await;
        self.task.abort();
    }
}

impl Drop for InterceptProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
