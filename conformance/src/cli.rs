//! The command line: what each subcommand takes. Doc comments here are the
//! `--help` text.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use jodo_conformance::browser::BrowserKind;
use jodo_conformance::shard::Shard;
use jodo_conformance::trace_file::TraceFormat;
use jodo_contract::Profile;

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
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
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
    Coverage(CoverageArgs),
    /// Prove the suite catches faults: run it on the reference build and on
    /// every mutant (faulty builds in fixtures/mutants), print the kill
    /// matrix, and write the reports with the matrix in them.
    ///
    /// Exit codes: 0 the reference passed every case and every mutant was
    /// killed by a case naming the check it breaks, 1 otherwise, 2 the
    /// self-test could not run (no browser, a stale or invalid mutant).
    Selftest(SelftestArgs),
    /// Certify an integrator's own page, unmodified: the browser goes
    /// through an intercepting proxy that answers for the Jodo hosts from
    /// the kit's mock; the probe arrives as a WebDriver BiDi preload
    /// script; the built-in cases and a few trials drive the page; the
    /// page checks of the catalogue judge it; report.html, report.json and
    /// junit.xml say whether it is certified.
    ///
    /// Exit codes: 0 certified (with or without advisories), 1 not
    /// certified, 2 the page could not be certified (it does not load, has
    /// no SDK script or no extdata object, a bad journey file, no browser),
    /// 130 interrupted.
    Certify(CertifyArgs),
    /// Check traces recorded elsewhere against the schemas and every trace
    /// rule, without a browser: a browser console log as the spec's
    /// reference callback handler prints it (`Event data :: {json}` lines,
    /// saved from Chromium or Firefox with timestamps, source locations and
    /// navigations around them; a navigation begins a new trace), JSON
    /// Lines of eventdata, or a kit report.json. Every finding names the
    /// line of the input. Files are streamed: a log of any size is checked
    /// in the memory of its longest session.
    ///
    /// Exit codes: 0 every trace conforms, 1 a trace does not, 2 a file
    /// could not be checked (unreadable, a JSON line cut short, no eventdata
    /// in it); then no report is written.
    CheckTrace(CheckTraceArgs),
    /// Join the report folders of a suite's shards (`run --shard K/N` on a
    /// CI matrix) into the report one run would have written: report.json,
    /// report.html, junit.xml and the cases' wire files, with the same cases,
    /// counts, coverage and verdict.
    ///
    /// Shards must have tested the same build in the same browser and
    /// profile, and share no case. Exit codes: 0 every case ended as
    /// expected, 1 otherwise, 2 the folders are not shards of one run.
    Merge(MergeArgs),
    /// Print the catalogue of methods, events, status codes and external-data fields.
    Catalog {
        /// Print it as JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
}

/// `merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The shards' report folders (each with its report.json).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where the merged report goes; replaced whole, as `run` does.
    #[arg(long, value_name = "DIR", default_value = "reports/merged")]
    pub report_dir: PathBuf,
}

/// `validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// What the documents are: eventdata, frame, scenario, case, report
    /// (a report.json), mutant, session-request, or a method name (its argument list as a JSON array;
    /// a bare value stands for a single argument).
    #[arg(long, default_value = "eventdata")]
    pub kind: String,
    /// Contract profile: strict (one canonical form) or compat (every documented variant).
    #[arg(long, default_value = "strict")]
    pub profile: Profile,
    /// File to read, or - for standard input.
    pub file: PathBuf,
}

/// `coverage`.
#[derive(Debug, clap::Args)]
pub struct CoverageArgs {
    /// Folder of case files instead of the built-in cases.
    #[arg(long, value_name = "DIR")]
    pub cases: Option<PathBuf>,
    /// List only the entries no case exercises (with --fields: the fields
    /// nothing judges the value of).
    #[arg(long)]
    pub uncovered: bool,
    /// Print the matrix as JSON.
    #[arg(long)]
    pub json: bool,
    /// The field view instead: every field of every catalogue event, with
    /// the rules that judge its value (not only its type), where the value
    /// comes from, or the ambiguity entry that says why only its type is
    /// judged. Exit code 1 when a field has none of these.
    #[arg(long)]
    pub fields: bool,
}

/// How `run` reports progress on standard output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Nothing on stdout; progress and results on stderr for people.
    #[default]
    Human,
    /// One JSON object per run event on stdout, for tools (stderr as for human).
    Jsonl,
}

