//! The phases in order, with the figures printed as they come.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jodo_contract::Contract;
use jodo_mock::gateway::{Gateway, KeyPair, Limits};
use jodo_mock::scenario::model::{Action, Scenario};
use jodo_mock::{MockConfig, MockServer};
use tokio::io::{AsyncBufReadExt, AsyncReadExt};

use crate::baseline::{sample_replies, start_baseline};
use crate::client::{Target, settle};
use crate::load::{Load, latency};
use crate::process::{raise_fd_limit, rss_kib};
use crate::{BenchError, setup};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Concurrent sessions in the throughput phase.
    pub sessions: usize,
    /// Chat messages each session sends in the throughput phase.
    pub messages: usize,
    /// Alternating baseline/mock throughput rounds (odd, for a median).
    pub rounds: usize,
    /// Total frames per second (both directions) offered in the latency phase.
    pub rate: u32,
    /// Seconds the latency phase lasts.
    pub latency_seconds: u64,
    /// Sessions held open in the memory phase.
    pub idle: usize,
}

/// The key the benchmark's clients use, without rate limits: the load is
/// the mock's work, not its refusals.
pub fn bench_gateway() -> Gateway {
    Gateway::new(
        vec![KeyPair {
            akey: "bench-akey".into(),
            skey: "bench-skey".into(),
            limits: Limits::unlimited(),
        }],
        Vec::new(),
    )
}

/// The allocated scenario without its delays.
fn undelayed(mut scenario: Scenario) -> Scenario {
    for state in scenario.states.values_mut() {
        for t in &mut state.on {
            t.actions.retain(|a| !matches!(a, Action::DelayMs(_)));
        }
    }
    scenario
}

