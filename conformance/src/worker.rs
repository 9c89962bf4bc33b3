//! One worker of a run: its own backend and browser, taking cases from the
//! shared queue until it is empty, and telling the coordinator what
//! happens. A case's status is settled here, where the case finishes, so
//! fail-fast judges exactly what the reports will show.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jodo_contract::{Contract, Profile};
use jodo_mock::{Preload, WidgetBuild};
use tokio::sync::mpsc;

use crate::backend::{self, Backend};
use crate::browser::{Bidi, Browser};
use crate::case::{self, Case};
use crate::checks::{self, CheckContext};
use crate::executor::{self, HarnessError, duration_ms};
use crate::page::Page;
use crate::proxy::InterceptProxy;
use crate::report::{BrowserInfo, CaseReport, Outcome, Status};
use crate::run_options::{RunError, RunOptions};
use crate::trace::{CaseTrace, StepOutcome};
use crate::verdict;

/// How long a relaunched browser may take to load its first page.
const WARM_UP_LIMIT: Duration = Duration::from_secs(10);

/// How long before the case limit the page stops a case itself: enough for
/// the page load and the answer to come back.
const PAGE_STOP_MARGIN: Duration = Duration::from_millis(500);

/// What a worker tells the coordinator.
pub(crate) enum News {
    /// A worker's browser is up; the first one's details go in the report.
    Started {
        /// The browser.
        browser: BrowserInfo,
        /// What the build says its version is.
        version: Option<String>,
    },
    /// The case at this index was taken.
    Taken(usize),
    /// The case at this index finished, its status settled.
    Finished(usize, Box<CaseReport>),
}

/// What every worker of a run shares.
pub(crate) struct Shared<'a> {
    /// The run's options.
    pub options: &'a RunOptions,
    /// The compiled contract.
    pub schemas: &'a Arc<Contract>,
    /// The build under test.
    pub widget: &'a WidgetBuild,
    /// The probe, as backends preload it.
    pub preload: &'a Preload,
    /// What the checks consult.
    pub ctx: &'a CheckContext<'a>,
    /// Cases not yet taken, with their places in the selection.
    pub queue: &'a Mutex<VecDeque<(usize, &'a Case)>>,
}

/// Runs cases until the queue is empty; the backend and the browser are
/// stopped on every path (dropping this future kills the browser too).
pub(crate) async fn work(
    shared: &Shared<'_>,
    news: mpsc::UnboundedSender<News>,
) -> Result<(), RunError> {
    let options = shared.options;
    let backend = options
        .backend
        .start(
            shared.schemas,
            shared.widget,
            shared.preload,
            shared.options.dialect.clone(),
        )
        .await?;
    let mut browser = match launch(options, backend.as_ref()).await {
        Ok(b) => b,
        Err(e) => {
            backend.shutdown().await;
            return Err(e);
        }
    };
    let secrets = match &options.backend {
        backend::BackendKind::Live(live) => live.secrets(),
        backend::BackendKind::Mock => Vec::new(),
    };
    let version = warm_up(&browser, options, backend.as_ref()).await;
    let _ = news.send(News::Started {
        browser: BrowserInfo {
            name: browser.name.clone(),
            version: browser.version.clone(),
        },
        version,
    });
    loop {
        let next = shared.queue.lock().ok().and_then(|mut q| q.pop_front());
        let Some((index, case)) = next else { break };
        let _ = news.send(News::Taken(index));
        let watch = backend.proxy().map(|proxy| Watch {
            proxy: Some(proxy),
            bidi: browser.bidi(),
            secrets: &secrets,
        });
        let (mut report, unresponsive) = run_one(
            &browser,
            backend.as_ref(),
            case,
            &CaseSetting {
                ctx: shared.ctx,
                page: &options.page,
                fresh: options.fresh,
                timeout: options.case_timeout,
                watch: watch.as_ref(),
            },
        )
        .await;
        verdict::settle(&mut report, &options.known, options.profile);
        if options
            .fail_fast
            .as_ref()
            .is_some_and(|f| f.stops_at(&report))
        {
            if let Ok(mut q) = shared.queue.lock() {
                q.clear();
            }
        }
        let _ = news.send(News::Finished(index, Box::new(report)));
        if unresponsive {
            // A page that hangs keeps its renderer busy, and every later
            // navigation would wait on it: start afresh (unless no case
            // is left to run in it).
            let more = shared.queue.lock().map(|q| !q.is_empty()).unwrap_or(false);
            if !more {
                browser.kill().await;
                backend.shutdown().await;
                return Ok(());
            }
            browser.kill().await;
            browser = match launch(options, backend.as_ref()).await {
                Ok(b) => b,
                Err(e) => {
                    backend.shutdown().await;
                    return Err(e);
                }
            };
            // A cold browser's first page load is the harness's cost, not
            // the next case's: pay it here, as at the start of the run.
            let _ = warm_up(&browser, options, backend.as_ref()).await;
        }
    }
    browser.shutdown().await;
    backend.shutdown().await;
    Ok(())
}

/// A browser for this backend: through its proxy, with the probe over
/// BiDi, when it has one (a live run); as the options say otherwise.
async fn launch(options: &RunOptions, backend: &dyn Backend) -> Result<Browser, RunError> {
    match backend.proxy() {
        Some(proxy) => crate::probe::browser_with_probe(&options.browser, proxy.address()).await,
        None => Ok(Browser::launch(&options.browser).await?),
    }
}