/// `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Widget build to test (an ext_integration-2.0.js); the reference build when absent.
    #[arg(long, value_name = "PATH")]
    pub widget: Option<PathBuf>,
    /// Wire protocol the mock speaks: a built-in dialect (`jodo-mock dialects
    /// list`) or a dialect file. Without --widget the reference build is made
    /// to speak it; a --widget build speaks it itself.
    #[arg(long, value_name = "NAME|FILE", conflicts_with = "live")]
    pub dialect: Option<String>,
    /// The report folder (report.json, junit.xml, report.html, cases/): it
    /// is replaced whole when the run ends, and a folder holding anything
    /// else is refused.
    #[arg(long, value_name = "DIR", default_value = "reports/run")]
    pub report_dir: PathBuf,
    /// Folder of case files to run instead of the built-in cases.
    #[arg(long, value_name = "DIR")]
    pub cases: Option<PathBuf>,
    /// Run only cases whose id contains this text; repeat it to run the
    /// cases matching any of several.
    #[arg(long, value_name = "TEXT")]
    pub filter: Vec<String>,
    /// Contract profile: strict (one canonical form) or compat (every documented variant).
    #[arg(long, default_value = "strict")]
    pub profile: Profile,
    /// Limit for every case in milliseconds, instead of each case's own
    /// (default 15000). A case over it is reported as timed out, the browser
    /// is replaced, and the run goes on.
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u64>,
    /// Browser: chromium (chromium + chromium-driver), firefox (firefox-esr +
    /// geckodriver) or webkit (WebKitGTK's MiniBrowser + WebKitWebDriver, on
    /// Xvfb; Safari's engine).
    #[arg(long, value_enum, default_value_t = BrowserKind::Chromium)]
    pub browser: BrowserKind,
    /// Use this WebDriver endpoint (e.g. a Selenium Grid) instead of a local driver.
    #[arg(long, value_name = "URL")]
    pub webdriver: Option<String>,
    /// Parallel workers, each with its own browser and mock.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// How each case gets a fresh page: `frame` opens the kit's host page in
    /// a new frame of a page each worker keeps open (the old frame, with all
    /// the widget left in it, is removed; no top-level navigation to wait
    /// for), `navigate` loads it as a top-level page, for a build that
    /// behaves otherwise in a frame. A live run always navigates.
    #[arg(long, value_enum, value_name = "HOW", default_value_t = jodo_conformance::page::Fresh::Frame)]
    pub fresh_page: jodo_conformance::page::Fresh,
    /// Run only shard K of N (1-based, split by case id), to spread a run over machines.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Known results: a YAML map of case id to the outcome expected instead
    /// of a pass (fail, error, timeout, non_strict). Cases that end as listed
    /// do not fail the run; a listed case that passes is reported as an
    /// unexpected pass and does, so the file stays current.
    #[arg(long, value_name = "FILE")]
    pub expectations: Option<PathBuf>,
    /// Stop at the first case whose status fails the run (the cases not
    /// run are left out of the reports). A case the profile or the
    /// expectations file accepts does not stop it.
    #[arg(long)]
    pub fail_fast: bool,
    /// Write the golden trace of every `golden: true` case from this run:
    /// into DIR/snapshots/ with --cases DIR, else into the report folder's
    /// snapshots/ (copy them beside your cases after reviewing them).
    #[arg(long)]
    pub update_golden: bool,
    /// Progress on stdout: human (none; all on stderr) or jsonl (one JSON
    /// object per event: run_started, case_started, case_finished,
    /// interrupted, run_finished).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Run against a backend the kit does not script: the kit's host page
    /// loads the SDK from the Jodo host (--jodo-host), and the intercepting
    /// proxy passes the Jodo host's requests to the real backend, or to
    /// --upstream. The build runs as served (or as --widget gives it); the
    /// probe comes over WebDriver BiDi. Cases that need a scenario,
    /// control steps or faults are reported not applicable. Needs --akey
    /// and --skey.
    #[arg(long)]
    pub live: bool,
    /// With --live: a staging server, https://HOST[:PORT], that answers for
    /// the Jodo host instead of the host itself.
    #[arg(long, value_name = "URL", requires = "live")]
    pub upstream: Option<String>,
    /// With --live: a certificate (PEM or DER) to trust for the upstream
    /// besides the public roots, e.g. a staging server's own CA.
    #[arg(long, value_name = "FILE", requires = "live")]
    pub upstream_ca: Vec<PathBuf>,
    /// With --live: the Jodo host the page loads the SDK from and names as
    /// serverpath.
    #[arg(long, value_name = "NAME", default_value = jodo_conformance::live::SPEC_JODO_HOST, requires = "live")]
    pub jodo_host: String,
    /// With --live: the page's akey (from the environment is best: it is
    /// never written to a report, only `[akey]`).
    #[arg(long, env = "JODO_AKEY", hide_env_values = true, value_name = "KEY")]
    pub akey: Option<String>,
    /// With --live: the page's skey, as --akey.
    #[arg(long, env = "JODO_SKEY", hide_env_values = true, value_name = "KEY")]
    pub skey: Option<String>,
    /// With --live: the loopback port of the kit's host page (any free one
    /// by default), so a staging server's Origin allowlist can name
    /// http://127.0.0.1:PORT.
    #[arg(long, value_name = "PORT", default_value_t = 0, requires = "live")]
    pub page_port: u16,
}

