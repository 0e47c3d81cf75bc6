//! Time that replicas agree on and that never runs backwards: on PostgreSQL
//! every replica keeps time by the database's clock, so two replicas whose
//! system clocks are five minutes apart still do each job, webhook and link
//! expiry once; and a system clock stepped backwards (an NTP correction)
//! neither brings an expired link back nor sends a webhook again.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::webhook_receiver::{ReceiverOptions, WebhookReceiver};
use common::{expect_json, spawn_app_with, spawn_sandbox, Backend, Client, TestApp};
use common::{Organisation, TestAppOptions};
use serde_json::{json, Value};
use server::infra::clock::Clock;
use server::infra::crypto::MasterKey;

async fn credentials(api: &Client) -> Vec<Value> {
    let page = expect_json(api.get("/api/v1/credentials?pageSize=100").await, 200).await;
    page["items"].as_array().unwrap().clone()
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether Connect still opens with the link `token`: its session's status.
async fn link_status(app: &TestApp, token: &str) -> u16 {
    app.connect_client(token)
        .get("/api/connect/session")
        .await
        .status()
        .as_u16()
}

async fn update_link(org: &Organisation, credential_id: &str) -> String {
    let link = expect_json(
        org.api
            .post(
                &format!("/api/v1/credentials/{credential_id}/update-links"),
                json!({}),
            )
            .await,
        201,
    )
    .await;
    link["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_five_minutes_apart_do_each_job_webhook_and_expiry_once_on_postgres() {
    let database_url = common::fresh_postgres_database().await;
    let sandbox = spawn_sandbox().await;
    // Each webhook takes a while to answer, so a replica that misread a
    // lease as run out would send it again while the first is on its way.
    let receiver = WebhookReceiver::start_with(ReceiverOptions {
        delay: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let master_key = MasterKey::generate("k1").to_config_value();
    let replica = |clock: Clock| TestAppOptions {
        utility_url: Some(sandbox.url.clone()),
        database_url: Some(database_url.clone()),
        master_key: Some(master_key.clone()),
        clock: Some(clock),
        ..Default::default()
    };
    let right = Clock::default();
    let ahead = Clock::with_system_error(time::Duration::minutes(5));
    let a = spawn_app_with(Backend::Postgres, replica(right.clone())).await;
    let b = spawn_app_with(Backend::Postgres, replica(ahead.clone())).await;
    assert!(
        (ahead.now_ms() - right.now_ms()).abs() < 1_000,
        "replica B keeps the database's time, not its own"
    );

    let org = a.organisation("Acme Solar").await;
    let api_b = Client {
        base: b.base_url.clone(),
        ..org.api.clone()
    };
    expect_json(
        org.api
            .put("/api/v1/webhook-endpoint", json!({"url": receiver.url}))
            .await,
        201,
    )
    .await;
    const CREDENTIALS: usize = 10;
    for index in 0..CREDENTIALS {
        let api = if index % 2 == 0 { &org.api } else { &api_b };
        expect_json(
            api.post(
                "/api/v1/credentials",
                json!({"utilityId": "sandbox-water", "username": "user_nomfa", "password": "pass_good"}),
            )
            .await,
            201,
        )
        .await;
    }
    wait_until("every credential synced", async || {
        credentials(&org.api)
            .await
            .iter()
            .all(|c| c["lastSyncedAt"].is_string())
    })
    .await;
    sandbox
        .admin(
            "/api/admin/expire-tokens",
            json!({"username": "user_nomfa"}),
        )
        .await;
    for (index, credential) in credentials(&org.api).await.iter().enumerate() {
        let api = if index % 2 == 0 { &org.api } else { &api_b };
        let id = credential["id"].as_str().unwrap();
        api.post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
            .await;
    }
    wait_until("every webhook delivered", async || {
        receiver.received().len() >= 3 * CREDENTIALS
    })
    .await;
    // Long enough for a replica that thought a lease had run out to resend.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let received = receiver.received();
    let ids: HashSet<&str> = received.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), received.len(), "a webhook was sent twice");
    assert_eq!(received.len(), 3 * CREDENTIALS);
    for credential in credentials(&org.api).await {
        let id = credential["id"].as_str().unwrap();
        let changes = org.events(id, "STATUS_CHANGE").await;
        assert_eq!(changes.len(), 2, "{id}: {changes:?}");
    }

    // An update link expires at the same moment on both replicas: at 72
    // hours less a minute, replica B (whose system clock reads five minutes
    // later) still opens it.
    let id = credentials(&org.api).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = update_link(&org, &id).await;
    for clock in [&right, &ahead] {
        clock.advance(time::Duration::hours(72) - time::Duration::minutes(1));
    }
    assert_eq!(link_status(&a, &token).await, 200);
    assert_eq!(link_status(&b, &token).await, 200);
    for clock in [&right, &ahead] {
        clock.advance(time::Duration::minutes(2));
    }
    assert_eq!(link_status(&a, &token).await, 410);
    assert_eq!(link_status(&b, &token).await, 410);
}

async fn a_clock_stepped_backwards_brings_no_link_back_and_sends_no_webhook_again(
    backend: Backend,
) {
    let clock = Clock::default();
    let app = spawn_app_with(
        backend,
        TestAppOptions {
            clock: Some(clock.clone()),
            ..Default::default()
        },
    )
    .await;
    let receiver = WebhookReceiver::start(0).await;
    let org = app.organisation("Acme Solar").await;
    org.send_webhooks_to(&receiver).await;
    let id = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    app.sandbox_admin(
        "/api/admin/expire-tokens",
        json!({"username": "user_nomfa", "utility": "sandbox-water"}),
    )
    .await;
    org.api
        .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
        .await;
    let token = update_link(&org, &id).await;
    // Connected, new data, refresh required.
    let delivered = receiver.wait_for(3).await.len();

    clock.advance(time::Duration::hours(72) + time::Duration::minutes(1));
    assert_eq!(link_status(&app, &token).await, 410);
    let before = clock.now_ms();

    // NTP takes the system clock back two hours; the server reads it again.
    clock.step_system_clock(-time::Duration::hours(2));
    let moved = server::jobs::clock_sync::anchor(&app.state().db, &clock)
        .await
        .unwrap();
    match backend {
        // On SQLite the system clock is the reference: it went back.
        Backend::Sqlite => assert!(moved <= -time::Duration::minutes(119), "{moved}"),
        // On PostgreSQL the database's clock is, and it did not move.
        Backend::Postgres => assert!(moved.abs() < time::Duration::seconds(1), "{moved}"),
    }
    assert!(clock.now_ms() >= before, "the clock went backwards");
    assert_eq!(link_status(&app, &token).await, 410);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), delivered);
    let ids: HashSet<String> = receiver.received().into_iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), delivered, "a webhook was sent again");
}

database_tests!(a_clock_stepped_backwards_brings_no_link_back_and_sends_no_webhook_again);
