//! Reaching end-users by mail, against the sandbox's real SMTP catcher: the
//! refresh notice with its update link, reminders at 24 and 48 hours on the
//! test clock, the sequence ending when the credential is repaired, handled
//! by an operator or unsubscribed, bounces and mail-server outages, and the
//! contact email itself (validation, masking, who may see it in webhooks).

mod common;

use common::{expect_json, spawn_app, Backend, Client, Organisation, TestApp};
use serde_json::{json, Value};

const CONTACT: &str = "jane.doe@example.com";

/// Turns the organisation's notices on.
async fn notify_end_users(org: &Organisation, choice: &str) {
    let mut settings = expect_json(org.admin.get("/api/v1/organisation").await, 200).await;
    settings["notifyEndUsers"] = json!(choice);
    expect_json(org.admin.put("/api/v1/organisation", settings).await, 200).await;
}

/// A credential connected through Connect with MFA, its contact given by the
/// integrator with the Connect token, then flagged
/// MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED. Returns its id.
async fn credential_needing_refresh(
    app: &TestApp,
    org: &Organisation,
    username: &str,
    contact: Option<&str>,
) -> String {
    let done = app
        .connect_with_sms(
            &org.api,
            json!({"contactEmail": contact, "contactLanguage": "es"}),
            "sandbox-electric",
            username,
        )
        .await;
    let id = done["credentialId"].as_str().unwrap().to_owned();
    app.wait_for_sync(&org.api, &id, None).await;
    app.sandbox_admin("/api/admin/expire-tokens", json!({"username": username}))
        .await;
    let flagged = expect_json(
        org.api
            .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        flagged["statusDetail"],
        "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED"
    );
    id
}

/// Moves Gridlink's test clock and the sandbox's together (codes the sandbox
/// sends expire by its clock, Gridlink checks them by its own), once the mail
/// job is done with what it holds.
async fn advance(app: &TestApp, by: time::Duration) {
    wait_until_mail_settles(app).await;
    app.state().clock.advance(by);
    app.sandbox_admin(
        "/api/admin/clock/advance",
        json!({"seconds": by.whole_seconds()}),
    )
    .await;
}

/// Waits until the mail job has recorded every queued message's outcome (a
/// message it is still finishing would be claimed again after a clock jump
/// past its lease, as after a crash).
async fn wait_until_mail_settles(app: &TestApp) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (pending,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM mail_outbox WHERE state = 'PENDING' AND attempts = 0",
        )
        .fetch_one(app.state().db.pool())
        .await
        .unwrap();
        if pending == 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{pending} mail never tried"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Runs the notice job once (it also runs by itself when a credential is
/// flagged or given a contact) and answers how many notice mails have been
/// queued in all.
async fn run_notices(app: &TestApp) -> i64 {
    server::domain::mail::notices::run_once(app.state(), &app.state().utilities)
        .await
        .unwrap();
    let (mails,): (i64,) =
        sqlx::query_as("SELECT CAST(COALESCE(SUM(mails_sent), 0) AS BIGINT) FROM end_user_notices")
            .fetch_one(app.state().db.pool())
            .await
            .unwrap();
    mails
}

/// The Connect link in a mail's text.
fn link_in(mail: &Value) -> String {
    let text = mail["text"].as_str().unwrap();
    let start = text.find("/connect/gct_").expect("a Connect link");
    let begin = text[..start].rfind("http").unwrap();
    text[begin..].split_whitespace().next().unwrap().to_owned()
}

fn token_of(link: &str) -> &str {
    link.rsplit('/').next().unwrap()
}

async fn reconnect_through(app: &TestApp, end_user: &Client, username: &str) {
    let start = expect_json(end_user.get("/api/connect/session").await, 200).await;
    assert_eq!(start["step"], "START");
    expect_json(
        end_user.post("/api/connect/reconnect", json!({})).await,
        200,
    )
    .await;
    app.wait_for_step(end_user, "CHOOSE_METHOD").await;
    expect_json(
        end_user
            .post("/api/connect/mfa/method", json!({"method": "SMS"}))
            .await,
        200,
    )
    .await;
    let code = app.latest_code("sandbox-electric", username).await;
    let done = expect_json(
        end_user
            .post("/api/connect/mfa/code", json!({"code": code}))
            .await,
        200,
    )
    .await;
    assert_eq!(done["step"], "SUCCESS");
}