/// `certify`.
#[derive(Debug, clap::Args)]
pub struct CertifyArgs {
    /// The page: an http(s):// URL (your dev server, e.g.
    /// http://localhost:3000/help) or a local .html file the kit serves
    /// with its folder.
    #[arg(long, value_name = "URL|FILE")]
    pub page: jodo_conformance::certify::target::PageTarget,
    /// The SDK build to answer the Jodo script host with; the reference
    /// build when absent.
    #[arg(long, value_name = "PATH")]
    pub widget: Option<PathBuf>,
    /// Another host to answer from the mock (repeatable). The spec's
    /// myjodo.jodoworld.com, the page's serverpath host and any host asking
    /// for a /jodowidgetapi/ path already are.
    #[arg(long = "jodo-host", value_name = "NAME")]
    pub jodo_host: Vec<String>,
    /// A case file of your own journey (click, type, wait_visible steps
    /// and SDK calls), run after the built-in cases (repeatable).
    #[arg(long, value_name = "FILE")]
    pub journey: Vec<PathBuf>,
    /// Run only built-in cases whose id contains this text (repeatable);
    /// all of them by default, so every event reaches the page.
    #[arg(long, value_name = "TEXT")]
    pub filter: Vec<String>,
    /// Browser: chromium or firefox (a page under certification gets the
    /// probe over WebDriver BiDi, which WebKitWebDriver lacks).
    #[arg(long, value_enum, default_value_t = BrowserKind::Chromium)]
    pub browser: BrowserKind,
    /// Contract profile events are checked in.
    #[arg(long, default_value = "strict")]
    pub profile: Profile,
    /// Known results of the SDK build in this browser, as for `run`: cases
    /// that end as listed are reported as known.
    #[arg(long, value_name = "FILE")]
    pub expectations: Option<PathBuf>,
    /// Where report.json, junit.xml and report.html go.
    #[arg(long, value_name = "DIR", default_value = "reports/certify")]
    pub report_dir: PathBuf,
}

/// `check-trace`.
#[derive(Debug, clap::Args)]
pub struct CheckTraceArgs {
    /// Trace files: console logs, JSON Lines of eventdata, or report.json.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// How the files hold their events; auto decides per file from its
    /// first 64 KiB.
    #[arg(long, value_enum, default_value_t = TraceFormat::Auto)]
    pub format: TraceFormat,
    /// Contract profile: strict (one canonical form) or compat (every documented variant).
    #[arg(long, default_value = "strict")]
    pub profile: Profile,
    /// The page's akey, so that the no-keys rule can look for it in the
    /// events (never printed).
    #[arg(long, env = "JODO_AKEY", hide_env_values = true, value_name = "KEY")]
    pub akey: Option<String>,
    /// The page's skey, as --akey.
    #[arg(long, env = "JODO_SKEY", hide_env_values = true, value_name = "KEY")]
    pub skey: Option<String>,
    /// Where report.json, junit.xml and report.html go.
    #[arg(long, value_name = "DIR", default_value = "reports/check-trace")]
    pub report_dir: PathBuf,
}

/// `selftest`.
#[derive(Debug, clap::Args)]
pub struct SelftestArgs {
    /// Folder of mutant files instead of the kit's own (fixtures/mutants).
    #[arg(long, value_name = "DIR")]
    pub mutants: Option<PathBuf>,
    /// Run only mutants whose name contains this text (repeatable).
    #[arg(long, value_name = "TEXT")]
    pub only: Vec<String>,
    /// Wire protocol the mock, the reference build and every mutant speak:
    /// a built-in dialect or a dialect file.
    #[arg(long, value_name = "NAME|FILE")]
    pub dialect: Option<String>,
    /// Where the reference build's reports, with the kill matrix, go.
    #[arg(long, value_name = "DIR", default_value = "reports/selftest")]
    pub report_dir: PathBuf,
    /// Browser: chromium, firefox or webkit.
    #[arg(long, value_enum, default_value_t = BrowserKind::Chromium)]
    pub browser: BrowserKind,
    /// Parallel workers for each build's run, each with its own browser
    /// and mock (worth it with --full-matrix on a machine with cores to
    /// spare).
    #[arg(long, short = 'j', value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Run every case on every mutant for the complete kill matrix (slow:
    /// a build that breaks everything waits out every case). By default a
    /// mutant's run stops at the first case naming the broken check.
    #[arg(long)]
    pub full_matrix: bool,
}
