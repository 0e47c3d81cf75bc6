//! The second round of hostile cases (33–51 in HOSTILE_CASES.md) that need a
//! running server: what production defaults, stored data and odd input must
//! never do. Cases that live in one module are tested beside it.

mod common;

use std::time::{Duration, Instant};

use common::webhook_receiver::WebhookReceiver;
use common::{expect_json, spawn_app, Backend, Organisation, TestApp};
use serde_json::json;
use server::domain::mail::outbox::{self, Content, MailKind, OutgoingMail};

/// Queues a mail as Gridlink's own code does, `age` ago.
async fn queue_mail(
    app: &TestApp,
    org: &Organisation,
    credential_id: &str,
    to: &str,
    content: Content,
    age: Duration,
) -> String {
    let now = app.state().clock.now_ms() - i64::try_from(age.as_millis()).unwrap();
    let mut writer = app.state().db.writer().await.unwrap();
    let id = outbox::enqueue(
        &mut writer,
        &app.state().keyring,
        &OutgoingMail {
            organisation_id: Some(&org.id),
            credential_id: Some(credential_id),
            kind: MailKind::RefreshNotice,
            to,
            content,
        },
        now,
    )
    .await
    .unwrap();
    drop(writer);
    app.state().wakeups.mail.notify_one();
    id
}

fn content(from_name: &str) -> Content {
    Content {
        from_name: Some(from_name.to_owned()),
        subject: "Please reconnect".to_owned(),
        text: "Hello".to_owned(),
        html: "<p>Hello</p>".to_owned(),
        unsubscribe_url: None,
    }
}

async fn mail_row(app: &TestApp, id: &str) -> (String, i64, Option<String>) {
    sqlx::query_as("SELECT state, attempts, last_error FROM mail_outbox WHERE id = $1")
        .bind(id)
        .fetch_one(app.state().db.pool())
        .await
        .unwrap()
}

async fn wait_for_mail_state(
    app: &TestApp,
    id: &str,
    state: &str,
) -> (String, i64, Option<String>) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let row = mail_row(app, id).await;
        if row.0 == state {
            return row;
        }
        assert!(Instant::now() < deadline, "mail {id} stayed {row:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Rejects a name with a line break wherever an organisation's name is set,
/// and fails mail already queued under such a name once, on the timeline.
async fn case_37_control_characters_never_reach_a_mail_header(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    for name in [
        "Acme\r\nBcc: victim@example.com",
        "Acme\tSolar",
        "Acme\u{0}",
    ] {
        let body = expect_json(
            org.admin
                .put("/api/v1/organisation", json!({"name": name}))
                .await,
            422,
        )
        .await;
        assert_eq!(body["fields"][0]["field"], "name", "{name:?}");
        let body = expect_json(
            org.admin
                .post("/api/v1/api-keys", json!({"name": name}))
                .await,
            422,
        )
        .await;
        assert_eq!(body["fields"][0]["field"], "name", "{name:?}");
    }
    let unchanged = expect_json(org.api.get("/api/v1/organisation").await, 200).await;
    assert_eq!(unchanged["name"], "Acme Solar");

    // Mail queued before the rule (under an old name) fails once, loudly.
    let credential = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    let id = queue_mail(
        &app,
        &org,
        &credential,
        "end-user@example.com",
        content("Acme\r\nBcc: victim@example.com"),
        Duration::ZERO,
    )
    .await;
    let (_, attempts, error) = wait_for_mail_state(&app, &id, "FAILED").await;
    assert_eq!(attempts, 1);
    assert!(error.unwrap().contains("could not be built"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mail_row(&app, &id).await.1, 1, "claimed again");
    assert_eq!(org.events(&credential, "MAIL_NOT_DELIVERED").await.len(), 1);
    assert!(app.mail_to("end-user@example.com").await.is_empty());
    assert!(app.mail_to("victim@example.com").await.is_empty());
}

async fn case_38_no_claim_takes_a_message_past_its_give_up_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let credential = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    // Queued 25 hours ago, while no server ran: its 24-hour window is over.
    let overdue = queue_mail(
        &app,
        &org,
        &credential,
        "late@example.com",
        content("Acme Solar"),
        Duration::from_secs(25 * 3600),
    )
    .await;
    let fresh = queue_mail(
        &app,
        &org,
        &credential,
        "on-time@example.com",
        content("Acme Solar"),
        Duration::from_secs(3600),
    )
    .await;
    let (_, attempts, error) = wait_for_mail_state(&app, &overdue, "FAILED").await;
    assert_eq!(attempts, 0, "an overdue mail was tried");
    assert!(error.unwrap().contains("retry window"));
    wait_for_mail_state(&app, &fresh, "SENT").await;
    assert!(app.mail_to("late@example.com").await.is_empty());

    let receiver = WebhookReceiver::start(0).await;
    org.send_webhooks_to(&receiver).await;
    let now = app.state().clock.now_ms();
    let mut writer = app.state().db.writer().await.unwrap();
    let message = server::domain::webhooks::outbox::enqueue(
        &mut writer,
        &server::domain::webhooks::outbox::Message {
            organisation_id: &org.id,
            credential_id: Some(&credential),
            event_type: shared::webhooks::WebhookEventType::WebhookTest,
            data: json!({}),
            actor: "job:test",
        },
        now - 25 * 3600 * 1000,
    )
    .await
    .unwrap()
    .unwrap();
    drop(writer);
    app.state().wakeups.webhooks.notify_one();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let delivery = expect_json(
            org.api
                .get(&format!("/api/v1/webhook-deliveries/{message}"))
                .await,
            200,
        )
        .await;
        if delivery["state"] == "FAILED" {
            assert_eq!(delivery["attempts"], 0, "{delivery}");
            break;
        }
        assert!(Instant::now() < deadline, "{delivery}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        receiver.received().is_empty(),
        "an overdue webhook was sent"
    );
}

async fn case_51_a_search_holding_a_control_character_is_refused_not_a_server_error(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let id = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    for query in ["q=a%00b", "q=%00%00%00", "q=user%01nomfa", "q=abc%0Adef"] {
        for path in ["/api/v1/credentials", "/api/v1/credentials/export.csv"] {
            let body = expect_json(org.api.get(&format!("{path}?{query}")).await, 422).await;
            assert_eq!(body["fields"][0]["field"], "q", "{path}?{query}: {body}");
        }
    }
    // An ordinary search still finds the credential, on the index path too.
    let found = expect_json(org.api.get("/api/v1/credentials?q=nomfa").await, 200).await;
    assert_eq!(found["items"][0]["id"], id.as_str());
    let quoted = expect_json(org.api.get("/api/v1/credentials?q=%22%20OR%20").await, 200).await;
    assert_eq!(quoted["total"], 0);
}

database_tests!(
    case_37_control_characters_never_reach_a_mail_header,
    case_38_no_claim_takes_a_message_past_its_give_up_time,
    case_51_a_search_holding_a_control_character_is_refused_not_a_server_error,
);
