//! A conformance run: the cases chosen, `--jobs` workers (each with its own
//! backend and browser, see [`crate::worker`]) sharing them, every step of
//! the run told to the reporters as a [`crate::events::RunEvent`], and the typed
//! [`RunReport`] at the end.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};

use jodo_contract::{Contract, clock};
use jodo_mock::WidgetBuild;
use jodo_mock::gateway::development_keys;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::backend::BackendKind;
use crate::case::{self, Case};
use crate::checks::CheckContext;
use crate::coverage::Coverage;
use crate::events::{Clock, Reporter, RunEventKind};
use crate::executor::duration_ms;
use crate::report::{
    BrowserInfo, CaseReport, Interrupted, Outcome, REPORT_VERSION, RunReport, Summary, Timing,
    WidgetInfo,
};
pub use crate::run_options::{RunError, RunOptions};
use crate::worker::{self, News, Shared};

/// The cases the options select, in id order.
///
/// # Errors
/// [`RunError`] when they cannot be read or none is left.
pub fn select_cases(options: &RunOptions, schemas: &Contract) -> Result<Vec<Case>, RunError> {
    let mut cases = match &options.cases_dir {
        Some(dir) => case::from_dir(dir, schemas)?,
        None => case::builtin(schemas)?,
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
    // A run that stops at a named check (a mutant's) tries the cases
    // written for that check first; the order is otherwise the ids'.
    if let Some(stop) = &options.fail_fast {
        cases.sort_by_key(|c| !stop.aims_at(c));
    }
    Ok(cases)
}

/// Runs the selected cases, telling `reporter` as it goes. `interrupt`
/// resolving (Ctrl-C) stops the run at once; browsers, drivers and
/// backends are shut down on every path.
///
/// # Errors
/// [`RunError`] when the run could not happen; failing cases are not errors.
pub async fn run(
    options: &RunOptions,
    reporter: &mut dyn Reporter,
    interrupt: impl Future<Output = ()>,
) -> Result<RunReport, RunError> {
    let mut interrupt = std::pin::pin!(interrupt);
    let started_at = clock::rfc3339_now();
    let clock = Clock::start();
    let schemas = Arc::new(Contract::embedded()?);
    let cases = select_cases(options, &schemas)?;
    let widget = match (&options.backend, &options.widget) {
        (BackendKind::Live(live), _) => live.build(),
        (_, Some(path)) => WidgetBuild::from_file(path).map_err(|source| RunError::Widget {
            path: path.display().to_string(),
            source,
        })?,
        (_, None) => match &options.dialect {
            Some(dialect) => WidgetBuild::reference().speaking(dialect)?,
            None => WidgetBuild::reference(),
        },
    };
    let widget_info = WidgetInfo {
        file: widget.name.clone(),
        sha256: hex::encode(Sha256::digest(&widget.script)),
        sdk_version: None,
    };
    let secrets = match &options.backend {
        BackendKind::Live(live) => live.secrets().into_iter().map(|(key, _)| key).collect(),
        BackendKind::Mock => {
            let keys = development_keys();
            vec![keys.akey, keys.skey]
        }
    };
    let ctx = CheckContext {
        schemas: &schemas,
        profile: options.profile,
        secrets,
    };
    let jobs = options.jobs.clamp(1, cases.len().max(1));
    let queue = Mutex::new(cases.iter().enumerate().collect::<VecDeque<_>>());
    let preload = crate::probe::preload_for(options.dialect.as_deref());
    let shared = Shared {
        options,
        schemas: &schemas,
        widget: &widget,
        preload: &preload,
        ctx: &ctx,
        queue: &queue,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let workers =
        futures_util::future::try_join_all((0..jobs).map(|_| worker::work(&shared, tx.clone())));
    drop(tx);
    let mut slots: Vec<Option<CaseReport>> = vec![None; cases.len()];
    let mut browser_info = None;
    let mut sdk_version = None;
    let mut on_news = |news: News, reporter: &mut dyn Reporter| match news {
        News::Started { browser, version } => {
            if browser_info.is_none() {
                reporter.report(&clock.event(RunEventKind::RunStarted {
                    cases: cases.len(),
                    jobs,
                    profile: options.profile.name().into(),
                    widget: &widget_info,
                    browser: &browser,
                }));
                browser_info = Some(browser);
            }
            sdk_version = sdk_version.take().or(version);
        }
        News::Taken(index) => reporter.report(&clock.event(RunEventKind::CaseStarted {
            index,
            id: &cases[index].id,
        })),
        News::Finished(index, case) => {
            reporter.report(&clock.event(RunEventKind::CaseFinished { index, case: &case }));
            slots[index] = Some(*case);
        }
    };
    // Unfinished workers are dropped at the end of this block (Ctrl-C),
    // which kills their browsers and drivers.
    let finished = {
        let mut workers = std::pin::pin!(workers);
        loop {
            tokio::select! {
                Some(news) = rx.recv() => on_news(news, reporter),
                result = &mut workers => {
                    while let Ok(news) = rx.try_recv() {
                        on_news(news, reporter);
                    }
                    break Some(result);
                }
                () = &mut interrupt => break None,
            }
        }
    };
    let interrupted = match finished {
        None => true,
        Some(Err(e)) => return Err(e),
        Some(Ok(_)) => false,
    };
    let reports: Vec<CaseReport> = slots.into_iter().flatten().collect();
    let not_run = cases.len() - reports.len();
    // Coverage counts what ran: a case that was not applicable exercised
    // nothing (a live run covers less of the catalogue, and says so).
    let exercised: Vec<Case> = cases
        .iter()
        .filter(|c| {
            reports
                .iter()
                .any(|r| r.id == c.id && r.outcome != Outcome::NotApplicable)
        })
        .cloned()
        .collect();
    let report = RunReport {
        report_version: REPORT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        spec: schemas.catalog().spec.clone(),
        started_at,
        duration_ms: duration_ms(clock.elapsed()),
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
        timing: Timing::of(&reports, clock.elapsed()),
        coverage: Coverage::of(schemas.catalog(), &exercised),
        cases: reports,
        kill_matrix: None,
        interrupted: (interrupted && not_run > 0).then_some(Interrupted {
            cases_not_run: not_run,
        }),
    };
    if interrupted {
        reporter.report(&clock.event(RunEventKind::Interrupted));
        return Err(RunError::Interrupted(Box::new(report)));
    }
    reporter.report(&clock.event(RunEventKind::RunFinished { report: &report }));
    Ok(report)
}
