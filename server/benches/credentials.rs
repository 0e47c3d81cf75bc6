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

use server::domain::credentials::store::{self, ListQuery, COLUMNS};
use server::infra::clock::Clock;
use server::infra::config::DatabaseUrl;
use server::infra::store::{Database, DatabaseKind};
use server::jobs::expiry::sweep_expired_tokens;
use shared::StatusDetail;
use sqlx::Row;

const INSERT_CHUNK: usize = 40;
/// Runs of each listing, each way.
const LIST_RUNS: usize = 500;

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
    // What a running server's jobs and the database's autovacuum would have
    // done by the time anyone lists: fold the appended counts (PostgreSQL),
    // and gather statistics (and, on PostgreSQL, the visibility map that
    // index-only scans need).
    server::domain::credentials::counts::fold(db).await?;
    let analyze = match db.kind() {
        DatabaseKind::Sqlite => "ANALYZE",
        DatabaseKind::Postgres => "VACUUM ANALYZE",
    };
    sqlx::query(analyze).execute(db.pool()).await?;
    Ok(())
}

/// Milliseconds at the 50th and 99th percentile and the slowest.
struct Timings {
    p50: f64,
    p99: f64,
    max: f64,
}

fn timings(mut samples: Vec<Duration>) -> Timings {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Timings {
        p50: ms(percentile(&samples, 0.5)),
        p99: ms(percentile(&samples, 0.99)),
        max: ms(*samples.last().unwrap()),
    }
}

/// A listing measured through Gridlink (`store::list`: the page and its
/// total) and through hand-written SQL giving the same page and total.
struct Listing {
    /// The BENCH name: `list_<name>_p99_ms` and `list_<name>_raw_p99_ms`.
    name: &'static str,
    label: &'static str,
    query: ListQuery,
    /// The page's SQL: `$1` organisation, `$2` offset (page size 25); the
    /// ORDER BY must be the query's.
    raw_page: String,
    /// The total's SQL: `$1` organisation.
    raw_total: String,
}

const PAGE_SIZE: u32 = 25;

async fn raw_listing(
    db: &Database,
    organisation: &str,
    listing: &Listing,
    page: u32,
) -> anyhow::Result<(Vec<String>, i64)> {
    let rows = sqlx::query(&listing.raw_page)
        .bind(organisation)
        .bind(i64::from((page - 1) * PAGE_SIZE))
        .fetch_all(db.pool())
        .await?;
    let ids = rows
        .iter()
        .map(|row| row.try_get::<String, _>("id"))
        .collect::<Result<_, _>>()?;
    let (total,): (i64,) = sqlx::query_as(&listing.raw_total)
        .bind(organisation)
        .fetch_one(db.pool())
        .await?;
    Ok((ids, total))
}

/// Runs `listing` `runs` times each way over its first pages (up to 10),
/// checks both ways answer the same, prints a table row and the BENCH lines.
async fn measure(
    db: &Database,
    organisation: &str,
    listing: &Listing,
    runs: usize,
) -> anyhow::Result<(f64, f64)> {
    let (_, total) = store::list(db, organisation, &listing.query)
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let pages = total.div_ceil(u64::from(PAGE_SIZE)).clamp(1, 10) as u32;
    let query_for = |page: u32| ListQuery {
        page,
        page_size: PAGE_SIZE,
        ..listing.query.clone()
    };
    for page in 1..=pages {
        let (items, gridlink_total) = store::list(db, organisation, &query_for(page))
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        let (raw_ids, raw_total) = raw_listing(db, organisation, listing, page).await?;
        let ids: Vec<String> = items.into_iter().map(|item| item.id).collect();
        assert_eq!(
            ids, raw_ids,
            "{}: page {page} differs from the raw SQL",
            listing.name
        );
        assert_eq!(
            gridlink_total, raw_total as u64,
            "{}: total differs",
            listing.name
        );
        assert!(!ids.is_empty(), "{}: page {page} is empty", listing.name);
    }
    let mut gridlink = Vec::with_capacity(runs);
    let mut raw = Vec::with_capacity(runs);
    for run in 0..runs {
        let page = 1 + (run as u32 % pages);
        let started = Instant::now();
        store::list(db, organisation, &query_for(page))
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        gridlink.push(started.elapsed());
        let started = Instant::now();
        raw_listing(db, organisation, listing, page).await?;
        raw.push(started.elapsed());
    }
    let (gridlink, raw) = (timings(gridlink), timings(raw));
    println!(
        "| {} | {total} | {:.2} | **{:.2}** | {:.2} | {:.2} | {:.2} | {:.2}× |",
        listing.label,
        gridlink.p50,
        gridlink.p99,
        gridlink.max,
        raw.p50,
        raw.p99,
        gridlink.p99 / raw.p99
    );
    Ok((gridlink.p99, raw.p99))
}

