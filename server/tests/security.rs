//! DESIGN.md's security rules, each with a test: organisation isolation,
//! CSRF, API keys, sessions, sealed secrets, no secret in responses.

mod common;

use common::{expect_json, spawn_app, spawn_app_with, Backend, TestAppOptions};
use serde_json::json;

async fn another_organisations_ids_are_not_found_on_every_endpoint(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.organisation("Owner Org").await;
    let intruder = app.organisation("Intruder Org").await;
    let created = expect_json(
        owner.api.post("/api/v1/credentials", json!({"utilityId": "sandbox-water", "username": "user_good", "password": "pass_good"})).await,
        201,
    )
    .await;
    let id = created["id"].as_str().unwrap();
    app.wait_for_detail(&owner.api, id, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
        .await;
    let link = expect_json(
        owner
            .admin
            .post(&format!("/api/v1/credentials/{id}/update-links"), json!({}))
            .await,
        201,
    )
    .await;
    let link_id = link["id"].as_str().unwrap();
    let owner_keys = expect_json(owner.admin.get("/api/v1/api-keys").await, 200).await;
    let owner_key_id = owner_keys[0]["id"].as_str().unwrap();
    let owner_operators = expect_json(owner.admin.get("/api/v1/operators").await, 200).await;
    let owner_operator_id = owner_operators[0]["id"].as_str().unwrap();

    for client in [&intruder.api, &intruder.admin] {
        for response in [
            client.get(&format!("/api/v1/credentials/{id}")).await,
            client
                .patch(
                    &format!("/api/v1/credentials/{id}"),
                    json!({"password": "hijack"}),
                )
                .await,
            client
                .get(&format!("/api/v1/credentials/{id}/events"))
                .await,
            client
                .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
                .await,
            client
                .post(
                    &format!("/api/v1/credentials/{id}/connect-tokens"),
                    json!({}),
                )
                .await,
            client
                .post(&format!("/api/v1/credentials/{id}/update-links"), json!({}))
                .await,
            client
                .get(&format!("/api/v1/credentials/{id}/update-links"))
                .await,
            client
                .delete(&format!("/api/v1/credentials/{id}/update-links/{link_id}"))
                .await,
            client.delete(&format!("/api/v1/credentials/{id}")).await,
        ] {
            let url = response.url().to_string();
            let body = expect_json(response, 404).await;
            assert_eq!(body["code"], "NOT_FOUND", "{url}");
        }
        assert_eq!(
            expect_json(client.get("/api/v1/credentials").await, 200).await["total"],
            0
        );
        assert_eq!(
            expect_json(client.get("/api/v1/credentials/counts").await, 200).await["total"],
            0
        );
    }
    expect_json(
        intruder
            .admin
            .delete(&format!("/api/v1/api-keys/{owner_key_id}"))
            .await,
        404,
    )
    .await;
    expect_json(
        intruder
            .admin
            .patch(
                &format!("/api/v1/operators/{owner_operator_id}"),
                json!({"role": "MEMBER"}),
            )
            .await,
        404,
    )
    .await;
    expect_json(
        intruder
            .admin
            .delete(&format!("/api/v1/operators/{owner_operator_id}"))
            .await,
        404,
    )
    .await;
    // Nothing the intruder tried changed anything.
    let unchanged = expect_json(
        owner.api.get(&format!("/api/v1/credentials/{id}")).await,
        200,
    )
    .await;
    assert_eq!(
        unchanged["statusDetail"],
        "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL"
    );
    assert!(unchanged["deactivatedAt"].is_null());
    assert_eq!(
        expect_json(
            owner
                .admin
                .get(&format!("/api/v1/credentials/{id}/update-links"))
                .await,
            200
        )
        .await[0]["id"],
        link_id
    );
}

async fn case_21_a_state_change_without_the_csrf_token_is_refused_and_changes_nothing(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let forged = org.admin.without_csrf();
    let refused = expect_json(
        forged
            .post("/api/v1/api-keys", json!({"name": "forged"}))
            .await,
        403,
    )
    .await;
    assert_eq!(refused["code"], "FORBIDDEN");
    let refused = expect_json(
        forged
            .post(
                "/api/v1/credentials",
                json!({"utilityId": "sandbox-water", "username": "x", "password": "y"}),
            )
            .await,
        403,
    )
    .await;
    assert_eq!(refused["code"], "FORBIDDEN");
    assert_eq!(
        expect_json(org.admin.get("/api/v1/api-keys").await, 200)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        expect_json(org.admin.get("/api/v1/credentials").await, 200).await["total"],
        0
    );
    // Reading needs no CSRF token.
    expect_json(forged.get("/api/v1/credentials").await, 200).await;
}

async fn case_32_a_revoked_api_key_or_a_wrong_secret_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    expect_json(org.api.get("/api/v1/credentials").await, 200).await;
    let created = expect_json(
        org.admin
            .post("/api/v1/api-keys", json!({"name": "Billing sync"}))
            .await,
        201,
    )
    .await;
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("glk_") && secret.len() > 40);
    assert!(secret.starts_with(created["apiKey"]["prefix"].as_str().unwrap()));
    let listed = expect_json(org.admin.get("/api/v1/api-keys").await, 200).await;
    assert!(
        !serde_json::to_string(&listed).unwrap().contains(secret),
        "the secret is shown once only"
    );
    let key = app.connect_client(secret);
    expect_json(key.get("/api/v1/credentials").await, 200).await;
    let key_id = created["apiKey"]["id"].as_str().unwrap();
    assert_eq!(
        org.admin
            .delete(&format!("/api/v1/api-keys/{key_id}"))
            .await
            .status(),
        204
    );
    let refused = expect_json(key.get("/api/v1/credentials").await, 401).await;
    assert_eq!(refused["code"], "UNAUTHENTICATED");
    expect_json(
        app.connect_client("glk_made_up")
            .get("/api/v1/credentials")
            .await,
        401,
    )
    .await;
    // A live key's prefix with another secret after it.
    let live = expect_json(
        org.admin
            .post("/api/v1/api-keys", json!({"name": "Still live"}))
            .await,
        201,
    )
    .await;
    let live_secret = live["secret"].as_str().unwrap();
    let prefix = live["apiKey"]["prefix"].as_str().unwrap();
    let forged = format!("{prefix}{}", "A".repeat(live_secret.len() - prefix.len()));
    assert_ne!(forged, live_secret);
    expect_json(
        app.connect_client(&forged).get("/api/v1/credentials").await,
        401,
    )
    .await;
    expect_json(
        app.connect_client(live_secret)
            .get("/api/v1/credentials")
            .await,
        200,
    )
    .await;
    expect_json(app.anonymous().get("/api/v1/credentials").await, 401).await;
}

