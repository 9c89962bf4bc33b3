//! A child process in a process group of its own, killed as a group: one
//! signal ends it and everything it started (a driver's browsers), and a
//! drop cannot forget to. The driver and the virtual display are such
//! children.

use tokio::process::Child;

/// A running child that leads its own process group.
#[derive(Debug)]
pub struct ProcessGroup {
    child: Child,
    pgid: i32,
}

impl ProcessGroup {
    /// Takes charge of a child spawned with `process_group(0)`; `None`
    /// when it has already exited.
    pub fn of(child: Child) -> Option<Self> {
        let pgid = child.id().and_then(|id| i32::try_from(id).ok())?;
        Some(Self { child, pgid })
    }

    /// Spawns `command` (its pipes set by the caller) as the leader of a
    /// group of its own, with no stdin, killed if dropped: the one way the
    /// driver and the display start their processes.
    ///
    /// # Errors
    /// [`super::BrowserError::DriverStart`] when it cannot run or exits at once.
    pub fn spawn(
        command: &mut tokio::process::Command,
        name: &str,
    ) -> Result<Self, super::BrowserError> {
        let child = command
            .process_group(0)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| super::BrowserError::DriverStart(format!("cannot run {name}: {e}")))?;
        Self::of(child)
            .ok_or_else(|| super::BrowserError::DriverStart(format!("{name} exited at once")))
    }

    /// The child, for its pipes.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Process group id (the child's pid).
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// Kills the whole group and reaps the child. Idempotent.
    pub fn kill(&mut self) {
        if self.pgid > 0 {
            // SAFETY: kill(2) with a negative pid signals the process group
            // made with process_group(0); no memory is touched.
            unsafe {
                libc::kill(-self.pgid, libc::SIGKILL);
            }
            self.pgid = 0;
            let _ = self.child.try_wait();
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}
