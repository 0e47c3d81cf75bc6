//! Benchmark: complete MFA flows per second over HTTP, and the server's CPU
//! per flow.
//!
//! The bench runs the sandbox utilities and the real server as two child
//! processes (this binary started again as `gridlink sandbox` and `gridlink
//! serve --demo`), so the server's CPU time is read alone from
//! `/proc/<pid>/stat`. Each flow is what an end-user does: the integrator
//! creates a Connect token, the end-user submits a login (`user_good+N`, its
//! own account at Sandbox Electric), Connect shows "Select your preferred
//! verification method", the end-user picks SMS, reads the code (from the
//! sandbox's outbox) and enters it, and the credential is connected. Each flow
//! comes from its own client address (X-Forwarded-For from a trusted proxy),
//! as end-users do.
//!
//! While Connect shows "Connecting", a flow reads the state with a read that
//! waits for the login to end, as Connect does; many run at once (512 by
//! default).
//!
//! Run: `cargo bench -p server --bench connect_flows` (add `-- --flows N`,
//! `-- --concurrency N`). Prints `BENCH mfa_flows_per_s`, `BENCH
//! mfa_flow_cpu_ms` (the server's CPU per flow), `BENCH
//! mfa_flow_sandbox_cpu_ms` and `BENCH mfa_flow_bench_cpu_ms` (the sandbox's
//! and the clients'), `BENCH mfa_flows_machine_limit_per_s` (what the cores
//! allow for that CPU) and `BENCH health_trip_cpu_ms`, then how long a flow
//! and each of its requests took; the report is in `docs/benchmarks.md`.

#[path = "support/processes.rs"]
mod processes;
mod support;

use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use processes::{free_port, wait_until_up};
use serde_json::{json, Value};
use server::app::cli::{Cli, Command};
use server::app::config::{SandboxConfig, ServeConfig};

/// Set in the children: run the `gridlink` command line that follows.
const CHILD: &str = "GRIDLINK_BENCH_CHILD";
const UTILITY: &str = "sandbox-electric";
const PASSWORD: &str = "connect-flows-bench-password";
const HEALTH_TRIPS: usize = 3000;
/// How long Connect's read of the state waits while it shows "Connecting with
/// your utility" (`app/src/pages/connect/flow.rs`).
const CONNECT_WAIT_SECONDS: u64 = 20;
/// Connect asks again at most this often while the answer is still "Connecting".
const CONNECT_ASKS_AGAIN: Duration = Duration::from_secs(1);

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if std::env::var_os(CHILD).is_some() {
        return runtime.block_on(child());
    }
    runtime.block_on(parent())
}

/// A child: `gridlink serve …` or `gridlink sandbox …`, until killed.
async fn child() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args()
        .skip_while(|arg| arg != "gridlink")
        .collect();
    tracing_subscriber::fmt()
        // RUST_LOG=info,sqlx::query=debug counts the statements a flow runs.
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let shutdown = tokio_util::sync::CancellationToken::new();
    match Cli::parse_from(argv).into_command() {
        Command::Serve(args) => {
            let config = ServeConfig::from_args(&args)?;
            server::app::server::start(config, shutdown)
                .await?
                .wait()
                .await
        }
        Command::Sandbox(args) => {
            let config = SandboxConfig::from_args(&args)?;
            let listener = tokio::net::TcpListener::bind(config.listen).await?;
            let smtp = tokio::net::TcpListener::bind(config.smtp_listen).await?;
            let sandbox = server::tools::sandbox::Sandbox::with_options(config.options);
            server::tools::sandbox::serve_all(listener, smtp, shutdown, sandbox).await
        }
        _ => anyhow::bail!("the bench starts only serve and sandbox"),
    }
}

/// Starts this binary again as `gridlink <args>`, its log in `log`.
fn spawn_child(args: &[String], log: &std::path::Path) -> anyhow::Result<Child> {
    let log = std::fs::File::create(log)?;
    Ok(Process::new(std::env::current_exe()?)
        .env(CHILD, "1")
        .arg("gridlink")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?)
}

/// The processes whose CPU a flow costs: the server, the sandbox utility and
/// this bench (its clients).
#[derive(Debug, Clone, Copy)]
struct Processes {
    server: u32,
    sandbox: u32,
    bench: u32,
}

