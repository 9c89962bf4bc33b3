//! Starting and stopping a mock, and the few things a caller may ask of a
//! running one. Everything else is internal: routes and state are
//! `pub(crate)`, so the crate can change them freely.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use crate::scenario::Scenario;
use crate::session::{Command, SessionSummary, Sessions};
use crate::site::WidgetBuild;
use crate::state::{AppState, MockConfig};
use crate::tls::TlsError;

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

impl From<crate::state::ConfigError> for StartError {
    fn from(e: crate::state::ConfigError) -> Self {
        match e {
            crate::state::ConfigError::Tls(e) => StartError::Tls(e),
            crate::state::ConfigError::Scenario(e) => StartError::Scenario(e),
        }
    }
}

/// Why a control trigger could not be fired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriggerError {
    /// No session has an open channel.
    #[error("no live session on the mock (did the widget connect?)")]
    NoLiveSession,
    /// The channel closed between finding it and handing it the trigger.
    #[error("the session's channel closed before the trigger")]
    Closed,
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
        let gateway = config.gateway;
        gateway.allow_origins(crate::origin::own_origins(addr));
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
            preload: config.preload,
            gateway,
            sessions: Sessions::with_transcripts(config.transcripts.as_deref())
                .keeping(config.sessions_kept),
            parking: crate::parking::Parking::default(),
            library,
            open_sessions: config.open_sessions,
            channel_limits: config.channel,
            control_body_bytes: config.control_body_bytes,
            control_access: Arc::new(crate::control_access::ControlAccess::new(
                addr,
                config.control_token,
            )),
            dialect: config.dialect,
        });
        let app = crate::routes::router(state.clone());
        let handle = axum_server::Handle::new();
        // TCP_NODELAY: small frames must not wait for the peer's delayed ACK
        // (without it every session creation costs ~40 ms on loopback).
        let acceptor = crate::first_byte::FirstByteAcceptor::new(
            axum_server::tls_rustls::RustlsAcceptor::new(tls)
                .acceptor(axum_server::accept::NoDelayAcceptor::new()),
            config.silent_timeout,
        );
        let mut server = axum_server::from_tcp(listener)?
            .acceptor(acceptor)
            .handle(handle.clone());
        // A connection trickling its headers holds a socket and memory;
        // hyper drops it once this passes (counted from its first byte;
        // before it, the silent time-out above applies).
        server
            .http_builder()
            .http1()
            .header_read_timeout(config.header_timeout);
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

    /// Starts a mock on a free loopback port.
    ///
    /// # Errors
    /// See [`MockServer::start`].
    pub async fn start_local(config: MockConfig) -> Result<Self, StartError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        Self::start(config, listener).await
    }

    /// The token the control API requires, if it requires one: people
    /// and scripts need it printed.
    pub fn control_token(&self) -> Option<&str> {
        self.state.control_access.token()
    }

    /// Address the mock listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://host:port` of the mock, as pages and the runner use it.
    pub fn origin(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The wire protocol it speaks: where its session API and channel
    /// are, and how its frames look.
    pub fn dialect(&self) -> &jodo_contract::dialect::Dialect {
        &self.state.dialect
    }

    /// SHA-256 fingerprint of the served certificate.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Origins allowed to create sessions, the mock's own included.
    pub fn origins(&self) -> Vec<String> {
        self.state.gateway.origins()
    }

    /// Lets a page on `origin` create sessions with `keys` from now on: a
    /// page under certification keeps its own origin and keys.
    pub fn admit(&self, origin: String, keys: Option<crate::gateway::KeyPair>) {
        self.state.gateway.allow_origins([origin]);
        if let Some(keys) = keys {
            self.state.gateway.accept_keys(keys);
        }
    }

    /// Every session it remembers, oldest first.
    pub fn sessions(&self) -> Vec<SessionSummary> {
        self.state.sessions.list()
    }

    /// How many sessions it has created so far (forgotten ones included):
    /// a mark to find the sessions created after it by their `serial`.
    pub fn sessions_created(&self) -> u64 {
        self.state.sessions.created()
    }

    /// The frames a session exchanged, as its in-memory transcript keeps
    /// them (the latest 64 KiB): `{"ts", "dir", "frame"}` objects, oldest
    /// first, `dir` as the mock sees it (`in` from the widget).
    pub fn transcript(&self, id: &str) -> Option<Vec<serde_json::Value>> {
        let session = self.state.sessions.get(id)?;
        serde_json::from_str(&session.transcript()).ok()
    }

    /// Chooses the scenario for sessions created from now on.
    pub fn set_scenario(&self, scenario: Arc<Scenario>) {
        self.state.set_scenario(scenario);
    }

    /// Chooses the widget build served from now on.
    pub fn set_widget(&self, widget: WidgetBuild) {
        if let Ok(mut w) = self.state.widget.write() {
            *w = widget;
        }
    }

    /// Fires a control trigger of the scenario on the newest session with
    /// an open channel: the one the page that loaded last opened.
    ///
    /// # Errors
    /// [`TriggerError`] when no session is live.
    pub fn trigger_newest_live(&self, name: &str) -> Result<(), TriggerError> {
        let sessions = &self.state.sessions;
        let live = sessions
            .list()
            .into_iter()
            .rev()
            .find(|s| s.live)
            .and_then(|s| sessions.get(&s.id))
            .ok_or(TriggerError::NoLiveSession)?;
        if live.command(Command::Trigger(name.to_owned())) {
            Ok(())
        } else {
            Err(TriggerError::Closed)
        }
    }

    /// Stops accepting, closes connections, and waits for the server task.
    pub async fn shutdown(self) {
        self.handle
            .graceful_shutdown(Some(std::time::Duration::from_millis(500)));
        let _ = self.task.await;
    }
}
