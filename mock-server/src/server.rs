//! Putting the mock together: configuration, start, and shutdown.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use jodo_contract::SchemaSet;

use crate::gateway::Gateway;
use crate::pages::WidgetBuild;
use crate::scenario::Scenario;
use crate::session::Sessions;
use crate::tls::{TlsError, TlsIdentity};

/// Largest WebSocket message or HTTP body the mock accepts.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Everything a mock instance needs.
#[derive(Debug)]
pub struct MockConfig {
    /// The compiled contract.
    pub schemas: Arc<SchemaSet>,
    /// Scenario for new sessions.
    pub scenario: Arc<Scenario>,
    /// Widget build served to pages.
    pub widget: WidgetBuild,
    /// Keys and extra origins; the mock adds its own origins at start.
    pub gateway: Gateway,
    /// Certificate and key.
    pub tls: TlsIdentity,
    /// Folder for per-session JSON-lines transcripts, if any.
    pub transcripts: Option<std::path::PathBuf>,
}

/// State shared by every route.
#[derive(Debug)]
pub struct AppState {
    /// The compiled contract.
    pub schemas: Arc<SchemaSet>,
    /// Scenario for new sessions; the runner switches it between cases.
    pub scenario: RwLock<Arc<Scenario>>,
    /// Widget build; the runner switches it between builds.
    pub widget: RwLock<WidgetBuild>,
    /// Keys and origins.
    pub gateway: Gateway,
    /// Sessions and tokens.
    pub sessions: Sessions,
    /// Built-in scenarios by name, for hints and the control API.
    pub library: BTreeMap<String, Arc<Scenario>>,
}

/// Why the mock could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// TLS set-up failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The listener could not be used.
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
    /// A built-in scenario is broken (a broken build).
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
}

/// A running mock.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    state: Arc<AppState>,
    handle: axum_server::Handle<SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    fingerprint: String,
}

impl MockServer {
    /// Serves HTTPS/WSS on `listener` until [`MockServer::shutdown`].
    ///
    /// # Errors
    /// [`StartError`] when TLS cannot be configured or the listener is unusable.
    pub async fn start(
        config: MockConfig,
        listener: std::net::TcpListener,
    ) -> Result<Self, StartError> {
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let mut gateway = config.gateway;
        gateway.allow_origins(own_origins(addr));
        let fingerprint = config.tls.fingerprint();
        let tls = axum_server::tls_rustls::RustlsConfig::from_config(config.tls.server_config()?);
        let mut library = BTreeMap::new();
        for name in crate::scenario::builtin_names() {
            let scenario = crate::scenario::load(&name, &config.schemas)?;
            library.insert(name, scenario);
        }
        let state = Arc::new(AppState {
            schemas: config.schemas,
            scenario: RwLock::new(config.scenario),
            widget: RwLock::new(config.widget),
            gateway,
            sessions: Sessions::with_transcripts(config.transcripts.as_deref()),
            library,
        });
        let app = crate::http::router(state.clone());
        let handle = axum_server::Handle::new();
        // TCP_NODELAY: small frames must not wait for the peer's delayed ACK
        // (without it every session creation costs ~40 ms on loopback).
        let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls)
            .acceptor(axum_server::accept::NoDelayAcceptor::new());
        let server = axum_server::from_tcp(listener)?
            .acceptor(acceptor)
            .handle(handle.clone());
        let task = tokio::spawn(async move {
            server
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
        });
        Ok(Self {
            addr,
            state,
            handle,
            task,
            fingerprint,
        })
    }

    /// Address the mock listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://host:port` of the mock, as pages and the runner use it.
    pub fn origin(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// SHA-256 fingerprint of the served certificate.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Shared state (sessions, gateway), for the CLI banner and tests.
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Chooses the scenario for sessions created from now on.
    pub fn set_scenario(&self, scenario: Arc<Scenario>) {
        if let Ok(mut s) = self.state.scenario.write() {
            *s = scenario;
        }
    }

    /// Chooses the widget build served from now on.
    pub fn set_widget(&self, widget: WidgetBuild) {
        if let Ok(mut w) = self.state.widget.write() {
            *w = widget;
        }
    }

    /// Stops accepting, closes connections, and waits for the server task.
    pub async fn shutdown(self) {
        self.handle
            .graceful_shutdown(Some(std::time::Duration::from_millis(500)));
        let _ = self.task.await;
    }
}

fn own_origins(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    let mut origins = vec![
        format!("https://{addr}"),
        format!("https://localhost:{port}"),
    ];
    if addr.ip().is_unspecified() {
        origins.push(format!("https://127.0.0.1:{port}"));
        origins.push(format!("https://[::1]:{port}"));
    }
    origins
}
