//! `run`: the suite on one build, with its reports.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use jodo_conformance::backend::BackendKind;
use jodo_conformance::browser::BrowserOptions;
use jodo_conformance::events::Reporter;
use jodo_conformance::known_results::KnownResults;
use jodo_conformance::live::{self, LiveOptions};
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
    let mut options = RunOptions {
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
        fresh: args.fresh_page,
        shard: args.shard,
        fail_fast: args.fail_fast.then_some(FailFast::AnyFailure),
        known,
        dialect: super::dialect(
            args.dialect.as_deref(),
            &jodo_contract::Contract::embedded().context("the contract does not load")?,
        )?,
        backend: match live_options(&args)? {
            Some(live) => BackendKind::Live(live),
            None => BackendKind::Mock,
        },
        ..RunOptions::default()
    };
    if let BackendKind::Live(live) = &mut options.backend {
        eprintln!("live: checking {} for {}", live.server(), live.widget_url());
        live.served = Some(live::preflight(live).await?);
    }
    let mut console = Console::new();
    let mut jsonl = JsonLines::new(std::io::stdout());
    let mut reporters: Vec<&mut dyn Reporter> = vec![&mut console];
    if args.format == Format::Jsonl {
        reporters.push(&mut jsonl);
    }
    let result = runner::run(&options, &mut reporters, interrupt()).await;
    let report = match result {
        Ok(report) => report,
        Err(RunError::Interrupted(partial)) => {
            // What finished is kept, in a report that says it is not whole.
            match report::write_all(&partial, &args.report_dir) {
                Ok(()) => eprintln!(
                    "reports of the {} finished cases in {}",
                    partial.cases.len(),
                    args.report_dir.display()
                ),
                Err(e) => eprintln!("cannot write reports to {}: {e}", args.report_dir.display()),
            }
            return Ok(super::interrupted());
        }
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

/// The live backend `--live` asks for, checked: keys given, the upstream
/// an https URL, its certificates read. `None` without `--live`.
fn live_options(args: &RunArgs) -> anyhow::Result<Option<LiveOptions>> {
    if !args.live {
        return Ok(None);
    }
    let key = |k: &Option<String>, name: &str| {
        k.clone().filter(|k| !k.is_empty()).ok_or_else(|| {
            anyhow::anyhow!(
                "--live needs the page's {name}: --{name} KEY, or JODO_{} in the environment",
                name.to_uppercase()
            )
        })
    };
    let upstream = match &args.upstream {
        None => None,
        Some(text) => Some(upstream_authority(text)?),
    };
    let mut trust = Vec::new();
    for path in &args.upstream_ca {
        trust.extend(live::read_certificates(path).map_err(anyhow::Error::msg)?);
    }
    let widget = match &args.widget {
        None => None,
        Some(path) => Some(
            jodo_mock::WidgetBuild::from_file(path)
                .with_context(|| format!("cannot read widget build {}", path.display()))?,
        ),
    };
    Ok(Some(LiveOptions {
        upstream,
        trust,
        jodo_host: args.jodo_host.to_ascii_lowercase(),
        akey: key(&args.akey, "akey")?,
        skey: key(&args.skey, "skey")?,
        widget,
        served: None,
        page_port: args.page_port,
    }))
}

/// `HOST:PORT` of an `https://HOST[:PORT]` URL.
fn upstream_authority(text: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(text).with_context(|| format!("--upstream {text:?} is not a URL"))?;
    if url.scheme() != "https" {
        anyhow::bail!("--upstream {text:?}: the backend is reached over https:// only");
    }
    let host = url
        .host_str()
        .ok_or_else(|| anyhow::anyhow!("--upstream {text:?} names no host"))?;
    if url.path() != "/" || url.query().is_some() {
        anyhow::bail!("--upstream {text:?}: give the server only (https://HOST:PORT), not a path");
    }
    Ok(format!("{host}:{}", url.port().unwrap_or(443)))
}

/// Resolves at Ctrl-C or SIGTERM; never, if neither handler can be
/// installed (the run then goes on to its end).
pub async fn interrupt() {
    // SIGTERM too: a CI system cancelling a job sends it, and the browsers
    // and drivers must not outlive the run then either.
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    let int = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = term => {}
        () = int => {}
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
