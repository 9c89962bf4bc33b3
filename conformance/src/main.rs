//! `jodo-conformance`: run the conformance suite on a widget build.
//!
//! This file only parses the command line, dispatches to [`commands`], and
//! prints an error once; every exit code is decided in one place.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // WebKit puts the mock's IP address in TLS's server name, which
                // rustls ignores with a warning per connection: noise here.
                .unwrap_or_else(|_| "warn,hudsucker=off,rustls::msgs::handshake=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs one subcommand: its exit code, or the error that stopped it
/// (printed by `main`, exit code 2).
fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    match cli.command {
        Command::Run(args) => runtime.block_on(commands::run::exec(args)),
        Command::Selftest(args) => runtime.block_on(commands::selftest::exec(args)),
        Command::Certify(args) => runtime.block_on(commands::certify::exec(args)),
        Command::CheckTrace(args) => commands::check_trace::exec(&args),
        Command::Merge(args) => commands::merge::exec(&args),
        Command::Validate(args) => commands::inspect::validate(&args),
        Command::Coverage(args) => commands::inspect::coverage(&args),
        Command::Catalog { json } => commands::inspect::catalog(json),
    }
}
