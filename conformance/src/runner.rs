//! A conformance run: the mock in-process, one browser, every selected
//! case in turn, and the typed [`RunReport`] at the end.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jodo_contract::{Profile, SchemaSet, clock};
use jodo_mock::gateway::{Gateway, development_keys};
use jodo_mock::pages::WidgetBuild;
use jodo_mock::server::StartError;
use jodo_mock::session::Command;
use jodo_mock::tls::TlsIdentity;
use jodo_mock::{MockConfig, MockServer, scenario};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::browser::{Browser, BrowserError, BrowserOptions};
use crate::case::{self, Case, CaseError};
use crate::checks::{self, CheckContext};
use crate::coverage::Coverage;
use crate::executor::{self, HarnessError, duration_ms};
use crate::known_results::KnownResults;
use crate::report::{
    BrowserInfo, CaseReport, Outcome, REPORT_VERSION, RunReport, Status, Summary, Timing,
    WidgetInfo,
};
use crate::shard::Shard;
use crate::trace::{CaseTrace, StepOutcome};
use crate::verdict::{self, FailFast};

/// What to run and where.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Widget build to test; the reference build when absent.
    pub widget: Option<PathBuf>,
    /// Case folder; the built-in cases when absent.
    pub cases_dir: Option<PathBuf>,
    /// Run only cases whose id contains one of these texts (all when empty).
    pub filter: Vec<String>,
    /// Browser to use.
    pub browser: BrowserOptions,
    /// Contract profile events are checked in.
    pub profile: Profile,
    /// Per-case limit overriding each case's own `timeout_ms`.
    pub case_timeout: Option<Duration>,
    /// Parallel workers, each with its own mock and browser (0 counts as 1).
    pub jobs: usize,
    /// Only this share of the cases, so CI machines can split a run.
    pub shard: Option<Shard>,
    /// Stop taking new cases once one fails this way (the cases not run
    /// are left out of the report).
    pub fail_fast: Option<FailFast>,
    /// Known results: cases expected not to pass.
    pub known: KnownResults,
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
    #[error("no case matches {0}")]
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
    if !options.filter.is_empty() {
        cases.retain(|c| options.filter.iter().any(|f| c.id.contains(f.as_str())));
        if cases.is_empty() {
            return Err(RunError::NoCases(format!(
                "the filter {:?}",
                options.filter
            )));
        }
    }
    if let Some(shard) = options.shard {
        cases = shard.select(cases);
        if cases.is_empty() {
            return Err(RunError::NoCases(format!("shard {shard}")));
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
    let ctx = CheckContext {
        schemas: &schemas,
        profile: options.profile,
        secrets: vec![keys.akey.clone(), keys.skey.clone()],
    };
    let jobs = options.jobs.clamp(1, cases.len().max(1));
    let queue = std::sync::Mutex::new(cases.iter().enumerate().collect::<VecDeque<_>>());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let workers = futures_util::future::try_join_all(
        (0..jobs).map(|_| worker(options, &schemas, &widget, &ctx, &queue, tx.clone())),
    );
    drop(tx);
    let mut slots: Vec<Option<CaseReport>> = vec![None; cases.len()];
    let mut browser_info = None;
    let mut sdk_version = None;
    let mut on_news = |news: News, progress: &mut dyn Progress| match news {
        News::Started { browser, version } => {
            if browser_info.is_none() {
                progress.started(cases.len(), &browser);
                browser_info = Some(browser);
            }
            sdk_version = sdk_version.take().or(version);
        }
        News::Finished(index, report) => {
            progress.case_finished(&report);
            slots[index] = Some(*report);
        }
    };
    // Unfinished workers are dropped at the end of this block (Ctrl-C),
    // which kills their browsers and drivers.
    let finished = {
        let mut workers = std::pin::pin!(workers);
        loop {
            tokio::select! {
                Some(news) = rx.recv() => on_news(news, progress),
                result = &mut workers => {
                    while let Ok(news) = rx.try_recv() {
                        on_news(news, progress);
                    }
                    break Some(result);
                }
                () = &mut interrupt => break None,
            }
        }
    };
    match finished {
        None => return Err(RunError::Interrupted),
        Some(Err(e)) => return Err(e),
        Some(Ok(_)) => {}
    }
    let reports: Vec<CaseReport> = slots.into_iter().flatten().collect();
    let timing = Timing::of(&reports, started.elapsed());
    Ok(RunReport {
        report_version: REPORT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        spec: schemas.catalog().spec.clone(),
        started_at,
        duration_ms: duration_ms(started.elapsed()),
        profile: options.profile.name().into(),
        widget: WidgetInfo {
            sdk_version,
            ..widget_info
        },
        browser: browser_info.unwrap_or_else(|| BrowserInfo {
            name: "unknown".into(),
            version: "unknown".into(),
        }),
        jobs,
        summary: Summary::of(&reports),
        timing,
        coverage: Coverage::of(schemas.catalog(), &cases),
        cases: reports,
        kill_matrix: None,
    })
}

/// What a worker tells the coordinator.
enum News {
    /// A worker's browser is up; the first one's details go in the report.
    Started {
        browser: BrowserInfo,
        version: Option<String>,
    },
    /// The case at this index finished.
    Finished(usize, Box<CaseReport>),
}

/// One worker: its own mock and browser, taking cases from the shared
/// queue until it is empty. Own mocks keep each case's scenario choice
/// private to the worker running it.
async fn worker(
    options: &RunOptions,
    schemas: &Arc<SchemaSet>,
    widget: &WidgetBuild,
    ctx: &CheckContext<'_>,
    queue: &std::sync::Mutex<VecDeque<(usize, &Case)>>,
    news: mpsc::UnboundedSender<News>,
) -> Result<(), RunError> {
    let first_scenario =
        scenario::load("allocated", schemas).map_err(|e| RunError::Contract(e.to_string()))?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(StartError::Listen)?;
    let mock = MockServer::start(
        MockConfig {
            schemas: schemas.clone(),
            scenario: first_scenario,
            widget: widget.clone(),
            gateway: Gateway::new(vec![development_keys()], Vec::new()),
            tls: TlsIdentity::self_signed().map_err(StartError::Tls)?,
            transcripts: None,
        },
        listener,
    )
    .await?;
    let mut browser = match Browser::launch(&options.browser).await {
        Ok(b) => b,
        Err(e) => {
            mock.shutdown().await;
            return Err(e.into());
        }
    };
    let _ = news.send(News::Started {
        browser: BrowserInfo {
            name: browser.name.clone(),
            version: browser.version.clone(),
        },
        version: probe_version(&browser, &mock).await,
    });
    loop {
        let next = queue.lock().ok().and_then(|mut q| q.pop_front());
        let Some((index, case)) = next else { break };
        let (mut report, unresponsive) =
            run_one(&browser, &mock, case, ctx, options.case_timeout).await;
        verdict::settle(&mut report, &options.known, options.profile);
        if options
            .fail_fast
            .as_ref()
            .is_some_and(|f| f.stops_at(&report))
        {
            if let Ok(mut q) = queue.lock() {
                q.clear();
            }
        }
        let _ = news.send(News::Finished(index, Box::new(report)));
        if unresponsive {
            // A page that hangs keeps its renderer busy, and every later
            // navigation would wait on it: start afresh.
            browser.kill().await;
            browser = match Browser::launch(&options.browser).await {
                Ok(b) => b,
                Err(e) => {
                    mock.shutdown().await;
                    return Err(e.into());
                }
            };
            // A cold browser's first page load is the harness's cost, not
            // the next case's: pay it here, as at the start of the run.
            let _ = tokio::time::timeout(WARM_UP_LIMIT, probe_version(&browser, &mock)).await;
        }
    }
    browser.shutdown().await;
    mock.shutdown().await;
    Ok(())
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

/// A control step naming a trigger the scenario does not have: caught
/// before the case runs, since the engine would ignore it silently.
fn unknown_trigger(case: &Case, sc: &scenario::Scenario) -> Option<String> {
    let known = |name: &str| {
        sc.states
            .values()
            .flat_map(|s| &s.on)
            .any(|t| matches!(&t.when, scenario::model::Trigger::Control(n) if n == name))
    };
    case.steps.iter().find_map(|step| match step {
        case::Step::Control { control } if !known(control) => Some(format!(
            "scenario {} has no control trigger {control:?}",
            sc.name
        )),
        _ => None,
    })
}

/// Control steps go to the newest live session on the worker's own mock:
/// the one the current case's page opened.
struct MockControls<'a>(&'a MockServer);

impl executor::Controls for MockControls<'_> {
    fn trigger(&self, name: &str) -> Result<(), String> {
        let sessions = &self.0.state().sessions;
        let live = sessions
            .list()
            .into_iter()
            .rev()
            .find(|s| s.live)
            .and_then(|s| sessions.get(&s.id))
            .ok_or_else(|| "no live session on the mock (did the widget connect?)".to_owned())?;
        if live.command(Command::Trigger(name.to_owned())) {
            Ok(())
        } else {
            Err("the session's channel closed before the trigger".into())
        }
    }
}

