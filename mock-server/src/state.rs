//! What a running mock knows: its configuration and the state every route
//! shares. The bottom of the mock: routes read it, the server owns it.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use jodo_contract::Contract;
use jodo_contract::dialect::Dialect;

use crate::gateway::{Gateway, development_keys};
use crate::scenario::{Scenario, ScenarioError};
use crate::session::Sessions;
use crate::site::{Preload, WidgetBuild};
use crate::tls::{TlsError, TlsIdentity};

/// Largest WebSocket message or HTTP body the mock accepts.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Everything a mock instance needs.
#[derive(Debug)]
pub struct MockConfig {
    /// The compiled contract.
    pub schemas: Arc<Contract>,
    /// Scenario for new sessions.
    pub scenario: Arc<Scenario>,
    /// Widget build served to pages.
    pub widget: WidgetBuild,
    /// A script the host page runs before its own, if any.
    pub preload: Option<Preload>,
    /// Keys and extra origins; the mock adds its own origins at start.
    pub gateway: Gateway,
    /// Certificate and key.
    pub tls: TlsIdentity,
    /// Folder for per-session JSON-lines transcripts, if any.
    pub transcripts: Option<std::path::PathBuf>,
    /// Sessions remembered for the control API besides the live ones;
    /// beyond it the oldest that are not live are forgotten, with their
    /// unused tokens and resume secrets, so a mock left running keeps a
    /// bounded memory ([`DEFAULT_SESSIONS_KEPT`]).
    pub sessions_kept: usize,
    /// How long a client may take to finish a request's headers once it
    /// has started them (one trickling them is disconnected after it):
    /// [`DEFAULT_HEADER_TIMEOUT`].
    pub header_timeout: std::time::Duration,
    /// How long a connection may stay silent after its TLS handshake
    /// before its first byte ([`DEFAULT_SILENT_TIMEOUT`]): longer than a
    /// browser keeps an unused preconnected socket (Chromium: 10 s).
    pub silent_timeout: std::time::Duration,
    /// Sessions open at once (a channel live, or a token not yet spent),
    /// in all and per key: a new one beyond either is refused with 503
    /// `too_many_sessions` ([`DEFAULT_OPEN_SESSIONS`]).
    pub open_sessions: OpenSessions,
    /// Bounds on each WebSocket channel ([`ChannelLimits::DEFAULT`]).
    pub channel: ChannelLimits,
    /// Largest control-API body; a larger one gets 413 `too_large`
    /// ([`DEFAULT_CONTROL_BODY_BYTES`]).
    pub control_body_bytes: usize,
    /// Token the control API requires (`Authorization: Bearer …`). Without
    /// one, a mock on loopback answers any local script and a mock on
    /// another address makes one up ([`crate::ControlAccess`]).
    pub control_token: Option<String>,
    /// The wire protocol the mock speaks ([`Dialect::kit`] unless a
    /// build speaks its own): the session API's path and bodies, the
    /// channel's URL and every frame go through it.
    pub dialect: Arc<Dialect>,
}

/// Largest control-API body by default: room for a raw fault frame of a
/// megabyte and more, and a bound on what one request can make the mock
/// hold.
pub const DEFAULT_CONTROL_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Bounds on one WebSocket channel, each answered in the way RFC 6455
/// gives it and recorded in the transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelLimits {
    /// Largest message (and frame) a widget may send; a larger one closes
    /// the channel with 1009.
    pub message_bytes: usize,
    /// Most fragments one message may arrive in; one more closes the
    /// channel with 1009.
    pub max_fragments: usize,
    /// What the mock queues for a widget before a write waits on it.
    pub write_queue_bytes: usize,
    /// How long a write may wait on a widget that does not read before
    /// its channel is dropped (the transcript says `slow reader`).
    pub write_timeout: std::time::Duration,
}

impl ChannelLimits {
    /// The bounds a mock starts with: far above what a widget sends (a
    /// chat message is well under 1 KiB), and low enough that a thousand
    /// hostile channels stay within a few hundred MiB.
    pub const DEFAULT: Self = Self {
        message_bytes: MAX_FRAME_BYTES,
        max_fragments: crate::frame_meter::DEFAULT_MAX_FRAGMENTS,
        write_queue_bytes: 128 * 1024,
        write_timeout: std::time::Duration::from_secs(10),
    };
}

