//! Operators' own accounts: their live sessions (ending one), their sign-in
//! history, and changing their password.

mod common;

use common::{expect_json, spawn_app_with, Backend, TestAppOptions};
use serde_json::json;

async fn an_operator_sees_and_ends_their_sessions_and_their_sign_in_history(backend: Backend) {
    let app = spawn_app_with(
        backend,
        TestAppOptions {
            trusted_proxies: Some("127.0.0.1".to_owned()),
            ..TestAppOptions::default()
        },
    )
    .await;
    let org = app.organisation("Acme Solar").await;
    // A failed attempt from one address, then a session from another.
    let failed = app
        .client
        .post(app.url("/api/session"))
        .header("x-forwarded-for", "203.0.113.7")
        .json(&json!({"email": org.admin_email, "password": "not the password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 401);
    let signed_in = app
        .client
        .post(app.url("/api/session"))
        .header("x-forwarded-for", "198.51.100.23")
        .json(&json!({"email": org.admin_email, "password": "a long admin password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);

    let sessions = expect_json(org.admin.get("/api/session/sessions").await, 200).await;
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let current: Vec<_> = sessions
        .iter()
        .filter(|session| session["current"] == true)
        .collect();
    assert_eq!(current.len(), 1);
    let other = sessions
        .iter()
        .find(|session| session["current"] == false)
        .unwrap();
    assert_eq!(other["client"], "198.51.100.23");

    let history = expect_json(org.admin.get("/api/session/history").await, 200).await;
    let outcomes: Vec<(bool, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|record| {
            (
                record["succeeded"].as_bool().unwrap(),
                record["client"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(outcomes[0], (true, "198.51.100.23"));
    assert_eq!(outcomes[1], (false, "203.0.113.7"));

    let other_id = other["id"].as_str().unwrap();
    assert_eq!(
        org.admin
            .delete(&format!("/api/session/sessions/{other_id}"))
            .await
            .status(),
        204
    );
    let left = expect_json(org.admin.get("/api/session/sessions").await, 200).await;
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(
        org.admin
            .delete("/api/session/sessions/0000000000000000")
            .await
            .status(),
        404
    );
    // Another organisation's operator cannot end this one's sessions.
    let stranger = app.organisation("Other Energy").await;
    let mine = left[0]["id"].as_str().unwrap();
    assert_eq!(
        stranger
            .admin
            .delete(&format!("/api/session/sessions/{mine}"))
            .await
            .status(),
        404
    );
    expect_json(org.admin.get("/api/session").await, 200).await;
    // API keys have no account.
    assert_eq!(org.api.get("/api/session/sessions").await.status(), 403);
}

database_tests!(an_operator_sees_and_ends_their_sessions_and_their_sign_in_history);
