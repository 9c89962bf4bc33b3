//! `jodo-mock bench`: load on loopback, with a baseline measured in the
//! same run, because this machine is noisy.
//!
//! The baseline is a bare tokio-tungstenite server behind the same rustls
//! configuration that answers every text frame with four canned frames:
//! the very four the mock's chat scenario sent for a sample message, so
//! both servers put the same number of frames and bytes on the wire.
//! The ratio therefore isolates the mock's own work (schema checks,
//! sequence and replay tracking, the scenario engine, templating,
//! transcripts). The mock runs the `allocated` scenario with its delays
//! removed, so both sides are measured at full speed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use jodo_contract::SchemaSet;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::gateway::{Gateway, KeyPair, Limits};
use crate::pages::WidgetBuild;
use crate::scenario::model::{Action, Scenario};
use crate::tls::TlsIdentity;
use crate::{MockConfig, MockServer};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Server frames per visitor chat message in the benchmarked scenario.
const REPLIES: usize = 4;

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

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            sessions: 100,
            messages: 100,
            rounds: 31,
            rate: 5000,
            latency_seconds: 5,
            idle: 10_000,
        }
    }
}

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Setting up a server or a client failed.
    #[error("{0}")]
    Setup(String),
}

fn setup<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> BenchError + '_ {
    move |e| BenchError::Setup(format!("{what}: {e}"))
}

/// The same small read buffer the mock uses, for the clients and the baseline.
fn small_buffers() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(4096)
}

/// Round-trip latencies, for percentiles.
#[derive(Debug, Default)]
struct Latencies(Vec<Duration>);

impl Latencies {
    fn percentile(&mut self, p: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        self.0.sort_unstable();
        let i = ((self.0.len() as f64 - 1.0) * p).round() as usize;
        self.0[i]
    }
}

/// Where clients connect, and how.
struct Target {
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    /// Mock: create a session first. Baseline: connect straight away.
    mock: bool,
}

impl Target {
    /// Opens a session, giving up after 10 s (a benchmark must never hang).
    async fn open(&self) -> Result<Socket, BenchError> {
        tokio::time::timeout(Duration::from_secs(10), self.open_unbounded())
            .await
            .map_err(|_| BenchError::Setup("opening a session took over 10 s".into()))?
    }

    async fn open_unbounded(&self) -> Result<Socket, BenchError> {
        let origin = format!("https://{}", self.addr);
        let url = if self.mock {
            let created = self.create_session(&origin).await?;
            created["websocket"].as_str().unwrap_or_default().to_owned()
        } else {
            format!("wss://{}/", self.addr)
        };
        let mut request = url.into_client_request().map_err(setup("request"))?;
        request.headers_mut().insert(
            "Origin",
            HeaderValue::from_str(&origin).map_err(setup("origin"))?,
        );
        let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(small_buffers()),
            true,
            Some(Connector::Rustls(self.tls.clone())),
        )
        .await
        .map_err(setup("websocket"))?;
        Ok(socket)
    }

    async fn create_session(&self, origin: &str) -> Result<Value, BenchError> {
        let tcp = TcpStream::connect(self.addr)
            .await
            .map_err(setup("connect"))?;
        tcp.set_nodelay(true).ok();
        let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").map_err(setup("name"))?;
        let mut tls = connector.connect(name, tcp).await.map_err(setup("tls"))?;
        let body = json!({"akey": "bench-akey", "skey": "bench-skey"}).to_string();
        let request = format!(
            "POST /jodowidgetapi/v2/sessions HTTP/1.1\r\nHost: {}\r\nOrigin: {origin}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        tls.write_all(request.as_bytes())
            .await
            .map_err(setup("write"))?;
        let mut raw = Vec::new();
        let _ = tls.read_to_end(&mut raw).await;
        let text = String::from_utf8_lossy(&raw);
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
        serde_json::from_str(body)
            .map_err(|e| BenchError::Setup(format!("session API answered {text:.120}: {e}")))
    }
}

/// Reads until the welcome and the allocation have arrived (mock only).
async fn settle(socket: &mut Socket, mock: bool) -> Result<(), BenchError> {
    if mock {
        for _ in 0..2 {
            socket
                .next()
                .await
                .ok_or_else(|| BenchError::Setup("channel closed at start".into()))?
                .map_err(setup("read"))?;
        }
    }
    Ok(())
}

