//! `jodo-bench`: loads `jodo-mock` on loopback and, in the same run, a bare
//! tokio-tungstenite TLS server, and prints throughput, latency and memory
//! figures with their ratio to the baseline (this machine is noisy, so
//! only a comparison made in one run means anything).
//!
//! Run with `cargo run --release -p jodo-bench`.
//!
//! The baseline answers every text frame with the very frames the mock's
//! chat scenario sent for a sample message, so both servers put the same
//! frames and bytes on the wire and the ratio isolates the mock's own work
//! (schema checks, sequence and replay tracking, the scenario engine,
//! templating, transcripts). The mock runs the `allocated` scenario with
//! its delays removed, so both sides are measured at full speed.
//!
//! # Layout
//! - [`client`]: how the clients reach either server;
//! - [`baseline`]: the bare server;
//! - [`load`]: the throughput and latency phases;
//! - [`process`]: CPU time, memory and file limits of this process;
//! - [`run`]: the phases in order, and the memory phase's client process;
//! - [`soak`]: many sessions over minutes, with drops, resumes and faults,
//!   their transcripts checked and the memory compared at the end.

mod baseline;
mod client;
mod load;
mod process;
mod run;
mod soak;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The mock allocates short-lived JSON values on whichever worker thread
/// runs a session; it is measured with the allocator its binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Measure jodo-mock's throughput, latency and memory on loopback against a
/// bare tokio-tungstenite TLS server in the same run, and print the figures.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    args: BenchArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Many sessions over minutes with random drops, resumes and faults;
    /// checks every transcript and compares the memory after warm-up with
    /// the memory at the end.
    Soak {
        /// Sessions, started at an even pace.
        #[arg(long, default_value_t = 1000)]
        sessions: usize,
        /// Seconds over which they start.
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        /// Seed of the random drops and faults.
        #[arg(long, default_value_t = 18)]
        seed: u64,
    },
    /// The client side of the memory phase (started by the benchmark itself).
    #[command(hide = true)]
    Clients {
        /// Mock address.
        #[arg(long)]
        addr: SocketAddr,
        /// DER certificate to trust.
        #[arg(long)]
        cert: PathBuf,
        /// Sessions to hold open.
        #[arg(long)]
        count: usize,
    },
}

#[derive(Debug, clap::Args)]
struct BenchArgs {
    /// Concurrent sessions in the throughput phase.
    #[arg(long, default_value_t = 100)]
    sessions: usize,
    /// Chat messages per session in the throughput phase.
    #[arg(long, default_value_t = 100)]
    messages: usize,
    /// Throughput rounds, baseline and mock alternating; the median ratio is
    /// reported (many short rounds give a steadier median on a noisy machine).
    #[arg(long, default_value_t = 31, value_parser = clap::value_parser!(u16).range(1..=999))]
    rounds: u16,
    /// Frames per second (both directions) offered in the latency phase.
    #[arg(long, default_value_t = 5000)]
    rate: u32,
    /// Length of the latency phase, seconds.
    #[arg(long, default_value_t = 5)]
    latency_seconds: u64,
    /// Sessions held open in the memory phase.
    #[arg(long, default_value_t = 10_000)]
    idle: usize,
}

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Setting up a server or a client failed.
    #[error("{0}")]
    Setup(String),
}

/// Wraps an error with what was being set up.
fn setup<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> BenchError + '_ {
    move |e| BenchError::Setup(format!("{what}: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Some(Command::Soak {
                sessions,
                seconds,
                seed,
            }) => {
                let options = soak::SoakOptions {
                    sessions,
                    duration: std::time::Duration::from_secs(seconds),
                    seed,
                };
                soak::soak(&options, &mut std::io::stdout()).await
            }
            Some(Command::Clients { addr, cert, count }) => {
                run::hold_sessions(addr, &cert, count).await
            }
            None => {
                let a = cli.args;
                let options = run::BenchOptions {
                    sessions: a.sessions,
                    messages: a.messages,
                    rounds: usize::from(a.rounds),
                    rate: a.rate,
                    latency_seconds: a.latency_seconds,
                    idle: a.idle,
                };
                run::run(&options, &mut std::io::stdout()).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