impl Processes {
    /// CPU time so far of the server, the sandbox and the bench, in that order.
    fn cpu_ms(&self) -> anyhow::Result<[f64; 3]> {
        Ok([
            cpu_ms(self.server)?,
            cpu_ms(self.sandbox)?,
            cpu_ms(self.bench)?,
        ])
    }
}

/// The CPU time (user and system) a process used so far, in milliseconds.
fn cpu_ms(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .context("no command name in /proc/pid/stat")?
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    // Linux reports CPU time in USER_HZ, 100 per second.
    Ok(ticks * 10.0)
}

/// What every flow needs: the server, the sandbox and the integrator's key.
#[derive(Clone)]
struct Target {
    client: reqwest::Client,
    base: String,
    sandbox: String,
    api_key: String,
}

async fn json_of(response: reqwest::Response, what: &str) -> anyhow::Result<Value> {
    let status = response.status();
    let body: Value = response.json().await?;
    anyhow::ensure!(status.is_success(), "{what}: {status} {body}");
    Ok(body)
}

/// How long one flow took, and how long of that Connect showed "Connecting".
#[derive(Debug, Clone, Copy, Default)]
struct FlowTimes {
    total: Duration,
    /// Each step's request: the Connect token, the login, the method, the
    /// outbox read, the code.
    steps: [Duration; 5],
    connecting: Duration,
    /// Reads of the state while connecting (each waits for the login to end).
    state_reads: u32,
}

impl std::ops::AddAssign for FlowTimes {
    fn add_assign(&mut self, other: FlowTimes) {
        self.total += other.total;
        for (step, other) in self.steps.iter_mut().zip(other.steps) {
            *step += other;
        }
        self.connecting += other.connecting;
        self.state_reads += other.state_reads;
    }
}

/// Times each step's request.
struct Steps {
    times: [Duration; 5],
    started: Instant,
}

impl Steps {
    fn start() -> Steps {
        Steps {
            times: [Duration::ZERO; 5],
            started: Instant::now(),
        }
    }

    fn done(&mut self, step: usize) {
        self.times[step] = self.started.elapsed();
        self.restart();
    }

    fn restart(&mut self) {
        self.started = Instant::now();
    }
}

/// One end-user's whole Connect flow, from its own address.
async fn flow(target: &Target, index: usize) -> anyhow::Result<FlowTimes> {
    let flow_started = Instant::now();
    let mut steps = Steps::start();
    let client = &target.client;
    // A /64 of its own: IPv6 clients are limited per /64.
    let from = format!("2001:db8:{:x}:{:x}::1", index >> 16, index & 0xffff);
    let token = json_of(
        client
            .post(format!("{}/api/v1/connect-tokens", target.base))
            .bearer_auth(&target.api_key)
            .header("x-forwarded-for", &from)
            .json(&json!({"utilityId": UTILITY}))
            .send()
            .await?,
        "connect token",
    )
    .await?;
    steps.done(0);
    let token = token["token"].as_str().context("a token")?.to_owned();
    let connect = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{}/api/connect/{path}", target.base))
            .bearer_auth(&token)
            .header("x-forwarded-for", &from)
    };
    let username = format!("user_good+{index}");
    json_of(
        connect(reqwest::Method::POST, "credentials")
            .json(&json!({"utilityId": UTILITY, "username": username, "password": "pass_good", "acceptedTerms": true}))
            .send()
            .await?,
        "login",
    )
    .await?;
    steps.done(1);
    // "Connecting with your utility", until the method choice shows: as
    // Connect does, a read that waits for the login to end, asked again (at
    // most once a second) while the answer is still "Connecting".
    let started = Instant::now();
    let mut state_reads = 0;
    loop {
        state_reads += 1;
        let asked = Instant::now();
        let state = json_of(
            connect(reqwest::Method::GET, "session")
                .query(&[("waitSeconds", CONNECT_WAIT_SECONDS)])
                .send()
                .await?,
            "session",
        )
        .await?;
        if state["step"] == "CHOOSE_METHOD" {
            break;
        }
        anyhow::ensure!(
            state["step"] == "CONNECTING" && started.elapsed() < Duration::from_secs(60),
            "flow {index} stopped at {state}"
        );
        tokio::time::sleep_until((asked + CONNECT_ASKS_AGAIN).into()).await;
    }
    let connecting = started.elapsed();
    steps.restart();
    json_of(
        connect(reqwest::Method::POST, "mfa/method")
            .json(&json!({"method": "SMS"}))
            .send()
            .await?,
        "method",
    )
    .await?;
    steps.done(2);
    let outbox: Vec<Value> = client
        .get(format!("{}/api/outbox", target.sandbox))
        .query(&[("utility", UTILITY), ("username", username.as_str())])
        .send()
        .await?
        .json()
        .await?;
    let code = outbox
        .first()
        .and_then(|entry| entry["code"].as_str())
        .context("a code in the outbox")?
        .to_owned();
    steps.done(3);
    let done = json_of(
        connect(reqwest::Method::POST, "mfa/code")
            .json(&json!({"code": code}))
            .send()
            .await?,
        "code",
    )
    .await?;
    steps.done(4);
    anyhow::ensure!(done["step"] == "SUCCESS", "flow {index} ended at {done}");
    Ok(FlowTimes {
        total: flow_started.elapsed(),
        steps: steps.times,
        connecting,
        state_reads,
    })
}

