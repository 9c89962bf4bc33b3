//! A virtual X display (Xvfb) for a browser that needs a real window:
//! headless Firefox has no screen to share, so screen capture fails there
//! even inside a user gesture; under Xvfb it gets one. Like the driver, the
//! server runs in a process group of its own ([`ProcessGroup`]).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::driver::find_on_path;
use super::error::BrowserError;
use super::group::ProcessGroup;

/// A running Xvfb.
#[derive(Debug)]
pub struct VirtualDisplay {
    group: ProcessGroup,
    number: u32,
}

impl VirtualDisplay {
    /// Whether Xvfb is installed (Debian's `xvfb`).
    pub fn available() -> bool {
        find_on_path("Xvfb").is_some()
    }

    /// Starts Xvfb on a free display number it picks itself.
    ///
    /// # Errors
    /// [`BrowserError::Missing`] without Xvfb, [`BrowserError::DriverStart`]
    /// when it does not come up within 10 s.
    pub async fn start() -> Result<Self, BrowserError> {
        let binary = find_on_path("Xvfb").ok_or(BrowserError::Missing { what: "Xvfb" })?;
        let mut group = ProcessGroup::spawn(
            Command::new(&binary)
                .args([
                    "-displayfd",
                    "1",
                    "-screen",
                    "0",
                    "1280x800x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
            &binary.display().to_string(),
        )?;
        let out = group
            .child()
            .stdout
            .take()
            .ok_or_else(|| BrowserError::DriverStart("Xvfb has no stdout".into()))?;
        let mut display = Self { group, number: 0 };
        // -displayfd writes the chosen display number once it is ready.
        let line = tokio::time::timeout(Duration::from_secs(10), async {
            BufReader::new(out).lines().next_line().await.ok().flatten()
        })
        .await
        .ok()
        .flatten();
        match line.and_then(|l| l.trim().parse().ok()) {
            Some(n) => {
                display.number = n;
                Ok(display)
            }
            None => {
                display.kill();
                Err(BrowserError::DriverStart(
                    "Xvfb did not report a display within 10 s".into(),
                ))
            }
        }
    }

    /// The `DISPLAY` value for programs that draw on it.
    pub fn name(&self) -> String {
        format!(":{}", self.number)
    }

    /// Kills the server's process group. Idempotent.
    pub fn kill(&mut self) {
        self.group.kill();
    }
}
