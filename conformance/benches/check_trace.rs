//! `cargo bench -p jodo-conformance --bench check_trace`: how fast
//! `check-trace` reads a large console log and how much memory it needs,
//! against `wc -l` on the same file in the same run (this machine is
//! noisy, so only the ratio means much).
//!
//! The log is generated: the reference build's golden chat session again
//! and again with fresh ids, each event line as Chromium's "save as"
//! writes it (time, source location, `Event data :: {json}`), with a line
//! of page chatter between sessions. `JODO_TRACE_BENCH_MIB` sets its size
//! (default 1024).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[path = "../tests/support/golden_sessions.rs"]
mod golden_sessions;

/// Wall time and peak resident memory of one child process.
struct Measured {
    seconds: f64,
    peak_rss_mib: f64,
    code: Option<i32>,
    stdout: String,
}

#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4, which also gives its peak memory"
)]
fn measure(command: &mut Command) -> Measured {
    let started = Instant::now();
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the command starts");
    let pid = i32::try_from(child.id()).expect("a pid");
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout {
        use std::io::Read;
        let _ = out.read_to_string(&mut stdout);
    }
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, status and usage are valid for writes.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4");
    Measured {
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_mib: usage.ru_maxrss as f64 / 1024.0,
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout,
    }
}

/// Writes the log; its line and event counts.
fn generate(path: &Path, bytes: u64) -> (u64, u64) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let template = golden_sessions::template(&root);
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let (mut written, mut lines, mut events) = (0u64, 0u64, 0u64);
    writeln!(file, "Navigated to https://shop.example/help").unwrap();
    let mut s = 0;
    while written < bytes {
        let mut line = String::new();
        golden_sessions::session(&template, s, &mut |e| {
            let ms = events % 1000;
            line.push_str(&format!(
                "12:00:00.{ms:03} config.js:13 Event data :: {e}\n"
            ));
            events += 1;
            lines += 1;
        });
        line.push_str("config.js:40 visitor left the help page open\n");
        lines += 1;
        written += line.len() as u64;
        file.write_all(line.as_bytes()).unwrap();
        s += 1;
    }
    file.flush().unwrap();
    (lines + 1, events)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing
    // and only wants to know that this builds and runs.
    let benching = std::env::args().any(|a| a == "--bench");
    let mib: u64 = std::env::var("JODO_TRACE_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 1024 } else { 4 });
    let dir = tempfile::tempdir().unwrap();
    let log: PathBuf = dir.path().join("console.log");
    let started = Instant::now();
    let (lines, events) = generate(&log, mib << 20);
    let size = std::fs::metadata(&log).unwrap().len();
    println!(
        "check-trace: generated {:.0} MiB, {lines} lines, {events} events in {:.1} s",
        size as f64 / 1048576.0,
        started.elapsed().as_secs_f64()
    );
    // Read once so that both commands find the file in the page cache.
    let warm = measure(Command::new("wc").arg("-l").arg(&log));
    let wc = measure(Command::new("wc").arg("-l").arg(&log));
    assert_eq!(warm.code, Some(0));
    assert!(
        wc.stdout.starts_with(&lines.to_string()),
        "wc says {}",
        wc.stdout
    );
    let check = measure(
        Command::new(env!("CARGO_BIN_EXE_jodo-conformance"))
            .arg("check-trace")
            .arg(&log)
            .arg("--report-dir")
            .arg(dir.path().join("reports")),
    );
    assert_eq!(check.code, Some(0), "the generated log conforms");
    let mib_s = |m: &Measured| size as f64 / 1048576.0 / m.seconds;
    println!(
        "check-trace: wc -l {:.2} s ({:.0} MiB/s, peak {:.1} MiB); check-trace {:.2} s ({:.0} MiB/s, {:.0} events/s, peak {:.1} MiB); check-trace takes {:.1}x the time of wc -l",
        wc.seconds,
        mib_s(&wc),
        wc.peak_rss_mib,
        check.seconds,
        mib_s(&check),
        events as f64 / check.seconds,
        check.peak_rss_mib,
        check.seconds / wc.seconds
    );
}