/// Bounds on the sessions open at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenSessions {
    /// In all.
    pub total: usize,
    /// With one akey.
    pub per_key: usize,
}

/// How many sessions may be open at once by default: far more than a test
/// run opens, and few enough that a flood of them stays within memory.
pub const DEFAULT_OPEN_SESSIONS: OpenSessions = OpenSessions {
    total: 1000,
    per_key: 500,
};

/// How long a connection may stay silent after TLS by default.
pub const DEFAULT_SILENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a client may take to send a request's headers by default.
pub const DEFAULT_HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How many sessions a mock remembers by default: ample for a test run's
/// control API and transcripts, and about 32 MiB at most (each keeps at
/// most 64 KiB of transcript and a 64 KiB init).
pub const DEFAULT_SESSIONS_KEPT: usize = 256;

/// Why a configuration could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The certificate could not be made.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The default scenario did not load (a broken build).
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

impl MockConfig {
    /// The configuration every local use starts from: the `allocated`
    /// scenario, the reference build, the development keys, a fresh
    /// self-signed certificate, no preload and no transcript files. Change
    /// fields with struct update syntax.
    ///
    /// # Errors
    /// [`ConfigError`] when the certificate cannot be made.
    pub fn local(schemas: Arc<Contract>) -> Result<Self, ConfigError> {
        Ok(Self {
            scenario: crate::scenario::load("allocated", &schemas)?,
            widget: WidgetBuild::reference(),
            preload: None,
            gateway: Gateway::new(vec![development_keys()], Vec::new()),
            tls: TlsIdentity::self_signed()?,
            transcripts: None,
            sessions_kept: DEFAULT_SESSIONS_KEPT,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            silent_timeout: DEFAULT_SILENT_TIMEOUT,
            open_sessions: DEFAULT_OPEN_SESSIONS,
            channel: ChannelLimits::DEFAULT,
            control_body_bytes: DEFAULT_CONTROL_BODY_BYTES,
            control_token: None,
            dialect: Arc::new(Dialect::kit(&schemas)),
            schemas,
        })
    }
}

/// State shared by every route.
#[derive(Debug)]
pub(crate) struct AppState {
    /// The compiled contract.
    pub(crate) schemas: Arc<Contract>,
    /// Scenario for new sessions; the runner switches it between cases.
    pub(crate) scenario: RwLock<Arc<Scenario>>,
    /// Widget build; the runner switches it between builds.
    pub(crate) widget: RwLock<WidgetBuild>,
    /// The script run before the host page's own, if any.
    pub(crate) preload: Option<Preload>,
    /// Keys and origins.
    pub(crate) gateway: Gateway,
    /// Sessions and tokens.
    pub(crate) sessions: Sessions,
    /// Conversations of dropped channels, waiting to be resumed.
    pub(crate) parking: crate::parking::Parking,
    /// Built-in scenarios by name, for hints and the control API.
    pub(crate) library: BTreeMap<String, Arc<Scenario>>,
    /// Bounds on the sessions open at once.
    pub(crate) open_sessions: OpenSessions,
    /// Bounds on each channel.
    pub(crate) channel_limits: ChannelLimits,
    /// Largest control-API body.
    pub(crate) control_body_bytes: usize,
    /// Who may use the control API.
    pub(crate) control_access: Arc<crate::control_access::ControlAccess>,
    /// The wire protocol.
    pub(crate) dialect: Arc<Dialect>,
}

impl AppState {
    /// The scenario new sessions get, unless a hint picks another.
    pub(crate) fn current_scenario(&self) -> Arc<Scenario> {
        match self.scenario.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Chooses the scenario for sessions created from now on.
    pub(crate) fn set_scenario(&self, scenario: Arc<Scenario>) {
        match self.scenario.write() {
            Ok(mut s) => *s = scenario,
            Err(poisoned) => *poisoned.into_inner() = scenario,
        }
    }
}
