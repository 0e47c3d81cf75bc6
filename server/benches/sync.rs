//! Benchmark: syncing 10,000 connected credentials against the sandbox
//! utilities over HTTP, through the real sync job (claims with leases, reads
//! accounts and statements, stores them, records events).
//!
//! Then the same against slow utilities: every call to four sandbox
//! utilities takes 500 ms (the sandbox's latency fault), and the sync rate is
//! compared with the ideal one (the sync concurrency divided by the time a
//! sync spends waiting for its calls).
//!
//! Run: `cargo bench -p server --bench sync` (add `-- --credentials N` for
//! another size, `-- --slow-credentials N` for the slow phase, `-- --database
//! postgres://…` for PostgreSQL). The report is in `docs/benchmarks.md`.

mod support;

use std::time::{Duration, Instant};

use clap::Parser;
use server::app::cli::{Cli, Command};
use server::app::config::ServeConfig;
use server::domain::credentials::secrets::{seal_password, seal_token};
use server::http::state::AppState;
use server::infra::crypto::MasterKey;
use server::infra::utility::LoginOutcome;
use server::jobs::Schedule;
use shared::validation::{Password, Username};
use tokio_util::sync::CancellationToken;

const UTILITY: &str = "sandbox-water";
/// The utilities of the slow phase, each answering every call in [`SLOW_LATENCY_MS`].
const SLOW_UTILITIES: [&str; 4] = [
    "sandbox-electric",
    "sandbox-gas",
    "sandbox-water",
    "sandbox-municipal-power",
];
const SLOW_LATENCY_MS: u64 = 500;
const SYNC_CONCURRENCY: usize = 256;
const UTILITY_MAX_IN_FLIGHT: usize = 64;

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

