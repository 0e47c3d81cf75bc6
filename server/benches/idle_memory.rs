//! Benchmark: the resident memory of an idle `gridlink serve` that holds
//! 100,000 connected credentials and has just synced every one of them.
//!
//! The bench starts the sandbox utilities (`gridlink sandbox`), logs 100,000
//! end-users in at Sandbox Water (`user_nomfa+N`, each its own account and
//! session), and stores them as connected credentials with their sealed
//! passwords and tokens, their first sync due now, in a fresh SQLite
//! database. Then it starts `gridlink serve` on that database with the same
//! master key: the server's sync job reads every credential's accounts and
//! statements from the sandbox and stores them (200,000 accounts, 2,400,000
//! statements). Once all have synced it lets the server idle and reads its
//! resident memory (`VmRSS`) and its peak (`VmHWM`) from `/proc`.
//!
//! Run: `cargo bench -p server --bench idle_memory` (add `-- --credentials N`).
//! Prints `BENCH idle_rss_100k_mb` (for the default size); the report is in
//! `docs/benchmarks.md`.

#[path = "support/processes.rs"]
mod processes;
mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use processes::{free_port, wait_until_up};
use server::domain::credentials::secrets::{seal_password, seal_token};
use server::infra::config::DatabaseUrl;
use server::infra::crypto::{Keyring, MasterKey};
use server::infra::store::Database;
use server::infra::utility::protocol::LoginResponse;
use server::infra::utility::SecretToken;
use shared::validation::Password;

const UTILITY: &str = "sandbox-water";
const PASSWORD: &str = "pass_good";
/// Logins at the sandbox at once while preparing.
const LOGINS_AT_ONCE: usize = 64;
/// Credentials per INSERT while preparing (7 bound values each).
const ROWS_PER_INSERT: usize = 35;
/// How long the server idles before its memory is read.
const IDLE: Duration = Duration::from_secs(20);

/// Starts `gridlink <args>`, its log in `log`.
fn gridlink(args: &[String], log: &std::path::Path) -> anyhow::Result<Child> {
    Ok(Command::new(env!("CARGO_BIN_EXE_gridlink"))
        .args(args)
        .env("RUST_LOG", "info,sqlx=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .spawn()?)
}

/// A `VmRSS:`-style line of `/proc/<pid>/status`, in MiB.
fn memory_mib(pid: u32, field: &str) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .context("no such line in /proc/pid/status")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib / 1024.0)
}

/// Logs `count` end-users in at the sandbox: `(username, session token, expiry ms)`.
async fn log_in(
    client: &reqwest::Client,
    sandbox: &str,
    count: usize,
) -> anyhow::Result<Vec<(String, String, i64)>> {
    let mut logins = tokio::task::JoinSet::new();
    let mut sessions = Vec::with_capacity(count);
    for index in 0..count {
        let (client, url) = (
            client.clone(),
            format!("{sandbox}/api/utilities/{UTILITY}/login"),
        );
        logins.spawn(async move {
            let username = format!("user_nomfa+{index}");
            let response: LoginResponse = client
                .post(url)
                .json(&serde_json::json!({"username": username, "password": PASSWORD}))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let LoginResponse::Authenticated {
                session_token,
                expires_at,
                ..
            } = response
            else {
                anyhow::bail!("user_nomfa should not be asked for MFA");
            };
            let expires_at = expires_at.context("sandbox-water states its tokens' expiry")?;
            Ok((
                username,
                session_token,
                (expires_at.unix_timestamp_nanos() / 1_000_000) as i64,
            ))
        });
        if logins.len() >= LOGINS_AT_ONCE {
            sessions.push(logins.join_next().await.context("a login")???);
        }
    }
    while let Some(login) = logins.join_next().await {
        sessions.push(login??);
    }
    Ok(sessions)
}