/// Runs every phase and prints the figures as it goes.
///
/// # Errors
/// [`BenchError`] when a server or a client cannot be set up.
pub async fn run(options: &BenchOptions, out: &mut dyn std::io::Write) -> Result<(), BenchError> {
    let fd_limit = raise_fd_limit(2 * options.idle as u64 + 4096);
    let schemas = Arc::new(Contract::embedded().map_err(setup("contract"))?);
    let config = MockConfig::local(schemas).map_err(setup("mock"))?;
    let cert_der = config.tls.certificate_der().to_vec();
    let client = jodo_mock::tls::client_trusting(&cert_der).map_err(setup("client tls"))?;
    let baseline_tls = config.tls.server_config().map_err(setup("tls"))?;
    let mock = MockServer::start_local(MockConfig {
        scenario: Arc::new(undelayed((*config.scenario).clone())),
        gateway: bench_gateway(),
        // The phases open thousands of sessions with one key, the memory
        // phase all at once: the bound on open sessions is not measured.
        open_sessions: jodo_mock::OpenSessions {
            total: usize::MAX,
            per_key: usize::MAX,
        },
        ..config
    })
    .await
    .map_err(setup("mock"))?;
    let target = Target {
        addr: mock.addr(),
        tls: client.clone(),
        mock: true,
    };
    let baseline = Target {
        addr: start_baseline(baseline_tls, sample_replies(&target).await?).await?,
        tls: client,
        mock: false,
    };
    let w = |out: &mut dyn std::io::Write, line: String| {
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    w(
        out,
        format!(
            "jodo-bench: {} sessions x {} messages, latency at {} frames/s for {} s, {} idle sessions (open-file limit {fd_limit})",
            options.sessions, options.messages, options.rate, options.latency_seconds, options.idle
        ),
    );
    // Throughput: baseline and mock alternate, so both see the same
    // machine; the median of the rounds' ratios is the figure (a single
    // round here varies by up to a third).
    let mut base_load = Load::open(&baseline, options.sessions).await?;
    let mut mock_load = Load::open(&target, options.sessions).await?;
    // One round each first, not counted: buffers, caches and the
    // allocator reach the state the measured rounds run in.
    base_load.round(options.messages).await?;
    mock_load.round(options.messages).await?;
    let mut rounds = Vec::with_capacity(options.rounds);
    for round in 1..=options.rounds {
        let b = base_load.round(options.messages).await?;
        let m = mock_load.round(options.messages).await?;
        w(
            out,
            format!(
                "  throughput round {round}/{}: baseline {:>7.0} frames/s ({:.1} us CPU/frame), mock {:>7.0} frames/s ({:.1} us CPU/frame), ratio {:.2}",
                options.rounds,
                b.per_second,
                micros(b.cpu_per_frame),
                m.per_second,
                micros(m.cpu_per_frame),
                m.per_second / b.per_second
            ),
        );
        rounds.push((m.per_second / b.per_second, b, m));
    }
    drop((base_load, mock_load));
    rounds.sort_by(|x, y| x.0.total_cmp(&y.0));
    let (ratio, median_base, median_mock) = rounds[rounds.len() / 2];
    let (lowest, highest) = (rounds[0].0, rounds[rounds.len() - 1].0);
    let mut cpu_ratios: Vec<f64> = rounds
        .iter()
        .map(|(_, b, m)| micros(b.cpu_per_frame) / micros(m.cpu_per_frame).max(f64::MIN_POSITIVE))
        .collect();
    cpu_ratios.sort_by(f64::total_cmp);
    w(
        out,
        format!(
            "throughput: median round baseline {:.0} frames/s, mock {:.0} frames/s, ratio {ratio:.2} (rounds {lowest:.2}..{highest:.2}; target >= 0.80: {}); CPU-time ratio {:.2}",
            median_base.per_second,
            median_mock.per_second,
            verdict(ratio >= 0.8),
            cpu_ratios[cpu_ratios.len() / 2]
        ),
    );
    let (bp50, bp99, _) = latency(&baseline, options.rate, options.latency_seconds).await?;
    let (p50, p99, n) = latency(&target, options.rate, options.latency_seconds).await?;
    w(
        out,
        format!(
            "latency at {} frames/s ({n} round trips): mock p50 {:.2} ms, p99 {:.2} ms (target p99 < 5 ms: {}); baseline p50 {:.2} ms, p99 {:.2} ms",
            options.rate,
            ms(p50),
            ms(p99),
            verdict(p99 < Duration::from_millis(5)),
            ms(bp50),
            ms(bp99)
        ),
    );
    // Memory: another process holds many sessions open on the mock, so the
    // figure is the server's own and each process stays within its
    // open-file limit.
    let (before, _) = rss_kib();
    let dir = tempfile::tempdir().map_err(setup("temp dir"))?;
    let cert_path = dir.path().join("cert.der");
    std::fs::write(&cert_path, cert_der).map_err(setup("cert"))?;
    let started = Instant::now();
    let exe = std::env::current_exe().map_err(setup("current exe"))?;
    let mut child = tokio::process::Command::new(exe)
        .args([
            "clients",
            "--addr",
            &target.addr.to_string(),
            "--count",
            &options.idle.to_string(),
        ])
        .arg("--cert")
        .arg(&cert_path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(setup("client process"))?;
    let mut lines = tokio::io::BufReader::new(
        child
            .stdout
            .take()
            .ok_or_else(|| BenchError::Setup("no stdout".into()))?,
    )
    .lines();
    let mut held = 0usize;
    let mut failed = None;
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(n) = line.strip_prefix("open ") {
            held = n.parse().unwrap_or(held);
            w(
                out,
                format!(
                    "  {held} sessions open ({:.0} s)",
                    started.elapsed().as_secs_f64()
                ),
            );
        } else if let Some(n) = line.strip_prefix("ready ") {
            held = n.parse().unwrap_or(held);
            break;
        } else if let Some(e) = line.strip_prefix("error ") {
            failed = Some(e.to_owned());
        }
    }
    let (after, peak) = rss_kib();
    let live = mock.sessions().iter().filter(|s| s.live).count();
    w(
        out,
        format!(
            "memory: {held} sessions open ({live} live on the mock), mock process RSS {:.0} MiB (peak {:.0} MiB, {:.1} KiB per session; target < 1024 MiB with 10000: {})",
            after as f64 / 1024.0,
            peak as f64 / 1024.0,
            after.saturating_sub(before) as f64 / held.max(1) as f64,
            verdict(peak < 1024 * 1024 && held >= 10_000)
        ),
    );
    if let Some(f) = failed {
        w(out, format!("  the client process stopped early: {f}"));
    }
    drop(child.stdin.take());
    let _ = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
    drop(dir);
    mock.shutdown().await;
    Ok(())
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

/// The client side of the memory phase, run as `jodo-bench clients`:
/// opens `count` sessions on the mock at `addr` (trusting the DER
/// certificate at `cert`), reports progress on stdout, and holds them until
/// stdin closes.
///
/// # Errors
/// [`BenchError`] when the certificate cannot be read.
pub async fn hold_sessions(
    addr: SocketAddr,
    cert: &std::path::Path,
    count: usize,
) -> Result<(), BenchError> {
    raise_fd_limit(count as u64 + 1024);
    let der = std::fs::read(cert).map_err(setup("cert"))?;
    let client = jodo_mock::tls::client_trusting(&der).map_err(setup("client tls"))?;
    let target = Target {
        addr,
        tls: client,
        mock: true,
    };
    let mut held = Vec::with_capacity(count);
    for i in 0..count {
        let opened = async {
            let mut s = target.open().await?;
            settle(&mut s, true).await?;
            Ok::<_, BenchError>(s)
        };
        match opened.await {
            Ok(s) => held.push(s),
            Err(e) => {
                println!("error session {i}: {e}");
                break;
            }
        }
        if (i + 1) % 2000 == 0 {
            println!("open {}", i + 1);
        }
    }
    println!("ready {}", held.len());
    let mut stdin = tokio::io::stdin();
    let mut sink = Vec::new();
    let _ = stdin.read_to_end(&mut sink).await;
    Ok(())
}
