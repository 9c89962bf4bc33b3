//! `merge`: shard reports joined into one.

use std::process::ExitCode;

use anyhow::Context;
use jodo_conformance::merge;
use jodo_conformance::report;

use crate::cli::MergeArgs;

/// Merges and writes: 0 every case as expected, 1 otherwise.
pub fn exec(args: &MergeArgs) -> anyhow::Result<ExitCode> {
    let mut parts = Vec::with_capacity(args.dirs.len());
    for dir in &args.dirs {
        parts.push((dir.clone(), merge::read(dir)?));
    }
    let shards = parts.len();
    let merged = merge::merge(parts)?;
    report::write_all(&merged, &args.report_dir)
        .with_context(|| format!("cannot write reports to {}", args.report_dir.display()))?;
    let s = &merged.summary;
    eprintln!(
        "{shards} shard(s): {} passed, {} non-strict, {} failed, {} errored, {} timed out of {}; {} unexpected",
        s.passed, s.non_strict, s.failed, s.errored, s.timed_out, s.total, s.unexpected
    );
    eprintln!("{}", merged.coverage.summary_line());
    eprintln!("reports in {}", args.report_dir.display());
    Ok(if s.as_expected() {
        ExitCode::SUCCESS
    } else {
        super::failed()
    })
}