async fn expiry_mail_link_repair_and_no_more_reminders(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Energy").await;
    let receiver = common::webhook_receiver::WebhookReceiver::start(0).await;
    org.send_webhooks_to(&receiver).await;
    notify_end_users(&org, "WHEN_REFRESH_REQUIRED").await;
    let id = credential_needing_refresh(&app, &org, "user_good+mail1", Some(CONTACT)).await;

    assert_eq!(run_notices(&app).await, 1, "one notice starts");
    assert_eq!(run_notices(&app).await, 1, "and only one");
    let mail = app.wait_for_mail(CONTACT, 1).await;
    let notice = &mail[0];
    // The end-user's language (Spanish, as the integrator said), the organisation's name.
    assert_eq!(
        notice["subject"],
        "Vuelva a conectar su cuenta de Sandbox Electric con Acme Energy"
    );
    assert!(notice["from"].as_str().unwrap().contains("no-reply@"));
    assert!(notice["html"]
        .as_str()
        .unwrap()
        .contains("Volver a conectar mi cuenta"));
    assert!(notice["listUnsubscribe"]
        .as_str()
        .unwrap()
        .contains("/unsubscribe/gus_"));
    let link = link_in(notice);
    assert!(link.starts_with(&app.base_url), "{link}");
    let notified = org.events(&id, "END_USER_NOTIFIED").await;
    assert_eq!(notified.len(), 1);
    assert!(notified[0]["message"]
        .as_str()
        .unwrap()
        .contains("j•••@example.com"));
    let webhook = receiver.wait_for_delivered("END_USER_NOTIFIED", &id).await;
    assert_eq!(
        webhook["data"]["contactEmail"], CONTACT,
        "the integrator set it"
    );
    assert_eq!(webhook["data"]["notice"], "FIRST");

    // Nothing before 24 hours; then the first reminder with the same link.
    advance(&app, time::Duration::hours(23)).await;
    assert_eq!(run_notices(&app).await, 1);
    advance(&app, time::Duration::hours(1)).await;
    assert_eq!(run_notices(&app).await, 2);
    let mail = app.wait_for_mail(CONTACT, 2).await;
    assert!(mail[0]["subject"]
        .as_str()
        .unwrap()
        .starts_with("Recordatorio: "));
    assert_eq!(link_in(&mail[0]), link, "a reminder repeats the link");

    // The end-user opens the mailed link (a mail scanner could have: the
    // funnel counts it opened, not continued) and repairs the credential.
    let end_user = app.connect_client(token_of(&link));
    expect_json(end_user.get("/api/connect/session").await, 200).await;
    let funnel = expect_json(org.api.get("/api/v1/notices/funnel").await, 200).await;
    assert_eq!(funnel["linksOpened"], 1, "{funnel}");
    assert_eq!(funnel["linksContinued"], 0, "{funnel}");
    reconnect_through(&app, &end_user, "user_good+mail1").await;
    app.wait_for_detail(&org.api, &id, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
        .await;

    // No second reminder at 48 hours.
    advance(&app, time::Duration::hours(25)).await;
    assert_eq!(run_notices(&app).await, 2);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mail_to(CONTACT).await.len(), 2);
    let (stop_reason,): (Option<String>,) =
        sqlx::query_as("SELECT stop_reason FROM end_user_notices WHERE credential_id = $1")
            .bind(&id)
            .fetch_one(app.state().db.pool())
            .await
            .unwrap();
    assert_eq!(stop_reason.as_deref(), Some("REPAIRED"));

    // The overview's funnel: mailed, opened, repaired within 72 hours, about a day after expiry.
    let funnel = expect_json(org.api.get("/api/v1/notices/funnel").await, 200).await;
    assert_eq!(funnel["noticesSent"], 1, "{funnel}");
    assert_eq!(funnel["linksOpened"], 1, "{funnel}");
    assert_eq!(funnel["linksContinued"], 1, "{funnel}");
    assert_eq!(funnel["repairedWithin72h"], 1, "{funnel}");
    assert_eq!(funnel["repairs"], 1, "{funnel}");
    let hours = funnel["medianHoursToRepair"].as_f64().unwrap();
    assert!((24.0..24.1).contains(&hours), "{funnel}");
}

