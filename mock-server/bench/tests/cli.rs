//! The benchmark runs end to end at a tiny size and reports every figure.
//! (Its numbers are judged by people reading them, not by this test.)

use std::process::Command;

#[test]
fn bench_runs_and_reports_each_figure() {
    let out = Command::new(env!("CARGO_BIN_EXE_jodo-bench"))
        .args([
            "--sessions",
            "2",
            "--messages",
            "3",
            "--rounds",
            "1",
            "--rate",
            "200",
            "--latency-seconds",
            "1",
            "--idle",
            "20",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("throughput round 1/1: baseline"), "{text}");
    assert!(text.contains("throughput: median round baseline"), "{text}");
    assert!(text.contains("CPU-time ratio"), "{text}");
    assert!(text.contains("latency at 200 frames/s"), "{text}");
    assert!(
        text.contains("memory: 20 sessions open (20 live on the mock)"),
        "{text}"
    );
}
