//! The soak: many sessions over a long time, with the widget dropping its
//! connection and resuming, and the control API injecting faults, against
//! a mock writing transcripts. At the end every transcript is read back and
//! checked (each visitor message acknowledged, or lost with its channel),
//! and the memory after warm-up is compared with the memory at the end
//! (within 10 %, or the soak fails).
//!
//! `cargo run --release -p jodo-bench -- soak` (1 000 sessions over 10
//! minutes; `--sessions` and `--seconds` change it).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use jodo_contract::Contract;
use jodo_mock::{MockConfig, MockServer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{Socket, Target};
use crate::process::{raise_fd_limit, rss_kib};
use crate::{BenchError, setup};

/// How far the memory at the end may be from its level after warm-up: a
/// mock left running for hours must not grow with the sessions it served.
const RSS_TOLERANCE_PERCENT: f64 = 10.0;

/// What the soak does.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// Sessions, started at an even pace over the duration.
    pub sessions: usize,
    /// How long sessions keep starting.
    pub duration: Duration,
    /// Seed of every random choice.
    pub seed: u64,
}

/// What the sessions did, counted as they go.
#[derive(Debug, Default)]
struct Tally {
    messages: AtomicU64,
    acknowledged: AtomicU64,
    drops: AtomicU64,
    faults: AtomicU64,
    resumes: AtomicU64,
    retries: AtomicU64,
    failures: AtomicU64,
}

