//! Hostile cases for update links and Connect tokens (9–12, 14, 42), sessions
//! (22), stale transitions (26) and shutdown mid-call (28).

mod common;

use common::{
    expect_json, spawn_app, spawn_app_with, spawn_sandbox, Backend, Client, TestApp, TestAppOptions,
};
use serde_json::{json, Value};

/// A credential at Sandbox Water (no MFA) whose token the utility expired:
/// MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED.
async fn needing_refresh(app: &TestApp, org: &common::Organisation, username: &str) -> String {
    let id = app
        .synced_credential(&org.api, "sandbox-water", username)
        .await;
    app.sandbox_admin(
        "/api/admin/expire-tokens",
        json!({"username": username, "utility": "sandbox-water"}),
    )
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

async fn update_link(org: &common::Organisation, id: &str) -> Value {
    expect_json(
        org.api
            .post(&format!("/api/v1/credentials/{id}/update-links"), json!({}))
            .await,
        201,
    )
    .await
}

/// The state Connect reads, as an API client without a browser key does.
async fn session_status(connect: &Client) -> (u16, Value) {
    session_seen_by(connect, None).await
}

async fn case_09_a_link_works_at_72_hours_less_a_second_and_not_a_second_after(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let id = needing_refresh(&app, &org, "user_nomfa").await;
    let link = update_link(&org, &id).await;
    let connect = app.connect_client(link["token"].as_str().unwrap());
    app.state()
        .clock
        .advance(time::Duration::hours(72) - time::Duration::seconds(1));
    let (status, body) = session_status(&connect).await;
    assert_eq!(status, 200, "{body}");
    app.state().clock.advance(time::Duration::seconds(2));
    let (status, body) = session_status(&connect).await;
    assert_eq!(status, 410);
    assert_eq!(body["code"], "CONNECT_LINK_EXPIRED");
    assert!(!body.to_string().contains("user_nomfa"), "{body}");
}

/// A mail scanner follows an update link: it fetches the page and reads the
/// session, as a browser that only loads the link does. The utility hears
/// nothing until the end-user continues (`POST /api/connect/reconnect`).
async fn an_update_link_contacts_the_utility_only_after_continue(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let id = needing_refresh(&app, &org, "user_nomfa+scanned").await;
    let link = update_link(&org, &id).await;
    let logins = |stats: &Value| stats["sandbox-water"]["login"].as_u64().unwrap_or(0);
    let before = app.sandbox_stats().await;

    // The page is the web app's shell (this test server has none built):
    // fetching it runs nothing. Connect's reads are what a loading browser adds.
    app.client
        .get(link["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let connect = app.connect_client(link["token"].as_str().unwrap());
    for _ in 0..3 {
        let (status, state) = session_status(&connect).await;
        assert_eq!(status, 200, "{state}");
        assert_eq!(state["step"], "START", "{state}");
        assert_eq!(state["purpose"], "UPDATE_LINK", "{state}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        app.sandbox_stats().await,
        before,
        "a look reaches no utility"
    );
    let (opened, continued): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT first_opened_at, first_continued_at FROM connect_sessions WHERE credential_id = $1",
    )
    .bind(&id)
    .fetch_one(app.state().db.pool())
    .await
    .unwrap();
    assert!(opened.is_some() && continued.is_none());

    expect_json(connect.post("/api/connect/reconnect", json!({})).await, 200).await;
    app.wait_for_detail(&org.api, &id, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
        .await;
    assert_eq!(logins(&app.sandbox_stats().await), logins(&before) + 1);
}

async fn case_10_a_damaged_token_gets_the_same_refusal_as_a_made_up_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let id = needing_refresh(&app, &org, "user_nomfa").await;
    let token = update_link(&org, &id).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut flipped = token.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let variants = [
        token[..token.len() - 4].to_owned(),
        String::from_utf8(flipped).unwrap(),
        token.to_uppercase(),
        token.replace('_', "%5F").replace('-', "%2D"),
        format!("{token}%20"),
        "gct_made_up".to_owned(),
    ];
    let mut answers = Vec::new();
    for variant in &variants {
        assert_ne!(variant, &token);
        let (status, body) = session_status(&app.connect_client(variant)).await;
        answers.push((status, body));
    }
    assert!(
        answers.iter().all(|answer| answer == &answers[0]),
        "{answers:#?}"
    );
    assert_eq!(answers[0].0, 401);
    // The real token still works.
    assert_eq!(session_status(&app.connect_client(&token)).await.0, 200);
}

async fn case_11_a_revoked_replaced_or_deactivated_link_is_refused_saying_why(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let id = needing_refresh(&app, &org, "user_nomfa").await;
    let replaced = update_link(&org, &id).await;
    let revoked = update_link(&org, &id).await;
    let revoked_id = revoked["id"].as_str().unwrap();
    assert_eq!(
        org.api
            .delete(&format!(
                "/api/v1/credentials/{id}/update-links/{revoked_id}"
            ))
            .await
            .status(),
        204
    );
    let current = update_link(&org, &id).await;
    assert_eq!(
        org.api
            .delete(&format!("/api/v1/credentials/{id}"))
            .await
            .status(),
        204
    );
    for (link, code) in [
        (&replaced, "CONNECT_LINK_REPLACED"),
        (&revoked, "CONNECT_LINK_REVOKED"),
        (&current, "CONNECT_LINK_REVOKED"),
    ] {
        let (status, body) =
            session_status(&app.connect_client(link["token"].as_str().unwrap())).await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (410, code),
            "{body}"
        );
        assert!(!body.to_string().contains("user_nomfa"), "{body}");
    }
}

/// A used link shows its success to whoever used it, then only that it was used.
async fn a_used_link_stops_revealing_the_account_after_a_while(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let id = needing_refresh(&app, &org, "user_nomfa").await;
    let link = update_link(&org, &id).await;
    let connect = app.connect_client(link["token"].as_str().unwrap());
    expect_json(connect.post("/api/connect/reconnect", json!({})).await, 200).await;
    app.wait_for_step(&connect, "SUCCESS").await;
    app.state().clock.advance(time::Duration::minutes(16));
    let (status, body) = session_status(&connect).await;
    assert_eq!(status, 410);
    assert_eq!(body["code"], "CONNECT_LINK_USED");
    for hidden in ["user_nomfa", "sandbox-water", "LOGIN_AND_DATA"] {
        assert!(!body.to_string().contains(hidden), "{body}");
    }
}

/// The state Connect reads, as the browser whose key is `browser` reads it.
async fn session_seen_by(connect: &Client, browser: Option<&str>) -> (u16, Value) {
    let mut request = connect.request(reqwest::Method::GET, "/api/connect/session");
    if let Some(browser) = browser {
        request = request.header("x-connect-browser", browser);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn case_42_a_used_link_shows_its_success_only_to_the_browser_that_used_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let id = needing_refresh(&app, &org, "user_nomfa").await;
    let link = update_link(&org, &id).await;
    let connect = app.connect_client(link["token"].as_str().unwrap());
    let owner = "0123456789abcdef0123456789abcdef";
    let stranger = "fedcba9876543210fedcba9876543210";
    // Before the success, anyone with the link sees the same page.
    let (status, before) = session_seen_by(&connect, Some(stranger)).await;
    assert_eq!((status, &before["step"]), (200, &json!("START")));
    let started = connect
        .request(reqwest::Method::POST, "/api/connect/reconnect")
        .header("x-connect-browser", owner)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (_, state) = session_seen_by(&connect, Some(owner)).await;
        if state["step"] == "SUCCESS" {
            assert_eq!(state["username"], "user_nomfa");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{state}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Another browser, or none: only that the link was used.
    for browser in [Some(stranger), None, Some("not a key")] {
        let (status, body) = session_seen_by(&connect, browser).await;
        assert_eq!(status, 410, "{browser:?}: {body}");
        assert_eq!(body["code"], "CONNECT_LINK_USED");
        for hidden in [
            "user_nomfa",
            "sandbox-water",
            "Sandbox Water",
            "LOGIN_AND_DATA",
            "Acme",
        ] {
            assert!(!body.to_string().contains(hidden), "{browser:?}: {body}");
        }
    }
    let (status, _) = session_seen_by(&connect, Some(owner)).await;
    assert_eq!(
        status, 200,
        "the browser that used it still sees its success"
    );
}

async fn case_12_a_link_for_one_credential_cannot_act_on_another(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let first = needing_refresh(&app, &org, "user_nomfa").await;
    let second = needing_refresh(&app, &org, "user_nomfa+second").await;
    let link = update_link(&org, &first).await;
    let connect = app.connect_client(link["token"].as_str().unwrap());
    let state = expect_json(connect.get("/api/connect/session").await, 200).await;
    assert_eq!(state["credentialId"], first.as_str());
    // Connect names no credential in its requests: nothing can point it at another.
    let submitted = connect
        .post(
            "/api/connect/credentials",
            json!({"utilityId": "sandbox-water", "username": "user_nomfa+second", "password": "pass_good", "credentialId": second}),
        )
        .await;
    assert!(
        submitted.status().is_client_error(),
        "{}",
        submitted.status()
    );
    expect_json(connect.post("/api/connect/reconnect", json!({})).await, 200).await;
    app.wait_for_detail(&org.api, &first, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
        .await;
    let other = expect_json(
        org.api.get(&format!("/api/v1/credentials/{second}")).await,
        200,
    )
    .await;
    assert_eq!(
        other["statusDetail"],
        "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED"
    );
}

async fn case_14_only_the_hash_of_a_link_token_is_stored_and_its_page_sends_no_referrer(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let id = needing_refresh(&app, &org, "user_nomfa").await;
    let link = update_link(&org, &id).await;
    let token = link["token"].as_str().unwrap();
    let rows: Vec<(String,)> = sqlx::query_as("SELECT token_hash FROM connect_sessions")
        .fetch_all(app.state().db.pool())
        .await
        .unwrap();
    let hashes: Vec<&str> = rows.iter().map(|(hash,)| hash.as_str()).collect();
    assert!(hashes.contains(&server::infra::tokens::hash(token).as_str()));
    assert!(!hashes.contains(&token), "the raw token is not stored");
    let page = app
        .client
        .get(link["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let api = app.connect_client(token).get("/api/connect/session").await;
    assert_eq!(api.headers()["referrer-policy"], "no-referrer");
}

async fn case_22_every_sign_in_gets_a_new_session_and_a_password_change_ends_the_others(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let second = app.sign_in(&org.admin_email, "a long admin password").await;
    let (first_cookie, second_cookie) = match (&org.admin.auth, &second.auth) {
        (common::Auth::Session { cookie: one, .. }, common::Auth::Session { cookie: two, .. }) => {
            (one.clone(), two.clone())
        }
        _ => unreachable!("operators sign in with sessions"),
    };
    assert_ne!(
        first_cookie, second_cookie,
        "a new session id at every sign-in"
    );
    let wrong = org
        .admin
        .post(
            "/api/session/password",
            json!({"currentPassword": "not it", "newPassword": "a brand new long password"}),
        )
        .await;
    assert_eq!(wrong.status(), 422);
    expect_json(second.get("/api/session").await, 200).await;
    let changed = org
        .admin
        .post(
            "/api/session/password",
            json!({"currentPassword": "a long admin password", "newPassword": "a brand new long password"}),
        )
        .await;
    assert_eq!(changed.status(), 204);
    expect_json(org.admin.get("/api/session").await, 200).await;
    expect_json(second.get("/api/session").await, 401).await;
    let old = app
        .anonymous()
        .post(
            "/api/session",
            json!({"email": org.admin_email, "password": "a long admin password"}),
        )
        .await;
    assert_eq!(old.status(), 401);
    app.sign_in(&org.admin_email, "a brand new long password")
        .await;
}

/// Case 26: a transition from a status the credential has left is refused
/// and writes nothing (no status, no event, no webhook).
async fn case_26_a_transition_from_a_stale_status_writes_nothing(backend: Backend) {
    use server::domain::lifecycle::events::{transition, Transition};
    use shared::StatusDetail;
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let id = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    let events = |app: &TestApp, id: String| {
        let pool = app.state().db.pool().clone();
        async move {
            let (count,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM credential_events WHERE credential_id = $1")
                    .bind(id)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            count
        }
    };
    let before = events(&app, id.clone()).await;
    let mut connection = app.state().db.pool().acquire().await.unwrap();
    let stale = Transition {
        credential_id: &id,
        from: StatusDetail::MultiFactorAuthenticationCodeRequired,
        to: StatusDetail::MultiFactorAuthenticationFailed,
        actor: "test",
        message: "stale".into(),
    };
    let changed = transition(&mut connection, &stale, app.state().clock.now_ms())
        .await
        .unwrap();
    drop(connection);
    assert!(!changed);
    assert_eq!(events(&app, id.clone()).await, before);
    let body = expect_json(org.api.get(&format!("/api/v1/credentials/{id}")).await, 200).await;
    assert_eq!(body["statusDetail"], "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL");
    // Over HTTP: Connect in update mode, where no code is expected, refuses one.
    let retry = expect_json(
        org.api
            .post(
                &format!("/api/v1/credentials/{id}/connect-tokens"),
                json!({}),
            )
            .await,
        201,
    )
    .await;
    let connect = app.connect_client(retry["token"].as_str().unwrap());
    let before = events(&app, id.clone()).await;
    let refused = connect
        .post("/api/connect/mfa/code", json!({"code": "123456"}))
        .await;
    assert_eq!(refused.status(), 409);
    assert_eq!(
        events(&app, id.clone()).await,
        before,
        "nothing was written"
    );
}

/// Case 28: shutting down while "Sync now" waits on a slow utility lets the
/// request finish; the sync is stored once.
async fn case_28_shutdown_during_a_utility_call_drains_the_request(backend: Backend) {
    // The utility runs on its own, as a real one would, and stays up.
    let sandbox = spawn_sandbox().await;
    let app = spawn_app_with(
        backend,
        TestAppOptions {
            utility_url: Some(sandbox.url.clone()),
            ..TestAppOptions::default()
        },
    )
    .await;
    let org = app.organisation("Acme Solar").await;
    let id = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    let before = expect_json(org.api.get(&format!("/api/v1/credentials/{id}")).await, 200).await;
    sandbox
        .admin(
            "/api/admin/utilities/sandbox-water/faults",
            json!({"latencyMs": 1500}),
        )
        .await;
    let api = org.api.clone();
    let path = format!("/api/v1/credentials/{id}/sync");
    let in_flight = tokio::spawn(async move {
        let response = api.post(&path, json!({})).await;
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let (answered, stopped) = tokio::join!(in_flight, app.stop());
    let (status, body) = answered.unwrap();
    assert_eq!(status, 200, "the request in flight was answered: {body}");
    assert_ne!(
        body["lastSyncedAt"], before["lastSyncedAt"],
        "and its sync was stored"
    );
    stopped.expect("a clean shutdown");
}

database_tests!(
    case_09_a_link_works_at_72_hours_less_a_second_and_not_a_second_after,
    an_update_link_contacts_the_utility_only_after_continue,
    case_10_a_damaged_token_gets_the_same_refusal_as_a_made_up_one,
    case_11_a_revoked_replaced_or_deactivated_link_is_refused_saying_why,
    a_used_link_stops_revealing_the_account_after_a_while,
    case_42_a_used_link_shows_its_success_only_to_the_browser_that_used_it,
    case_12_a_link_for_one_credential_cannot_act_on_another,
    case_14_only_the_hash_of_a_link_token_is_stored_and_its_page_sends_no_referrer,
    case_22_every_sign_in_gets_a_new_session_and_a_password_change_ends_the_others,
    case_26_a_transition_from_a_stale_status_writes_nothing,
    case_28_shutdown_during_a_utility_call_drains_the_request,
);
