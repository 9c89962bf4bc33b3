//! Where a case's session is served from, and what that server can do.
//!
//! A [`Backend`] says what it provides ([`Capability`]) and a case says
//! what it needs ([`Case::needs`]); a case a backend cannot serve is *not
//! applicable*, reported with the reason, never failed. Today the one
//! backend is the kit's own mock, in-process ([`MockBackend`]), which
//! provides everything; a backend the kit does not script (a live staging
//! server) provides less, and the same cases run on it where they can.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jodo_contract::Contract;
use jodo_contract::dialect::Dialect;
use jodo_mock::scenario::{self, Scenario, ScenarioError};
use jodo_mock::{MockConfig, MockServer, Preload, StartError, TriggerError, WidgetBuild};

use crate::case::{Capability, Case, Step};

/// Why a backend cannot do what a case asks.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The case's scenario does not load.
    #[error("scenario: {0}")]
    Scenario(#[from] ScenarioError),
    /// A control step names a trigger the scenario lacks (the engine would
    /// ignore it silently, so the case is refused before it runs).
    #[error("scenario {scenario} has no control trigger {trigger:?}")]
    UnknownTrigger {
        /// The scenario.
        scenario: String,
        /// The trigger the case names.
        trigger: String,
    },
    /// A control trigger could not be fired.
    #[error(transparent)]
    Trigger(#[from] TriggerError),
    /// The backend is not the kit's to script (a live run).
    #[error("control trigger {0:?}: a live backend is not scripted by the kit")]
    NotScripted(String),
}

/// A future a backend's shutdown returns.
pub type Stopping = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A server a worker's cases run against.
pub trait Backend: Send + Sync {
    /// What it can give cases.
    fn provides(&self) -> &[Capability];

    /// `https://host:port` where the kit's host page is served.
    fn origin(&self) -> String;

    /// Gets ready for a case: runs its scenario for the next session.
    ///
    /// # Errors
    /// Why the case cannot run here (an unknown scenario or trigger): a
    /// harness error, since the case file is wrong, not the build.
    fn prepare(&self, case: &Case) -> Result<(), BackendError>;

    /// Fires a control trigger of the scenario on the case's live session.
    ///
    /// # Errors
    /// Why it could not be fired (no live session), for the report.
    fn trigger(&self, name: &str) -> Result<(), BackendError>;

    /// The proxy the browser must go through to reach it, when there is
    /// one (a live run): the browser then gets the probe over BiDi and the
    /// case reports get the wire.
    fn proxy(&self) -> Option<&crate::proxy::InterceptProxy> {
        None
    }

    /// The worker shell page it serves (see [`crate::page::Fresh`]), if any.
    fn shell_url(&self) -> Option<String> {
        None
    }

    /// How many sessions it has served so far: a mark for
    /// [`Backend::frames_since`].
    fn sessions_served(&self) -> u64 {
        0
    }

    /// The frames of the sessions served since `mark`, as the backend
    /// itself recorded them: a case's wire when no proxy watched it.
    fn frames_since(&self, _mark: u64) -> Vec<crate::wire::WireEntry> {
        Vec::new()
    }

    /// Stops it; nothing of it is left once the future is done.
    fn shutdown(self: Box<Self>) -> Stopping;
}

/// Why a case cannot run on a backend, if it cannot: the first need the
/// backend does not provide.
pub fn unmet(case: &Case, backend: &dyn Backend) -> Option<String> {
    let provides = backend.provides();
    case.needs()
        .into_iter()
        .find(|need| !provides.contains(need))
        .map(|need| {
            format!(
                "the case needs {} from its backend, which this backend does not provide",
                need.name()
            )
        })
}

/// Which backend a run uses.
#[derive(Debug, Clone, Default)]
pub enum BackendKind {
    /// The kit's mock, one per worker, in-process.
    #[default]
    Mock,
    /// A backend the kit does not script, through the proxy.
    Live(crate::live::LiveOptions),
}

impl BackendKind {
    /// Starts one for a worker.
    ///
    /// # Errors
    /// [`crate::run_options::RunError`] when it does not come up.
    pub async fn start(
        &self,
        schemas: &Arc<Contract>,
        widget: &WidgetBuild,
        preload: &Preload,
        dialect: Option<Arc<Dialect>>,
    ) -> Result<Box<dyn Backend>, crate::run_options::RunError> {
        match self {
            BackendKind::Mock => Ok(Box::new(
                MockBackend::start(schemas.clone(), widget.clone(), preload.clone(), dialect)
                    .await?,
            )),
            BackendKind::Live(options) => {
                Ok(Box::new(crate::live::LiveBackend::start(options).await?))
            }
        }
    }
}

/// The kit's mock, in-process, with the runner's probe as the host page's
/// preload script. Each worker has its own, so a case's scenario choice
/// stays private to the worker running it.
#[derive(Debug)]
pub struct MockBackend {
    mock: MockServer,
    schemas: Arc<Contract>,
    certificate: Vec<u8>,
    /// When it started, in milliseconds since the Unix epoch: the zero of
    /// its frames' `at_ms`, as a proxy's record starts when it does.
    started_ms: u64,
}

impl MockBackend {
    /// Starts a mock on a free loopback port serving `widget`, speaking
    /// `dialect` (the kit's own when absent).
    ///
    /// # Errors
    /// [`StartError`] when it does not come up.
    pub async fn start(
        schemas: Arc<Contract>,
        widget: WidgetBuild,
        preload: Preload,
        dialect: Option<Arc<Dialect>>,
    ) -> Result<Self, StartError> {
        let config = MockConfig::local(schemas.clone())?;
        let certificate = config.tls.certificate_der().to_vec();
        let mock = MockServer::start_local(MockConfig {
            widget,
            preload: Some(preload),
            dialect: dialect.unwrap_or(config.dialect.clone()),
            ..config
        })
        .await?;
        let started_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Ok(Self {
            mock,
            schemas,
            certificate,
            started_ms,
        })
    }

    /// `127.0.0.1:PORT` and the certificate of the mock, for a proxy that
    /// sends the Jodo hosts' requests to it.
    pub fn intercept_target(&self) -> (String, &[u8]) {
        (self.mock.addr().to_string(), &self.certificate)
    }

    /// Lets a page on `origin` create sessions with its own keys.
    pub fn admit(&self, origin: String, keys: Option<jodo_mock::gateway::KeyPair>) {
        self.mock.admit(origin, keys);
    }
}

impl Backend for MockBackend {
    fn provides(&self) -> &[Capability] {
        &[
            Capability::Scenario,
            Capability::Control,
            Capability::Faults,
        ]
    }

    fn origin(&self) -> String {
        self.mock.origin()
    }

    fn prepare(&self, case: &Case) -> Result<(), BackendError> {
        let sc = scenario::load(&case.scenario, &self.schemas)?;
        if let Some(trigger) = unknown_trigger(case, &sc) {
            return Err(BackendError::UnknownTrigger {
                scenario: sc.name.clone(),
                trigger: trigger.to_owned(),
            });
        }
        self.mock.set_scenario(sc);
        Ok(())
    }

    fn trigger(&self, name: &str) -> Result<(), BackendError> {
        Ok(self.mock.trigger_newest_live(name)?)
    }

    fn shell_url(&self) -> Option<String> {
        Some(format!("{}{}", self.mock.origin(), jodo_mock::SHELL_PATH))
    }

    fn sessions_served(&self) -> u64 {
        self.mock.sessions_created()
    }

    /// The mock's transcripts of the sessions since `mark`. Their times are
    /// whole seconds (the mock stamps frames once a second), and they hold
    /// the frames only: the session API's HTTP exchanges are not in them.
    fn frames_since(&self, mark: u64) -> Vec<crate::wire::WireEntry> {
        let socket = format!(
            "{}{}",
            self.mock.origin().replacen("https://", "wss://", 1),
            self.mock.dialect().file.channel.path
        );
        let mut frames = Vec::new();
        for session in self.mock.sessions().into_iter().filter(|s| s.serial > mark) {
            for line in self.mock.transcript(&session.id).unwrap_or_default() {
                let secs = line["ts"]
                    .as_str()
                    .and_then(jodo_contract::clock::parse_rfc3339)
                    .unwrap_or(0);
                let text = match &line["frame"] {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                frames.push(crate::wire::WireEntry::Frame {
                    at_ms: secs.saturating_mul(1000).saturating_sub(self.started_ms),
                    // The mock's `in` is what the page sent.
                    dir: if line["dir"] == "in" { "out" } else { "in" }.into(),
                    url: format!("{socket}?session={}", session.id),
                    text,
                });
            }
        }
        frames
    }

    fn shutdown(self: Box<Self>) -> Stopping {
        Box::pin(self.mock.shutdown())
    }
}

/// A control step naming a trigger the scenario does not have.
fn unknown_trigger<'c>(case: &'c Case, sc: &Scenario) -> Option<&'c str> {
    let known = |name: &str| {
        sc.states
            .values()
            .flat_map(|s| &s.on)
            .any(|t| matches!(&t.when, scenario::model::Trigger::Control(n) if n == name))
    };
    case.steps.iter().find_map(|step| match step {
        Step::Control { control } if !known(control) => Some(control.as_str()),
        _ => None,
    })
}
