//! Where webhooks may go and how fairly they are sent: the SSRF rule (only
//! public addresses unless GRIDLINK_WEBHOOK_ALLOW_PRIVATE), checked when the
//! URL is saved and again when connecting; test events limited per
//! organisation; one organisation's stalled endpoint never delays another's.
//!
//! Private ranges appear here only as literals to validate: nothing connects
//! to them. Every request in these tests goes to loopback.

mod common;

use std::time::{Duration, Instant};

use common::webhook_receiver::{ReceiverOptions, WebhookReceiver};
use common::{expect_json, spawn_app, spawn_app_with, Backend, TestApp, TestAppOptions};
use serde_json::json;
use shared::webhooks::WebhookEventType;

async fn refusing_app(backend: Backend) -> TestApp {
    spawn_app_with(
        backend,
        TestAppOptions {
            refuse_private_webhooks: true,
            ..TestAppOptions::default()
        },
    )
    .await
}

async fn case_47_webhook_urls_pointing_at_non_public_addresses_are_refused_when_saved(
    backend: Backend,
) {
    let app = refusing_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let receiver = WebhookReceiver::start(0).await;
    let port = reqwest::Url::parse(&receiver.url).unwrap().port().unwrap();
    let refused = [
        (receiver.url.clone(), "loopback"),
        (format!("http://localhost:{port}/hooks"), "loopback"),
        ("https://10.1.2.3/hooks".to_owned(), "private"),
        ("https://172.20.0.5/hooks".to_owned(), "private"),
        ("https://192.168.0.10:8443/hooks".to_owned(), "private"),
        (
            "https://169.254.169.254/latest/meta-data".to_owned(),
            "link-local",
        ),
        ("https://100.64.0.1/hooks".to_owned(), "carrier-grade NAT"),
        ("https://[fd00::1]/hooks".to_owned(), "unique-local"),
        ("https://[fe80::1]/hooks".to_owned(), "link-local"),
        ("https://[::ffff:192.168.1.1]/hooks".to_owned(), "private"),
        // Case 47: IPv6 forms that carry a loopback or private IPv4 address.
        ("https://[2002:7f00:1::1]/hooks".to_owned(), "loopback"),
        ("https://[2001:0:7f00:1::1]/hooks".to_owned(), "loopback"),
        ("https://[64:ff9b:1::a00:1]/hooks".to_owned(), "private"),
        ("https://0.0.0.0/hooks".to_owned(), "unspecified"),
        ("https://224.0.0.1/hooks".to_owned(), "multicast"),
    ];
    for (url, kind) in refused {
        let body = expect_json(
            org.admin
                .put("/api/v1/webhook-endpoint", json!({"url": url}))
                .await,
            422,
        )
        .await;
        let message = body["fields"][0]["message"].as_str().unwrap_or_default();
        assert_eq!(body["fields"][0]["field"], "url", "{url}: {body}");
        assert!(message.contains(kind), "{url}: {message}");
        assert!(message.contains("public addresses"), "{url}: {message}");
    }
    // Nothing was saved, and nothing reached the loopback receiver.
    expect_json(org.api.get("/api/v1/webhook-endpoint").await, 404).await;
    assert!(receiver.received().is_empty());
}

/// A URL that passed when it was saved can point somewhere else later (DNS
/// rebinding, an edited row): the check runs again on every delivery, for IP
/// literals and for names, and the receiver is never reached.
async fn a_delivery_to_a_target_that_became_private_is_refused_at_connection_time(
    backend: Backend,
) {
    let app = refusing_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let receiver = WebhookReceiver::start(0).await;
    let port = reqwest::Url::parse(&receiver.url).unwrap().port().unwrap();
    for url in [
        receiver.url.clone(),
        format!("http://localhost:{port}/hooks"),
        // Case 47: 6to4 carrying 127.0.0.1, refused before any connection.
        format!("http://[2002:7f00:1::1]:{port}/hooks"),
    ] {
        save_endpoint_unchecked(&app, &org.id, &url).await;
        let delivery = common::test_event_with_its_first_attempt(&org).await;
        let error = delivery["attemptLog"][0]["error"].as_str().unwrap();
        assert!(error.starts_with("Not sent:"), "{url}: {error}");
        assert!(error.contains("loopback"), "{url}: {error}");
        assert!(delivery["attemptLog"][0]["responseStatus"].is_null());
    }
    assert!(receiver.received().is_empty(), "the receiver was reached");
}