/// Runs the soak and prints its figures.
///
/// # Errors
/// [`BenchError`] when the mock cannot be set up, or a transcript is not
/// complete and consistent.
pub async fn soak(options: &SoakOptions, out: &mut dyn std::io::Write) -> Result<(), BenchError> {
    raise_fd_limit(8192);
    let dir = tempfile::tempdir().map_err(setup("transcript folder"))?;
    let schemas = Arc::new(Contract::embedded().map_err(setup("contract"))?);
    let config = MockConfig::local(schemas).map_err(setup("mock"))?;
    let tls = jodo_mock::tls::client_trusting(config.tls.certificate_der())
        .map_err(setup("client tls"))?;
    let mock = MockServer::start_local(MockConfig {
        gateway: crate::run::bench_gateway(),
        transcripts: Some(dir.path().to_path_buf()),
        ..config
    })
    .await
    .map_err(setup("mock"))?;
    let target = Arc::new(Target {
        addr: mock.addr(),
        tls,
        mock: true,
    });
    let tally = Arc::new(Tally::default());
    let _ = writeln!(
        out,
        "jodo-bench soak: {} sessions over {:?} (seed {}), transcripts in a temporary folder",
        options.sessions, options.duration, options.seed
    );
    let pace = options.duration / u32::try_from(options.sessions.max(1)).unwrap_or(u32::MAX);
    let started = Instant::now();
    let warm_up_at = options.sessions / 10;
    let mut warm_rss = 0;
    // Finished sessions are reaped as the soak goes: a task's memory stays
    // until it is joined, which would count the soak's own clients as the
    // mock's growth.
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..options.sessions {
        tokio::time::sleep_until((started + pace * u32::try_from(n).unwrap_or(0)).into()).await;
        if n == warm_up_at {
            warm_rss = rss_kib().0;
            let _ = writeln!(out, "  after warm-up ({n} sessions): rss {warm_rss} KiB");
        }
        if n > 0 && n % (options.sessions / 10).max(1) == 0 {
            let _ = writeln!(
                out,
                "  {n} sessions started, {:.0?}, rss {} KiB, {} tasks alive, {} sessions known",
                started.elapsed(),
                rss_kib().0,
                tokio::runtime::Handle::current()
                    .metrics()
                    .num_alive_tasks(),
                mock.sessions().len()
            );
        }
        let (target, tally) = (target.clone(), tally.clone());
        let seed = options.seed.wrapping_add(n as u64);
        while tasks.try_join_next().is_some() {}
        tasks.spawn(async move {
            let result = tokio::time::timeout(
                Duration::from_secs(120),
                visitor(&target, &tally, StdRng::seed_from_u64(seed)),
            )
            .await;
            let why = match result {
                Ok(Ok(())) => return,
                Ok(Err(e)) => e.to_string(),
                Err(_) => "no end within 120 s".to_owned(),
            };
            if tally.failures.fetch_add(1, Ordering::Relaxed) < 5 {
                eprintln!("  session {n} failed: {why}");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    // Parked conversations expire after their grace period; the memory
    // is read once they have.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let end_rss = rss_kib().0;
    mock.shutdown().await;
    let checked = check_transcripts(dir.path())?;
    let t = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "  {} sessions in {:.0?}: {} visitor messages, {} acknowledged, {} client drops, {} server faults, {} resumes ({} retried after 409), {} sessions failed",
        options.sessions,
        started.elapsed(),
        t(&tally.messages),
        t(&tally.acknowledged),
        t(&tally.drops),
        t(&tally.faults),
        t(&tally.resumes),
        t(&tally.retries),
        t(&tally.failures)
    );
    let _ = writeln!(
        out,
        "  transcripts: {} files, {} frames, {} visitor messages acknowledged, {} lost with their channel, 0 inconsistent",
        checked.files, checked.frames, checked.acknowledged, checked.lost
    );
    let change = (end_rss as f64 / warm_rss.max(1) as f64 - 1.0) * 100.0;
    let _ = writeln!(
        out,
        "  rss after warm-up {warm_rss} KiB, at the end {end_rss} KiB ({change:+.1} %; target within {RSS_TOLERANCE_PERCENT} %: {})",
        if change.abs() <= RSS_TOLERANCE_PERCENT {
            "met"
        } else {
            "missed"
        }
    );
    if change.abs() > RSS_TOLERANCE_PERCENT {
        return Err(BenchError::Setup(format!(
            "the mock's memory changed by {change:+.1} % between warm-up and the end"
        )));
    }
    if t(&tally.failures) > 0 {
        return Err(BenchError::Setup(format!(
            "{} sessions did not complete",
            t(&tally.failures)
        )));
    }
    Ok(())
}

/// One visitor: a session of a few messages, now and then dropping its
/// connection (or having the mock drop it) and resuming.
async fn visitor(target: &Target, tally: &Tally, mut rng: StdRng) -> Result<(), BenchError> {
    let origin = target.origin();
    let created = target.create_session(&origin).await?;
    let id = created["sessionid"].as_str().unwrap_or_default().to_owned();
    let url = created["websocket"].as_str().unwrap_or_default().to_owned();
    let mut socket = target.connect(&url).await?;
    let mut secret = welcome(&mut socket).await?;
    let messages = rng.random_range(3..8u64);
    let mut seq = 0;
    while seq < messages {
        seq += 1;
        let mid = format!("{id}-{seq}");
        let frame = json!({"kind": "chat.send", "seq": seq, "messageid": mid, "data": {"text": format!("soak message {seq}")}});
        socket
            .send(Message::text(frame.to_string()))
            .await
            .map_err(setup("send"))?;
        tally.messages.fetch_add(1, Ordering::Relaxed);
        let roll = rng.random_range(0..100);
        let dropped = if roll < 8 {
            // The widget's network goes: no close frame.
            tally.drops.fetch_add(1, Ordering::Relaxed);
            true
        } else if roll < 14 {
            // The mock drops the channel (a fault from the control API).
            tally.faults.fetch_add(1, Ordering::Relaxed);
            target
                .post(
                    &format!("/control/v1/sessions/{id}/faults"),
                    &origin,
                    "\"drop\"",
                )
                .await?;
            true
        } else {
            if until_ack(&mut socket, &mid).await? {
                tally.acknowledged.fetch_add(1, Ordering::Relaxed);
            }
            false
        };
        if dropped {
            drop(socket);
            tokio::time::sleep(Duration::from_millis(rng.random_range(10..300))).await;
            let resume = url
                .split_once('?')
                .map(|(base, _)| format!("{base}?resume={secret}"))
                .unwrap_or_default();
            socket = resume_channel(target, tally, &resume).await?;
            secret = welcome(&mut socket).await?;
            tally.resumes.fetch_add(1, Ordering::Relaxed);
            // The message sent before the drop may have been lost with it:
            // seq goes on from the server's count, which the welcome does
            // not say, so the next message skips a number at most.
        }
    }
    let end = json!({"kind": "session.end", "seq": seq + 1, "messageid": format!("{id}-end"), "data": {}});
    socket
        .send(Message::text(end.to_string()))
        .await
        .map_err(setup("send"))?;
    while let Some(Ok(message)) = socket.next().await {
        if matches!(message, Message::Close(_)) {
            break;
        }
    }
    Ok(())
}

/// Resumes as the reference widget does: a 409 means the mock has not yet
/// seen the old channel go (the wire README says to try again shortly), so
/// it retries every 100 ms for up to 5 s.
async fn resume_channel(target: &Target, tally: &Tally, url: &str) -> Result<Socket, BenchError> {
    use tokio_tungstenite::tungstenite::Error;
    for _ in 0..50 {
        match target.open_url(url).await {
            Ok(socket) => return Ok(socket),
            Err(Error::Http(answer)) if answer.status() == 409 => {
                tally.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(BenchError::Setup(format!("resume: {e}"))),
        }
    }
    Err(BenchError::Setup("resume: still 409 after 5 s".into()))
}

/// Reads up to the welcome; its resume secret.
async fn welcome(socket: &mut Socket) -> Result<String, BenchError> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let frame: Value = serde_json::from_str(&text).map_err(setup("frame"))?;
                if frame["kind"] == "welcome" {
                    return Ok(frame["data"]["resume"].as_str().unwrap_or_default().into());
                }
            }
            Some(Ok(_)) => {}
            other => return Err(BenchError::Setup(format!("no welcome: {other:?}"))),
        }
    }
}

