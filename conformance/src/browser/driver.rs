//! The local WebDriver process (chromedriver or geckodriver).
//!
//! It runs in a process group of its own, so one signal to the group ends
//! the driver *and* every browser process it spawned; killing the driver
//! alone leaves the browser orphaned. The group is killed on drop, so a panic
//! or an early return cannot leak processes.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::error::BrowserError;
use super::group::ProcessGroup;

/// A running driver.
#[derive(Debug)]
pub struct Driver {
    group: ProcessGroup,
    port: u16,
}

/// Finds an executable on `PATH` (the `which` crate: it also checks the
/// file is executable, which the hand-written search did not).
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    which::which(name).ok()
}

impl Driver {
    /// Starts chromedriver on a port of its own choosing.
    ///
    /// # Errors
    /// [`BrowserError::Missing`] when the driver is not installed,
    /// [`BrowserError::DriverStart`] when it does not come up.
    pub async fn chromedriver(tmpdir: &Path) -> Result<Self, BrowserError> {
        Self::start(
            "chromedriver",
            &["--port=0"],
            "started successfully on port ",
            tmpdir,
            None,
        )
        .await
    }

    /// Starts geckodriver on a port of its own choosing.
    ///
    /// # Errors
    /// [`BrowserError::Missing`] when the driver is not installed,
    /// [`BrowserError::DriverStart`] when it does not come up.
    pub async fn geckodriver(tmpdir: &Path, display: Option<&str>) -> Result<Self, BrowserError> {
        Self::start(
            "geckodriver",
            &["--port", "0"],
            "Listening on 127.0.0.1:",
            tmpdir,
            display,
        )
        .await
    }

    /// Starts WebKitWebDriver, which takes a port but does not report one:
    /// a free port is chosen, and the driver is ready when it answers
    /// `/status` there.
    ///
    /// # Errors
    /// [`BrowserError::Missing`] when the driver is not installed,
    /// [`BrowserError::DriverStart`] when it does not come up.
    pub async fn webkitdriver(tmpdir: &Path, display: &str) -> Result<Self, BrowserError> {
        let name = "WebKitWebDriver";
        let binary = find_on_path(name).ok_or(BrowserError::Missing {
            what: "webkit2gtk-driver",
        })?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| BrowserError::DriverStart(format!("no free port: {e}")))?
            .port();
        let group = ProcessGroup::spawn(
            Command::new(&binary)
                .arg(format!("--port={port}"))
                .arg("--host=127.0.0.1")
                .env("DISPLAY", display)
                .env("TMPDIR", tmpdir)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            name,
        )?;
        let mut driver = Self { group, port };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while tokio::time::Instant::now() < deadline {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(driver);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        driver.kill();
        Err(BrowserError::DriverStart(format!(
            "{name} did not listen on port {port} within 20 s"
        )))
    }

    /// Starts a driver and waits (at most 20 s) until it logs its port
    /// after `marker`, on stdout or stderr. Browser profiles and temporary
    /// files go under `tmpdir`.
    ///
    /// # Errors
    /// [`BrowserError::Missing`] when the driver is not installed,
    /// [`BrowserError::DriverStart`] when it does not come up.
    async fn start(
        name: &'static str,
        args: &[&str],
        marker: &'static str,
        tmpdir: &Path,
        display: Option<&str>,
    ) -> Result<Self, BrowserError> {
        // A driver now and then says nothing on a busy machine (seen about
        // once in a few hundred starts here): one more try, before a long
        // run is given up for it.
        match Self::start_once(name, args, marker, tmpdir, display).await {
            Err(BrowserError::DriverStart(first)) => {
                Self::start_once(name, args, marker, tmpdir, display)
                    .await
                    .map_err(|e| match e {
                        BrowserError::DriverStart(second) => {
                            BrowserError::DriverStart(format!("{second} (the first try: {first})"))
                        }
                        other => other,
                    })
            }
            other => other,
        }
    }

    async fn start_once(
        name: &'static str,
        args: &[&str],
        marker: &'static str,
        tmpdir: &Path,
        display: Option<&str>,
    ) -> Result<Self, BrowserError> {
        let binary = find_on_path(name).ok_or(BrowserError::Missing { what: name })?;
        let mut command = Command::new(&binary);
        if let Some(display) = display {
            command.env("DISPLAY", display);
        }
        let mut group = ProcessGroup::spawn(
            command
                .args(args)
                .env("TMPDIR", tmpdir)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
            &binary.display().to_string(),
        )?;
        let child = group.child();
        // Both streams are drained for the driver's whole life, so it never
        // blocks on a full pipe; lines go to the port search until found.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        if let Some(out) = child.stdout.take() {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(out).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let _ = tx.send(line);
                }
            });
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(async move {
                let mut lines = BufReader::new(err).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let _ = tx.send(line);
                }
            });
        }
        let mut driver = Self { group, port: 0 };
        let mut said = Vec::new();
        let port = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(line) = rx.recv().await {
                if said.len() < 5 {
                    said.push(line.clone());
                }
                if let Some(rest) = line.split(marker).nth(1) {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    return digits.parse::<u16>().ok();
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        let Some(port) = port else {
            driver.kill();
            let output = if said.is_empty() {
                "nothing".to_owned()
            } else {
                said.join(" | ")
            };
            return Err(BrowserError::DriverStart(format!(
                "{name} did not report its port within 20 s; it printed {output}"
            )));
        };
        driver.port = port;
        Ok(driver)
    }

    /// The WebDriver endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Process group id (the driver's pid).
    pub fn pgid(&self) -> i32 {
        self.group.pgid()
    }

    /// Kills the whole process group and reaps the driver. Idempotent.
    pub fn kill(&mut self) {
        self.group.kill();
    }
}
