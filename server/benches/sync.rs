//! Benchmark: syncing 10,000 connected credentials against the sandbox
//! utilities over HTTP, through the real sync job (claims with leases, reads
//! accounts and statements, stores them, records events).
//!
//! Run: `cargo bench -p server --bench sync` (add `-- --credentials N` for
//! another size, `-- --database postgres://…` for PostgreSQL). The report is
//! in `docs/benchmarks.md`.

use std::time::{Duration, Instant};

use clap::Parser;
use server::cli::{Cli, Command};
use server::config::ServeConfig;
use server::credentials::secrets::{seal_password, seal_token};
use server::crypto::MasterKey;
use server::jobs::Schedule;
use server::state::AppState;
use server::utility::LoginOutcome;
use shared::validation::{Password, Username};
use tokio_util::sync::CancellationToken;

const UTILITY: &str = "sandbox-water";

/// Peak resident memory of this process (the server, the sandbox and the bench), in MiB.
fn peak_memory_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| {
                    value
                        .trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<f64>()
                        .ok()
                })
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// Logs `count` credentials in at the sandbox and stores them connected, not yet synced.
async fn connected_credentials(state: &AppState, count: usize) -> anyhow::Result<()> {
    let now = state.clock.now_ms();
    sqlx::query(
        "INSERT INTO organisations (id, name, created_at) VALUES ('org_bench', 'Bench', $1)",
    )
    .bind(now)
    .execute(state.db.pool())
    .await?;
    let username = Username::parse("user_nomfa").map_err(|e| anyhow::anyhow!("{e}"))?;
    let password = Password::parse("pass_good").map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut logins = tokio::task::JoinSet::new();
    let mut done = 0;
    for index in 0..count {
        let (state, username, password) = (state.clone(), username.clone(), password.clone());
        logins.spawn(async move {
            let LoginOutcome::Authenticated(session) =
                state.utility.login(UTILITY, &username, &password).await?
            else {
                anyhow::bail!("user_nomfa should not be asked for MFA");
            };
            let id = format!("cred_{index:06}");
            sqlx::query(
                "INSERT INTO credentials (id, organisation_id, utility_id, username, owner, status_detail, \
                   sealed_password, sealed_session_token, token_expires_at, created_at, updated_at, first_connected_at) \
                 VALUES ($1, 'org_bench', $2, 'user_nomfa', 'END_USER', 'LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL', $3, $4, $5, $6, $6, $6)",
            )
            .bind(&id)
            .bind(UTILITY)
            .bind(seal_password(&state.keyring, &id, &password))
            .bind(seal_token(&state.keyring, &id, &session.secret))
            .bind(server::clock::to_ms(session.expires_at))
            .bind(state.clock.now_ms())
            .execute(state.db.pool())
            .await?;
            Ok(())
        });
        if logins.len() >= 32 {
            logins.join_next().await.expect("a login")??;
            done += 1;
        }
    }
    while let Some(login) = logins.join_next().await {
        login??;
        done += 1;
    }
    assert_eq!(done, count);
    Ok(())
}

async fn count(state: &AppState, sql: &str) -> anyhow::Result<i64> {
    let (value,): (i64,) = sqlx::query_as(sql).fetch_one(state.db.pool()).await?;
    Ok(value)
}

/// Schedules every credential's sync now and waits until all have run.
async fn sync_round(state: &AppState, total: i64, round: &str) -> anyhow::Result<Duration> {
    let started_ms = state.clock.now_ms();
    sqlx::query("UPDATE credentials SET next_sync_at = $1")
        .bind(started_ms)
        .execute(state.db.pool())
        .await?;
    let started = Instant::now();
    state.wakeups.syncs.notify_one();
    loop {
        let (synced,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM credentials WHERE last_synced_at >= $1")
                .bind(started_ms)
                .fetch_one(state.db.pool())
                .await?;
        if synced == total {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "{round}: only {synced} of {total} synced after 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(started.elapsed())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let option = |name: &str| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|at| args.get(at + 1))
            .cloned()
    };
    let credentials: usize = option("--credentials").map_or(Ok(10_000), |n| n.parse())?;
    let dir = std::env::temp_dir().join(format!("gridlink-sync-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let database_url = option("--database")
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("bench.db").display()));

    // The sandbox utilities on their own port, as in production a utility is elsewhere.
    let sandbox = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sandbox_url = format!("http://{}", sandbox.local_addr()?);
    let shutdown = CancellationToken::new();
    tokio::spawn(server::sandbox::serve(
        sandbox,
        shutdown.clone(),
        server::sandbox::SandboxOptions::default(),
    ));

    let argv = [
        "gridlink".to_owned(),
        "serve".to_owned(),
        "--listen=127.0.0.1:0".to_owned(),
        format!("--utility-url={sandbox_url}"),
        format!("--database-url={database_url}"),
        format!("--data-dir={}", dir.display()),
        format!("--static-dir={}", dir.join("no-web-app").display()),
        format!(
            "--master-key={}",
            MasterKey::generate("bench").to_config_value()
        ),
    ];
    let Command::Serve(serve) = Cli::parse_from(argv).into_command() else {
        unreachable!("serve was given")
    };
    let config = ServeConfig::from_args(&serve)?;
    let schedule = Schedule {
        sync_poll: Duration::from_millis(50),
        ..Schedule::default()
    };
    let running = server::server::start_with(
        config,
        shutdown.clone(),
        server::clock::Clock::default(),
        schedule,
    )
    .await?;
    let state = running.state.clone();

    eprintln!("Logging {credentials} credentials in at {UTILITY}…");
    let started = Instant::now();
    connected_credentials(&state, credentials).await?;
    eprintln!("  connected in {:.1} s", started.elapsed().as_secs_f64());
    let total = credentials as i64;

    let first = sync_round(&state, total, "first sync").await?;
    let statements = count(&state, "SELECT COUNT(*) FROM utility_statements").await?;
    let accounts = count(&state, "SELECT COUNT(*) FROM utility_accounts").await?;
    let new_data = count(
        &state,
        "SELECT COUNT(*) FROM credential_events WHERE kind = 'NEW_DATA_AVAILABLE'",
    )
    .await?;
    assert_eq!(new_data, total, "one NEW_DATA_AVAILABLE per credential");
    assert_eq!(statements, accounts * 12, "twelve statements per account");
    let second = sync_round(&state, total, "second sync").await?;
    assert_eq!(
        count(&state, "SELECT COUNT(*) FROM utility_statements").await?,
        statements,
        "a second sync stores nothing new"
    );

    let kind = if database_url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("\n## Sync: {credentials} credentials at {UTILITY}, {kind}, 16 syncs at a time\n");
    println!("| round | stored | wall s | credentials/s |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| first sync | {accounts} accounts, {statements} statements | {:.1} | {:.0} |",
        first.as_secs_f64(),
        total as f64 / first.as_secs_f64()
    );
    println!(
        "| second sync (nothing new) | 0 | {:.1} | {:.0} |",
        second.as_secs_f64(),
        total as f64 / second.as_secs_f64()
    );
    println!(
        "\nPeak resident memory of the process (server, sandbox and bench): {:.0} MiB",
        peak_memory_mib()
    );

    shutdown.cancel();
    running.wait().await?;
    if database_url.starts_with("sqlite") {
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}