/// Reads until the acknowledgement of `mid`; false if the channel ended.
async fn until_ack(socket: &mut Socket, mid: &str) -> Result<bool, BenchError> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let frame: Value = serde_json::from_str(&text).map_err(setup("frame"))?;
                if frame["data"]["refmessageid"] == mid {
                    return Ok(true);
                }
            }
            Some(Ok(_)) => {}
            _ => return Ok(false),
        }
    }
}

/// What the transcripts hold.
#[derive(Debug, Default)]
struct Checked {
    files: usize,
    frames: usize,
    acknowledged: usize,
    lost: usize,
}

/// Reads every transcript back: each line whole JSON, the mock's sequence
/// numbers rising without a repeat, and each visitor message acknowledged
/// or followed by the end of its channel (lost with it).
fn check_transcripts(dir: &Path) -> Result<Checked, BenchError> {
    let mut checked = Checked::default();
    let bad = |file: &Path, why: String| {
        BenchError::Setup(format!(
            "transcript {} is inconsistent: {why}",
            file.display()
        ))
    };
    for entry in std::fs::read_dir(dir).map_err(setup("transcripts"))? {
        let path = entry.map_err(setup("transcripts"))?.path();
        let text = std::fs::read_to_string(&path).map_err(setup("transcript"))?;
        if !text.is_empty() && !text.ends_with('\n') {
            return Err(bad(&path, "its last line is cut short".into()));
        }
        checked.files += 1;
        let mut last_out_seq = 0;
        let mut waiting: Vec<String> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            checked.frames += 1;
            let line: Value = serde_json::from_str(line)
                .map_err(|e| bad(&path, format!("line {}: {e}", n + 1)))?;
            let frame = &line["frame"];
            match (line["dir"].as_str(), frame["kind"].as_str()) {
                (Some("out"), Some(_)) => {
                    let seq = frame["seq"].as_u64().unwrap_or(0);
                    if seq <= last_out_seq {
                        return Err(bad(
                            &path,
                            format!("line {}: seq {seq} after {last_out_seq}", n + 1),
                        ));
                    }
                    last_out_seq = seq;
                    if let Some(acked) = frame["data"]["refmessageid"].as_str() {
                        if let Some(at) = waiting.iter().position(|m| m == acked) {
                            waiting.remove(at);
                            checked.acknowledged += 1;
                        }
                    }
                }
                (Some("in"), Some("chat.send")) => {
                    if let Some(mid) = frame["messageid"].as_str() {
                        waiting.push(mid.to_owned());
                    }
                }
                (Some(_), None)
                    if frame.get("dropped").is_some() || frame.get("close").is_some() =>
                {
                    // The channel ended: what it had not acknowledged yet
                    // is lost with it, and recorded so.
                    checked.lost += waiting.len();
                    waiting.clear();
                }
                _ => {}
            }
        }
        if !waiting.is_empty() {
            return Err(bad(
                &path,
                format!("{waiting:?} neither acknowledged nor recorded as lost"),
            ));
        }
    }
    Ok(checked)
}