async fn loopback_targets_are_reached_with_webhook_allow_private(backend: Backend) {
    let app = spawn_app(backend).await; // the harness passes --webhook-allow-private
    let org = app.organisation("Acme Solar").await;
    let receiver = WebhookReceiver::start(0).await;
    let port = reqwest::Url::parse(&receiver.url).unwrap().port().unwrap();
    for url in [
        receiver.url.clone(),
        format!("http://localhost:{port}/hooks"),
    ] {
        let status = org
            .admin
            .put("/api/v1/webhook-endpoint", json!({"url": url}))
            .await
            .status();
        assert!(status == 200 || status == 201, "{url}: {status}");
        let delivery = common::test_event_with_its_first_attempt(&org).await;
        assert_eq!(delivery["attemptLog"][0]["responseStatus"], 200, "{url}");
    }
    assert_eq!(receiver.wait_for(2).await.len(), 2);
}

async fn test_events_are_limited_per_organisation(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let other = app.organisation("Other Energy").await;
    let receiver = WebhookReceiver::start(0).await;
    for organisation in [&org, &other] {
        expect_json(
            organisation
                .api
                .put("/api/v1/webhook-endpoint", json!({"url": receiver.url}))
                .await,
            201,
        )
        .await;
    }
    for _ in 0..5 {
        expect_json(
            org.api
                .post("/api/v1/webhook-endpoint/test", json!({}))
                .await,
            202,
        )
        .await;
    }
    let refused = org
        .api
        .post("/api/v1/webhook-endpoint/test", json!({}))
        .await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "TOO_MANY_REQUESTS", "{body}");
    let (queued,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM webhook_deliveries WHERE organisation_id = $1")
            .bind(&org.id)
            .fetch_one(app.state().db.pool())
            .await
            .unwrap();
    assert_eq!(queued, 5, "the refused request queued nothing");
    // Another organisation is not affected, and a minute later the first may test again.
    expect_json(
        other
            .api
            .post("/api/v1/webhook-endpoint/test", json!({}))
            .await,
        202,
    )
    .await;
    app.state().clock.advance(time::Duration::seconds(61));
    expect_json(
        org.api
            .post("/api/v1/webhook-endpoint/test", json!({}))
            .await,
        202,
    )
    .await;
}

