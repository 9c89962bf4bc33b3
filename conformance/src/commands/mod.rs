//! The subcommands, each an `exec`-style function from its arguments to
//! an exit code or an error.

pub mod certify;
pub mod check_trace;
pub mod inspect;
pub mod merge;
pub mod run;
pub mod selftest;

use std::process::ExitCode;
use std::sync::Arc;

use jodo_contract::Contract;
use jodo_contract::dialect::{Dialect, DialectError};

/// Exit code 1: the thing checked did not conform.
pub fn failed() -> ExitCode {
    ExitCode::from(1)
}

/// The dialect `--dialect` names, if any; a bad one is an error that
/// lists every problem on a line of its own, with its line and field.
///
/// # Errors
/// The dialect cannot be read or is not valid.
pub fn dialect(arg: Option<&str>, schemas: &Contract) -> anyhow::Result<Option<Arc<Dialect>>> {
    let Some(name) = arg else {
        return Ok(None);
    };
    match Dialect::load(name, schemas) {
        Ok(d) => Ok(Some(Arc::new(d))),
        Err(DialectError::Invalid {
            origin, problems, ..
        }) => {
            let mut text = format!("dialect {origin} is not valid:");
            for p in &problems {
                text.push_str("\n  ");
                text.push_str(p);
            }
            Err(anyhow::anyhow!(text))
        }
        Err(e) => Err(e.into()),
    }
}

/// Exit code 130: stopped with Ctrl-C, after browsers and drivers.
pub fn interrupted() -> ExitCode {
    eprintln!("interrupted; browser and driver stopped");
    ExitCode::from(130)
}