/// Asks the build for its version on a throwaway page load.
/// A fresh browser's first page, with the build's version when it gives
/// one. A build that hangs or wrecks every page would make this wait for
/// ever: it waits no longer than the warm-up limit or a case's time-out.
async fn warm_up(browser: &Browser, options: &RunOptions, backend: &dyn Backend) -> Option<String> {
    let limit = options
        .case_timeout
        .map_or(WARM_UP_LIMIT, |t| t.min(WARM_UP_LIMIT));
    tokio::time::timeout(limit, build_version(browser, options, backend))
        .await
        .ok()
        .flatten()
}

async fn build_version(
    browser: &Browser,
    options: &RunOptions,
    backend: &dyn Backend,
) -> Option<String> {
    let client = browser.client();
    let target = options.page.target(backend, None, options.fresh);
    // Loads the shell first when the page goes into a frame of it.
    executor::open(client, &target, WARM_UP_LIMIT).await.ok()?;
    let answer = client
        .execute(
            &format!(
                "var p = {}; return p ? p.call('jodoInitBOT.getVersion', []) : null;",
                executor::PROBE
            ),
            vec![],
        )
        .await
        .ok()?;
    answer.get("returned")?.as_str().map(str::to_owned)
}

/// How one case ended before its checks.
enum Ended {
    /// The whole limit passed without an answer from the page.
    Timeout,
    /// The harness could not run it.
    Harness(HarnessError),
}

/// What a case runs with besides its browser and backend.
pub struct CaseSetting<'a> {
    /// What the checks consult.
    pub ctx: &'a CheckContext<'a>,
    /// The page the SDK runs in.
    pub page: &'a Page,
    /// How the case gets it afresh.
    pub fresh: crate::page::Fresh,
    /// A limit overriding the case's own.
    pub timeout: Option<Duration>,
    /// Where the case's wire and console come from, when they are watched.
    pub watch: Option<&'a Watch<'a>>,
}

/// The wire and the console of a case, when a proxy and a BiDi socket
/// watch them: cleared before the case, kept in its report after it, with
/// the secrets in them replaced by their names.
pub struct Watch<'a> {
    /// The intercepting proxy.
    pub proxy: Option<&'a InterceptProxy>,
    /// The session's BiDi connection.
    pub bidi: Option<&'a Bidi>,
    /// Secrets and the names they are shown under (`[akey]`).
    pub secrets: &'a [(String, &'static str)],
}

impl Watch<'_> {
    async fn begin(&self) {
        if let Some(p) = self.proxy {
            p.log().clear();
        }
        if let Some(b) = self.bidi {
            b.take_events().await;
        }
    }

    async fn end(&self, report: &mut CaseReport) {
        let hide = |text: &str| {
            let mut text = text.to_owned();
            for (secret, name) in self.secrets {
                if !secret.is_empty() {
                    text = text.replace(secret.as_str(), &format!("[{name}]"));
                }
            }
            text
        };
        if let Some(p) = self.proxy {
            report.wire = p
                .log()
                .entries()
                .into_iter()
                .map(|e| e.map_text(&hide))
                .collect();
        }
        if let Some(b) = self.bidi {
            // Pushes of the case's last moments may still be in flight.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let pushed = crate::probe::Pushed::of(b.take_events().await);
            report.console = pushed
                .console
                .into_iter()
                .map(|l| l.map_text(&hide))
                .collect();
        }
    }
}

/// Runs one case; whether the browser stopped answering.
pub async fn run_one(
    browser: &Browser,
    backend: &dyn Backend,
    case: &Case,
    setting: &CaseSetting<'_>,
) -> (CaseReport, bool) {
    let ctx = setting.ctx;
    let limit = setting.timeout.unwrap_or_else(|| case.timeout());
    if let Some(w) = setting.watch {
        w.begin().await;
    }
    let sessions_before = backend.sessions_served();
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
        wire: Vec::new(),
        console: Vec::new(),
    };
    if let Some(why) = backend::unmet(case, backend) {
        report.outcome = Outcome::NotApplicable;
        report.reason = Some(why);
        return (report, false);
    }
    let mut unresponsive = false;
    let result = match backend.prepare(case) {
        Err(e) => Err(Ended::Harness(HarnessError::Backend(e))),
        Ok(()) => {
            let target = setting.page.target(backend, Some(&case.id), setting.fresh);
            let catalog = ctx.schemas.catalog();
            // The page stops the case a little before the limit, so a case
            // that waits forever still reports where it was; the limit
            // itself catches a page that no longer answers at all.
            let in_page = limit.saturating_sub(PAGE_STOP_MARGIN);
            let run =
                executor::run_case(browser.client(), &target, case, catalog, backend, in_page);
            match tokio::time::timeout(limit, run).await {
                Err(_) => Err(Ended::Timeout),
                Ok(Err(e)) => Err(Ended::Harness(e)),
                Ok(Ok(trace)) => Ok(trace),
            }
        }
    };
    let mut to_judge = None;
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
        Ok(trace) => to_judge = Some(trace),
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
    match setting.watch {
        Some(w) => w.end(&mut report).await,
        // No proxy watched: the backend's own record of the sessions.
        None => report.wire = backend.frames_since(sessions_before),
    }
    // Judged with the wire at hand: what the server sent is what some
    // values must equal.
    if let Some(trace) = to_judge {
        judge(&mut report, case, trace, ctx);
    }
    report.overhead_ms = overhead_ms(&report);
    (report, unresponsive)
}

/// The checks and the outcome of a case whose steps ran.
fn judge(report: &mut CaseReport, case: &Case, trace: CaseTrace, ctx: &CheckContext<'_>) {
    report.checks = checks::run_all(case, &trace, &report.wire, ctx);
    if let Some(event) = trace.decided() {
        report.reason = Some(format!(
            "the backend decided {event}, a documented allocation outcome: the steps after it did not run and the case's expectations do not apply; what ran was checked"
        ));
    }
    report.outcome = verdict::outcome_of(&report.checks, |profile: Profile| {
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