async fn api_keys_and_members_cannot_administer_the_organisation(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
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
    for client in [&member, &org.api] {
        expect_json(client.get("/api/v1/api-keys").await, 403).await;
        expect_json(
            client.post("/api/v1/api-keys", json!({"name": "x"})).await,
            403,
        )
        .await;
        expect_json(client.get("/api/v1/operators").await, 403).await;
    }
    // Members work with credentials.
    expect_json(member.get("/api/v1/credentials").await, 200).await;
}

async fn the_last_admin_cannot_be_demoted_or_removed(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let operators = expect_json(org.admin.get("/api/v1/operators").await, 200).await;
    let admin_id = operators[0]["id"].as_str().unwrap();
    expect_json(
        org.admin
            .patch(
                &format!("/api/v1/operators/{admin_id}"),
                json!({"role": "MEMBER"}),
            )
            .await,
        409,
    )
    .await;
    expect_json(
        org.admin
            .delete(&format!("/api/v1/operators/{admin_id}"))
            .await,
        409,
    )
    .await;
    let duplicate = expect_json(
        org.admin
            .post("/api/v1/operators", json!({"email": org.admin_email, "password": "another long password", "role": "ADMIN"}))
            .await,
        409,
    )
    .await;
    assert_eq!(duplicate["code"], "CONFLICT");
    let weak = expect_json(
        org.admin
            .post(
                "/api/v1/operators",
                json!({"email": "new@example.com", "password": "short", "role": "ADMIN"}),
            )
            .await,
        422,
    )
    .await;
    assert_eq!(weak["fields"][0]["field"], "password");
}

async fn sign_in_errors_do_not_say_which_part_was_wrong(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let wrong_password = expect_json(
        app.anonymous()
            .post(
                "/api/session",
                json!({"email": org.admin_email, "password": "not the password"}),
            )
            .await,
        401,
    )
    .await;
    let unknown_email = expect_json(
        app.anonymous()
            .post(
                "/api/session",
                json!({"email": "nobody@example.com", "password": "not the password"}),
            )
            .await,
        401,
    )
    .await;
    assert_eq!(wrong_password, unknown_email);
    assert_eq!(
        wrong_password["message"],
        "The email or password is incorrect."
    );
    let malformed = expect_json(
        app.anonymous()
            .post("/api/session", json!({"email": "nope", "password": ""}))
            .await,
        422,
    )
    .await;
    assert_eq!(malformed["fields"].as_array().unwrap().len(), 2);
}

