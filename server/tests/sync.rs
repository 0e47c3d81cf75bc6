//! The sync job's lease: a sync that outlasts its lease keeps it renewed, so
//! no other worker starts the same sync meanwhile. A sync's rows: those that
//! do not fit in its first trip to the database are stored too, each once.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use common::{spawn_app_with, spawn_sandbox, Backend, TestAppOptions};
use serde_json::json;
use server::domain::lifecycle::syncs::stored;
use server::domain::lifecycle::syncs::SyncOutcome;
use server::infra::utility::{Account, Statement};

/// Forwards every request to the sandbox and counts the account reads (one per sync).
#[derive(Clone)]
struct CountingProxy {
    target: String,
    account_reads: Arc<AtomicUsize>,
    http: reqwest::Client,
}

async fn forward(State(proxy): State<CountingProxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    if path.ends_with("/accounts") {
        proxy.account_reads.fetch_add(1, Ordering::SeqCst);
    }
    let body: Bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let mut forwarded = proxy
        .http
        .request(parts.method, format!("{}{path}", proxy.target));
    for (name, value) in &parts.headers {
        if name != "host" {
            forwarded = forwarded.header(name, value);
        }
    }
    match forwarded.body(body).send().await {
        Ok(answer) => {
            let status = answer.status();
            let content_type = answer.headers().get("content-type").cloned();
            let bytes = answer.bytes().await.unwrap_or_default();
            let mut response = (status, bytes).into_response();
            if let Some(content_type) = content_type {
                response.headers_mut().insert("content-type", content_type);
            }
            response
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

async fn a_slow_sync_keeps_its_lease_and_runs_once(backend: Backend) {
    let sandbox = spawn_sandbox().await;
    let proxy = CountingProxy {
        target: sandbox.url.clone(),
        account_reads: Arc::default(),
        http: reqwest::Client::new(),
    };
    let reads = Arc::clone(&proxy.account_reads);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, Router::new().fallback(forward).with_state(proxy))
            .await
            .ok();
    });
    let app = spawn_app_with(
        backend,
        TestAppOptions {
            utility_url: Some(proxy_url),
            job_lease: Some("1s".to_owned()),
            ..TestAppOptions::default()
        },
    )
    .await;
    let org = app.organisation("Acme Solar").await;
    let id = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    let reads_before = reads.load(Ordering::SeqCst);
    // Each utility answer now takes 1.2 s: a sync (accounts, then two accounts'
    // statements) about 3.6 s, more than three leases.
    sandbox
        .admin(
            "/api/admin/utilities/sandbox-water/faults",
            json!({"latencyMs": 1200}),
        )
        .await;
    let before = app.state().clock.now_ms();
    sqlx::query("UPDATE credentials SET next_sync_at = $1 WHERE id = $2")
        .bind(before)
        .bind(&id)
        .execute(app.state().db.pool())
        .await
        .unwrap();
    app.state().wakeups.syncs.notify_one();
    let started = server::infra::clock::from_ms(before)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    app.wait_for_sync(&org.api, &id, Some(&started)).await;
    // Let a second claim, had there been one, finish too.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        reads.load(Ordering::SeqCst) - reads_before,
        1,
        "the sync ran once, its lease renewed while it ran"
    );
    let (lease_after,): (Option<i64>,) =
        sqlx::query_as("SELECT sync_lease_until FROM credentials WHERE id = $1")
            .bind(&id)
            .fetch_one(app.state().db.pool())
            .await
            .unwrap();
    assert_eq!(lease_after, None, "a finished sync gives its lease back");
}

database_tests!(a_slow_sync_keeps_its_lease_and_runs_once);

/// `count` statements of `accounts`, a month each from January 2020.
fn statements(accounts: &[Account], count: usize) -> Vec<Statement> {
    (0..count)
        .map(|n| {
            let account = &accounts[n % accounts.len()];
            let month = time::Month::January.nth_next((n % 12) as u8);
            let year = 2020 + (n / 12) as i32;
            Statement {
                id: format!("{}-{n:04}", account.account_number),
                account_number: account.account_number.clone(),
                period_start: time::Date::from_calendar_date(year, month, 1).unwrap(),
                period_end: time::Date::from_calendar_date(year, month, 28).unwrap(),
                usage: 100.0 + n as f64,
                usage_unit: "gallons".to_owned(),
                amount_cents: 1_000 + n as i64,
                currency: "USD".to_owned(),
            }
        })
        .collect()
}

async fn stored_rows(app: &common::TestApp, id: &str, table: &str) -> i64 {
    let (count,): (i64,) = sqlx::query_as(&format!(
        "SELECT COUNT(*) FROM {table} WHERE credential_id = $1"
    ))
    .bind(id)
    .fetch_one(app.state().db.pool())
    .await
    .unwrap();
    count
}