/// One visitor message and its four answers; returns the round trip.
async fn round_trip(socket: &mut Socket, seq: u64) -> Result<Duration, BenchError> {
    let frame = json!({"kind": "chat.send", "seq": seq, "messageid": format!("b{seq}"), "data": {"text": "benchmark message"}});
    let started = Instant::now();
    socket
        .send(Message::text(frame.to_string()))
        .await
        .map_err(setup("send"))?;
    for _ in 0..REPLIES {
        match socket.next().await {
            Some(Ok(Message::Text(_))) => {}
            other => {
                return Err(BenchError::Setup(format!(
                    "expected a reply, got {other:?}"
                )));
            }
        }
    }
    Ok(started.elapsed())
}

/// Sessions opened once and loaded round after round: a round measures the
/// exchange alone, not session set-up, so rounds can be short and many,
/// and the mock is measured in its steady state (transcripts at their
/// budget, replay memory grown), as a long chat would find it.
struct Load {
    sockets: Vec<Socket>,
    /// seq of the next message each session sends.
    next_seq: u64,
}

impl Load {
    async fn open(target: &Target, sessions: usize) -> Result<Self, BenchError> {
        let mut sockets = Vec::with_capacity(sessions);
        for _ in 0..sessions {
            let mut s = target.open().await?;
            settle(&mut s, target.mock).await?;
            sockets.push(s);
        }
        Ok(Self {
            sockets,
            next_seq: 1,
        })
    }

    /// Throughput: every session sends `messages` messages as fast as the
    /// answers come. Returns frames per second (both directions).
    async fn round(&mut self, messages: usize) -> Result<Rate, BenchError> {
        let first = self.next_seq;
        self.next_seq += messages as u64;
        let sessions = self.sockets.len();
        let started = Instant::now();
        let cpu_before = cpu_time();
        let tasks: Vec<_> = self
            .sockets
            .drain(..)
            .map(|mut s| {
                tokio::spawn(async move {
                    for seq in first..first + messages as u64 {
                        round_trip(&mut s, seq).await?;
                    }
                    Ok::<_, BenchError>(s)
                })
            })
            .collect();
        for t in tasks {
            self.sockets.push(t.await.map_err(setup("task"))??);
        }
        let frames = (sessions * messages * (1 + REPLIES)) as f64;
        let cpu = cpu_time().saturating_sub(cpu_before);
        Ok(Rate {
            per_second: frames / started.elapsed().as_secs_f64(),
            cpu_per_frame: cpu / (frames as u32).max(1),
        })
    }
}

/// One throughput measurement.
#[derive(Debug, Clone, Copy)]
struct Rate {
    /// Frames per second of wall time.
    per_second: f64,
    /// CPU time of the whole process (clients included) per frame: steadier
    /// than wall time on a shared machine, since time other tenants take
    /// is not counted.
    cpu_per_frame: Duration,
}

/// User + system CPU time this process has used.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Latency at a fixed offered load: `rate` frames per second in total,
/// spread over 50 sessions, each pacing its messages.
async fn latency(
    target: &Target,
    rate: u32,
    seconds: u64,
) -> Result<(Duration, Duration, usize), BenchError> {
    let sessions = 50usize;
    let per_session = f64::from(rate) / (1 + REPLIES) as f64 / sessions as f64;
    let interval = Duration::from_secs_f64(1.0 / per_session);
    let count = (per_session * seconds as f64).ceil() as u64;
    let mut tasks = Vec::new();
    for i in 0..sessions {
        let mut s = target.open().await?;
        settle(&mut s, target.mock).await?;
        tasks.push(tokio::spawn(async move {
            // Spread the sessions' ticks over one interval.
            tokio::time::sleep(interval.mul_f64(i as f64 / sessions as f64)).await;
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut times = Vec::new();
            for seq in 1..=count {
                ticker.tick().await;
                times.push(round_trip(&mut s, seq).await?);
            }
            Ok::<_, BenchError>(times)
        }));
    }
    let mut all = Latencies::default();
    for t in tasks {
        all.0.extend(t.await.map_err(setup("task"))??);
    }
    let n = all.0.len();
    Ok((all.percentile(0.50), all.percentile(0.99), n))
}

