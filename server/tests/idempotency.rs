//! Hostile cases 24 and 25: retried and doubled creations. `Idempotency-Key`
//! replays the first answer, refuses another body, and lets one of two
//! concurrent first uses through; a double-submitted Connect login makes one
//! credential.

mod common;

use common::{expect_json, spawn_app, Backend, Client};
use serde_json::{json, Value};

async fn post_with_key(client: &Client, path: &str, key: &str, body: Value) -> reqwest::Response {
    client
        .request(reqwest::Method::POST, path)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn credential_count(app: &common::TestApp, organisation_id: &str) -> i64 {
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM credentials WHERE organisation_id = $1")
            .bind(organisation_id)
            .fetch_one(app.state().db.pool())
            .await
            .unwrap();
    count
}

async fn case_24_the_same_key_and_body_answer_the_first_answer_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let body =
        json!({"utilityId": "sandbox-water", "username": "user_nomfa", "password": "pass_good"});
    let first = post_with_key(&org.api, "/api/v1/credentials", "create-42", body.clone()).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = post_with_key(&org.api, "/api/v1/credentials", "create-42", body.clone()).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first, "the first answer, byte for byte");
    assert_eq!(credential_count(&app, &org.id).await, 1);

    // Another body under the same key: refused, nothing created.
    let other =
        json!({"utilityId": "sandbox-water", "username": "user_good", "password": "pass_good"});
    let refused = post_with_key(&org.api, "/api/v1/credentials", "create-42", other).await;
    assert_eq!(refused.status(), 422);
    assert_eq!(credential_count(&app, &org.id).await, 1);

    // Keys are the caller's own: another organisation's key of the same name is unrelated.
    let other_org = app.organisation("Other Energy").await;
    let theirs = post_with_key(
        &other_org.api,
        "/api/v1/credentials",
        "create-42",
        body.clone(),
    )
    .await;
    assert_eq!(theirs.status(), 201);
    assert!(theirs.headers().get("idempotent-replayed").is_none());

    // After 24 hours the key is forgotten and means a new request.
    app.state().clock.advance(time::Duration::hours(25));
    let later = post_with_key(&org.api, "/api/v1/credentials", "create-42", body).await;
    assert_eq!(later.status(), 201);
    assert!(later.headers().get("idempotent-replayed").is_none());
    assert_eq!(credential_count(&app, &org.id).await, 2);
}

async fn case_24_two_concurrent_first_uses_give_one_result_and_one_409(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let body = json!({"owner": "END_USER", "correlationId": "customer-7"});
    let (one, two) = tokio::join!(
        post_with_key(&org.api, "/api/v1/connect-tokens", "token-7", body.clone()),
        post_with_key(&org.api, "/api/v1/connect-tokens", "token-7", body.clone()),
    );
    let mut statuses = [one.status().as_u16(), two.status().as_u16()];
    statuses.sort_unstable();
    // Either the second arrived while the first ran (409), or after it (a replay).
    assert!(
        statuses == [201, 409] || statuses == [201, 201],
        "{statuses:?}"
    );
    let (tokens,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM connect_sessions WHERE organisation_id = $1")
            .bind(&org.id)
            .fetch_one(app.state().db.pool())
            .await
            .unwrap();
    assert_eq!(tokens, 1, "one Connect token was made");
}

async fn a_malformed_idempotency_key_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let long = "k".repeat(256);
    for key in [long.as_str(), "with space"] {
        let response = post_with_key(
            &org.api,
            "/api/v1/connect-tokens",
            key,
            json!({"owner": "END_USER"}),
        )
        .await;
        assert_eq!(response.status(), 400, "{key:?}");
    }
}

async fn case_25_a_double_submitted_connect_login_makes_one_credential(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let token = expect_json(
        org.api
            .post("/api/v1/connect-tokens", json!({"owner": "END_USER"}))
            .await,
        201,
    )
    .await;
    let connect = app.connect_client(token["token"].as_str().unwrap());
    let login =
        json!({"utilityId": "sandbox-water", "username": "user_nomfa", "password": "pass_good"});
    let (one, two) = tokio::join!(
        connect.post("/api/connect/credentials", login.clone()),
        connect.post("/api/connect/credentials", login.clone()),
    );
    let statuses = [one.status().as_u16(), two.status().as_u16()];
    assert!(statuses.contains(&200), "{statuses:?}");
    assert_eq!(credential_count(&app, &org.id).await, 1);
}

async fn case_40_a_replayed_secret_is_never_read_from_the_database_in_the_clear(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let first = post_with_key(&org.api, "/api/v1/connect-tokens", "token-7", json!({})).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let secret = first["token"].as_str().unwrap().to_owned();
    let (stored,): (String,) = sqlx::query_as("SELECT answer FROM idempotency_keys WHERE key = $1")
        .bind("token-7")
        .fetch_one(app.state().db.pool())
        .await
        .unwrap();
    assert!(
        !stored.contains(&secret),
        "the secret is stored in the clear"
    );
    assert!(stored.starts_with("v1."), "not sealed: {stored}");
    // The replay opens it: the same secret, byte for byte.
    let again = post_with_key(&org.api, "/api/v1/connect-tokens", "token-7", json!({})).await;
    assert_eq!(again.status(), 201);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
    // An answer that does not open (a plaintext row, another row's seal) is never served.
    sqlx::query("UPDATE idempotency_keys SET answer = $1 WHERE key = $2")
        .bind(first.to_string())
        .bind("token-7")
        .execute(app.state().db.pool())
        .await
        .unwrap();
    let refused = post_with_key(&org.api, "/api/v1/connect-tokens", "token-7", json!({})).await;
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().await.unwrap();
    assert!(!body.to_string().contains(&secret), "{body}");
}

database_tests!(
    case_40_a_replayed_secret_is_never_read_from_the_database_in_the_clear,
    case_24_the_same_key_and_body_answer_the_first_answer_again,
    case_24_two_concurrent_first_uses_give_one_result_and_one_409,
    a_malformed_idempotency_key_is_refused,
    case_25_a_double_submitted_connect_login_makes_one_credential,
);
