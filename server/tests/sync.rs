//! The sync job's lease: a sync that outlasts its lease keeps it renewed, so
//! no other worker starts the same sync meanwhile.

mod common;

use common::{spawn_app_with, Backend, TestAppOptions};
use serde_json::json;

async fn a_slow_sync_keeps_renewing_its_lease(backend: Backend) {
    let app = spawn_app_with(
        backend,
        TestAppOptions {
            job_lease: Some("1s".to_owned()),
            ..TestAppOptions::default()
        },
    )
    .await;
    let org = app.organisation("Acme Solar").await;
    let id = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    // Each utility answer now takes 1.2 s: a sync (accounts, then two accounts' statements) about 3.6 s.
    app.sandbox_admin(
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
    // Well past the 1 s lease the sync still holds a lease in the future.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (lease_until, last_synced_at): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT sync_lease_until, last_synced_at FROM credentials WHERE id = $1")
            .bind(&id)
            .fetch_one(app.state().db.pool())
            .await
            .unwrap();
    assert!(
        last_synced_at.unwrap() < before,
        "the slow sync is still running"
    );
    let lease_until = lease_until.expect("a sync in flight holds a lease");
    assert!(
        lease_until > app.state().clock.now_ms(),
        "the lease was renewed while the sync ran"
    );
    let started = server::clock::from_ms(before)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    app.wait_for_sync(&org.api, &id, Some(&started)).await;
    let (lease_after,): (Option<i64>,) =
        sqlx::query_as("SELECT sync_lease_until FROM credentials WHERE id = $1")
            .bind(&id)
            .fetch_one(app.state().db.pool())
            .await
            .unwrap();
    assert_eq!(lease_after, None, "a finished sync gives its lease back");
}

database_tests!(a_slow_sync_keeps_renewing_its_lease);