async fn the_session_cookie_is_http_only_and_same_site_and_ends_on_sign_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let response = app
        .anonymous()
        .post(
            "/api/session",
            json!({"email": org.admin_email, "password": "a long admin password"}),
        )
        .await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP on localhost cannot use Secure cookies: {cookie}"
    );
    let signed_out = org.admin.delete("/api/session").await;
    assert_eq!(signed_out.status(), 204);
    assert!(signed_out.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    expect_json(org.admin.get("/api/session").await, 401).await;
    expect_json(org.admin.get("/api/v1/credentials").await, 401).await;
}

async fn a_session_ends_after_two_idle_hours(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    expect_json(org.admin.get("/api/session").await, 200).await;
    app.state().clock.advance(time::Duration::minutes(119));
    expect_json(org.admin.get("/api/session").await, 200).await;
    app.state().clock.advance(time::Duration::minutes(119));
    expect_json(org.admin.get("/api/session").await, 200).await;
    app.state().clock.advance(time::Duration::minutes(121));
    expect_json(org.admin.get("/api/session").await, 401).await;
}

async fn case_15_a_sealed_secret_moved_to_another_credential_does_not_open(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let mut ids = Vec::new();
    for username in ["user_good", "user_nomfa"] {
        let created = expect_json(
            org.api.post("/api/v1/credentials", json!({"utilityId": "sandbox-water", "username": username, "password": "pass_good"})).await,
            201,
        )
        .await;
        let id = created["id"].as_str().unwrap().to_owned();
        app.wait_for_detail(&org.api, &id, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
            .await;
        ids.push(id);
    }
    let state = app.state();
    let (password, token): (String, String) = sqlx::query_as(
        "SELECT sealed_password, sealed_session_token FROM credentials WHERE id = $1",
    )
    .bind(&ids[0])
    .fetch_one(state.db.pool())
    .await
    .unwrap();
    assert!(
        !password.contains("pass_good") && !token.contains("sbx_tok_"),
        "stored in the clear"
    );
    use server::domain::credentials::secrets::{open_password, open_token};
    assert_eq!(
        open_password(&state.keyring, &ids[0], &password)
            .unwrap()
            .expose(),
        "pass_good"
    );
    assert!(open_password(&state.keyring, &ids[1], &password).is_err());
    assert!(open_token(&state.keyring, &ids[0], &token).is_ok());
    assert!(open_token(&state.keyring, &ids[1], &token).is_err());
    // A password is not a token either, even on its own row.
    assert!(open_token(&state.keyring, &ids[0], &password).is_err());
}

async fn cookies_are_secure_when_gridlink_is_served_over_https(backend: Backend) {
    let app = spawn_app_with(
        backend,
        TestAppOptions {
            public_url: Some("https://gridlink.example.com".into()),
            ..Default::default()
        },
    )
    .await;
    let org = app.organisation("Acme Solar").await;
    let response = app
        .anonymous()
        .post(
            "/api/session",
            json!({"email": org.admin_email, "password": "a long admin password"}),
        )
        .await;
    assert!(response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("; Secure"));
    assert!(response.headers().contains_key("strict-transport-security"));
}

async fn ten_failed_sign_ins_from_one_client_lock_that_email_there_for_fifteen_minutes(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let sign_in = |password: &'static str| {
        let anonymous = app.anonymous();
        let email = org.admin_email.clone();
        async move {
            anonymous
                .post(
                    "/api/session",
                    json!({"email": email, "password": password}),
                )
                .await
        }
    };
    for _ in 0..10 {
        expect_json(sign_in("not the password").await, 401).await;
    }
    // Even the right password is refused while the email is locked.
    let locked = expect_json(sign_in("a long admin password").await, 429).await;
    assert_eq!(locked["code"], "TOO_MANY_REQUESTS");
    app.state().clock.advance(time::Duration::minutes(16));
    expect_json(sign_in("a long admin password").await, 200).await;
}

database_tests!(
    ten_failed_sign_ins_from_one_client_lock_that_email_there_for_fifteen_minutes,
    another_organisations_ids_are_not_found_on_every_endpoint,
    case_21_a_state_change_without_the_csrf_token_is_refused_and_changes_nothing,
    case_32_a_revoked_api_key_or_a_wrong_secret_is_refused,
    api_keys_and_members_cannot_administer_the_organisation,
    the_last_admin_cannot_be_demoted_or_removed,
    sign_in_errors_do_not_say_which_part_was_wrong,
    the_session_cookie_is_http_only_and_same_site_and_ends_on_sign_out,
    a_session_ends_after_two_idle_hours,
    case_15_a_sealed_secret_moved_to_another_credential_does_not_open,
    cookies_are_secure_when_gridlink_is_served_over_https,
);
