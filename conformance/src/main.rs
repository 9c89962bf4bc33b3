//! `jodo-conformance`: run the conformance suite on a widget build.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use jodo_conformance::browser::{BrowserKind, BrowserOptions};
use jodo_conformance::coverage::Coverage;
use jodo_conformance::known_results::KnownResults;
use jodo_conformance::mutant::{self, Mutant};
use jodo_conformance::mutation;
use jodo_conformance::report::{self, BrowserInfo, CaseReport};
use jodo_conformance::runner::{self, Progress, RunError, RunOptions};
use jodo_conformance::shard::Shard;
use jodo_conformance::verdict::FailFast;
use jodo_contract::{Profile, SchemaSet};

/// Browser-driven conformance suite for Jodo widget builds.
///
/// Starts the mock Jodo backend in-process, drives headless Chromium or
/// Firefox through WebDriver, runs every case, checks each event against
/// the contract, and writes report.html, report.json and junit.xml.
///
/// Exit codes: 0 every case passed (or ended as the expectations file
/// says), 1 a case failed or passed unexpectedly, 2 the run could not
/// happen (no browser, bad arguments, unreadable files), 130 interrupted.
#[derive(Debug, Parser)]
#[command(version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the suite and write reports.
    Run(RunArgs),
    /// Check JSON documents against the contract: one document, or JSON lines.
    ///
    /// Each error is printed with its JSON pointer and the catalogue entry it
    /// concerns. Exit codes: 0 every document valid, 1 a document invalid,
    /// 2 usage or read error.
    Validate(ValidateArgs),
    /// Show which catalogue entries (methods, events, return codes, rules)
    /// the cases exercise, and which none does.
    ///
    /// Exit codes: 0 every entry has a case, 1 some entry has none, 2 the
    /// cases could not be read.
    Coverage {
        /// Folder of case files instead of the built-in cases.
        #[arg(long, value_name = "DIR")]
        cases: Option<PathBuf>,
        /// List only the entries no case exercises.
        #[arg(long)]
        uncovered: bool,
        /// Print the matrix as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Prove the suite catches faults: run it on the reference build and on
    /// every mutant (faulty builds in fixtures/mutants), print the kill
    /// matrix, and write the reports with the matrix in them.
    ///
    /// Exit codes: 0 the reference passed every case and every mutant was
    /// killed by a case naming the check it breaks, 1 otherwise, 2 the
    /// self-test could not run (no browser, a stale or invalid mutant).
    Selftest(SelftestArgs),
    /// Print the catalogue of methods, events, status codes and external-data fields.
    Catalog {
        /// Print it as JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
struct ValidateArgs {
    /// What the documents are: eventdata, frame, scenario, case, report
    /// (a report.json), mutant, session-request, or a method name (its argument list as a JSON array;
    /// a bare value stands for a single argument).
    #[arg(long, default_value = "eventdata")]
    kind: String,
    /// Contract profile: strict (one canonical form) or compat (every documented variant).
    #[arg(long, default_value = "strict")]
    profile: Profile,
    /// File to read, or - for standard input.
    file: PathBuf,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Widget build to test (an ext_integration-2.0.js); the reference build when absent.
    #[arg(long, value_name = "PATH")]
    widget: Option<PathBuf>,
    /// Where report.json and junit.xml go.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    report_dir: PathBuf,
    /// Folder of case files to run instead of the built-in cases.
    #[arg(long, value_name = "DIR")]
    cases: Option<PathBuf>,
    /// Run only cases whose id contains this text; repeat it to run the
    /// cases matching any of several.
    #[arg(long, value_name = "TEXT")]
    filter: Vec<String>,
    /// Contract profile: strict (one canonical form) or compat (every documented variant).
    #[arg(long, default_value = "strict")]
    profile: Profile,
    /// Limit for every case in milliseconds, instead of each case's own
    /// (default 15000). A case over it is reported as timed out, the browser
    /// is replaced, and the run goes on.
    #[arg(long, value_name = "MS")]
    timeout: Option<u64>,
    /// Browser: chromium (chromium + chromium-driver) or firefox (firefox-esr + geckodriver).
    #[arg(long, value_enum, default_value_t = BrowserKind::Chromium)]
    browser: BrowserKind,
    /// Use this WebDriver endpoint (e.g. a Selenium Grid) instead of a local driver.
    #[arg(long, value_name = "URL")]
    webdriver: Option<String>,
    /// Parallel workers, each with its own browser and mock.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
    /// Run only shard K of N (1-based, split by case id), to spread a run over machines.
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
    /// Known results: a YAML map of case id to the outcome expected instead
    /// of a pass (fail, error, timeout, non_strict). Cases that end as listed
    /// do not fail the run; a listed case that passes is reported as an
    /// unexpected pass and does, so the file stays current.
    #[arg(long, value_name = "FILE")]
    expectations: Option<PathBuf>,
    /// Stop at the first case that does not end as expected (the cases not
    /// run are left out of the reports).
    #[arg(long)]
    fail_fast: bool,
    /// Write the golden trace of every `golden: true` case from this run:
    /// into DIR/snapshots/ with --cases DIR, else into the report folder's
    /// snapshots/ (copy them beside your cases after reviewing them).
    #[arg(long)]
    update_golden: bool,
}

#[derive(Debug, clap::Args)]
struct SelftestArgs {
    /// Folder of mutant files instead of the kit's own (fixtures/mutants).
    #[arg(long, value_name = "DIR")]
    mutants: Option<PathBuf>,
    /// Run only mutants whose name contains this text (repeatable).
    #[arg(long, value_name = "TEXT")]
    only: Vec<String>,
    /// Where the reference build's reports, with the kill matrix, go.
    #[arg(long, value_name = "DIR", default_value = "reports/selftest")]
    report_dir: PathBuf,
    /// Browser: chromium or firefox.
    #[arg(long, value_enum, default_value_t = BrowserKind::Chromium)]
    browser: BrowserKind,
    /// Run every case on every mutant for the complete kill matrix (slow:
    /// a build that breaks everything waits out every case). By default a
    /// mutant's run stops at the first case naming the broken check.
    #[arg(long)]
    full_matrix: bool,
}

/// Progress on stderr: a bar on a terminal, one line per case either way.
struct Printer {
    bar: indicatif::ProgressBar,
}

impl Printer {
    fn new() -> Self {
        Self {
            bar: indicatif::ProgressBar::hidden(),
        }
    }

    fn line(&self, text: &str) {
        if self.bar.is_hidden() {
            eprintln!("{text}");
            let _ = std::io::stderr().flush();
        } else {
            self.bar.println(text);
        }
    }
}

impl Progress for Printer {
    fn started(&mut self, cases: usize, browser: &BrowserInfo) {
        self.line(&format!(
            "running {cases} case(s) in {} {}",
            browser.name, browser.version
        ));
        // Drawn only when stderr is a terminal; CI logs get the lines alone.
        self.bar = indicatif::ProgressBar::with_draw_target(
            Some(cases as u64),
            indicatif::ProgressDrawTarget::stderr(),
        );
        self.bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} cases {elapsed} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    }

    fn case_finished(&mut self, case: &CaseReport) {
        let label = case.label().to_uppercase();
        self.line(&format!("{label:>7} {} ({} ms)", case.id, case.duration_ms));
        if case.status.is_unexpected() {
            for check in case.checks.iter().filter(|c| !c.passed) {
                for f in &check.failures {
                    self.line(&format!(
                        "          [{}] {}: {}",
                        check.name, f.rule, f.message
                    ));
                }
            }
            if let Some(reason) = &case.reason {
                self.line(&format!("          {reason}"));
            }
        }
        self.bar.inc(1);
        self.bar.set_message(case.id.clone());
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Run(args) => runtime.block_on(run(args)),
        Command::Selftest(args) => runtime.block_on(selftest(args)),
        Command::Validate(args) => validate(&args),
        Command::Catalog { json } => catalog(json),
        Command::Coverage {
            cases,
            uncovered,
            json,
        } => coverage(cases.as_deref(), uncovered, json),
    }
}

fn load_schemas() -> Result<SchemaSet, ExitCode> {
    SchemaSet::embedded().map_err(|e| {
        eprintln!("error: the contract does not load: {e}");
        ExitCode::from(2)
    })
}

fn validate(args: &ValidateArgs) -> ExitCode {
    let schemas = match load_schemas() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let (label, input) = if args.file.as_os_str() == "-" {
        let mut text = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
            eprintln!("error: cannot read standard input: {e}");
            return ExitCode::from(2);
        }
        ("<stdin>".to_owned(), text)
    } else {
        match std::fs::read_to_string(&args.file) {
            Ok(text) => (args.file.display().to_string(), text),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", args.file.display());
                return ExitCode::from(2);
            }
        }
    };
    match jodo_conformance::validate::run(&schemas, &input, &label, &args.kind, args.profile) {
        Ok(outcome) => {
            print!("{}", outcome.text);
            if outcome.documents > 1 {
                println!(
                    "{} document(s), {} invalid",
                    outcome.documents, outcome.invalid
                );
            }
            if outcome.invalid == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn coverage(dir: Option<&std::path::Path>, uncovered: bool, json: bool) -> ExitCode {
    let schemas = match load_schemas() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let cases = match dir {
        Some(dir) => jodo_conformance::case::from_dir(dir, &schemas),
        None => jodo_conformance::case::builtin(&schemas),
    };
    let cases = match cases {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let cov = Coverage::of(schemas.catalog(), &cases);
    if json {
        match serde_json::to_string_pretty(&cov) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        print!("{}", cov.table(uncovered));
    }
    let missing = cov.uncovered().count();
    if missing == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("catalogue entries exercised by no case: {missing}");
        ExitCode::from(1)
    }
}

fn catalog(json: bool) -> ExitCode {
    let schemas = match load_schemas() {
        Ok(s) => s,
        Err(code) => return code,
    };
    if json {
        match serde_json::to_string_pretty(schemas.catalog()) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        print!(
            "{}",
            jodo_conformance::catalog_view::table(schemas.catalog())
        );
    }
    ExitCode::SUCCESS
}

/// Writes the golden trace of each golden case of a run (those carrying a
/// golden-trace check) into `dir/snapshots/`.
fn write_goldens(report: &report::RunReport, dir: &std::path::Path) -> std::io::Result<()> {
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

/// One line per build as the self-test goes.
struct SelftestPrinter;

impl mutation::SelftestProgress for SelftestPrinter {
    fn build_started(&mut self, mutant: Option<&Mutant>, index: usize, total: usize) {
        match mutant {
            None => eprintln!("reference build: running every case"),
            Some(m) => eprintln!("mutant {index}/{total}: {} ({})", m.name, m.summary),
        }
    }

    fn mutant_finished(&mut self, r: &report::MutantResult) {
        let verdict = if r.verdict.is_killed() {
            r.verdict.label().to_owned()
        } else {
            r.verdict.label().to_uppercase()
        };
        eprintln!("   {verdict}: {} failing case(s)", r.failed_cases.len());
    }
}

async fn selftest(args: SelftestArgs) -> ExitCode {
    let Ok(schemas) = load_schemas() else {
        return ExitCode::from(2);
    };
    let loaded = match &args.mutants {
        Some(dir) => mutant::from_dir(dir, &schemas),
        None => mutant::builtin(&schemas),
    };
    let mut mutants = match loaded {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if !args.only.is_empty() {
        mutants.retain(|m| args.only.iter().any(|o| m.name.contains(o.as_str())));
        if mutants.is_empty() {
            eprintln!("error: no mutant matches {:?}", args.only);
            return ExitCode::from(2);
        }
    }
    let options = RunOptions {
        browser: BrowserOptions {
            kind: args.browser,
            webdriver_url: None,
        },
        ..RunOptions::default()
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop.send(true);
        }
    });
    let started = std::time::Instant::now();
    let result = mutation::run(
        &options,
        &mutants,
        args.full_matrix,
        &mut SelftestPrinter,
        stopped,
    )
    .await;
    let (mut reference, st) = match result {
        Ok(done) => done,
        Err(mutation::SelftestError::Run(RunError::Interrupted)) => {
            eprintln!("interrupted; browser and driver stopped");
            return ExitCode::from(130);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "kill matrix ({} mutants; {}):",
        st.mutants.len(),
        if args.full_matrix {
            "every case on every mutant"
        } else {
            "each mutant's run stops at its first case naming the broken check; --full-matrix runs them all"
        }
    );
    let width = st.mutants.iter().map(|m| m.name.len()).max().unwrap_or(0);
    for m in &st.mutants {
        let verdict = match m.verdict {
            report::KillVerdict::Killed => "killed  ",
            report::KillVerdict::KilledUnnamed => "UNNAMED ",
            report::KillVerdict::Survived => "SURVIVED",
        };
        let by = m.caught_by();
        println!(
            "  {verdict} {:<width$}  breaks {:<28} by {}",
            m.name,
            m.breaks,
            if by.is_empty() {
                "no case".to_owned()
            } else {
                by.join(", ")
            }
        );
    }
    if !st.reference_failures.is_empty() {
        println!(
            "the reference build failed: {}",
            st.reference_failures.join(", ")
        );
    }
    println!(
        "{} of {} mutants killed by a case naming the broken check (kill rate {:.1} %); reference {}; {:.0} s",
        st.killed,
        st.mutants.len(),
        st.kill_rate * 100.0,
        if st.reference_failures.is_empty() {
            "passed every case"
        } else {
            "FAILED"
        },
        started.elapsed().as_secs_f64()
    );
    let ok = st.ok();
    reference.kill_matrix = Some(st);
    if let Err(e) = report::write_all(&reference, &args.report_dir) {
        eprintln!(
            "error: cannot write reports to {}: {e}",
            args.report_dir.display()
        );
        return ExitCode::from(2);
    }
    eprintln!("reports in {}", args.report_dir.display());
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn run(args: RunArgs) -> ExitCode {
    let known = match &args.expectations {
        None => KnownResults::default(),
        Some(path) => match KnownResults::from_file(path) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let options = RunOptions {
        widget: args.widget,
        cases_dir: args.cases.clone(),
        filter: args.filter,
        browser: BrowserOptions {
            kind: args.browser,
            webdriver_url: args.webdriver,
        },
        profile: args.profile,
        case_timeout: args.timeout.map(std::time::Duration::from_millis),
        jobs: usize::from(args.jobs),
        shard: args.shard,
        fail_fast: args.fail_fast.then_some(FailFast::AnyFailure),
        known,
    };
    let interrupt = async {
        // If the handler cannot be installed, never resolve: the run goes on.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let mut printer = Printer::new();
    let result = runner::run(&options, &mut printer, interrupt).await;
    printer.bar.finish_and_clear();
    match result {
        Ok(report) => {
            if let Err(e) = report::write_all(&report, &args.report_dir) {
                eprintln!(
                    "error: cannot write reports to {}: {e}",
                    args.report_dir.display()
                );
                return ExitCode::from(2);
            }
            if args.update_golden {
                let dir = args
                    .cases
                    .clone()
                    .unwrap_or_else(|| args.report_dir.clone());
                if let Err(e) = write_goldens(&report, &dir) {
                    eprintln!(
                        "error: cannot write golden traces under {}: {e}",
                        dir.display()
                    );
                    return ExitCode::from(2);
                }
            }
            let ids: Vec<&str> = report.cases.iter().map(|c| c.id.as_str()).collect();
            for stale in options.known.unknown(&ids) {
                eprintln!("note: the expectations file lists {stale:?}, which did not run");
            }
            let s = &report.summary;
            eprintln!(
                "{} passed, {} non-strict, {} failed, {} errored, {} timed out of {}; {} unexpected ({} unexpected passes)",
                s.passed,
                s.non_strict,
                s.failed,
                s.errored,
                s.timed_out,
                s.total,
                s.unexpected,
                s.unexpected_passes
            );
            eprintln!("{}", report.coverage.summary_line());
            let t = &report.timing;
            eprintln!(
                "timing: suite {:.1} s wall with {} worker(s) (target <= 30 s); harness overhead per case median {} ms, max {} ms (target <= 150 ms)",
                t.suite_ms as f64 / 1000.0,
                report.jobs,
                t.overhead_median_ms,
                t.overhead_max_ms
            );
            eprintln!("reports in {}", args.report_dir.display());
            if s.as_expected() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(RunError::Interrupted) => {
            eprintln!("interrupted; browser and driver stopped");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