async fn reminders_come_at_24_and_48_hours_and_then_stop(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Energy").await;
    notify_end_users(&org, "WHEN_REFRESH_REQUIRED").await;
    let contact = "remind.me@example.com";
    credential_needing_refresh(&app, &org, "user_good+mail2", Some(contact)).await;
    assert_eq!(run_notices(&app).await, 1);
    for (hours, expected_mail) in [(24, 2), (24, 3), (24, 3), (24, 3)] {
        advance(&app, time::Duration::hours(hours)).await;
        run_notices(&app).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let mail = app.wait_for_mail(contact, expected_mail).await;
        assert_eq!(mail.len(), expected_mail, "after {hours} more hours");
    }
    let subjects: Vec<String> = app
        .mail_to(contact)
        .await
        .iter()
        .map(|mail| mail["subject"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.starts_with("Recordatorio"))
            .count(),
        2
    );
    // Sent mail is kept 30 days, then forgotten.
    advance(&app, time::Duration::days(31)).await;
    server::jobs::retention::prune_short_lived_records(&app.state().db, &app.state().clock)
        .await
        .unwrap();
    let (kept,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM mail_outbox")
        .fetch_one(app.state().db.pool())
        .await
        .unwrap();
    assert_eq!(kept, 0);
}

async fn case_50_an_operator_link_or_a_one_click_unsubscribe_ends_the_reminders(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Energy").await;
    notify_end_users(&org, "WHEN_REFRESH_REQUIRED").await;
    let handled =
        credential_needing_refresh(&app, &org, "user_good+mail3", Some("ops@example.com")).await;
    let leaving =
        credential_needing_refresh(&app, &org, "user_good+mail4", Some("leave@example.com")).await;
    assert_eq!(run_notices(&app).await, 2);
    let mail = app.wait_for_mail("leave@example.com", 1).await;

    // An operator takes over one: a link of their own ends the sequence.
    expect_json(
        org.admin
            .post(
                &format!("/api/v1/credentials/{handled}/update-links"),
                json!({}),
            )
            .await,
        201,
    )
    .await;
    // The other end-user unsubscribes with the one-click header's URL.
    let url = mail[0]["listUnsubscribe"]
        .as_str()
        .unwrap()
        .trim_matches(['<', '>'])
        .to_owned();
    let token = url.rsplit('/').next().unwrap();
    let about = expect_json(
        app.anonymous()
            .get(&format!("/api/unsubscribe/{token}"))
            .await,
        200,
    )
    .await;
    assert_eq!(about["organisationName"], "Acme Energy");
    assert_eq!(about["email"], "l•••@example.com");
    assert_eq!(about["unsubscribed"], false);
    // Case 50: a mail client's one-click unsubscribe (RFC 8058) posts a
    // form to the header's exact URL (the page's), with no cookie.
    assert!(url.starts_with(&app.base_url), "{url}");
    assert!(!url.contains("/api/"), "{url}");
    let one_click = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    let done = expect_json(one_click, 200).await;
    assert_eq!(done["unsubscribed"], true);
    expect_json(
        app.anonymous()
            .post("/api/unsubscribe/gus_made_up", json!({}))
            .await,
        404,
    )
    .await;

    advance(&app, time::Duration::hours(49)).await;
    assert_eq!(run_notices(&app).await, 2);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mail_to("ops@example.com").await.len(), 1);
    assert_eq!(app.mail_to("leave@example.com").await.len(), 1);
    let reasons: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT credential_id, stop_reason FROM end_user_notices ORDER BY contact_email",
    )
    .fetch_all(app.state().db.pool())
    .await
    .unwrap();
    assert_eq!(
        reasons,
        vec![
            (leaving.clone(), Some("UNSUBSCRIBED".to_owned())),
            (handled.clone(), Some("HANDLED_MANUALLY".to_owned())),
        ]
    );
    // Unsubscribed stays unsubscribed: a new episode mails nobody.
    sqlx::query("UPDATE end_user_notices SET episode = episode - 1")
        .execute(app.state().db.pool())
        .await
        .unwrap();
    assert_eq!(
        run_notices(&app).await,
        3,
        "only the operator-handled one starts again"
    );
}

