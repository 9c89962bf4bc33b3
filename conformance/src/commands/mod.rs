//! The subcommands, each an `exec`-style function from its arguments to
//! an exit code or an error.

pub mod certify;
pub mod check_trace;
pub mod inspect;
pub mod run;
pub mod selftest;

use std::process::ExitCode;

/// Exit code 1: the thing checked did not conform.
pub fn failed() -> ExitCode {
    ExitCode::from(1)
}

/// Exit code 130: stopped with Ctrl-C, after browsers and drivers.
pub fn interrupted() -> ExitCode {
    eprintln!("interrupted; browser and driver stopped");
    ExitCode::from(130)
}
