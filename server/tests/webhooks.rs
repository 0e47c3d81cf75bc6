//! Webhooks end to end: a real receiver over HTTP, the delivery job, the
//! Standard Webhooks signature, retries, and the events that send them.

mod common;

use common::webhook_receiver::{verify, ReceiverOptions, WebhookReceiver};
use common::{expect_json, spawn_app, Backend, TestApp};
use serde_json::json;
use time::Duration;

/// A server with an organisation whose webhooks go to a new receiver that
/// fails its first `fail_first` requests; also the signing secret.
async fn listening_app(
    backend: Backend,
    fail_first: usize,
) -> (TestApp, common::Organisation, WebhookReceiver, String) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let receiver = WebhookReceiver::start(fail_first).await;
    let secret = org.send_webhooks_to(&receiver).await;
    (app, org, receiver, secret)
}

/// Queues a WEBHOOK_TEST message; returns its delivery.
async fn send_test_event(org: &common::Organisation) -> serde_json::Value {
    expect_json(
        org.api
            .post("/api/v1/webhook-endpoint/test", json!({}))
            .await,
        202,
    )
    .await
}

/// Takes every credential off the sync schedule, for tests of jobs racing
/// each other: a sync in progress holds its row, and PostgreSQL sweeps skip
/// locked rows until their next run.
async fn unschedule_syncs(app: &TestApp) {
    sqlx::query("UPDATE credentials SET next_sync_at = NULL")
        .execute(app.state().db.pool())
        .await
        .unwrap();
}

/// Moves the server's clock and wakes the jobs that run on it. It first waits
/// until no sync or delivery is in flight: jumping hours ahead mid-job would
/// outrun its lease, and another claim would run it a second time.
async fn advance(app: &TestApp, by: Duration) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (leased,): (i64,) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM credentials WHERE sync_lease_until IS NOT NULL) \
                  + (SELECT COUNT(*) FROM webhook_deliveries WHERE lease_until IS NOT NULL)",
        )
        .fetch_one(app.state().db.pool())
        .await
        .unwrap();
        if leased == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "jobs stay in flight");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    app.state().clock.advance(by);
    app.state().wakeups.syncs.notify_one();
    app.state().wakeups.webhooks.notify_one();
}

