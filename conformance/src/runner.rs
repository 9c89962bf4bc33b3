//! A conformance run: the mock in-process, one browser, every selected
//! case in turn, and the typed [`RunReport`] at the end.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jodo_contract::{Profile, SchemaSet, clock};
use jodo_mock::gateway::{Gateway, development_keys};
use jodo_mock::pages::WidgetBuild;
use jodo_mock::server::StartError;
use jodo_mock::tls::TlsIdentity;
use jodo_mock::{MockConfig, MockServer, scenario};
use sha2::{Digest, Sha256};

use crate::browser::{Browser, BrowserError, BrowserOptions};
use crate::case::{self, Case, CaseError};
use crate::checks::{self, CheckContext};
use crate::executor::{self, CaseTrace, HarnessError, duration_ms};
use crate::report::{BrowserInfo, CaseReport, Outcome, RunReport, Summary, WidgetInfo};

/// What to run and where.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Widget build to test; the reference build when absent.
    pub widget: Option<PathBuf>,
    /// Case folder; the built-in cases when absent.
    pub cases_dir: Option<PathBuf>,
    /// Run only cases whose id contains this text.
    pub filter: Option<String>,
    /// Browser to use.
    pub browser: BrowserOptions,
    /// Contract profile events are checked in.
    pub profile: Profile,
    /// Per-case limit overriding each case's own `timeout_ms`.
    pub case_timeout: Option<Duration>,
}