/// Organisation A's endpoint takes 10 s per request and has 100 messages
/// queued; organisation B's STATUS_CHANGE still arrives within 2 s. Without
/// the per-organisation cap, B would wait behind A's backlog (every delivery
/// slot stalled for 10 s at a time).
async fn a_stalled_endpoint_does_not_delay_another_organisations_webhooks(backend: Backend) {
    let app = spawn_app(backend).await;
    let slow_org = app.organisation("Slow Receiver Ltd").await;
    let org = app.organisation("Acme Solar").await;
    let stalled = WebhookReceiver::start_with(ReceiverOptions {
        delay: Duration::from_secs(10),
        ..ReceiverOptions::default()
    })
    .await;
    let receiver = WebhookReceiver::start(0).await;
    expect_json(
        slow_org
            .api
            .put("/api/v1/webhook-endpoint", json!({"url": stalled.url}))
            .await,
        201,
    )
    .await;
    org.send_webhooks_to(&receiver).await;
    let id = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    receiver.wait_for_delivered("STATUS_CHANGE", &id).await;

    let mut connection = app.state().db.pool().acquire().await.unwrap();
    for n in 0..100 {
        let message = server::domain::webhooks::outbox::Message {
            organisation_id: &slow_org.id,
            credential_id: None,
            event_type: WebhookEventType::WebhookTest,
            data: json!({"n": n}),
            actor: "job:test",
        };
        server::domain::webhooks::outbox::enqueue(
            &mut connection,
            &message,
            app.state().clock.now_ms(),
        )
        .await
        .unwrap();
    }
    drop(connection);
    app.state().wakeups.webhooks.notify_one();
    // Wait until the stalled endpoint holds deliveries in flight.
    let deadline = Instant::now() + Duration::from_secs(10);
    while stalled_in_flight(&app, &slow_org.id).await == 0 {
        assert!(
            Instant::now() < deadline,
            "the stalled endpoint got nothing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    app.sandbox_admin(
        "/api/admin/expire-tokens",
        json!({"username": "user_nomfa", "utility": "sandbox-water"}),
    )
    .await;
    let started = Instant::now();
    org.api
        .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
        .await;
    let deadline = started + Duration::from_secs(2);
    loop {
        let arrived = receiver
            .delivered("STATUS_CHANGE", &id)
            .iter()
            .any(|message| {
                message["data"]["statusDetail"] == "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED"
            });
        if arrived {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "organisation B's STATUS_CHANGE waited behind A's stalled endpoint"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        stalled_in_flight(&app, &slow_org.id).await
            <= server::jobs::webhook_delivery::PER_ORGANISATION_IN_FLIGHT,
        "A never holds more than its share"
    );
}

async fn stalled_in_flight(app: &TestApp, organisation_id: &str) -> i64 {
    let (leased,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM webhook_deliveries WHERE organisation_id = $1 AND lease_until IS NOT NULL",
    )
    .bind(organisation_id)
    .fetch_one(app.state().db.pool())
    .await
    .unwrap();
    leased
}

database_tests!(
    case_47_webhook_urls_pointing_at_non_public_addresses_are_refused_when_saved,
    a_delivery_to_a_target_that_became_private_is_refused_at_connection_time,
    loopback_targets_are_reached_with_webhook_allow_private,
    test_events_are_limited_per_organisation,
    a_stalled_endpoint_does_not_delay_another_organisations_webhooks,
);

/// Writes the endpoint row directly, as a URL that passed its check when it
/// was saved and resolves elsewhere now would look.
async fn save_endpoint_unchecked(app: &TestApp, organisation_id: &str, url: &str) {
    let secret = server::infra::webhook_signing::SigningSecret::generate();
    let now = app.state().clock.now_ms();
    let pool = app.state().db.pool();
    sqlx::query("DELETE FROM webhook_endpoints WHERE organisation_id = $1")
        .bind(organisation_id)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO webhook_endpoints (organisation_id, url, sealed_secret, secret_created_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4, $4)",
    )
    .bind(organisation_id)
    .bind(url)
    .bind(secret.seal(&app.state().keyring, organisation_id))
    .bind(now)
    .execute(pool)
    .await
    .unwrap();
}

/// When the attempt after `message_id`'s first one is due, in ms after it.
async fn pause_after_first_attempt(app: &TestApp, message_id: &str) -> i64 {
    let (attempted_at,): (i64,) =
        sqlx::query_as("SELECT MIN(attempted_at) FROM webhook_attempts WHERE delivery_id = $1")
            .bind(message_id)
            .fetch_one(app.state().db.pool())
            .await
            .unwrap();
    let (next,): (Option<i64>,) =
        sqlx::query_as("SELECT next_attempt_at FROM webhook_deliveries WHERE id = $1")
            .bind(message_id)
            .fetch_one(app.state().db.pool())
            .await
            .unwrap();
    next.expect("another attempt is scheduled") - attempted_at
}

/// A receiver that answers 429 or 503 with `Retry-After` is left alone that
/// long (not the 5 s of the normal schedule); other 4xx follow the schedule.
async fn a_receiver_s_retry_after_is_honoured(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let receiver = WebhookReceiver::start_with(ReceiverOptions {
        script: vec![
            (429, Some("120".to_owned())),
            (503, Some("43200".to_owned())),
            (400, Some("600".to_owned())),
        ],
        ..ReceiverOptions::default()
    })
    .await;
    org.send_webhooks_to(&receiver).await;
    let mut pauses = Vec::new();
    for _ in 0..3 {
        let delivery = common::test_event_with_its_first_attempt(&org).await;
        pauses.push(pause_after_first_attempt(&app, delivery["id"].as_str().unwrap()).await);
    }
    assert_eq!(pauses[0], 120_000, "429 with Retry-After: 120");
    assert_eq!(
        pauses[1],
        6 * 60 * 60 * 1000,
        "503 asking for 12 h: capped at the longest pause (6 h)"
    );
    assert_eq!(
        pauses[2], 5_000,
        "a 400's Retry-After is not a request for time: the normal schedule"
    );
}

/// 410 Gone disables the endpoint and says so; nothing is sent (messages
/// wait) until an admin saves it again, and then they are delivered.
async fn a_gone_endpoint_is_disabled_until_saved_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let receiver = WebhookReceiver::start_with(ReceiverOptions {
        script: vec![(410, None)],
        ..ReceiverOptions::default()
    })
    .await;
    org.send_webhooks_to(&receiver).await;
    common::test_event_with_its_first_attempt(&org).await;
    let endpoint = expect_json(org.api.get("/api/v1/webhook-endpoint").await, 200).await;
    assert!(endpoint["disabledAt"].is_string(), "{endpoint}");
    assert!(endpoint["disabledReason"].as_str().unwrap().contains("410"));
    // Another message waits instead of being sent.
    expect_json(
        org.api
            .post("/api/v1/webhook-endpoint/test", json!({}))
            .await,
        202,
    )
    .await;
    app.state().clock.advance(time::Duration::seconds(10));
    app.state().wakeups.webhooks.notify_one();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "nothing was sent to a disabled endpoint"
    );
    // Saving the endpoint (the body a GET answered) enables it; both messages go out.
    let saved = expect_json(org.api.put("/api/v1/webhook-endpoint", endpoint).await, 200).await;
    assert!(saved["disabledAt"].is_null(), "{saved}");
    app.state().wakeups.webhooks.notify_one();
    let deadline = Instant::now() + Duration::from_secs(15);
    while receiver.delivered_count() < 2 {
        assert!(
            Instant::now() < deadline,
            "the waiting messages were not delivered"
        );
        app.state().clock.advance(time::Duration::seconds(10));
        app.state().wakeups.webhooks.notify_one();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

database_tests!(
    a_receiver_s_retry_after_is_honoured,
    a_gone_endpoint_is_disabled_until_saved_again
);
