//! `certify`: an integrator's page, with its certification report.

use std::process::ExitCode;

use anyhow::Context;
use jodo_conformance::browser::BrowserOptions;
use jodo_conformance::certify::report::{Certification, CheckState, Grade};
use jodo_conformance::certify::{self, CertifyOptions, render};
use jodo_conformance::reporters::Console;

use crate::cli::CertifyArgs;

/// Certifies the page: 0 certified, 1 not certified, 130 on Ctrl-C.
pub async fn exec(args: CertifyArgs) -> anyhow::Result<ExitCode> {
    let options = CertifyOptions {
        page: args.page.clone(),
        widget: args.widget.clone(),
        browser: BrowserOptions {
            kind: args.browser,
            ..BrowserOptions::default()
        },
        jodo_hosts: args.jodo_host.clone(),
        filter: args.filter.clone(),
        journeys: args.journey.clone(),
        profile: args.profile,
        known: match &args.expectations {
            None => Default::default(),
            Some(path) => jodo_conformance::known_results::KnownResults::from_file(path)?,
        },
    };
    let mut console = Console::new();
    let report = tokio::select! {
        r = certify::certify(&options, &mut console) => r?,
        () = super::run::interrupt() => return Ok(super::interrupted()),
    };
    render::write_all(&report, &args.report_dir)
        .with_context(|| format!("cannot write reports to {}", args.report_dir.display()))?;
    for c in &report.checks {
        let grade = match c.grade {
            Grade::Required => "required",
            Grade::Advisory => "advisory",
        };
        let mark = match c.state {
            CheckState::Pass => "pass",
            CheckState::Fail if c.grade == Grade::Required => "FAIL",
            CheckState::Fail => "advice",
            CheckState::NotApplicable => "n/a",
            CheckState::Manual => "manual",
        };
        eprintln!("{mark:>7} {:<30} {grade}", c.id);
        if c.state == CheckState::Fail {
            for e in &c.evidence {
                eprintln!("          {e}");
            }
        }
    }
    eprintln!(
        "{}: {} ({} cases on the page, {} passed); reports in {}",
        report.page.url,
        report.verdict.label(),
        report.summary.total,
        report.summary.passed,
        args.report_dir.display()
    );
    Ok(match report.verdict {
        Certification::NotCertified => super::failed(),
        _ => ExitCode::SUCCESS,
    })
}
