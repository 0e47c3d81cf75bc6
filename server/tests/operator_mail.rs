//! Mail to operators, through the sandbox's SMTP catcher: an admin's
//! invitation (the operator chooses their own password, 48 hours) and
//! "Forgot password?" (1 hour, ends every session, never says whether the
//! address exists).

mod common;

use common::{expect_json, spawn_app, Backend, TestApp};
use serde_json::{json, Value};

const ADMIN_PASSWORD: &str = "a long admin password";

/// The token of the `/dashboard/set-password/…` link in a mail.
fn token_in(mail: &Value) -> String {
    let text = mail["text"].as_str().unwrap();
    let start =
        text.find("/dashboard/set-password/").expect("a link") + "/dashboard/set-password/".len();
    text[start..].split_whitespace().next().unwrap().to_owned()
}

async fn wait_for_sent(app: &TestApp) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (pending,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM mail_outbox WHERE state = 'PENDING'")
                .fetch_one(app.state().db.pool())
                .await
                .unwrap();
        if pending == 0 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "mail still queued");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn an_invited_operator_chooses_their_own_password_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Energy").await;
    let invited = expect_json(
        org.admin
            .post(
                "/api/v1/operators",
                json!({"email": "New.Colleague@Example.com", "role": "MEMBER"}),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(invited["invitationPending"], true);
    let mail = app.wait_for_mail("new.colleague@example.com", 1).await;
    assert_eq!(
        mail[0]["subject"],
        "You are invited to Acme Energy on Gridlink"
    );
    let token = token_in(&mail[0]);

    let about = expect_json(
        app.anonymous()
            .get(&format!("/api/password-reset/{token}"))
            .await,
        200,
    )
    .await;
    assert_eq!(about["purpose"], "INVITATION");
    assert_eq!(about["email"], "new.colleague@example.com");
    assert_eq!(about["organisationName"], "Acme Energy");
    let short = expect_json(
        app.anonymous()
            .post(
                &format!("/api/password-reset/{token}"),
                json!({"newPassword": "short"}),
            )
            .await,
        422,
    )
    .await;
    assert_eq!(short["fields"][0]["field"], "newPassword");
    let chosen = "my own long password";
    let set = app
        .anonymous()
        .post(
            &format!("/api/password-reset/{token}"),
            json!({"newPassword": chosen}),
        )
        .await;
    assert_eq!(set.status(), 204);
    let colleague = app.sign_in("new.colleague@example.com", chosen).await;
    expect_json(colleague.get("/api/session").await, 200).await;
    let again = expect_json(
        app.anonymous()
            .post(
                &format!("/api/password-reset/{token}"),
                json!({"newPassword": "another long password"}),
            )
            .await,
        409,
    )
    .await;
    assert!(again["message"].as_str().unwrap().contains("already used"));
    let operators = expect_json(org.admin.get("/api/v1/operators").await, 200).await;
    let listed = operators
        .as_array()
        .unwrap()
        .iter()
        .find(|operator| operator["email"] == "new.colleague@example.com")
        .unwrap()
        .clone();
    assert_eq!(listed["invitationPending"], false);
}

async fn an_invitation_expires_after_48_hours(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Energy").await;
    expect_json(
        org.admin
            .post(
                "/api/v1/operators",
                json!({"email": "late@example.com", "role": "MEMBER"}),
            )
            .await,
        201,
    )
    .await;
    let mail = app.wait_for_mail("late@example.com", 1).await;
    let token = token_in(&mail[0]);
    wait_for_sent(&app).await;
    app.state()
        .clock
        .advance(time::Duration::hours(48) - time::Duration::seconds(1));
    expect_json(
        app.anonymous()
            .get(&format!("/api/password-reset/{token}"))
            .await,
        200,
    )
    .await;
    app.state().clock.advance(time::Duration::seconds(1));
    let expired = expect_json(
        app.anonymous()
            .get(&format!("/api/password-reset/{token}"))
            .await,
        409,
    )
    .await;
    assert!(expired["message"].as_str().unwrap().contains("expired"));
}

async fn forgot_password_says_the_same_for_any_address_and_ends_every_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Energy").await;
    let second_session = app.sign_in(&org.admin_email, ADMIN_PASSWORD).await;

    let unknown = expect_json(
        app.anonymous()
            .post(
                "/api/password-reset",
                json!({"email": "nobody@example.com"}),
            )
            .await,
        202,
    )
    .await;
    let known = expect_json(
        app.anonymous()
            .post("/api/password-reset", json!({"email": org.admin_email}))
            .await,
        202,
    )
    .await;
    assert_eq!(unknown, known, "the answer never tells");
    let malformed = expect_json(
        app.anonymous()
            .post("/api/password-reset", json!({"email": "not an address"}))
            .await,
        422,
    )
    .await;
    assert_eq!(malformed["fields"][0]["field"], "email");

    let mail = app.wait_for_mail(&org.admin_email, 1).await;
    assert_eq!(mail[0]["subject"], "Reset your Gridlink password");
    wait_for_sent(&app).await;
    assert!(app.mail_to("nobody@example.com").await.is_empty());
    // Asking again at once mails nothing more.
    expect_json(
        app.anonymous()
            .post("/api/password-reset", json!({"email": org.admin_email}))
            .await,
        202,
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mail_to(&org.admin_email).await.len(), 1);

    let token = token_in(&mail[0]);
    let about = expect_json(
        app.anonymous()
            .get(&format!("/api/password-reset/{token}"))
            .await,
        200,
    )
    .await;
    assert_eq!(about["purpose"], "PASSWORD_RESET");
    let set = app
        .anonymous()
        .post(
            &format!("/api/password-reset/{token}"),
            json!({"newPassword": "a brand new password"}),
        )
        .await;
    assert_eq!(set.status(), 204);
    for session in [&org.admin, &second_session] {
        expect_json(session.get("/api/session").await, 401).await;
    }
    let old = app
        .anonymous()
        .post(
            "/api/session",
            json!({"email": org.admin_email, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(old.status(), 401);
    app.sign_in(&org.admin_email, "a brand new password").await;
}

async fn a_reset_link_lasts_an_hour(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Energy").await;
    expect_json(
        app.anonymous()
            .post("/api/password-reset", json!({"email": org.admin_email}))
            .await,
        202,
    )
    .await;
    let mail = app.wait_for_mail(&org.admin_email, 1).await;
    wait_for_sent(&app).await;
    let token = token_in(&mail[0]);
    app.state().clock.advance(time::Duration::hours(1));
    expect_json(
        app.anonymous()
            .post(
                &format!("/api/password-reset/{token}"),
                json!({"newPassword": "a brand new password"}),
            )
            .await,
        409,
    )
    .await;
    expect_json(
        app.anonymous().get("/api/password-reset/gol_made_up").await,
        404,
    )
    .await;
}

async fn case_45_an_address_of_another_organisation_gets_the_answer_a_new_one_gets(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let acme = app.organisation("Acme Energy").await;
    let other = app.organisation("Other Power").await;
    let invite = |email: String| {
        let admin = acme.admin.clone();
        async move {
            admin
                .post(
                    "/api/v1/operators",
                    json!({"email": email, "role": "MEMBER"}),
                )
                .await
        }
    };
    let new_one = expect_json(invite("fresh@example.com".to_owned()).await, 201).await;
    let taken = expect_json(invite(other.admin_email.clone()).await, 201).await;
    let keys = |value: &Value| {
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(&taken), keys(&new_one));
    assert_eq!(taken["invitationPending"], true);
    assert_eq!(taken["email"], other.admin_email.as_str());
    assert_ne!(taken["id"], new_one["id"]);
    // Listed as an invitation waiting, like the new one; a second add, like any.
    let listed = expect_json(acme.admin.get("/api/v1/operators").await, 200).await;
    let pending: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|operator| operator["invitationPending"] == true)
        .collect();
    assert_eq!(pending.len(), 2, "{listed}");
    expect_json(invite(other.admin_email.clone()).await, 409).await;
    expect_json(invite("fresh@example.com".to_owned()).await, 409).await;

    // The address's owner is told; their account is theirs as before.
    let mail = app.wait_for_mail(&other.admin_email, 1).await;
    assert_eq!(
        mail[0]["subject"],
        "Acme Energy tried to add you on Gridlink"
    );
    assert!(!mail[0]["text"].as_str().unwrap().contains("set-password"));
    app.sign_in(&other.admin_email, ADMIN_PASSWORD).await;
    let theirs = expect_json(other.admin.get("/api/v1/operators").await, 200).await;
    assert_eq!(theirs.as_array().unwrap().len(), 1, "{theirs}");

    // Its role changes and it is removed as any operator would be.
    let id = taken["id"].as_str().unwrap();
    let changed = expect_json(
        acme.admin
            .patch(&format!("/api/v1/operators/{id}"), json!({"role": "ADMIN"}))
            .await,
        200,
    )
    .await;
    assert_eq!(changed["role"], "ADMIN");
    let removed = acme.admin.delete(&format!("/api/v1/operators/{id}")).await;
    assert_eq!(removed.status(), 204);
    let listed = expect_json(acme.admin.get("/api/v1/operators").await, 200).await;
    assert!(!listed.to_string().contains(&other.admin_email), "{listed}");
    // Another organisation's admin cannot touch it either way.
    let new_id = new_one["id"].as_str().unwrap();
    assert_eq!(
        other
            .admin
            .delete(&format!("/api/v1/operators/{new_id}"))
            .await
            .status(),
        404
    );
}

database_tests!(
    case_45_an_address_of_another_organisation_gets_the_answer_a_new_one_gets,
    an_invited_operator_chooses_their_own_password_once,
    an_invitation_expires_after_48_hours,
    forgot_password_says_the_same_for_any_address_and_ends_every_session,
    a_reset_link_lasts_an_hour,
);