/// Logs `count` credentials in at `utilities` (in turn) and stores them
/// connected, not yet synced, with ids `{prefix}_000000`….
async fn connected_credentials(
    state: &AppState,
    count: usize,
    utilities: &[&'static str],
    prefix: &str,
) -> anyhow::Result<()> {
    let username = Username::parse("user_nomfa").map_err(|e| anyhow::anyhow!("{e}"))?;
    let password = Password::parse("pass_good").map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut logins = tokio::task::JoinSet::new();
    let mut done = 0;
    for index in 0..count {
        let (state, username, password) = (state.clone(), username.clone(), password.clone());
        let utility = utilities[index % utilities.len()];
        let id = format!("{prefix}_{index:06}");
        logins.spawn(async move {
            let LoginOutcome::Authenticated(session) =
                state.utility.login(utility, &username, &password).await?
            else {
                anyhow::bail!("user_nomfa should not be asked for MFA");
            };
            sqlx::query(
                "INSERT INTO credentials (id, organisation_id, utility_id, username, owner, status_detail, \
                   sealed_password, sealed_session_token, token_expires_at, created_at, updated_at, first_connected_at) \
                 VALUES ($1, 'org_bench', $2, 'user_nomfa', 'END_USER', 'LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL', $3, $4, $5, $6, $6, $6)",
            )
            .bind(&id)
            .bind(utility)
            .bind(seal_password(&state.keyring, &id, &password))
            .bind(seal_token(&state.keyring, &id, &session.secret))
            .bind(session.expires_at.map(server::infra::clock::to_ms))
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

/// Schedules the sync of every credential whose id starts with `prefix` now
/// (and no other) and waits until all have run.
async fn sync_round(
    state: &AppState,
    prefix: &str,
    total: i64,
    round: &str,
) -> anyhow::Result<Duration> {
    let started_ms = state.clock.now_ms();
    sqlx::query("UPDATE credentials SET next_sync_at = CASE WHEN id LIKE $2 THEN $1 ELSE NULL END")
        .bind(started_ms)
        .bind(format!("{prefix}_%"))
        .execute(state.db.pool())
        .await?;
    let started = Instant::now();
    state.wakeups.syncs.notify_one();
    loop {
        let (synced,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM credentials WHERE last_synced_at >= $1 AND id LIKE $2",
        )
        .bind(started_ms)
        .bind(format!("{prefix}_%"))
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
    let credentials: usize = support::option("--credentials").map_or(Ok(10_000), |n| n.parse())?;
    let slow_credentials: usize =
        support::option("--slow-credentials").map_or(Ok(4_000), |n| n.parse())?;
    let dir = std::env::temp_dir().join(format!("gridlink-sync-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let database_url = support::option("--database")
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("bench.db").display()));

    // The sandbox utilities on their own port, as in production a utility is elsewhere.
    let sandbox = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sandbox_url = format!("http://{}", sandbox.local_addr()?);
    let shutdown = CancellationToken::new();
    tokio::spawn(server::tools::sandbox::serve(
        sandbox,
        shutdown.clone(),
        server::tools::sandbox::Sandbox::default(),
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
        format!("--sync-concurrency={SYNC_CONCURRENCY}"),
        format!("--utility-max-in-flight={UTILITY_MAX_IN_FLIGHT}"),
    ];
    let Command::Serve(serve) = Cli::parse_from(argv).into_command() else {
        unreachable!("serve was given")
    };
    let config = ServeConfig::from_args(&serve)?;
    let schedule = Schedule {
        sync_poll: Duration::from_millis(50),
        ..Schedule::default()
    };
    let running = server::app::server::start_with(
        config,
        shutdown.clone(),
        server::infra::clock::Clock::default(),
        schedule,
    )
    .await?;
    let state = running.state.clone();

    sqlx::query(
        "INSERT INTO organisations (id, name, created_at) VALUES ('org_bench', 'Bench', $1)",
    )
    .bind(state.clock.now_ms())
    .execute(state.db.pool())
    .await?;
    eprintln!("Logging {credentials} credentials in at {UTILITY}…");
    let started = Instant::now();
    connected_credentials(&state, credentials, &[UTILITY], "cred").await?;
    eprintln!("  connected in {:.1} s", started.elapsed().as_secs_f64());
    let total = credentials as i64;

    let first = sync_round(&state, "cred", total, "first sync").await?;
    let statements = count(&state, "SELECT COUNT(*) FROM utility_statements").await?;
    let accounts = count(&state, "SELECT COUNT(*) FROM utility_accounts").await?;
    let new_data = count(
        &state,
        "SELECT COUNT(*) FROM credential_events WHERE kind = 'NEW_DATA_AVAILABLE'",
    )
    .await?;
    assert_eq!(new_data, total, "one NEW_DATA_AVAILABLE per credential");
    assert_eq!(statements, accounts * 12, "twelve statements per account");
    let second = sync_round(&state, "cred", total, "second sync").await?;
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
    println!(
        "\n## Sync: {credentials} credentials at {UTILITY}, {kind}, {SYNC_CONCURRENCY} syncs at a time\n"
    );
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
    println!(
        "BENCH sync_10k_first_per_s {:.1}",
        total as f64 / first.as_secs_f64()
    );

    slow_utilities(&state, &sandbox_url, slow_credentials).await?;

    shutdown.cancel();
    running.wait().await?;
    if database_url.starts_with("sqlite") {
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}

/// Calls the sandbox answered so far for reading data (accounts and statements).
async fn data_calls(sandbox_url: &str) -> anyhow::Result<u64> {
    let stats: serde_json::Value = reqwest::get(format!("{sandbox_url}/api/admin/stats"))
        .await?
        .json()
        .await?;
    Ok(SLOW_UTILITIES
        .iter()
        .map(|utility| {
            ["accounts", "statements"]
                .iter()
                .filter_map(|call| stats[utility][call].as_u64())
                .sum::<u64>()
        })
        .sum())
}

/// Syncs `count` credentials spread over four utilities that answer each call
/// in 500 ms, and compares the rate with the ideal one.
async fn slow_utilities(state: &AppState, sandbox_url: &str, count: usize) -> anyhow::Result<()> {
    eprintln!(
        "Logging {count} credentials in at {} utilities…",
        SLOW_UTILITIES.len()
    );
    connected_credentials(state, count, &SLOW_UTILITIES, "slow").await?;
    let client = reqwest::Client::new();
    for utility in SLOW_UTILITIES {
        client
            .post(format!(
                "{sandbox_url}/api/admin/utilities/{utility}/faults"
            ))
            .json(&serde_json::json!({"latencyMs": SLOW_LATENCY_MS}))
            .send()
            .await?
            .error_for_status()?;
    }
    let calls_before = data_calls(sandbox_url).await?;
    let took = sync_round(state, "slow", count as i64, "slow sync").await?;
    let calls = data_calls(sandbox_url).await? - calls_before;
    let calls_per_sync = calls as f64 / count as f64;
    let per_s = count as f64 / took.as_secs_f64();
    // Each sync waits for its calls one after another.
    let sync_wait_s = calls_per_sync * SLOW_LATENCY_MS as f64 / 1000.0;
    let in_flight = SYNC_CONCURRENCY.min(UTILITY_MAX_IN_FLIGHT * SLOW_UTILITIES.len());
    let ideal_per_s = in_flight as f64 / sync_wait_s;
    println!(
        "\n## Sync against slow utilities: {count} credentials over {} utilities answering each call in {SLOW_LATENCY_MS} ms\n",
        SLOW_UTILITIES.len()
    );
    println!(
        "{SYNC_CONCURRENCY} syncs at a time, at most {UTILITY_MAX_IN_FLIGHT} calls in flight per utility; \
         {calls_per_sync:.2} calls per sync, so a sync waits {sync_wait_s:.2} s and the ideal is \
         {in_flight} / {sync_wait_s:.2} s = {ideal_per_s:.0} syncs/s.\n"
    );
    println!("| wall s | syncs/s | ideal syncs/s | share of ideal |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| {:.1} | {per_s:.1} | {ideal_per_s:.1} | {:.0} % |",
        took.as_secs_f64(),
        100.0 * per_s / ideal_per_s
    );
    println!("BENCH sync_latency500_per_s {per_s:.1}");
    println!("BENCH sync_latency500_ideal_per_s {ideal_per_s:.1}");
    Ok(())
}