async fn a_bounce_fails_at_once_and_an_outage_is_retried(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Energy").await;
    notify_end_users(&org, "WHEN_REFRESH_REQUIRED").await;
    let bounced =
        credential_needing_refresh(&app, &org, "user_good+mail5", Some("bounce@example.com")).await;
    assert_eq!(run_notices(&app).await, 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while org.events(&bounced, "MAIL_NOT_DELIVERED").await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the bounce is recorded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (state, attempts, error): (String, i64, Option<String>) = sqlx::query_as(
        "SELECT state, attempts, last_error FROM mail_outbox WHERE credential_id = $1",
    )
    .bind(&bounced)
    .fetch_one(app.state().db.pool())
    .await
    .unwrap();
    assert_eq!((state.as_str(), attempts), ("FAILED", 1));
    assert!(error.unwrap().contains("550"));
    advance(&app, time::Duration::hours(25)).await;
    assert_eq!(
        run_notices(&app).await,
        1,
        "no reminders to a bouncing address"
    );

    // The mail server is down: the notice waits and goes out when it is back.
    app.sandbox_admin("/api/admin/mail/outage", json!({"down": true}))
        .await;
    credential_needing_refresh(&app, &org, "user_good+mail6", Some("patient@example.com")).await;
    assert_eq!(run_notices(&app).await, 2);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (attempts, error): (i64, Option<String>) = sqlx::query_as(
            "SELECT attempts, last_error FROM mail_outbox WHERE recipient = 'patient@example.com'",
        )
        .fetch_one(app.state().db.pool())
        .await
        .unwrap();
        if attempts >= 1 {
            assert!(error.unwrap().contains("421"));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "an attempt is made");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(app.mail_to("patient@example.com").await.is_empty());
    app.sandbox_admin("/api/admin/mail/outage", json!({"down": false}))
        .await;
    advance(&app, time::Duration::seconds(6)).await;
    app.state().wakeups.mail.notify_one();
    app.wait_for_mail("patient@example.com", 1).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (state,): (String,) =
            sqlx::query_as("SELECT state FROM mail_outbox WHERE recipient = 'patient@example.com'")
                .fetch_one(app.state().db.pool())
                .await
                .unwrap();
        if state == "SENT" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {state}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn a_contact_email_is_validated_masked_in_lists_and_private_unless_the_integrator_gave_it(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Energy").await;
    let receiver = common::webhook_receiver::WebhookReceiver::start(0).await;
    org.send_webhooks_to(&receiver).await;
    notify_end_users(&org, "WHEN_REFRESH_REQUIRED").await;
    let bad = expect_json(
        org.api
            .post(
                "/api/v1/connect-tokens",
                json!({"contactEmail": "not an address"}),
            )
            .await,
        422,
    )
    .await;
    assert_eq!(bad["fields"][0]["field"], "contactEmail");
    let id = credential_needing_refresh(&app, &org, "user_good+mail7", None).await;
    let refused = expect_json(
        org.admin
            .patch(
                &format!("/api/v1/credentials/{id}"),
                json!({"contactEmail": "x@"}),
            )
            .await,
        422,
    )
    .await;
    assert_eq!(refused["fields"][0]["field"], "contactEmail");
    let unchanged = expect_json(org.api.get(&format!("/api/v1/credentials/{id}")).await, 200).await;
    assert_eq!(unchanged["contactEmail"], Value::Null);

    // An operator sets it: shown whole on the credential, masked in the list.
    let set = expect_json(
        org.admin
            .patch(
                &format!("/api/v1/credentials/{id}"),
                json!({"contactEmail": " Sam.Smith@Example.com "}),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(set["contactEmail"], "sam.smith@example.com");
    let list = expect_json(org.api.get("/api/v1/credentials").await, 200).await;
    assert_eq!(list["items"][0]["contactEmail"], "s•••@example.com");
    assert_eq!(org.events(&id, "CONTACT_CHANGED").await.len(), 1);

    assert_eq!(run_notices(&app).await, 1);
    app.wait_for_mail("sam.smith@example.com", 1).await;
    let webhook = receiver.wait_for_delivered("END_USER_NOTIFIED", &id).await;
    assert!(
        webhook["data"].get("contactEmail").is_none(),
        "an operator's contact stays out of webhooks: {webhook}"
    );
    // An empty string removes it.
    let cleared = expect_json(
        org.admin
            .patch(
                &format!("/api/v1/credentials/{id}"),
                json!({"contactEmail": ""}),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(cleared["contactEmail"], Value::Null);
}

async fn the_end_user_can_leave_an_address_on_connects_success_screen(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Energy").await;
    notify_end_users(&org, "WHEN_REFRESH_REQUIRED").await;
    let token = expect_json(org.api.post("/api/v1/connect-tokens", json!({})).await, 201).await;
    let connect = app.connect_client(token["token"].as_str().unwrap());
    let early = expect_json(
        connect
            .post(
                "/api/connect/contact",
                json!({"contactEmail": "me@example.com"}),
            )
            .await,
        409,
    )
    .await;
    assert_eq!(early["code"], "CONFLICT");
    expect_json(
        connect
            .post(
                "/api/connect/credentials",
                json!({"utilityId": "sandbox-water", "username": "user_nomfa+mail8", "password": "pass_good"}),
            )
            .await,
        200,
    )
    .await;
    let success = app.wait_for_step(&connect, "SUCCESS").await;
    assert_eq!(success["offerContact"], true);
    let bad = expect_json(
        connect
            .post("/api/connect/contact", json!({"contactEmail": "nope"}))
            .await,
        422,
    )
    .await;
    assert_eq!(bad["fields"][0]["field"], "contactEmail");
    let saved = expect_json(
        connect
            .post(
                "/api/connect/contact",
                json!({"contactEmail": "Me@Example.com"}),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(saved["offerContact"], false);
    assert_eq!(saved["contactEmail"], "m•••@example.com");
    let id = saved["credentialId"].as_str().unwrap();
    let credential =
        expect_json(org.api.get(&format!("/api/v1/credentials/{id}")).await, 200).await;
    assert_eq!(credential["contactEmail"], "me@example.com");
}

async fn case_43_connect_cannot_replace_a_contact_nor_set_one_after_the_visit(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Energy").await;
    notify_end_users(&org, "WHEN_REFRESH_REQUIRED").await;
    let connected = |username: &'static str| {
        let app = &app;
        let org = &org;
        async move {
            let token =
                expect_json(org.api.post("/api/v1/connect-tokens", json!({})).await, 201).await;
            let connect = app.connect_client(token["token"].as_str().unwrap());
            expect_json(
                connect
                    .post(
                        "/api/connect/credentials",
                        json!({"utilityId": "sandbox-water", "username": username, "password": "pass_good"}),
                    )
                    .await,
                200,
            )
            .await;
            let success = app.wait_for_step(&connect, "SUCCESS").await;
            (
                connect,
                success["credentialId"].as_str().unwrap().to_owned(),
            )
        }
    };
    // Set once, then a second address (another tab, or whoever holds the link) changes nothing.
    let (connect, id) = connected("user_nomfa+case43a").await;
    expect_json(
        connect
            .post(
                "/api/connect/contact",
                json!({"contactEmail": "owner@example.com"}),
            )
            .await,
        200,
    )
    .await;
    let replaced = expect_json(
        connect
            .post(
                "/api/connect/contact",
                json!({"contactEmail": "attacker@example.com"}),
            )
            .await,
        409,
    )
    .await;
    assert!(replaced["message"]
        .as_str()
        .unwrap()
        .contains("already set"));
    let credential =
        expect_json(org.api.get(&format!("/api/v1/credentials/{id}")).await, 200).await;
    assert_eq!(credential["contactEmail"], "owner@example.com");
    assert_eq!(org.events(&id, "CONTACT_CHANGED").await.len(), 1);

    // After the success screen's time, a post changes nothing.
    let (later, other) = connected("user_nomfa+case43b").await;
    app.state().clock.advance(time::Duration::minutes(16));
    let late = later
        .post(
            "/api/connect/contact",
            json!({"contactEmail": "late@example.com"}),
        )
        .await;
    assert_eq!(late.status(), 410);
    let credential = expect_json(
        org.api.get(&format!("/api/v1/credentials/{other}")).await,
        200,
    )
    .await;
    assert_eq!(credential["contactEmail"], Value::Null);
}

async fn nothing_is_mailed_while_the_organisation_has_notices_off(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Energy").await;
    credential_needing_refresh(&app, &org, "user_good+mail9", Some("quiet@example.com")).await;
    assert_eq!(run_notices(&app).await, 0);
    let token = expect_json(org.api.post("/api/v1/connect-tokens", json!({})).await, 201).await;
    let connect = app.connect_client(token["token"].as_str().unwrap());
    expect_json(
        connect
            .post(
                "/api/connect/credentials",
                json!({"utilityId": "sandbox-water", "username": "user_nomfa+mail10", "password": "pass_good"}),
            )
            .await,
        200,
    )
    .await;
    let success = app.wait_for_step(&connect, "SUCCESS").await;
    assert_eq!(
        success["offerContact"], false,
        "no offer when nothing would be sent"
    );
}

async fn before_token_expiry_the_end_user_renews_ahead_and_the_reminders_stop(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Energy").await;
    notify_end_users(&org, "BEFORE_TOKEN_EXPIRY").await;
    let contact = "ahead@example.com";
    let done = app
        .connect_with_sms(
            &org.api,
            json!({"contactEmail": contact}),
            "sandbox-electric",
            "user_good+ahead",
        )
        .await;
    let id = done["credentialId"].as_str().unwrap().to_owned();
    app.wait_for_sync(&org.api, &id, None).await;
    sqlx::query("UPDATE credentials SET next_sync_at = NULL")
        .execute(app.state().db.pool())
        .await
        .unwrap();
    assert_eq!(run_notices(&app).await, 0, "30 days ahead: nothing yet");
    // Within the expiry warning (7 days) of the 30-day token.
    advance(&app, time::Duration::days(24)).await;
    assert_eq!(run_notices(&app).await, 1);
    let mail = app.wait_for_mail(contact, 1).await;
    assert_eq!(
        mail[0]["subject"],
        "Your Sandbox Electric connection to Acme Energy needs renewing"
    );
    // The end-user renews with the link while still connected: a new token, no reminders.
    let end_user = app.connect_client(token_of(&link_in(&mail[0])));
    reconnect_through(&app, &end_user, "user_good+ahead").await;
    advance(&app, time::Duration::hours(49)).await;
    assert_eq!(run_notices(&app).await, 1, "no reminder after the renewal");
    let (stop_reason,): (Option<String>,) =
        sqlx::query_as("SELECT stop_reason FROM end_user_notices WHERE credential_id = $1")
            .bind(&id)
            .fetch_one(app.state().db.pool())
            .await
            .unwrap();
    assert_eq!(stop_reason.as_deref(), Some("REPAIRED"));
}

database_tests!(
    before_token_expiry_the_end_user_renews_ahead_and_the_reminders_stop,
    expiry_mail_link_repair_and_no_more_reminders,
    reminders_come_at_24_and_48_hours_and_then_stop,
    case_50_an_operator_link_or_a_one_click_unsubscribe_ends_the_reminders,
    a_bounce_fails_at_once_and_an_outage_is_retried,
    a_contact_email_is_validated_masked_in_lists_and_private_unless_the_integrator_gave_it,
    the_end_user_can_leave_an_address_on_connects_success_screen,
    case_43_connect_cannot_replace_a_contact_nor_set_one_after_the_visit,
    nothing_is_mailed_while_the_organisation_has_notices_off,
);