/// Stores the sessions as connected credentials of `org_bench`, due to sync now.
async fn store_connected(
    db: &Database,
    keyring: &Keyring,
    sessions: &[(String, String, i64)],
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO organisations (id, name, created_at) VALUES ('org_bench', 'Bench', $1)",
    )
    .bind(now)
    .execute(db.pool())
    .await?;
    let password = Password::parse(PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))?;
    for (chunk_index, chunk) in sessions.chunks(ROWS_PER_INSERT).enumerate() {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 7;
                format!(
                    "(${}, 'org_bench', '{UTILITY}', ${}, 'END_USER', 'LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL', \
                      ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 6, b + 6
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO credentials (id, organisation_id, utility_id, username, owner, status_detail, \
               sealed_password, sealed_session_token, token_expires_at, created_at, next_sync_at, \
               updated_at, first_connected_at) VALUES {}",
            rows.join(", ")
        );
        let mut insert = sqlx::query(&sql);
        for (offset, (username, token, expires_at)) in chunk.iter().enumerate() {
            let id = format!("cred_{:06}", chunk_index * ROWS_PER_INSERT + offset);
            let token = SecretToken::new(token.clone());
            insert = insert
                .bind(id.clone())
                .bind(username.as_str())
                .bind(seal_password(keyring, &id, &password))
                .bind(seal_token(keyring, &id, &token))
                .bind(*expires_at)
                .bind(now)
                .bind(now);
        }
        insert.execute(db.pool()).await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let count: usize = support::option("--credentials").map_or(Ok(100_000), |n| n.parse())?;
    let dir = std::env::temp_dir().join(format!("gridlink-idle-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (sandbox_port, server_port) = (free_port()?, free_port()?);
    let sandbox_url = format!("http://127.0.0.1:{sandbox_port}");
    let server_url = format!("http://127.0.0.1:{server_port}");
    let mut sandbox = gridlink(
        &[
            "sandbox".into(),
            format!("--sandbox-listen=127.0.0.1:{sandbox_port}"),
            // Any free port: a running Gridlink may hold the default 2525.
            "--sandbox-smtp-listen=127.0.0.1:0".into(),
        ],
        &dir.join("sandbox.log"),
    )?;
    let outcome = run(&dir, count, &sandbox_url, &server_url, server_port).await;
    sandbox.kill().ok();
    sandbox.wait().ok();
    match outcome {
        Ok(()) => std::fs::remove_dir_all(&dir)?,
        Err(_) => eprintln!("logs kept in {}", dir.display()),
    }
    outcome
}

async fn run(
    dir: &std::path::Path,
    count: usize,
    sandbox_url: &str,
    server_url: &str,
    server_port: u16,
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(LOGINS_AT_ONCE)
        .build()?;
    wait_until_up(&client, &format!("{sandbox_url}/api/utilities")).await?;

    eprintln!("Logging {count} end-users in at the sandbox…");
    let started = Instant::now();
    let sessions = log_in(&client, sandbox_url, count).await?;
    let master_key = MasterKey::generate("bench");
    let keyring = Keyring::single(master_key.clone());
    let database_path = dir.join("gridlink.db");
    let db = Database::connect(&DatabaseUrl::Sqlite {
        path: database_path.clone(),
    })
    .await?;
    db.migrate().await?;
    let now = server::infra::clock::Clock::default().now_ms();
    store_connected(&db, &keyring, &sessions, now).await?;
    drop(sessions);
    eprintln!(
        "  {count} connected credentials stored in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut server = gridlink(
        &[
            "serve".into(),
            format!("--listen=127.0.0.1:{server_port}"),
            format!("--utility-url={sandbox_url}"),
            format!("--database-url=sqlite://{}", database_path.display()),
            format!("--data-dir={}", dir.display()),
            format!("--static-dir={}", dir.join("no-web-app").display()),
            format!("--master-key={}", master_key.to_config_value()),
        ],
        &dir.join("server.log"),
    )?;
    let measured = measure(&db, &client, server.id(), count, server_url).await;
    server.kill().ok();
    server.wait().ok();
    db.close().await;
    measured
}

async fn measure(
    db: &Database,
    client: &reqwest::Client,
    server_pid: u32,
    count: usize,
    server_url: &str,
) -> anyhow::Result<()> {
    wait_until_up(client, &format!("{server_url}/api/health")).await?;
    eprintln!("The server syncs all {count}…");
    let started = Instant::now();
    loop {
        let (synced,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM credentials WHERE last_synced_at IS NOT NULL")
                .fetch_one(db.pool())
                .await?;
        if synced as usize == count {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "only {synced} of {count} synced after 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let sync_s = started.elapsed().as_secs_f64();
    let (statements,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM utility_statements")
        .fetch_one(db.pool())
        .await?;
    eprintln!("  synced in {sync_s:.1} s ({statements} statements stored); idling {IDLE:?}…");
    tokio::time::sleep(IDLE).await;
    let idle = memory_mib(server_pid, "VmRSS:")?;
    let peak = memory_mib(server_pid, "VmHWM:")?;

    println!("\n## An idle server with {count} credentials, after syncing them all\n");
    println!("| credentials | statements stored | full sync s | peak RSS MiB | idle RSS MiB |");
    println!("| --- | --- | --- | --- | --- |");
    println!("| {count} | {statements} | {sync_s:.1} | {peak:.1} | **{idle:.1}** |");
    println!();
    let size = if count.is_multiple_of(1000) {
        format!("{}k", count / 1000)
    } else {
        count.to_string()
    };
    println!("BENCH idle_rss_{size}_mb {idle:.1}");
    println!("BENCH peak_rss_{size}_mb {peak:.1}");
    Ok(())
}
