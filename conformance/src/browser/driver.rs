//! The local WebDriver process (chromedriver).
//!
//! It runs in a process group of its own, so one signal to the group ends
//! the driver *and* every browser process it spawned; killing the driver
//! alone leaves Chromium orphaned. The group is killed on drop, so a panic
//! or an early return cannot leak processes.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::session::BrowserError;

/// A running driver.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    pgid: i32,
    port: u16,
}

/// Finds an executable on `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

impl Driver {
    /// Starts chromedriver on a port of its own choosing and waits until it
    /// says which one.
    ///
    /// # Errors
    /// [`BrowserError::Missing`] when chromedriver is not installed,
    /// [`BrowserError::DriverStart`] when it does not come up.
    pub async fn chromedriver(tmpdir: &Path) -> Result<Self, BrowserError> {
        let binary = find_on_path("chromedriver").ok_or(BrowserError::Missing {
            what: "chromedriver",
        })?;
        let mut child = Command::new(&binary)
            .arg("--port=0")
            .env("TMPDIR", tmpdir)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                BrowserError::DriverStart(format!("cannot run {}: {e}", binary.display()))
            })?;
        let pgid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .ok_or_else(|| BrowserError::DriverStart("chromedriver exited at once".into()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| BrowserError::DriverStart("no stdout from chromedriver".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut driver = Self {
            child,
            pgid,
            port: 0,
        };
        let port = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    return rest.trim_end_matches('.').trim().parse::<u16>().ok();
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        let Some(port) = port else {
            driver.kill();
            return Err(BrowserError::DriverStart(
                "chromedriver did not report its port within 20 s".into(),
            ));
        };
        // Keep draining stdout so the driver never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        driver.port = port;
        Ok(driver)
    }

    /// The WebDriver endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Process group id (the driver's pid).
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// Kills the whole process group and reaps the driver. Idempotent.
    pub fn kill(&mut self) {
        if self.pgid > 0 {
            // SAFETY: kill(2) with a negative pid signals the process group we
            // created with process_group(0); no memory is touched.
            unsafe {
                libc::kill(-self.pgid, libc::SIGKILL);
            }
            self.pgid = 0;
            let _ = self.child.try_wait();
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.kill();
    }
}
