//! `run`: the suite on one build, with its reports.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use jodo_conformance::browser::BrowserOptions;
use jodo_conformance::events::Reporter;
use jodo_conformance::known_results::KnownResults;
use jodo_conformance::report::{self, RunReport};
use jodo_conformance::reporters::{Console, JsonLines};
use jodo_conformance::runner::{self, RunError, RunOptions};
use jodo_conformance::verdict::FailFast;

use crate::cli::{Format, RunArgs};

/// Runs the suite: 0 every case as expected, 1 otherwise, 130 on Ctrl-C.
pub async fn exec(args: RunArgs) -> anyhow::Result<ExitCode> {
    let known = match &args.expectations {
        None => KnownResults::default(),
        Some(path) => KnownResults::from_file(path)?,
    };
    let options = RunOptions {
        widget: args.widget.clone(),
        cases_dir: args.cases.clone(),
        filter: args.filter.clone(),
        browser: BrowserOptions {
            kind: args.browser,
            webdriver_url: args.webdriver.clone(),
            ..BrowserOptions::default()
        },
        profile: args.profile,
        case_timeout: args.timeout.map(std::time::Duration::from_millis),
        jobs: usize::from(args.jobs),
        shard: args.shard,
        fail_fast: args.fail_fast.then_some(FailFast::AnyFailure),
        known,
        ..RunOptions::default()
    };
    let mut console = Console::new();
    let mut jsonl = JsonLines::new(std::io::stdout());
    let mut reporters: Vec<&mut dyn Reporter> = vec![&mut console];
    if args.format == Format::Jsonl {
        reporters.push(&mut jsonl);
    }
    let result = runner::run(&options, &mut reporters, interrupt()).await;
    let report = match result {
        Ok(report) => report,
        Err(RunError::Interrupted) => return Ok(super::interrupted()),
        Err(e) => return Err(e.into()),
    };
    report::write_all(&report, &args.report_dir)
        .with_context(|| format!("cannot write reports to {}", args.report_dir.display()))?;
    if args.update_golden {
        let dir = args.cases.as_ref().unwrap_or(&args.report_dir);
        write_goldens(&report, dir)
            .with_context(|| format!("cannot write golden traces under {}", dir.display()))?;
    }
    let ids: Vec<&str> = report.cases.iter().map(|c| c.id.as_str()).collect();
    for stale in options.known.unknown(&ids) {
        eprintln!("note: the expectations file lists {stale:?}, which did not run");
    }
    eprintln!("reports in {}", args.report_dir.display());
    Ok(if report.summary.as_expected() {
        ExitCode::SUCCESS
    } else {
        super::failed()
    })
}

/// Resolves at Ctrl-C; never, if the handler cannot be installed (the run
/// then goes on to its end).
pub async fn interrupt() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Writes the golden trace of each golden case of a run (those carrying a
/// golden-trace check) into `dir/snapshots/`.
fn write_goldens(report: &RunReport, dir: &Path) -> std::io::Result<()> {
    use jodo_conformance::checks::golden;
    for case in &report.cases {
        if !case.checks.iter().any(|c| c.name == "golden-trace") {
            continue;
        }
        let path = jodo_conformance::case::golden_path(dir, &case.id);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let content = golden::normalise_events(&case.probe.events);
        std::fs::write(&path, golden::snapshot_file(&case.id, &content))?;
        eprintln!("wrote golden trace {}", path.display());
    }
    Ok(())
}
