//! Concurrent writers: one active update link however many "Generate update
//! link" at once, an admin always left when two admins demote each other,
//! key rotation under live writes (case 17), and SQLite under every writer at
//! once (case 27).

mod common;

use std::time::{Duration, Instant};

use common::webhook_receiver::WebhookReceiver;
use common::{expect_json, spawn_app, Backend};
use serde_json::json;
use server::infra::crypto::{Keyring, MasterKey};

async fn concurrent_update_links_leave_one_active(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let id = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    let requests = (0..6).map(|_| {
        let api = org.api.clone();
        let path = format!("/api/v1/credentials/{id}/update-links");
        tokio::spawn(async move { api.post(&path, json!({})).await.status().as_u16() })
    });
    for request in requests.collect::<Vec<_>>() {
        assert_eq!(request.await.unwrap(), 201);
    }
    let (active,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM connect_sessions WHERE credential_id = $1 AND purpose = 'UPDATE_LINK' \
           AND revoked_at IS NULL AND completed_at IS NULL",
    )
    .bind(&id)
    .fetch_one(app.state().db.pool())
    .await
    .unwrap();
    assert_eq!(active, 1);
}

async fn two_admins_demoting_each_other_at_once_leave_one_admin(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    expect_json(
        org.admin
            .post(
                "/api/v1/operators",
                json!({"email": "second-admin@example.com", "password": "a second long password", "role": "ADMIN"}),
            )
            .await,
        201,
    )
    .await;
    let second = app
        .sign_in("second-admin@example.com", "a second long password")
        .await;
    let operators = expect_json(org.admin.get("/api/v1/operators").await, 200).await;
    let id_of = |email: &str| {
        operators
            .as_array()
            .unwrap()
            .iter()
            .find(|operator| operator["email"] == email)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (first_id, second_id) = (id_of(&org.admin_email), id_of("second-admin@example.com"));
    let (demote_second, demote_first) = (
        format!("/api/v1/operators/{second_id}"),
        format!("/api/v1/operators/{first_id}"),
    );
    let (one, two) = tokio::join!(
        org.admin.patch(&demote_second, json!({"role": "MEMBER"})),
        second.patch(&demote_first, json!({"role": "MEMBER"})),
    );
    let statuses = [one.status().as_u16(), two.status().as_u16()];
    let (admins,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM operators WHERE organisation_id = $1 AND role = 'ADMIN' AND removed_at IS NULL",
    )
    .bind(&org.id)
    .fetch_one(app.state().db.pool())
    .await
    .unwrap();
    assert!(admins >= 1, "no admin left ({statuses:?})");
    // The loser is refused: 409 if it checked while the other was still an
    // admin, 403 if it had already been demoted itself.
    assert_eq!(
        statuses.iter().filter(|status| **status == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&409) || statuses.contains(&403),
        "{statuses:?}"
    );
}

/// Case 17: the new key comes first while the server runs; rows written
/// during the re-seal are sealed under it, old rows still open, and the
/// re-seal can run again until nothing is left under the old key.
async fn case_17_key_rotation_under_live_writes_keeps_every_row_open(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    for n in 0..4 {
        app.synced_credential(&org.api, "sandbox-water", &format!("user_nomfa+old{n}"))
            .await;
    }
    let old_key = app.state().keyring.current().clone();
    let new_key = MasterKey::generate("k2");
    let keyring_value = format!(
        "{},{}",
        new_key.to_config_value(),
        old_key.to_config_value()
    );
    let app = app
        .try_restart_with(|argv| {
            for arg in argv.iter_mut() {
                if arg.starts_with("--master-key=") {
                    *arg = format!("--master-key={keyring_value}");
                }
            }
        })
        .await
        .expect("the server starts with the new key first");
    let keyring = Keyring::parse(&keyring_value).unwrap();
    // The restarted server listens elsewhere; the API key is still valid.
    let api = common::Client {
        base: app.base_url.clone(),
        ..org.api.clone()
    };
    let org_api = api.clone();
    let writes = tokio::spawn({
        let base = app.base_url.clone();
        async move {
            let mut ids = Vec::new();
            for n in 0..6 {
                let created = org_api
                    .post(
                        "/api/v1/credentials",
                        json!({"utilityId": "sandbox-water", "username": format!("user_nomfa+new{n}"), "password": "pass_good"}),
                    )
                    .await;
                assert_eq!(created.status(), 201, "{base}");
                ids.push(
                    created.json::<serde_json::Value>().await.unwrap()["id"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
            ids
        }
    });
    let first_pass = server::domain::key_rotation::rotate(&app.state().db, &keyring)
        .await
        .unwrap();
    let new_ids = writes.await.unwrap();
    for id in &new_ids {
        app.wait_for_detail(&api, id, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
            .await;
    }
    // Resume: whatever the first pass missed is done now; a third pass finds nothing.
    server::domain::key_rotation::rotate(&app.state().db, &keyring)
        .await
        .unwrap();
    let last = server::domain::key_rotation::rotate(&app.state().db, &keyring)
        .await
        .unwrap();
    assert_eq!(last.resealed, 0, "first pass {first_pass:?}");
    let only_new = Keyring::single(new_key);
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT id, sealed_password, sealed_session_token FROM credentials WHERE organisation_id = $1",
    )
    .bind(&org.id)
    .fetch_all(app.state().db.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), 10);
    for (id, password, token) in rows {
        let opened = server::domain::credentials::secrets::open_password(&only_new, &id, &password)
            .unwrap_or_else(|error| panic!("{id}'s password does not open: {error}"));
        assert_eq!(opened.expose(), "pass_good");
        let token = token.expect("connected");
        assert!(
            token.starts_with("v1.k2."),
            "{id}'s token is still under the old key"
        );
    }
}

database_tests!(
    concurrent_update_links_leave_one_active,
    two_admins_demoting_each_other_at_once_leave_one_admin,
    case_17_key_rotation_under_live_writes_keeps_every_row_open,
);

/// Case 27: on SQLite, API writes, syncs, the expiry sweep, retention and
/// webhook deliveries run together for 30 seconds; no request fails and
/// nothing reports "database is locked".
#[tokio::test]
async fn case_27_sqlite_under_every_writer_at_once_never_reports_database_is_locked() {
    let app = spawn_app(Backend::Sqlite).await;
    let org = app.organisation("Acme Solar").await;
    let receiver = WebhookReceiver::start(0).await;
    org.send_webhooks_to(&receiver).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut writers = Vec::new();
    for writer in 0..4 {
        let api = org.api.clone();
        writers.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            let mut n = 0;
            while Instant::now() < deadline {
                let created = api
                    .post(
                        "/api/v1/credentials",
                        json!({"utilityId": "sandbox-water", "username": format!("user_nomfa+w{writer}n{n}"), "password": "pass_good"}),
                    )
                    .await;
                if created.status() != 201 {
                    failures.push(format!("create: {}", created.status()));
                    continue;
                }
                let id = created.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
                for path in [format!("/api/v1/credentials/{id}/update-links"), "/api/v1/webhook-endpoint/test".to_owned()] {
                    let status = api.post(&path, json!({})).await.status();
                    if status.is_server_error() {
                        failures.push(format!("{path}: {status}"));
                    }
                }
                let synced = api.post(&format!("/api/v1/credentials/{id}/sync"), json!({})).await.status();
                if synced.is_server_error() {
                    failures.push(format!("sync: {synced}"));
                }
                n += 1;
            }
            (n, failures)
        }));
    }
    let state = app.state().clone();
    let jobs = tokio::spawn(async move {
        let mut failures = Vec::new();
        while Instant::now() < deadline {
            if let Err(error) =
                server::jobs::expiry::sweep_expired_tokens(&state.db, &state.clock).await
            {
                failures.push(format!("sweep: {error:#}"));
            }
            if let Err(error) =
                server::jobs::retention::prune_deliveries(&state.db, &state.clock).await
            {
                failures.push(format!("retention: {error:#}"));
            }
            state.wakeups.syncs.notify_one();
            state.wakeups.webhooks.notify_one();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        failures
    });
    let mut created = 0;
    let mut failures = Vec::new();
    for writer in writers {
        let (n, writer_failures) = writer.await.unwrap();
        created += n;
        failures.extend(writer_failures);
    }
    failures.extend(jobs.await.unwrap());
    assert!(created > 20, "only {created} credentials were written");
    assert!(failures.is_empty(), "{failures:#?}");
    let (failed_deliveries,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM webhook_attempts WHERE error LIKE '%locked%'")
            .fetch_one(app.state().db.pool())
            .await
            .unwrap();
    assert_eq!(failed_deliveries, 0);
}
