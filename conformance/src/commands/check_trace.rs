//! `check-trace`: recorded traces through the schema and rule checks, with
//! the reports `run` writes. Every file is checked before anything is
//! written, so a bad file leaves the report folder as it was.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use jodo_conformance::checks::CheckContext;
use jodo_conformance::report;
use jodo_conformance::reporters::console;
use jodo_conformance::trace_file::{Checker, Progress};
use jodo_contract::Contract;

use crate::cli::CheckTraceArgs;

/// Checks the files: 0 every trace conforms, 1 one does not; a file that
/// cannot be checked is an error (exit code 2) and writes no report.
pub fn exec(args: &CheckTraceArgs) -> anyhow::Result<ExitCode> {
    let started_at = jodo_contract::clock::rfc3339_now();
    let clock = std::time::Instant::now();
    let contract = Contract::embedded().context("the embedded contract does not load")?;
    let ctx = CheckContext {
        schemas: &contract,
        profile: args.profile,
        secrets: [&args.akey, &args.skey]
            .into_iter()
            .flatten()
            .filter(|k| !k.is_empty())
            .cloned()
            .collect(),
    };
    let mut checker = Checker::new(&ctx, args.format);
    let mut traces = Vec::new();
    let talk = std::io::stderr().is_terminal();
    for path in &args.files {
        let shown = path.display().to_string();
        let mut progress = |p: Progress| {
            if talk {
                eprintln!("  {shown}: {} MiB, {} lines read", p.bytes >> 20, p.lines);
            }
        };
        let found = checker.file(path, &mut progress)?;
        eprintln!(
            "{shown}: {} trace{}, {} events",
            found.len(),
            if found.len() == 1 { "" } else { "s" },
            found.iter().map(|t| t.events).sum::<usize>()
        );
        traces.extend(found);
    }
    let report = checker.report(traces, started_at, clock.elapsed());
    for case in &report.cases {
        for line in console::case_lines(case) {
            eprintln!("{line}");
        }
    }
    // The counts only: coverage and timing targets belong to a run.
    if let Some(counts) = console::summary_lines(&report).first() {
        eprintln!("{counts}");
    }
    report::write_all(&report, &args.report_dir)
        .with_context(|| format!("cannot write reports to {}", args.report_dir.display()))?;
    eprintln!("reports in {}", args.report_dir.display());
    Ok(if report.summary.as_expected() {
        ExitCode::SUCCESS
    } else {
        super::failed()
    })
}