/// The five listings of the report, with their hand-written equivalents.
fn listings(kind: DatabaseKind) -> Vec<Listing> {
    let active = "organisation_id = $1 AND deactivated_at IS NULL";
    let newest = "ORDER BY created_at DESC, id DESC LIMIT 25 OFFSET $2";
    let counted = |details: &[StatusDetail]| {
        let filter = if details.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = details
                .iter()
                .map(|d| format!("'{}'", d.as_str()))
                .collect();
            format!(" AND status_detail IN ({})", quoted.join(", "))
        };
        format!(
            "SELECT CAST(COALESCE(SUM(active), 0) AS BIGINT) FROM credential_counts WHERE organisation_id = $1{filter}"
        )
    };
    let base = ListQuery {
        sort: ("created_at", true),
        page: 1,
        page_size: PAGE_SIZE,
        ..ListQuery::default()
    };
    let refresh = StatusDetail::MultiFactorAuthenticationRefreshRequired;
    let failures: Vec<StatusDetail> = StatusDetail::ALL
        .into_iter()
        .filter(|d| d.status() == shared::Status::ConnectionFailure)
        .collect();
    let failure_branches: Vec<String> = failures
        .iter()
        .enumerate()
        .map(|(n, detail)| {
            format!(
                "SELECT * FROM (SELECT {COLUMNS} FROM credentials WHERE {active} AND status_detail = '{}' \
                 ORDER BY created_at DESC, id DESC LIMIT $2 + 25) AS d{n}",
                detail.as_str()
            )
        })
        .collect();
    let search_term = "user_4242";
    let search_filter = match kind {
        DatabaseKind::Sqlite => format!(
            "id IN (SELECT credential_id FROM credential_usernames WHERE credential_usernames MATCH '\"{search_term}\"') \
             AND LOWER(username) LIKE '%user\\_4242%' ESCAPE '\\'"
        ),
        DatabaseKind::Postgres => "LOWER(username) LIKE '%user\\_4242%' ESCAPE '\\'".to_owned(),
    };
    vec![
        Listing {
            name: "refresh_required",
            label: "statusDetail=MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED",
            query: ListQuery {
                status_details: Some(vec![refresh]),
                ..base.clone()
            },
            raw_page: format!(
                "SELECT {COLUMNS} FROM credentials WHERE {active} AND status_detail = '{}' {newest}",
                refresh.as_str()
            ),
            raw_total: counted(&[refresh]),
        },
        Listing {
            name: "status_failure",
            label: "status=CONNECTION_FAILURE (five details)",
            query: ListQuery {
                status_details: Some(failures.clone()),
                ..base.clone()
            },
            raw_page: format!(
                "SELECT * FROM ({}) AS merged ORDER BY created_at DESC, id DESC LIMIT 25 OFFSET $2",
                failure_branches.join(" UNION ALL ")
            ),
            raw_total: counted(&failures),
        },
        Listing {
            name: "unfiltered",
            label: "no filter",
            query: base.clone(),
            raw_page: format!("SELECT {COLUMNS} FROM credentials WHERE {active} {newest}"),
            raw_total: counted(&[]),
        },
        Listing {
            name: "search",
            label: "q=user_4242 (username search)",
            query: ListQuery {
                username_contains: Some(search_term.to_owned()),
                ..base.clone()
            },
            raw_page: format!("SELECT {COLUMNS} FROM credentials WHERE {active} AND {search_filter} {newest}"),
            raw_total: format!("SELECT COUNT(*) FROM credentials WHERE {active} AND {search_filter}"),
        },
        Listing {
            name: "sort_expiry",
            label: "sort=tokenExpiresAt",
            query: ListQuery {
                sort: ("token_expires_at", false),
                ..base
            },
            raw_page: format!(
                "SELECT {COLUMNS} FROM credentials WHERE {active} ORDER BY token_expires_at ASC, id ASC LIMIT 25 OFFSET $2"
            ),
            raw_total: counted(&[]),
        },
    ]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rows: usize = support::option("--rows").map_or(Ok(1_000_000), |value| value.parse())?;
    let fill_only = std::env::args().any(|arg| arg == "--fill-only");
    let organisation = support::option("--organisation").unwrap_or_else(|| "org_bench".to_owned());
    let expired = if fill_only { 0 } else { rows / 10 };
    let dir = std::env::temp_dir().join(format!("gridlink-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    // `--database` is a SQLite file or an empty PostgreSQL database's URL.
    let url = match support::option("--database") {
        Some(url) if url.starts_with("postgres") => DatabaseUrl::parse(&url)?,
        Some(path) => DatabaseUrl::Sqlite { path: path.into() },
        None => DatabaseUrl::Sqlite {
            path: dir.join("bench.db"),
        },
    };
    let db = Database::connect(&url).await?;
    db.migrate().await?;
    let clock = Clock::default();
    let now = clock.now_ms();

    eprintln!(
        "Filling {} with {rows} credentials ({expired} with an expired token)…",
        db.kind().as_str()
    );
    let started = Instant::now();
    fill(&db, &organisation, rows, expired, now).await?;
    eprintln!("  filled in {:.1} s", started.elapsed().as_secs_f64());
    if fill_only {
        db.close().await;
        std::fs::remove_dir_all(&dir)?;
        return Ok(());
    }
    let organisation = organisation.as_str();

    println!(
        "\n## Listing ({rows} credentials, one organisation, page size 25, pages 1–10, {LIST_RUNS} runs each way)\n"
    );
    println!("| listing | matching | p50 ms | p99 ms | max ms | raw SQL p50 ms | raw SQL p99 ms | p99 ÷ raw |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut bench_lines = Vec::new();
    for listing in listings(db.kind()) {
        let (p99, raw_p99) = measure(&db, organisation, &listing, LIST_RUNS).await?;
        bench_lines.push(format!("BENCH list_{}_p99_ms {p99:.2}", listing.name));
        bench_lines.push(format!(
            "BENCH list_{}_raw_p99_ms {raw_p99:.2}",
            listing.name
        ));
    }
    println!();
    for line in bench_lines {
        println!("{line}");
    }

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
    let refresh_required = StatusDetail::MultiFactorAuthenticationRefreshRequired;
    let (refresh_rows,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM credentials WHERE organisation_id = $1 AND status_detail = $2 AND deactivated_at IS NULL",
    )
    .bind(organisation)
    .bind(refresh_required.as_str())
    .fetch_one(db.pool())
    .await?;
    let counted =
        server::domain::credentials::counts::total(&db, organisation, Some(&[refresh_required]))
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?;
    assert_eq!(
        counted, refresh_rows as u64,
        "the kept count follows the sweep"
    );
    println!(
        "\nBENCH sweep_{}k_webhooks_s {:.2}",
        expired / 1000,
        elapsed.as_secs_f64()
    );

    db.close().await;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
