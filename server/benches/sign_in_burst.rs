//! Benchmark: 200 sign-ins at once against a real `gridlink serve` process,
//! each from its own client (through a trusted proxy's `X-Forwarded-For`, so
//! the per-client limits do not thin the burst). Password hashing runs under
//! a semaphore of one permit per core, so the burst costs a few Argon2
//! buffers (~19 MiB each), not two hundred.
//!
//! Run: `cargo bench -p server --bench sign_in_burst` (`-- --requests N` for
//! another size). Prints the server's resident memory before the burst and
//! its peak during it; the report is in `docs/benchmarks.md`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Debug, Parser)]
struct Options {
    /// Sign-ins sent at once.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    // `cargo bench` passes `--bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

fn memory_kib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|value| {
                    value
                        .trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<f64>()
                        .ok()
                })
        })
        .unwrap_or(f64::NAN)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let data_dir =
        std::env::temp_dir().join(format!("gridlink-bench-sign-in-{}", std::process::id()));
    let (port, sandbox_port) = (free_port(), free_port());
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_gridlink"))
        .args([
            "serve",
            "--demo",
            "--demo-password=bench-password-123",
            "--trusted-proxies=127.0.0.1",
            &format!("--listen=127.0.0.1:{port}"),
            &format!("--sandbox-listen=127.0.0.1:{sandbox_port}"),
            "--sandbox-smtp-listen=127.0.0.1:0",
            &format!("--data-dir={}", data_dir.display()),
            "--static-dir=/nonexistent",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = server.id();
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client
        .get(format!("{base}/api/health"))
        .send()
        .await
        .is_err()
    {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // One sign-in first, so the server's lazily built pieces are in place.
    client
        .post(format!("{base}/api/session"))
        .json(&serde_json::json!({"email": "demo@example.com", "password": "bench-password-123"}))
        .send()
        .await?;
    let before_mib = memory_kib(pid, "VmRSS:") / 1024.0;

    let burst_started = Instant::now();
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..options.requests {
        let (client, base) = (client.clone(), base.clone());
        requests.spawn(async move {
            client
                .post(format!("{base}/api/session"))
                .header("x-forwarded-for", format!("198.18.{}.{}", n / 250, n % 250 + 1))
                .json(&serde_json::json!({"email": format!("nobody{n}@example.com"), "password": "a wrong password"}))
                .send()
                .await
                .map(|response| response.status().as_u16())
        });
    }
    let (mut checked, mut told_to_retry, mut other) = (0, 0, 0);
    while let Some(outcome) = requests.join_next().await {
        match outcome? {
            Ok(401) => checked += 1,
            Ok(429) => told_to_retry += 1,
            _ => other += 1,
        }
    }
    let seconds = burst_started.elapsed().as_secs_f64();
    let peak_mib = memory_kib(pid, "VmHWM:") / 1024.0;
    server.kill().ok();
    server.wait().ok();
    std::fs::remove_dir_all(&data_dir).ok();

    println!(
        "{} sign-ins at once against gridlink serve (SQLite, demo mode)",
        options.requests
    );
    println!("  checked (401): {checked}, told to retry (429): {told_to_retry}, other: {other}");
    println!("  resident memory before: {before_mib:.1} MiB, peak: {peak_mib:.1} MiB");
    println!("  the burst took {seconds:.2} s");
    println!(
        "BENCH sign_in_burst_extra_memory_mib {:.1}",
        peak_mib - before_mib
    );
    println!("BENCH sign_in_burst_peak_memory_mib {peak_mib:.1}");
    println!("BENCH sign_in_burst_seconds {seconds:.2}");
    println!("BENCH sign_in_burst_checked {checked}");
    anyhow::ensure!(other == 0, "{other} sign-ins failed otherwise");
    Ok(())
}