/// How long before the case limit the page stops a case itself: enough for
/// the page load and the answer to come back.
/// How long a relaunched browser may take to load its first page.
const WARM_UP_LIMIT: Duration = Duration::from_secs(10);

const PAGE_STOP_MARGIN: Duration = Duration::from_millis(500);

async fn run_one(
    browser: &Browser,
    mock: &MockServer,
    case: &Case,
    ctx: &CheckContext<'_>,
    timeout: Option<Duration>,
) -> (CaseReport, bool) {
    let limit = timeout.unwrap_or_else(|| case.timeout());
    let started = Instant::now();
    let mut report = CaseReport {
        id: case.id.clone(),
        title: case.title.clone(),
        area: case.area.clone(),
        spec: case.spec.clone(),
        scenario: case.scenario.clone(),
        outcome: Outcome::Error,
        status: Status::Errored,
        duration_ms: 0,
        overhead_ms: 0,
        reason: None,
        expected: None,
        checks: Vec::new(),
        steps: Vec::new(),
        probe: Default::default(),
    };
    let mut unresponsive = false;
    let result = match scenario::load(&case.scenario, ctx.schemas)
        .map_err(|e| e.to_string())
        .and_then(|sc| unknown_trigger(case, &sc).map_or(Ok(sc), Err))
    {
        Err(e) => Err(Ended::Harness(HarnessError::Scenario(e))),
        Ok(sc) => {
            mock.set_scenario(sc);
            let url = format!("{}/?case={}", mock.origin(), case.id);
            let catalog = ctx.schemas.catalog();
            // The page stops the case a little before the limit, so a case
            // that waits forever still reports where it was; the limit
            // itself catches a page that no longer answers at all.
            let in_page = limit.saturating_sub(PAGE_STOP_MARGIN);
            match tokio::time::timeout(
                limit,
                executor::run_case(
                    browser.client(),
                    &url,
                    case,
                    catalog,
                    &MockControls(mock),
                    in_page,
                ),
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
        Ok(trace) if trace.stopped => {
            report.outcome = Outcome::Timeout;
            let mut reason = format!("the case did not finish within {} ms", limit.as_millis());
            if let Some((i, s)) = trace
                .steps
                .iter()
                .enumerate()
                .find(|(_, s)| s.outcome == StepOutcome::Unfinished)
            {
                let _ = write!(reason, "; it was at step {i} ({})", s.step.label());
            }
            report.reason = Some(reason);
            report.steps = trace.steps;
            report.probe = trace.probe;
        }
        Ok(trace) => judge(&mut report, case, trace, ctx),
        Err(Ended::Timeout) => {
            unresponsive = true;
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
    report.overhead_ms = overhead_ms(&report);
    (report, unresponsive)
}

enum Ended {
    Timeout,
    Harness(HarnessError),
}

fn judge(report: &mut CaseReport, case: &Case, trace: CaseTrace, ctx: &CheckContext<'_>) {
    report.checks = checks::run_all(case, &trace, ctx);
    report.outcome = verdict::outcome_of(&report.checks, |profile| {
        checks::schema::check_in(&trace, ctx, profile).is_empty()
    });
    report.steps = trace.steps;
    report.probe = trace.probe;
}

/// Harness time of a case: its wall time minus the waits for events and
/// the page's own time in `eval` steps (which may pause on purpose).
fn overhead_ms(report: &CaseReport) -> u64 {
    let waited: u64 = report
        .steps
        .iter()
        .filter(|s| matches!(s.step, case::Step::Wait { .. } | case::Step::Eval { .. }))
        .map(|s| s.elapsed_ms)
        .sum();
    report.duration_ms.saturating_sub(waited)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
