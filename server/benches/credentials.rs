//! Benchmark: the credential list with a status-detail filter over 1,000,000
//! credentials, and the expiry sweep flagging 100,000 of them (each with its
//! event and queued STATUS_CHANGE webhook), on SQLite.
//!
//! Run: `cargo bench -p server --bench credentials` (add `-- --rows N` for
//! another size). The report is in `docs/benchmarks.md`.
//!
//! `-- --fill-only --database FILE --organisation ID` only fills that SQLite
//! file for that organisation and stops (for the dashboard benchmark).

mod support;

use std::time::{Duration, Instant};

use server::clock::Clock;
use server::config::DatabaseUrl;
use server::credentials::store::{self, ListQuery};
use server::jobs::expiry::sweep_expired_tokens;
use server::store::Database;
use shared::StatusDetail;

const INSERT_CHUNK: usize = 500;

/// The share of each status detail, out of 100, and whether its token is expired.
const MIX: [(StatusDetail, u32); 7] = [
    (StatusDetail::LoginAndDataDiscoverySuccessful, 70),
    (StatusDetail::MultiFactorAuthenticationRefreshRequired, 10),
    (StatusDetail::MultiFactorAuthenticationMethodRequired, 5),
    (StatusDetail::InvalidCredentials, 5),
    (StatusDetail::Connecting, 4),
    (StatusDetail::OtherAccessLimitation, 3),
    (StatusDetail::MultiFactorAuthenticationFailed, 3),
];