async fn a_sync_of_more_than_one_trip_stores_each_row_once(backend: Backend) {
    let app = spawn_app_with(backend, TestAppOptions::default()).await;
    let org = app.organisation("Acme Solar").await;
    let id = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    let accounts_before = stored_rows(&app, &id, "utility_accounts").await;
    let statements_before = stored_rows(&app, &id, "utility_statements").await;
    let row = server::domain::credentials::store::find_by_id(&app.state().db, &id)
        .await
        .unwrap()
        .unwrap();
    let accounts: Vec<Account> = (1..=3)
        .map(|n| Account {
            account_number: format!("9000-00000{n}"),
            service_address: format!("{n} Mill Street, Springfield"),
            fuel: "water".to_owned(),
        })
        .collect();
    // 800 statement values: more than the sync's first trip carries.
    let many = statements(&accounts, 100);
    let outcome = stored(app.state(), &row, &accounts, &many, "job:test")
        .await
        .unwrap();
    assert_eq!(
        outcome,
        SyncOutcome::Synced {
            new_accounts: 3,
            new_statements: 100
        }
    );
    assert_eq!(
        stored_rows(&app, &id, "utility_accounts").await,
        accounts_before + 3
    );
    assert_eq!(
        stored_rows(&app, &id, "utility_statements").await,
        statements_before + 100
    );
    // Again, with one statement more at the end: only that one is new.
    let more = statements(&accounts, 101);
    let outcome = stored(app.state(), &row, &accounts, &more, "job:test")
        .await
        .unwrap();
    assert_eq!(
        outcome,
        SyncOutcome::Synced {
            new_accounts: 0,
            new_statements: 1
        }
    );
    assert_eq!(
        stored_rows(&app, &id, "utility_statements").await,
        statements_before + 101
    );
}

database_tests!(a_sync_of_more_than_one_trip_stores_each_row_once);

/// Moves Gridlink's and the sandbox's clocks together, lets the due syncs
/// run, and waits until none is in flight.
async fn advance_both(app: &common::TestApp, by: time::Duration) {
    app.state().clock.advance(by);
    app.sandbox_admin(
        "/api/admin/clock/advance",
        json!({"seconds": by.whole_seconds()}),
    )
    .await;
    app.state().wakeups.syncs.notify_one();
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (leased,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM credentials WHERE sync_lease_until IS NOT NULL")
                .fetch_one(app.state().db.pool())
                .await
                .unwrap();
        if leased == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a sync stays in flight"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Sandbox Idle Power says its tokens die after two hours unused
/// (`idleTimeoutSeconds`): Gridlink syncs its credentials before then (the
/// sync interval is a day), so they stay connected; a token left unused that
/// long is refused, so without the keep-alive they would not.
async fn a_token_that_dies_unused_is_kept_alive(backend: Backend) {
    const IDLE: &str = "sandbox-idle-power";
    let app = common::spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let kept = app.synced_credential(&org.api, IDLE, "user_nomfa").await;
    let left = app
        .synced_credential(&org.api, IDLE, "user_nomfa+left")
        .await;
    // The control: its syncs are off, so nothing uses its token.
    sqlx::query("UPDATE credentials SET next_sync_at = NULL WHERE id = $1")
        .bind(&left)
        .execute(app.state().db.pool())
        .await
        .unwrap();
    let accounts = |stats: serde_json::Value| stats[IDLE]["accounts"].as_u64().unwrap_or(0);
    let reads_before = accounts(app.sandbox_stats().await);

    // Nine hours in 20-minute steps.
    for _ in 0..27 {
        advance_both(&app, time::Duration::minutes(20)).await;
    }
    let credential = common::expect_json(
        org.api.get(&format!("/api/v1/credentials/{kept}")).await,
        200,
    )
    .await;
    assert_eq!(
        credential["statusDetail"], "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL",
        "{credential}"
    );
    let last_synced = time::OffsetDateTime::parse(
        credential["lastSyncedAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        app.state().clock.now() - last_synced < time::Duration::minutes(110),
        "used within its idle timeout: {credential}"
    );
    // Between half and three quarters of two hours apart: 6 to 9 reads in 9 hours.
    let reads = accounts(app.sandbox_stats().await) - reads_before;
    assert!((6..=10).contains(&reads), "{reads} keep-alive syncs");

    let refused = common::expect_json(
        org.api
            .post(&format!("/api/v1/credentials/{left}/sync"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        refused["statusDetail"], "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED",
        "{refused}"
    );
}

database_tests!(a_token_that_dies_unused_is_kept_alive);