async fn webhook_signatures_verify_with_the_published_algorithm(backend: Backend) {
    let (app, org, receiver, secret) = listening_app(backend, 0).await;
    assert!(secret.starts_with("whsec_"));

    let queued = send_test_event(&org).await;
    let received = receiver.wait_for(1).await;
    let message = &received[0];
    assert_eq!(message.id, queued["id"].as_str().unwrap());
    let sent_at: i64 = message.timestamp.parse().unwrap();
    assert!((sent_at - app.state().clock.now().unix_timestamp()).abs() < 60);
    assert!(verify(&secret, message), "{message:?}");
    assert_eq!(message.json()["type"], "WEBHOOK_TEST");
    let mut tampered = message.clone();
    tampered.body = tampered.body.replace("test event", "tost event");
    assert!(
        !verify(&secret, &tampered),
        "a changed body must not verify"
    );

    // After a rotation both secrets sign for a day, then only the new one.
    let rotated = expect_json(
        org.api
            .post("/api/v1/webhook-endpoint/rotate-secret", json!({}))
            .await,
        200,
    )
    .await;
    let new_secret = rotated["secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    assert!(rotated["endpoint"]["previousSecretExpiresAt"].is_string());
    send_test_event(&org).await;
    let during = receiver.wait_for(2).await[1].clone();
    assert!(verify(new_secret, &during) && verify(&secret, &during));
    advance(&app, Duration::hours(25)).await;
    send_test_event(&org).await;
    let after = receiver.wait_for(3).await[2].clone();
    assert!(verify(new_secret, &after) && !verify(&secret, &after));

    // The delivery and its attempt are on record.
    let detail = expect_json(
        org.api
            .get(&format!("/api/v1/webhook-deliveries/{}", message.id))
            .await,
        200,
    )
    .await;
    assert_eq!(detail["state"], "DELIVERED");
    assert_eq!(detail["attempts"], 1);
    assert_eq!(detail["payload"], message.body.as_str());
    assert_eq!(detail["attemptLog"][0]["responseStatus"], 200);
}

async fn a_receiver_that_fails_three_times_gets_the_event_on_the_fourth_try(backend: Backend) {
    let (app, org, receiver, secret) = listening_app(backend, 3).await;
    let queued = send_test_event(&org).await;
    let id = queued["id"].as_str().unwrap();
    for tries in 1..=3 {
        receiver.wait_for(tries).await;
        let pending = wait_for_attempts(&app, &org, id, tries as u64).await;
        assert_eq!(pending["state"], "PENDING");
        assert!(pending["nextAttemptAt"].is_string());
        assert_eq!(pending["lastResponseStatus"], 500);
        // Nothing is sent before the backoff is over.
        assert_eq!(receiver.received().len(), tries);
        advance(&app, Duration::hours(1)).await;
    }
    let received = receiver.wait_for(4).await;
    assert_eq!(received.len(), 4);
    assert!(received
        .iter()
        .all(|r| r.id == id && r.body == received[0].body));
    assert!(received.iter().all(|r| verify(&secret, r)));
    let delivered = wait_for_attempts(&app, &org, id, 4).await;
    assert_eq!(delivered["state"], "DELIVERED");
    let statuses: Vec<u64> = delivered["attemptLog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|attempt| attempt["responseStatus"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 500, 500, 200]);

    // "Resend" sends the same message once more.
    expect_json(
        org.api
            .post(
                &format!("/api/v1/webhook-deliveries/{id}/resend"),
                json!({}),
            )
            .await,
        202,
    )
    .await;
    let again = receiver.wait_for(5).await;
    assert_eq!(again[4].id, id);
    assert_eq!(again[4].body, received[0].body);
}

/// Waits until the delivery has `attempts` attempts; returns its detail.
async fn wait_for_attempts(
    app: &TestApp,
    org: &common::Organisation,
    id: &str,
    attempts: u64,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let detail = expect_json(
            org.api
                .get(&format!("/api/v1/webhook-deliveries/{id}"))
                .await,
            200,
        )
        .await;
        if detail["attempts"].as_u64() == Some(attempts) {
            return detail;
        }
        assert!(std::time::Instant::now() < deadline, "stuck: {detail}");
        app.state().wakeups.webhooks.notify_one();
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

async fn a_delivery_is_given_up_after_24_hours_of_failures(backend: Backend) {
    let (app, org, _receiver, _) = listening_app(backend, usize::MAX).await;
    let queued = send_test_event(&org).await;
    let id = queued["id"].as_str().unwrap();
    let mut tries = 0;
    loop {
        tries += 1;
        let detail = wait_for_attempts(&app, &org, id, tries).await;
        if detail["state"] == "FAILED" {
            break;
        }
        assert!(tries < 20, "still retrying after {tries} attempts");
        // On to the next attempt: never past the 24-hour window (case 38).
        let next = time::OffsetDateTime::parse(
            detail["nextAttemptAt"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let created = time::OffsetDateTime::parse(
            detail["createdAt"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert!(next - created < Duration::hours(24), "{detail}");
        let now = server::infra::clock::from_ms(app.state().clock.now_ms());
        advance(
            &app,
            (next - now).max(Duration::ZERO) + Duration::milliseconds(10),
        )
        .await;
    }
    // 5 s, 30 s, 3 min, 18 min, 1.8 h, then every 6 h: nine attempts fit in 24 hours.
    assert_eq!(tries, 9, "{tries} attempts");
    let failed = expect_json(
        org.api.get("/api/v1/webhook-deliveries?state=FAILED").await,
        200,
    )
    .await;
    assert_eq!(failed["deliveries"][0]["id"], id);
    assert_eq!(
        failed["deliveries"][0]["lastError"],
        "The endpoint answered 500 Internal Server Error."
    );
}

/// A status change tells the credential as it is when it changes, not as
/// its caller read it: a correlation id changed in between is the one its
/// webhook carries, and the change is made once.
async fn a_status_change_tells_the_correlation_id_it_changed_with(backend: Backend) {
    let (app, org, receiver, _) = listening_app(backend, 0).await;
    let created = expect_json(
        org.api
            .post(
                "/api/v1/credentials",
                json!({"utilityId": "sandbox-electric", "username": "user_good",
                       "password": "pass_good", "correlationId": "before"}),
            )
            .await,
        201,
    )
    .await;
    let id = created["id"].as_str().unwrap();
    app.wait_for_detail(&org.api, id, "MULTI_FACTOR_AUTHENTICATION_METHOD_REQUIRED")
        .await;
    let as_read = server::domain::credentials::store::find_by_id(&app.state().db, id)
        .await
        .unwrap()
        .unwrap();
    expect_json(
        org.api
            .patch(
                &format!("/api/v1/credentials/{id}"),
                json!({"correlationId": "after"}),
            )
            .await,
        200,
    )
    .await;
    let changed = server::domain::lifecycle::connection::fail_verification(
        app.state(),
        &as_read,
        "test",
        "The test ends the verification.",
    )
    .await
    .unwrap();
    assert!(changed);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let told = loop {
        let failed: Vec<serde_json::Value> = receiver
            .delivered("STATUS_CHANGE", id)
            .into_iter()
            .filter(|body| body["data"]["statusDetail"] == "MULTI_FACTOR_AUTHENTICATION_FAILED")
            .collect();
        if !failed.is_empty() {
            break failed;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no webhook told the change"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["data"]["correlationId"], "after", "{}", told[0]);
    let (events,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM credential_events WHERE credential_id = $1 \
           AND to_detail = 'MULTI_FACTOR_AUTHENTICATION_FAILED'",
    )
    .bind(id)
    .fetch_one(app.state().db.pool())
    .await
    .unwrap();
    assert_eq!(events, 1);
}

async fn case_30_an_expired_token_gives_exactly_one_status_change_webhook(backend: Backend) {
    let (app, org, receiver, _) = listening_app(backend, 0).await;
    let id = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    let connected = receiver.wait_for(2).await;
    let kinds: Vec<String> = connected
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        kinds.contains(&"STATUS_CHANGE".to_owned())
            && kinds.contains(&"NEW_DATA_AVAILABLE".to_owned()),
        "{kinds:?}"
    );
    let new_data = &receiver.delivered("NEW_DATA_AVAILABLE", &id)[0];
    let stored = expect_json(
        org.api
            .get(&format!("/api/v1/credentials/{id}/statements"))
            .await,
        200,
    )
    .await;
    let stored = stored.as_array().unwrap().len();
    assert!(stored >= 12);
    assert_eq!(new_data["data"]["newStatements"], stored);
    assert_eq!(
        new_data["data"]["statementIds"].as_array().unwrap().len(),
        stored
    );

    app.sandbox_admin(
        "/api/admin/expire-tokens",
        json!({"username": "user_nomfa"}),
    )
    .await;
    // The scheduled sync, "Sync now" twice and the sweep all notice it.
    advance(&app, Duration::hours(25)).await;
    let sync_path = format!("/api/v1/credentials/{id}/sync");
    let (first, second) = tokio::join!(
        org.api.post(&sync_path, json!({})),
        org.api.post(&sync_path, json!({}))
    );
    for response in [first, second] {
        assert!(matches!(response.status().as_u16(), 200 | 409));
    }
    app.wait_for_detail(
        &org.api,
        &id,
        "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED",
    )
    .await;
    server::jobs::expiry::sweep_expired_tokens(&app.state().db, &app.state().clock)
        .await
        .unwrap();
    receiver.wait_for(3).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        receiver.distinct_messages(),
        3,
        "connected, new data, refresh required: no second webhook"
    );
    let changes = receiver.delivered("STATUS_CHANGE", &id);
    let refresh: Vec<_> = changes
        .iter()
        .filter(|body| {
            body["data"]["statusDetail"] == "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED"
        })
        .collect();
    assert_eq!(refresh.len(), 1, "{changes:#?}");
    assert_eq!(
        refresh[0]["data"]["previousStatusDetail"],
        "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL"
    );
    assert_eq!(refresh[0]["data"]["isCustomerActionRequired"], true);

    // A new password reconnects it: STATUS_CHANGEs and one CREDENTIAL_REPAIRED.
    expect_json(
        org.api
            .patch(
                &format!("/api/v1/credentials/{id}"),
                json!({"password": "pass_good"}),
            )
            .await,
        200,
    )
    .await;
    app.wait_for_detail(&org.api, &id, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
        .await;
    receiver
        .wait_for_delivered("CREDENTIAL_REPAIRED", &id)
        .await;
    assert_eq!(receiver.delivered("CREDENTIAL_REPAIRED", &id).len(), 1);

    // The credential's own deliveries, as its page lists them.
    send_test_event(&org).await;
    let own = expect_json(
        org.api
            .get(&format!("/api/v1/webhook-deliveries?credentialId={id}"))
            .await,
        200,
    )
    .await;
    let own = own["deliveries"].as_array().unwrap();
    assert!(own.len() >= 5, "{own:?}");
    assert!(own
        .iter()
        .all(|delivery| delivery["credentialId"] == id.as_str()));
    let other = app.organisation("Other").await;
    let foreign = expect_json(
        other
            .api
            .get(&format!("/api/v1/webhook-deliveries?credentialId={id}"))
            .await,
        200,
    )
    .await;
    assert_eq!(foreign["deliveries"], json!([]));
}

async fn the_sweep_sends_one_webhook_per_expired_token(backend: Backend) {
    let (app, org, receiver, _) = listening_app(backend, 0).await;
    let gas = app
        .synced_credential(&org.api, "sandbox-gas", "user_nomfa")
        .await;
    let water = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    receiver.wait_for(4).await;
    let before = receiver.distinct_messages();
    unschedule_syncs(&app).await;
    app.state().clock.advance(Duration::days(15));
    let (a, b) = tokio::join!(
        server::jobs::expiry::sweep_expired_tokens(&app.state().db, &app.state().clock),
        server::jobs::expiry::sweep_expired_tokens(&app.state().db, &app.state().clock),
    );
    assert_eq!(
        a.unwrap() + b.unwrap(),
        1,
        "only Sandbox Gas's 14-day token expired"
    );
    receiver.wait_for(before + 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(receiver.distinct_messages(), before + 1);
    let change = &receiver.delivered("STATUS_CHANGE", &gas);
    assert_eq!(
        change.last().unwrap()["data"]["statusDetail"],
        "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED"
    );
    assert_eq!(
        receiver.delivered("STATUS_CHANGE", &water).len(),
        1,
        "only its connection"
    );
}

async fn an_expiry_warning_goes_out_once_per_token(backend: Backend) {
    let (app, org, receiver, _) = listening_app(backend, 0).await;
    let id = app
        .synced_credential(&org.api, "sandbox-gas", "user_nomfa")
        .await;
    let warn = || {
        server::jobs::expiry::warn_expiring_tokens(
            &app.state().db,
            &app.state().clock,
            Duration::days(7),
        )
    };
    assert_eq!(warn().await.unwrap(), 0, "14 days left: too early");
    unschedule_syncs(&app).await;
    app.state().clock.advance(Duration::days(8));
    let (a, b) = tokio::join!(warn(), warn());
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(warn().await.unwrap(), 0, "once per token");
    let warning = receiver
        .wait_for_delivered("SESSION_TOKEN_EXPIRING", &id)
        .await;
    assert!(warning["data"]["tokenExpiresAt"].is_string());
    let events = expect_json(
        org.api
            .get(&format!("/api/v1/credentials/{id}/events"))
            .await,
        200,
    )
    .await;
    let warnings = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["kind"] == "SESSION_TOKEN_EXPIRING")
        .count();
    assert_eq!(warnings, 1);
}

async fn a_down_utility_shows_provider_website_inaccessible_and_recovers(backend: Backend) {
    let (app, org, receiver, _) = listening_app(backend, 0).await;
    let id = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    // Delivered before the clock jumps a day: a message whose 24 hours
    // passed unsent is given up, never sent late.
    receiver.wait_for_delivered("STATUS_CHANGE", &id).await;
    app.sandbox_admin(
        "/api/admin/utilities/sandbox-water/faults",
        json!({"down": true}),
    )
    .await;
    // The scheduled sync fails; retries back off; the third failure in a row shows it.
    advance(&app, Duration::hours(25)).await;
    let mut last_sync = None;
    for failures in 1..=3 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let body =
                expect_json(org.api.get(&format!("/api/v1/credentials/{id}")).await, 200).await;
            let next = body["nextSyncAt"].as_str().map(str::to_owned);
            if next != last_sync
                && failures > 0
                && body["nextSyncAt"].is_string()
                && (failures < 3 || body["statusDetail"] == "PROVIDER_WEBSITE_INACCESSIBLE")
            {
                let expected = if failures < 3 {
                    "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL"
                } else {
                    "PROVIDER_WEBSITE_INACCESSIBLE"
                };
                assert_eq!(
                    body["statusDetail"], expected,
                    "after {failures} failure(s)"
                );
                last_sync = next;
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no retry after {failures} failure(s): {body}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        advance(&app, Duration::hours(1)).await;
    }
    let down = app
        .wait_for_detail(&org.api, &id, "PROVIDER_WEBSITE_INACCESSIBLE")
        .await;
    assert_eq!(down["isAccessible"], false);
    assert_eq!(down["isCustomerActionRequired"], false);
    assert!(down["statusMessage"]
        .as_str()
        .unwrap()
        .contains("not answered"));

    app.sandbox_admin("/api/admin/utilities/sandbox-water/faults", json!({}))
        .await;
    advance(&app, Duration::hours(1)).await;
    app.wait_for_detail(&org.api, &id, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        // Deliveries run in parallel: order them by when the change happened.
        let mut changes = receiver.delivered("STATUS_CHANGE", &id);
        changes.sort_by_key(|body| body["timestamp"].as_str().unwrap().to_owned());
        let details: Vec<String> = changes
            .iter()
            .map(|body| body["data"]["statusDetail"].as_str().unwrap().to_owned())
            .collect();
        if details.len() == 3 {
            assert_eq!(
                details,
                [
                    "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL",
                    "PROVIDER_WEBSITE_INACCESSIBLE",
                    "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL"
                ]
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{details:?}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(
        receiver.delivered("CREDENTIAL_REPAIRED", &id).is_empty(),
        "it needed no action"
    );
}

async fn the_endpoint_is_validated_and_belongs_to_its_organisation(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    expect_json(org.api.get("/api/v1/webhook-endpoint").await, 404).await;
    expect_json(
        org.api
            .post("/api/v1/webhook-endpoint/test", json!({}))
            .await,
        404,
    )
    .await;
    for (url, message) in [
        (
            "http://hooks.example.com/x",
            "Use https:// (plain http:// is only allowed for localhost).",
        ),
        ("", "Enter a URL."),
        (
            "https://user:pw@example.com/",
            "The URL cannot contain a username or password.",
        ),
    ] {
        let refused = expect_json(
            org.api
                .put("/api/v1/webhook-endpoint", json!({"url": url}))
                .await,
            422,
        )
        .await;
        assert_eq!(refused["fields"][0]["field"], "url");
        assert_eq!(refused["fields"][0]["message"], message);
    }
    expect_json(
        org.api
            .put("/api/v1/webhook-endpoint", json!({"address": "x"}))
            .await,
        400,
    )
    .await;
    expect_json(org.api.get("/api/v1/webhook-endpoint").await, 404).await;

    let receiver = WebhookReceiver::start(0).await;
    org.send_webhooks_to(&receiver).await;
    let changed = expect_json(
        org.admin
            .put(
                "/api/v1/webhook-endpoint",
                json!({"url": "https://localhost:9/gridlink"}),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(changed["url"], "https://localhost:9/gridlink");
    assert!(
        changed.get("secret").is_none(),
        "the secret is shown only once"
    );

    // A member sees deliveries but cannot change the endpoint.
    expect_json(
        org.admin
            .post("/api/v1/operators", json!({"email": "member@example.com", "password": "a member's long password", "role": "MEMBER"}))
            .await,
        201,
    )
    .await;
    let member = app
        .sign_in("member@example.com", "a member's long password")
        .await;
    expect_json(member.get("/api/v1/webhook-deliveries").await, 200).await;
    for response in [
        member
            .put(
                "/api/v1/webhook-endpoint",
                json!({"url": "https://evil.example.com"}),
            )
            .await,
        member
            .post("/api/v1/webhook-endpoint/rotate-secret", json!({}))
            .await,
        member.delete("/api/v1/webhook-endpoint").await,
    ] {
        assert_eq!(expect_json(response, 403).await["code"], "FORBIDDEN");
    }

    // Another organisation sees none of it.
    let queued = send_test_event(&org).await;
    let id = queued["id"].as_str().unwrap();
    let other = app.organisation("Other").await;
    expect_json(
        other
            .api
            .get(&format!("/api/v1/webhook-deliveries/{id}"))
            .await,
        404,
    )
    .await;
    expect_json(
        other
            .api
            .post(
                &format!("/api/v1/webhook-deliveries/{id}/resend"),
                json!({}),
            )
            .await,
        404,
    )
    .await;
    assert_eq!(
        expect_json(other.api.get("/api/v1/webhook-deliveries").await, 200).await["deliveries"],
        json!([])
    );
    for query in ["limit=0", "limit=201", "state=LOST", "before=nonsense"] {
        expect_json(
            org.api
                .get(&format!("/api/v1/webhook-deliveries?{query}"))
                .await,
            422,
        )
        .await;
    }

    // Removing the endpoint gives up what was not delivered.
    expect_json(org.api.delete("/api/v1/webhook-endpoint").await, 204).await;
    let after = expect_json(
        org.api
            .get(&format!("/api/v1/webhook-deliveries/{id}"))
            .await,
        200,
    )
    .await;
    assert!(
        matches!(after["state"].as_str(), Some("FAILED" | "DELIVERED")),
        "{after}"
    );
    expect_json(
        org.api
            .post(
                &format!("/api/v1/webhook-deliveries/{id}/resend"),
                json!({}),
            )
            .await,
        409,
    )
    .await;
}

async fn deliveries_are_listed_newest_first_a_page_at_a_time(backend: Backend) {
    let (app, org, _receiver, _) = listening_app(backend, 0).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let queued = send_test_event(&org).await;
        ids.push(queued["id"].as_str().unwrap().to_owned());
        app.state().clock.advance(Duration::seconds(1));
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(before) => format!("?limit=2&before={before}"),
            None => "?limit=2".to_owned(),
        };
        let page = expect_json(
            org.api
                .get(&format!("/api/v1/webhook-deliveries{query}"))
                .await,
            200,
        )
        .await;
        for delivery in page["deliveries"].as_array().unwrap() {
            seen.push(delivery["id"].as_str().unwrap().to_owned());
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids);
}

async fn deliveries_are_kept_for_30_days(backend: Backend) {
    let (app, org, _receiver, _) = listening_app(backend, 0).await;
    let queued = send_test_event(&org).await;
    let id = queued["id"].as_str().unwrap();
    wait_for_attempts(&app, &org, id, 1).await;
    let prune = || server::jobs::retention::prune_deliveries(&app.state().db, &app.state().clock);
    advance(&app, Duration::days(29)).await;
    assert_eq!(prune().await.unwrap(), 0);
    expect_json(
        org.api
            .get(&format!("/api/v1/webhook-deliveries/{id}"))
            .await,
        200,
    )
    .await;
    advance(&app, Duration::days(2)).await;
    assert_eq!(prune().await.unwrap(), 1);
    expect_json(
        org.api
            .get(&format!("/api/v1/webhook-deliveries/{id}"))
            .await,
        404,
    )
    .await;
    let (attempts,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM webhook_attempts")
        .fetch_one(app.state().db.pool())
        .await
        .unwrap();
    assert_eq!(attempts, 0, "its attempts went with it");
}

/// The delivery log names who caused each message as people see them (an
/// operator's email, the API key's name, the job), with the actor's id beside.
async fn the_delivery_log_names_who_caused_each_message(backend: Backend) {
    let (_app, org, receiver, _) = listening_app(backend, 0).await;
    let by_operator = expect_json(
        org.admin
            .post("/api/v1/webhook-endpoint/test", json!({}))
            .await,
        202,
    )
    .await;
    let by_key = send_test_event(&org).await;
    let created = expect_json(
        org.api
            .post(
                "/api/v1/credentials",
                json!({"utilityId": "sandbox-water", "username": "user_nomfa", "password": "pass_good"}),
            )
            .await,
        201,
    )
    .await;
    let credential = created["id"].as_str().unwrap();
    receiver
        .wait_for_delivered("STATUS_CHANGE", credential)
        .await;

    let page = expect_json(org.api.get("/api/v1/webhook-deliveries").await, 200).await;
    let deliveries = page["deliveries"].as_array().unwrap();
    let find = |id: &str| {
        deliveries
            .iter()
            .find(|delivery| delivery["id"] == id)
            .unwrap_or_else(|| panic!("{id} not in {page}"))
    };
    let operator = find(by_operator["id"].as_str().unwrap());
    assert_eq!(operator["actorName"], org.admin_email.as_str());
    assert!(operator["actor"]
        .as_str()
        .unwrap()
        .starts_with("operator:op_"));
    let key = find(by_key["id"].as_str().unwrap());
    assert_eq!(key["actorName"], "API key \u{2018}tests\u{2019}");
    assert!(key["actor"].as_str().unwrap().starts_with("api_key:key_"));
    let status_change = deliveries
        .iter()
        .find(|delivery| {
            delivery["eventType"] == "STATUS_CHANGE" && delivery["credentialId"] == credential
        })
        .unwrap_or_else(|| panic!("no STATUS_CHANGE in {page}"));
    assert_eq!(status_change["actorName"], "Gridlink (login)");
    assert_eq!(status_change["actor"], "job:login");
    // One delivery reads the same.
    let one = expect_json(
        org.api
            .get(&format!(
                "/api/v1/webhook-deliveries/{}",
                by_operator["id"].as_str().unwrap()
            ))
            .await,
        200,
    )
    .await;
    assert_eq!(one["actorName"], org.admin_email.as_str());
}

database_tests!(
    webhook_signatures_verify_with_the_published_algorithm,
    a_receiver_that_fails_three_times_gets_the_event_on_the_fourth_try,
    a_delivery_is_given_up_after_24_hours_of_failures,
    a_status_change_tells_the_correlation_id_it_changed_with,
    case_30_an_expired_token_gives_exactly_one_status_change_webhook,
    the_sweep_sends_one_webhook_per_expired_token,
    an_expiry_warning_goes_out_once_per_token,
    a_down_utility_shows_provider_website_inaccessible_and_recovers,
    the_endpoint_is_validated_and_belongs_to_its_organisation,
    deliveries_are_listed_newest_first_a_page_at_a_time,
    deliveries_are_kept_for_30_days,
    the_delivery_log_names_who_caused_each_message,
);

/// The delivery log is searchable by event type, credential, state and time;
/// replaying a time range (or a credential) sends its failed messages again,
/// oldest first, each with its original id.
async fn failed_messages_are_found_and_replayed_in_order_with_their_ids(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    // Each answer takes a second: the replayed messages' schedule is read
    // below before any attempt is recorded (a delivered message has none).
    let receiver = WebhookReceiver::start_with(ReceiverOptions {
        fail_first: 3,
        delay: std::time::Duration::from_secs(1),
        ..ReceiverOptions::default()
    })
    .await;
    org.send_webhooks_to(&receiver).await;
    let started = app.state().clock.now();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            send_test_event(&org).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    receiver.wait_for(3).await;
    // Each first attempt is recorded (and its lease released) after the receiver answered.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (recorded,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE organisation_id = $1 AND attempts >= 1 AND lease_until IS NULL",
        )
        .bind(&org.id)
        .fetch_one(app.state().db.pool())
        .await
        .unwrap();
        if recorded == 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "attempts not recorded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Move them to FAILED as 24 hours of failures would.
    sqlx::query("UPDATE webhook_deliveries SET state = 'FAILED', next_attempt_at = NULL WHERE organisation_id = $1")
        .bind(&org.id)
        .execute(app.state().db.pool())
        .await
        .unwrap();
    let format = |moment: time::OffsetDateTime| {
        moment
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let found = expect_json(
        org.api
            .get(&format!(
                "/api/v1/webhook-deliveries?eventType=WEBHOOK_TEST&state=FAILED&from={}",
                format(started - Duration::seconds(1))
            ))
            .await,
        200,
    )
    .await;
    assert_eq!(found["deliveries"].as_array().unwrap().len(), 3, "{found}");
    let none = expect_json(
        org.api
            .get("/api/v1/webhook-deliveries?eventType=STATUS_CHANGE")
            .await,
        200,
    )
    .await;
    assert!(none["deliveries"].as_array().unwrap().is_empty(), "{none}");
    expect_json(
        org.api
            .get("/api/v1/webhook-deliveries?eventType=NOPE")
            .await,
        422,
    )
    .await;
    expect_json(
        org.api
            .post("/api/v1/webhook-deliveries/replay", json!({}))
            .await,
        422,
    )
    .await;

    let replayed = expect_json(
        org.api
            .post(
                "/api/v1/webhook-deliveries/replay",
                json!({"from": format(started - Duration::seconds(1)), "to": format(app.state().clock.now() + Duration::seconds(1))}),
            )
            .await,
        202,
    )
    .await;
    assert_eq!(replayed["requeued"], 3);
    // Queued oldest first (ids sort by creation time); two go out at a time,
    // so receivers order by the body's timestamp, as with every message.
    let scheduled: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM webhook_deliveries WHERE organisation_id = $1 ORDER BY next_attempt_at, id",
    )
    .bind(&org.id)
    .fetch_all(app.state().db.pool())
    .await
    .unwrap();
    let scheduled: Vec<String> = scheduled.into_iter().map(|(id,)| id).collect();
    let mut by_age = scheduled.clone();
    by_age.sort();
    assert_eq!(scheduled, by_age, "queued oldest first");
    let received = receiver.wait_for(6).await;
    let mut sent: Vec<String> = received[3..].iter().map(|r| r.id.clone()).collect();
    sent.sort();
    let mut original = ids;
    original.sort();
    assert_eq!(sent, original, "each with its original id");
}

database_tests!(failed_messages_are_found_and_replayed_in_order_with_their_ids);