/// Resident memory now and at peak, in KiB, from /proc.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Raises the open-file limit as far as allowed; returns the new soft limit.
fn raise_fd_limit(wanted: u64) -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < wanted {
            let raised = libc::rlimit {
                rlim_cur: wanted,
                rlim_max: lim.rlim_max.max(wanted),
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return wanted;
            }
            let soft_only = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &soft_only) == 0 {
                return lim.rlim_max;
            }
        }
        lim.rlim_cur
    }
}

/// What the mock answers one visitor message with, captured on a session
/// of its own, for the baseline to answer with the same bytes.
async fn sample_replies(mock: &Target) -> Result<Arc<[Message]>, BenchError> {
    let mut socket = mock.open().await?;
    settle(&mut socket, true).await?;
    let frame = json!({"kind": "chat.send", "seq": 1, "messageid": "sample", "data": {"text": "benchmark message"}});
    socket
        .send(Message::text(frame.to_string()))
        .await
        .map_err(setup("send"))?;
    let mut replies = Vec::with_capacity(REPLIES);
    while replies.len() < REPLIES {
        match socket.next().await {
            Some(Ok(reply @ Message::Text(_))) => replies.push(reply),
            other => {
                return Err(BenchError::Setup(format!(
                    "expected a reply to the sample message, got {other:?}"
                )));
            }
        }
    }
    let _ = socket.close(None).await;
    Ok(replies.into())
}

/// The baseline: TLS + WebSocket, each text frame answered with `replies`.
async fn start_baseline(
    tls: Arc<rustls::ServerConfig>,
    replies: Arc<[Message]>,
) -> Result<SocketAddr, BenchError> {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(setup("bind"))?;
    let addr = listener.local_addr().map_err(setup("addr"))?;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let replies = replies.clone();
            tokio::spawn(async move {
                tcp.set_nodelay(true).ok();
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut ws) =
                    tokio_tungstenite::accept_async_with_config(tls, Some(small_buffers())).await
                else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if let Message::Text(_) = message {
                        // Queued, then written at once, as the mock writes a burst.
                        for reply in replies.iter() {
                            if ws.feed(reply.clone()).await.is_err() {
                                return;
                            }
                        }
                        if ws.flush().await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    Ok(addr)
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
    let schemas = Arc::new(SchemaSet::embedded().map_err(setup("contract"))?);
    let scenario = crate::scenario::load("allocated", &schemas).map_err(setup("scenario"))?;
    let identity = TlsIdentity::self_signed().map_err(setup("tls"))?;
    let cert_der = identity.certificate_der().to_vec();
    let client = crate::tls::client_trusting(&cert_der).map_err(setup("client tls"))?;
    let baseline_tls = identity.server_config().map_err(setup("tls"))?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(setup("bind"))?;
    let mock = MockServer::start(
        MockConfig {
            schemas,
            scenario: Arc::new(undelayed((*scenario).clone())),
            widget: WidgetBuild::reference(),
            gateway: Gateway::new(
                vec![KeyPair {
                    akey: "bench-akey".into(),
                    skey: "bench-skey".into(),
                    limits: Limits::unlimited(),
                }],
                Vec::new(),
            ),
            tls: identity,
            transcripts: None,
        },
        listener,
    )
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
            "jodo-mock bench: {} sessions x {} messages, latency at {} frames/s for {} s, {} idle sessions (open-file limit {fd_limit})",
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
    let dir = tempfile_dir().map_err(setup("temp dir"))?;
    let cert_path = dir.join("cert.der");
    std::fs::write(&cert_path, cert_der).map_err(setup("cert"))?;
    let started = Instant::now();
    let exe = std::env::current_exe().map_err(setup("current exe"))?;
    let mut child = tokio::process::Command::new(exe)
        .args([
            "bench-clients",
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
    let live = mock
        .state()
        .sessions
        .list()
        .iter()
        .filter(|s| s.live)
        .count();
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
    let _ = std::fs::remove_dir_all(&dir);
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

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("jodo-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The client side of the memory phase, run as `jodo-mock bench-clients`:
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
    let client = crate::tls::client_trusting(&der).map_err(setup("client tls"))?;
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