fn detail_for(index: usize) -> StatusDetail {
    let mut slot = (index * 7919 % 100) as u32;
    for (detail, share) in MIX {
        if slot < share {
            return detail;
        }
        slot -= share;
    }
    StatusDetail::Connecting
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn fill(
    db: &Database,
    organisation: &str,
    rows: usize,
    expired: usize,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO organisations (id, name, created_at) VALUES ($1, 'Bench', $2) ON CONFLICT (id) DO NOTHING")
        .bind(organisation)
        .bind(now)
        .execute(db.pool())
        .await?;
    let mut expired_left = expired;
    let mut tx = db.pool().begin().await?;
    for start in (0..rows).step_by(INSERT_CHUNK) {
        let end = (start + INSERT_CHUNK).min(rows);
        let placeholders: Vec<String> = (0..end - start)
            .map(|i| {
                let b = i * 6;
                format!("(${}, '{organisation}', ${}, ${}, ${}, 'END_USER', ${}, 'v1.bench.x', ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 6, b + 6)
            })
            .collect();
        let sql = format!(
            "INSERT INTO credentials (id, organisation_id, utility_id, username, correlation_id, owner, status_detail, \
               sealed_password, token_expires_at, created_at, updated_at) VALUES {}",
            placeholders.join(", ")
        );
        // created_at doubles as a spread-out token expiry; see below for the expired ones.
        let mut query = sqlx::query(&sql);
        for index in start..end {
            let detail = detail_for(index);
            let connected = detail == StatusDetail::LoginAndDataDiscoverySuccessful;
            let expires_at = if connected && expired_left > 0 {
                expired_left -= 1;
                now - 1_000
            } else {
                now + 86_400_000 + index as i64
            };
            query = query
                .bind(format!("cred_{index:08}"))
                .bind(["sandbox-electric", "sandbox-gas", "sandbox-water"][index % 3])
                .bind(format!("user_{index}"))
                .bind(format!("customer-{index}"))
                .bind(detail.as_str())
                .bind(if connected {
                    expires_at
                } else {
                    now - (rows - index) as i64 * 1_000
                });
        }
        query.execute(&mut *tx).await?;
        if end.is_multiple_of(50_000) {
            tx.commit().await?;
            tx = db.pool().begin().await?;
            eprint!("\r  inserted {end} rows");
        }
    }
    tx.commit().await?;
    eprintln!("\r  inserted {rows} rows   ");
    sqlx::query("ANALYZE").execute(db.pool()).await?;
    Ok(())
}

async fn measure_list(
    db: &Database,
    organisation: &str,
    label: &str,
    query: ListQuery,
    runs: usize,
) -> anyhow::Result<()> {
    let mut timings = Vec::with_capacity(runs);
    let mut total = 0;
    for run in 0..runs {
        let query = ListQuery {
            page: 1 + (run % 10) as u32,
            ..query.clone()
        };
        let started = Instant::now();
        let (items, count) = store::list(db, organisation, &query)
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        timings.push(started.elapsed());
        assert!(!items.is_empty());
        total = count;
    }
    timings.sort();
    println!(
        "| {label} | {total} | {:.2} | {:.2} | {:.2} |",
        percentile(&timings, 0.5).as_secs_f64() * 1000.0,
        percentile(&timings, 0.99).as_secs_f64() * 1000.0,
        timings.last().unwrap().as_secs_f64() * 1000.0
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rows: usize = support::option("--rows").map_or(Ok(1_000_000), |value| value.parse())?;
    let fill_only = std::env::args().any(|arg| arg == "--fill-only");
    let organisation = support::option("--organisation").unwrap_or_else(|| "org_bench".to_owned());
    let expired = if fill_only { 0 } else { rows / 10 };
    let dir = std::env::temp_dir().join(format!("gridlink-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = support::option("--database")
        .map_or_else(|| dir.join("bench.db"), std::path::PathBuf::from);
    let url = DatabaseUrl::Sqlite { path };
    let db = Database::connect(&url).await?;
    db.migrate().await?;
    let clock = Clock::default();
    let now = clock.now_ms();

    eprintln!("Filling SQLite with {rows} credentials ({expired} with an expired token)…");
    let started = Instant::now();
    fill(&db, &organisation, rows, expired, now).await?;
    eprintln!("  filled in {:.1} s", started.elapsed().as_secs_f64());
    if fill_only {
        db.close().await;
        std::fs::remove_dir_all(&dir)?;
        return Ok(());
    }
    let organisation = organisation.as_str();

    println!("\n## Listing ({rows} credentials, one organisation, page size 25, pages 1–10, 500 runs each)\n");
    println!("| filter | matching | p50 ms | p99 ms | max ms |");
    println!("| --- | --- | --- | --- | --- |");
    let base = ListQuery {
        sort: ("created_at", true),
        page: 1,
        page_size: 25,
        ..ListQuery::default()
    };
    let refresh = ListQuery {
        status_details: Some(vec![StatusDetail::MultiFactorAuthenticationRefreshRequired]),
        ..base.clone()
    };
    measure_list(
        &db,
        organisation,
        "statusDetail=MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED",
        refresh.clone(),
        500,
    )
    .await?;
    let method = ListQuery {
        status_details: Some(vec![StatusDetail::MultiFactorAuthenticationMethodRequired]),
        ..base.clone()
    };
    measure_list(
        &db,
        organisation,
        "statusDetail=MULTI_FACTOR_AUTHENTICATION_METHOD_REQUIRED",
        method,
        500,
    )
    .await?;
    let failures = ListQuery {
        status_details: Some(
            StatusDetail::ALL
                .into_iter()
                .filter(|d| d.status() == shared::Status::ConnectionFailure)
                .collect(),
        ),
        ..base.clone()
    };
    measure_list(
        &db,
        organisation,
        "status=CONNECTION_FAILURE",
        failures,
        500,
    )
    .await?;
    measure_list(&db, organisation, "no filter", base.clone(), 500).await?;

    // Integrators listen: every flagged credential also queues a STATUS_CHANGE webhook.
    sqlx::query(
        "INSERT INTO webhook_endpoints (organisation_id, url, sealed_secret, secret_created_at, created_at, updated_at) \
         VALUES ($1, 'https://hooks.example.com/gridlink', 'not opened by the sweep', $2, $2, $2)",
    )
    .bind(organisation)
    .bind(now)
    .execute(db.pool())
    .await?;

    println!("\n## Expiry sweep (with a webhook endpoint)\n");
    let started = Instant::now();
    let flagged = sweep_expired_tokens(&db, &clock).await?;
    let elapsed = started.elapsed();
    println!(
        "Flagged {flagged} of {rows} credentials in {:.2} s.",
        elapsed.as_secs_f64()
    );
    assert_eq!(flagged as usize, expired);
    let (events,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM credential_events")
        .fetch_one(db.pool())
        .await?;
    assert_eq!(events as usize, expired, "one event per flagged credential");
    let (queued,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM webhook_deliveries")
        .fetch_one(db.pool())
        .await?;
    assert_eq!(
        queued as usize, expired,
        "one webhook per flagged credential"
    );

    db.close().await;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