/// Runs `count` flows, `concurrency` at a time, numbered from `first`.
async fn flows(
    target: &Target,
    first: usize,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<FlowTimes> {
    let mut running = tokio::task::JoinSet::new();
    let mut times = FlowTimes::default();
    for index in first..first + count {
        if running.len() >= concurrency {
            times += running.join_next().await.expect("a flow")??;
        }
        let target = target.clone();
        running.spawn(async move { flow(&target, index).await });
    }
    while let Some(done) = running.join_next().await {
        times += done??;
    }
    Ok(times)
}

async fn health_trips(target: &Target, count: usize, concurrency: usize) -> anyhow::Result<()> {
    let mut running = tokio::task::JoinSet::new();
    for _ in 0..count {
        if running.len() >= concurrency {
            running.join_next().await.expect("a trip")??;
        }
        let target = target.clone();
        running.spawn(async move {
            target
                .client
                .get(format!("{}/api/health", target.base))
                .send()
                .await?
                .error_for_status()?;
            anyhow::Ok(())
        });
    }
    while let Some(done) = running.join_next().await {
        done??;
    }
    Ok(())
}

async fn parent() -> anyhow::Result<()> {
    let count: usize = support::option("--flows").map_or(Ok(6000), |n| n.parse())?;
    // Each flow waits about a second for Connect's poll: many end-users at once.
    let concurrency: usize = support::option("--concurrency").map_or(Ok(512), |n| n.parse())?;
    let dir = std::env::temp_dir().join(format!("gridlink-flows-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (sandbox_port, server_port) = (free_port()?, free_port()?);
    let sandbox_url = format!("http://127.0.0.1:{sandbox_port}");
    let base = format!("http://127.0.0.1:{server_port}");
    let mut sandbox = spawn_child(
        &[
            "sandbox".into(),
            format!("--sandbox-listen=127.0.0.1:{sandbox_port}"),
            "--sandbox-smtp-listen=127.0.0.1:0".into(),
        ],
        &dir.join("sandbox.log"),
    )?;
    let mut server = spawn_child(
        &[
            "serve".into(),
            "--demo".into(),
            format!("--listen=127.0.0.1:{server_port}"),
            format!("--utility-url={sandbox_url}"),
            format!("--data-dir={}", dir.display()),
            format!("--static-dir={}", dir.join("no-web-app").display()),
            format!("--demo-password={PASSWORD}"),
            "--trusted-proxies=127.0.0.1/32".into(),
        ],
        &dir.join("server.log"),
    )?;
    let processes = Processes {
        server: server.id(),
        sandbox: sandbox.id(),
        bench: std::process::id(),
    };
    let outcome = measure(&base, &sandbox_url, processes, count, concurrency).await;
    server.kill().ok();
    sandbox.kill().ok();
    server.wait().ok();
    sandbox.wait().ok();
    // Logs asked for with RUST_LOG are kept to be read.
    if outcome.is_ok() && std::env::var_os("RUST_LOG").is_none() {
        std::fs::remove_dir_all(&dir)?;
    } else {
        eprintln!("logs kept in {}", dir.display());
    }
    outcome
}

async fn measure(
    base: &str,
    sandbox: &str,
    processes: Processes,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    wait_until_up(&client, &format!("{sandbox}/api/utilities")).await?;
    wait_until_up(&client, &format!("{base}/api/health")).await?;
    let signed_in = client
        .post(format!("{base}/api/session"))
        .json(&json!({"email": "demo@example.com", "password": PASSWORD}))
        .send()
        .await?;
    let cookie = signed_in
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("gridlink_session="))
        .and_then(|value| value.split(';').next())
        .context("a session cookie")?
        .to_owned();
    let session = json_of(signed_in, "sign in").await?;
    let csrf = session["csrfToken"].as_str().context("a CSRF token")?;
    let key = json_of(
        client
            .post(format!("{base}/api/v1/api-keys"))
            .header(reqwest::header::COOKIE, cookie)
            .header("x-csrf-token", csrf)
            .json(&json!({"name": "connect flows bench"}))
            .send()
            .await?,
        "API key",
    )
    .await?;
    let target = Target {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()?,
        base: base.to_owned(),
        sandbox: sandbox.to_owned(),
        api_key: key["secret"].as_str().context("a key")?.to_owned(),
    };

    eprintln!("Warming up with 200 flows…");
    flows(&target, 0, 200, concurrency).await?;

    let cpu_before = cpu_ms(processes.server)?;
    health_trips(&target, HEALTH_TRIPS, concurrency).await?;
    let health_trip_cpu_ms = (cpu_ms(processes.server)? - cpu_before) / HEALTH_TRIPS as f64;

    eprintln!("{count} MFA flows, {concurrency} at a time…");
    let before = processes.cpu_ms()?;
    let started = Instant::now();
    let times = flows(&target, 200, count, concurrency).await?;
    let wall = started.elapsed();
    let after = processes.cpu_ms()?;
    let per_flow = |process: usize| (after[process] - before[process]) / count as f64;
    let (flow_cpu_ms, sandbox_cpu_ms, bench_cpu_ms) = (per_flow(0), per_flow(1), per_flow(2));
    let per_s = count as f64 / wall.as_secs_f64();
    // What the machine allows when every process's CPU per flow is paid on its cores.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let machine_limit = cores * 1000.0 / (flow_cpu_ms + sandbox_cpu_ms + bench_cpu_ms);

    println!("\n## Complete MFA flows: {count} over HTTP, {concurrency} at a time\n");
    println!(
        "| flows/s | wall s | server CPU per flow (ms) | sandbox | bench clients | flows/s the {cores} cores allow | server CPU per /api/health (ms) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    println!(
        "| {per_s:.0} | {:.1} | {flow_cpu_ms:.2} | {sandbox_cpu_ms:.2} | {bench_cpu_ms:.2} | {machine_limit:.0} | {health_trip_cpu_ms:.3} |",
        wall.as_secs_f64()
    );
    let mean = |total: Duration| total.as_secs_f64() / count as f64;
    println!(
        "\nA flow took {:.2} s on average, {:.2} s of it on \"Connecting\" ({:.2} reads of the state).",
        mean(times.total),
        mean(times.connecting),
        f64::from(times.state_reads) / count as f64
    );
    println!(
        "Its requests took on average: Connect token {:.3} s, login {:.3} s, method {:.3} s, \
         outbox {:.3} s, code {:.3} s.",
        mean(times.steps[0]),
        mean(times.steps[1]),
        mean(times.steps[2]),
        mean(times.steps[3]),
        mean(times.steps[4])
    );
    println!("BENCH mfa_flows_per_s {per_s:.1}");
    println!("BENCH mfa_flow_cpu_ms {flow_cpu_ms:.3}");
    println!("BENCH mfa_flow_sandbox_cpu_ms {sandbox_cpu_ms:.3}");
    println!("BENCH mfa_flow_bench_cpu_ms {bench_cpu_ms:.3}");
    println!("BENCH mfa_flows_machine_limit_per_s {machine_limit:.1}");
    println!("BENCH health_trip_cpu_ms {health_trip_cpu_ms:.4}");
    Ok(())
}
