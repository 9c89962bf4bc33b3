//! The throughput and latency phases.

use std::time::{Duration, Instant};

use crate::client::{REPLIES, Socket, Target, round_trip, settle};
use crate::process::cpu_time;
use crate::{BenchError, setup};

/// Sessions opened once and loaded round after round: a round measures the
/// exchange alone, not session set-up, so rounds can be short and many,
/// and the mock is measured in its steady state (transcripts at their
/// budget, replay memory grown), as a long chat would find it.
pub struct Load {
    sockets: Vec<Socket>,
    /// seq of the next message each session sends.
    next_seq: u64,
}

impl Load {
    /// Opens `sessions` sessions on `target`.
    pub async fn open(target: &Target, sessions: usize) -> Result<Self, BenchError> {
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
    pub async fn round(&mut self, messages: usize) -> Result<Rate, BenchError> {
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
pub struct Rate {
    /// Frames per second of wall time.
    pub per_second: f64,
    /// CPU time of the whole process (clients included) per frame: steadier
    /// than wall time on a shared machine, since time other tenants take
    /// is not counted.
    pub cpu_per_frame: Duration,
}

/// Latency at a fixed offered load: `rate` frames per second in total,
/// spread over 50 sessions, each pacing its messages.
pub async fn latency(
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
    // Microseconds from 1 us to 60 s, three significant figures.
    let mut all = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
        .map_err(setup("histogram"))?;
    for t in tasks {
        for d in t.await.map_err(setup("task"))?? {
            all.saturating_record(u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1));
        }
    }
    let at = |q: f64| Duration::from_micros(all.value_at_quantile(q));
    let n = usize::try_from(all.len()).unwrap_or(usize::MAX);
    Ok((at(0.50), at(0.99), n))
}
