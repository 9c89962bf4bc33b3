//! `selftest`: the suite against every mutant, with the kill matrix.

use std::process::ExitCode;

use anyhow::Context;
use jodo_conformance::browser::BrowserOptions;
use jodo_conformance::mutant::{self, Mutant};
use jodo_conformance::mutation::{self, MutationError, MutationProgress};
use jodo_conformance::report::{self, KillMatrix, KillVerdict, MutantResult};
use jodo_conformance::runner::{RunError, RunOptions};
use jodo_contract::Contract;

use crate::cli::SelftestArgs;

/// One line per build as the self-test goes.
struct Progress;

impl MutationProgress for Progress {
    fn build_started(&mut self, mutant: Option<&Mutant>, index: usize, total: usize) {
        match mutant {
            None => eprintln!("reference build: running every case"),
            Some(m) => eprintln!("mutant {index}/{total}: {} ({})", m.name, m.summary),
        }
    }

    fn mutant_finished(&mut self, r: &MutantResult) {
        let verdict = if r.verdict.is_ok() {
            r.verdict.label().to_owned()
        } else {
            r.verdict.label().to_uppercase()
        };
        eprintln!("   {verdict}: {} failing case(s)", r.failed_cases.len());
    }
}

/// Runs the self-test: 0 the reference passes and every mutant is killed.
pub async fn exec(args: SelftestArgs) -> anyhow::Result<ExitCode> {
    let schemas = Contract::embedded().context("the contract does not load")?;
    let mut mutants = match &args.mutants {
        Some(dir) => mutant::from_dir(dir, &schemas)?,
        None => mutant::builtin(&schemas)?,
    };
    if !args.only.is_empty() {
        mutants.retain(|m| args.only.iter().any(|o| m.name.contains(o.as_str())));
        anyhow::ensure!(!mutants.is_empty(), "no mutant matches {:?}", args.only);
    }
    let options = RunOptions {
        browser: BrowserOptions {
            kind: args.browser,
            webdriver_url: None,
            ..BrowserOptions::default()
        },
        dialect: super::dialect(args.dialect.as_deref(), &schemas)?,
        jobs: usize::from(args.jobs),
        ..RunOptions::default()
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        super::run::interrupt().await;
        let _ = stop.send(true);
    });
    let started = std::time::Instant::now();
    let result = mutation::run(&options, &mutants, args.full_matrix, &mut Progress, stopped).await;
    let (mut reference, matrix) = match result {
        Ok(done) => done,
        Err(MutationError::Run(RunError::Interrupted(_))) => return Ok(super::interrupted()),
        Err(e) => return Err(e.into()),
    };
    print_matrix(&matrix, args.full_matrix, started.elapsed());
    let ok = matrix.ok();
    reference.kill_matrix = Some(matrix);
    report::write_all(&reference, &args.report_dir)
        .with_context(|| format!("cannot write reports to {}", args.report_dir.display()))?;
    eprintln!("reports in {}", args.report_dir.display());
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        super::failed()
    })
}

fn print_matrix(st: &KillMatrix, full_matrix: bool, took: std::time::Duration) {
    println!(
        "kill matrix ({} mutants; {}):",
        st.mutants.len(),
        if full_matrix {
            "every case on every mutant"
        } else {
            "each mutant's run stops at its first case naming the broken check; --full-matrix runs them all"
        }
    );
    let width = st.mutants.iter().map(|m| m.name.len()).max().unwrap_or(0);
    for m in &st.mutants {
        let verdict = match m.verdict {
            KillVerdict::Killed => "killed  ",
            KillVerdict::KilledUnnamed => "UNNAMED ",
            KillVerdict::Survived => "SURVIVED",
            KillVerdict::Dormant => "dormant ",
            KillVerdict::FailedOutsideEngines => "OUTSIDE ",
        };
        let by = if m.verdict == KillVerdict::Dormant {
            vec![format!(
                "no case: its fault shows only in {}, and here it passed every case",
                m.engines.join(", ")
            )]
        } else {
            m.caught_by().to_vec()
        };
        let depth = if full_matrix && m.verdict.is_killed() {
            format!(
                " [{} case(s), {} scenario(s)]",
                m.naming_cases.len(),
                m.naming_scenarios.len()
            )
        } else {
            String::new()
        };
        println!(
            "  {verdict} {:<width$}  breaks {:<28} by {}{depth}",
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
    if st.dormant > 0 {
        println!(
            "{} mutant(s) dormant: their faults show only in other engines, and their builds passed every case here",
            st.dormant
        );
    }
    println!(
        "{} of {} mutants killed by a case naming the broken check (kill rate {:.1} %); reference {}; {:.0} s",
        st.killed,
        st.mutants.len() - st.dormant,
        st.kill_rate * 100.0,
        if st.reference_failures.is_empty() {
            "passed every case"
        } else {
            "FAILED"
        },
        took.as_secs_f64()
    );
    if full_matrix {
        println!(
            "kill depth: {} of {} mutants killed by two or more cases in different scenarios",
            st.deeply_killed(),
            st.mutants.len()
        );
    }
}