/// Why a run could not happen (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The contract did not compile (a broken build).
    #[error("the contract does not load: {0}")]
    Contract(String),
    /// Cases could not be loaded.
    #[error(transparent)]
    Cases(#[from] CaseError),
    /// No case matched the filter.
    #[error("no case matches the filter {0:?}")]
    NoCases(String),
    /// The widget file could not be read.
    #[error("cannot read widget build {path}: {source}")]
    Widget {
        /// The path given.
        path: String,
        /// OS error.
        source: std::io::Error,
    },
    /// The mock did not start.
    #[error("the mock server did not start: {0}")]
    Mock(#[from] StartError),
    /// No browser.
    #[error(transparent)]
    Browser(#[from] BrowserError),
    /// Ctrl-C.
    #[error("interrupted")]
    Interrupted,
}

/// Progress notifications, so the CLI can print while the run goes on.
pub trait Progress {
    /// The browser is up and cases are about to run.
    fn started(&mut self, _cases: usize, _browser: &BrowserInfo) {}
    /// One case finished.
    fn case_finished(&mut self, _case: &CaseReport) {}
}

/// Ignores progress.
impl Progress for () {}

/// Runs the selected cases. `interrupt` resolving (Ctrl-C) stops the run at
/// once; the browser, its driver and the mock are shut down on every path.
///
/// # Errors
/// [`RunError`] when the run could not happen; failing cases are not errors.
pub async fn run(
    options: &RunOptions,
    progress: &mut dyn Progress,
    interrupt: impl Future<Output = ()>,
) -> Result<RunReport, RunError> {
    let mut interrupt = std::pin::pin!(interrupt);
    let started_at = clock::rfc3339_now();
    let started = Instant::now();
    let schemas = Arc::new(SchemaSet::embedded().map_err(|e| RunError::Contract(e.to_string()))?);
    let mut cases = match &options.cases_dir {
        Some(dir) => case::from_dir(dir, &schemas)?,
        None => case::builtin(&schemas)?,
    };
    if let Some(filter) = &options.filter {
        cases.retain(|c| c.id.contains(filter.as_str()));
        if cases.is_empty() {
            return Err(RunError::NoCases(filter.clone()));
        }
    }
    let widget = match &options.widget {
        Some(path) => WidgetBuild::from_file(path).map_err(|source| RunError::Widget {
            path: path.display().to_string(),
            source,
        })?,
        None => WidgetBuild::reference(),
    };
    let widget_info = WidgetInfo {
        file: widget.name.clone(),
        sha256: hex(&Sha256::digest(&widget.script)),
        sdk_version: None,
    };
    let keys = development_keys();
    let secrets = vec![keys.akey.clone(), keys.skey.clone()];
    let first_scenario =
        scenario::load("allocated", &schemas).map_err(|e| RunError::Contract(e.to_string()))?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(StartError::Listen)?;
    let mock = MockServer::start(
        MockConfig {
            schemas: schemas.clone(),
            scenario: first_scenario,
            widget,
            gateway: Gateway::new(vec![keys], Vec::new()),
            tls: TlsIdentity::self_signed().map_err(StartError::Tls)?,
            transcripts: None,
        },
        listener,
    )
    .await?;
    let launched = tokio::select! {
        b = Browser::launch(&options.browser) => Some(b),
        () = &mut interrupt => None,
    };
    let browser = match launched {
        Some(Ok(b)) => b,
        Some(Err(e)) => {
            mock.shutdown().await;
            return Err(e.into());
        }
        None => {
            mock.shutdown().await;
            return Err(RunError::Interrupted);
        }
    };
    let browser_info = BrowserInfo {
        name: browser.name.clone(),
        version: browser.version.clone(),
    };
    progress.started(cases.len(), &browser_info);
    let ctx = CheckContext {
        schemas: &schemas,
        profile: options.profile,
        secrets,
    };
    let mut reports = Vec::new();
    let mut sdk_version = None;
    let mut browser = Some(browser);
    let outcome = tokio::select! {
        r = async {
            let Some(b) = browser.as_ref() else { return Ok(()) };
            sdk_version = probe_version(b, &mock).await;
            for case in &cases {
                let Some(b) = browser.as_ref() else { break };
                let report = run_one(b, &mock, case, &ctx, options.case_timeout).await;
                let stuck = report.outcome == Outcome::Timeout;
                progress.case_finished(&report);
                reports.push(report);
                if stuck {
                    // A page that hangs keeps its renderer busy, and every
                    // later navigation would wait on it: start afresh.
                    if let Some(old) = browser.take() {
                        old.kill().await;
                    }
                    browser = Some(Browser::launch(&options.browser).await?);
                }
            }
            Ok::<(), BrowserError>(())
        } => Some(r),
        () = &mut interrupt => None,
    };
    if let Some(b) = browser.take() {
        b.shutdown().await;
    }
    mock.shutdown().await;
    let interrupted = match outcome {
        None => true,
        Some(Ok(())) => false,
        Some(Err(e)) => return Err(RunError::Browser(e)),
    };
    if interrupted {
        return Err(RunError::Interrupted);
    }
    Ok(RunReport {
        report_version: 1,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        spec: schemas.catalog().spec.clone(),
        started_at,
        duration_ms: duration_ms(started.elapsed()),
        profile: options.profile.name().into(),
        widget: WidgetInfo {
            sdk_version,
            ..widget_info
        },
        browser: browser_info,
        summary: Summary::of(&reports),
        cases: reports,
    })
}

/// Asks the build for its version on a throwaway page load.
async fn probe_version(browser: &Browser, mock: &MockServer) -> Option<String> {
    let client = browser.client();
    client
        .goto(&format!("{}/?probe=version", mock.origin()))
        .await
        .ok()?;
    let answer = client
        .execute(
            "return window.__jodoProbe ? window.__jodoProbe.call('jodoInitBOT.getVersion', []) : null;",
            vec![],
        )
        .await
        .ok()?;
    answer.get("returned")?.as_str().map(str::to_owned)
}

async fn run_one(
    browser: &Browser,
    mock: &MockServer,
    case: &Case,
    ctx: &CheckContext<'_>,
    timeout: Option<Duration>,
) -> CaseReport {
    let limit = timeout.unwrap_or_else(|| case.timeout());
    let started = Instant::now();
    let mut report = CaseReport {
        id: case.id.clone(),
        title: case.title.clone(),
        area: case.area.clone(),
        spec: case.spec.clone(),
        scenario: case.scenario.clone(),
        outcome: Outcome::Error,
        duration_ms: 0,
        reason: None,
        checks: Vec::new(),
        steps: Vec::new(),
        probe: Default::default(),
    };
    let result = match scenario::load(&case.scenario, ctx.schemas) {
        Err(e) => Err(Ended::Harness(HarnessError::Scenario(e.to_string()))),
        Ok(sc) => {
            mock.set_scenario(sc);
            let url = format!("{}/?case={}", mock.origin(), case.id);
            let catalog = ctx.schemas.catalog();
            match tokio::time::timeout(
                limit,
                executor::run_case(browser.client(), &url, case, catalog),
            )
            .await
            {
                Err(_) => Err(Ended::Timeout),
                Ok(Err(e)) => Err(Ended::Harness(e)),
                Ok(Ok(trace)) => Ok(trace),
            }
        }
    };
    match result {
        Ok(trace) => judge(&mut report, case, trace, ctx),
        Err(Ended::Timeout) => {
            report.outcome = Outcome::Timeout;
            report.reason = Some(format!(
                "the case did not finish within {} ms",
                limit.as_millis()
            ));
            // Keep whatever the page recorded, if it still answers.
            if let Ok(Ok(probe)) = tokio::time::timeout(
                Duration::from_secs(2),
                executor::read_probe(browser.client()),
            )
            .await
            {
                report.probe = probe;
            }
        }
        Err(Ended::Harness(e)) => {
            report.outcome = Outcome::Error;
            report.reason = Some(e.to_string());
        }
    }
    report.duration_ms = duration_ms(started.elapsed());
    report
}

enum Ended {
    Timeout,
    Harness(HarnessError),
}

fn judge(report: &mut CaseReport, case: &Case, trace: CaseTrace, ctx: &CheckContext<'_>) {
    report.checks = checks::run_all(case, &trace, ctx);
    report.outcome = if report.checks.iter().all(|c| c.passed) {
        Outcome::Pass
    } else {
        Outcome::Fail
    };
    report.steps = trace.steps;
    report.probe = trace.probe;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
