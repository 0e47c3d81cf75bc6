//! Hostile cases 1–8 and 13 (`../shared/HOSTILE_CASES.md`): codes and sends
//! that arrive late, twice, in parallel, malformed, or while the utility
//! fails. The sandbox's `/api/admin/stats` counts what reached the utility.

mod common;

use common::{expect_json, spawn_app, Backend, Client, TestApp};
use serde_json::{json, Value};

/// A Connect session at "enter the code" for `username` at `utility` (SMS sent).
async fn waiting_for_code(app: &TestApp, org: &common::Organisation, utility: &str) -> Client {
    let token = expect_json(
        org.api
            .post("/api/v1/connect-tokens", json!({"owner": "END_USER"}))
            .await,
        201,
    )
    .await;
    let connect = app.connect_client(token["token"].as_str().unwrap());
    expect_json(
        connect
            .post(
                "/api/connect/credentials",
                json!({"utilityId": utility, "username": "user_good", "password": "pass_good"}),
            )
            .await,
        200,
    )
    .await;
    app.wait_for_step(&connect, "CHOOSE_METHOD").await;
    expect_json(
        connect
            .post("/api/connect/mfa/method", json!({"method": "SMS"}))
            .await,
        200,
    )
    .await;
    connect
}

/// How many calls of `name` the sandbox's `utility` received.
async fn utility_calls(app: &TestApp, utility: &str, name: &str) -> u64 {
    app.sandbox_stats().await[utility][name]
        .as_u64()
        .unwrap_or(0)
}

async fn session(connect: &Client) -> Value {
    expect_json(connect.get("/api/connect/session").await, 200).await
}

async fn case_01_a_code_after_its_expiry_is_refused_without_calling_the_utility(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let connect = waiting_for_code(&app, &org, "sandbox-gas").await;
    let code = app.latest_code("sandbox-gas", "user_good").await;
    app.state().clock.advance(time::Duration::minutes(11));
    let refused = connect
        .post("/api/connect/mfa/code", json!({"code": code}))
        .await;
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    assert_eq!(utility_calls(&app, "sandbox-gas", "verifyCode").await, 0);
    // The pending verification ended with the code.
    let state = session(&connect).await;
    assert_eq!(state["step"], "FAILED", "{state}");
}

async fn case_02_parallel_wrong_codes_reach_the_utility_at_most_five_times(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let connect = waiting_for_code(&app, &org, "sandbox-gas").await;
    let real = app.latest_code("sandbox-gas", "user_good").await;
    let wrong = if real == "000000" { "111111" } else { "000000" };
    let attempts = (0..20).map(|_| {
        let connect = connect.clone();
        async move {
            let answer = connect
                .post("/api/connect/mfa/code", json!({"code": wrong}))
                .await;
            let status = answer.status().as_u16();
            let body: Value = answer.json().await.unwrap();
            (status, body)
        }
    });
    let answers = futures_join_all(attempts).await;
    // Each wrong code is refused; the one that uses up the attempts ends the
    // verification, answered with the FAILED state rather than an error.
    for (status, body) in &answers {
        let ended = *status == 200 && body["step"] == "FAILED";
        assert!((400..500).contains(status) || ended, "{status} {body}");
    }
    assert_ne!(session(&connect).await["step"], "SUCCESS");
    let checked = utility_calls(&app, "sandbox-gas", "verifyCode").await;
    assert!(
        (1..=5).contains(&checked),
        "{checked} wrong codes reached the utility"
    );
}

/// However many reconnects, one credential gets at most 100 code checks a day.
async fn case_02_the_daily_ceiling_of_code_checks_survives_reconnects(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let connect = waiting_for_code(&app, &org, "sandbox-gas").await;
    let id = session(&connect).await["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = app.state().clock.now_ms();
    sqlx::query(
        "UPDATE credentials SET mfa_day_code_checks = 100, mfa_day_started_at = $1 WHERE id = $2",
    )
    .bind(now - 60_000)
    .bind(&id)
    .execute(app.state().db.pool())
    .await
    .unwrap();
    let code = app.latest_code("sandbox-gas", "user_good").await;
    let refused = connect
        .post("/api/connect/mfa/code", json!({"code": code}))
        .await;
    assert_eq!(refused.status(), 429);
    let retry_after: i64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 23 * 3600, "{retry_after}");
    assert_eq!(utility_calls(&app, "sandbox-gas", "verifyCode").await, 0);
    // A reconnect starts a new attempt but not a new day.
    expect_json(connect.post("/api/connect/reconnect", json!({})).await, 200).await;
    let (checks,): (i64,) =
        sqlx::query_as("SELECT mfa_day_code_checks FROM credentials WHERE id = $1")
            .bind(&id)
            .fetch_one(app.state().db.pool())
            .await
            .unwrap();
    assert_eq!(checks, 100);
}

async fn case_03_a_code_replayed_after_success_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let connect = waiting_for_code(&app, &org, "sandbox-gas").await;
    let code = app.latest_code("sandbox-gas", "user_good").await;
    let done = expect_json(
        connect
            .post("/api/connect/mfa/code", json!({"code": code}))
            .await,
        200,
    )
    .await;
    assert_eq!(done["step"], "SUCCESS");
    // The link is used up now (410, as every used link answers); a session
    // that stays open would answer 409. Either way nothing reaches the utility.
    let replay = connect
        .post("/api/connect/mfa/code", json!({"code": code}))
        .await;
    assert!(
        matches!(replay.status().as_u16(), 409 | 410),
        "{}",
        replay.status()
    );
    assert_eq!(utility_calls(&app, "sandbox-gas", "verifyCode").await, 1);
}

async fn case_04_a_code_posted_to_another_connections_session_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let first = waiting_for_code(&app, &org, "sandbox-gas").await;
    let second = waiting_for_code(&app, &org, "sandbox-electric").await;
    let first_code = app.latest_code("sandbox-gas", "user_good").await;
    let second_code = app.latest_code("sandbox-electric", "user_good").await;
    if first_code == second_code {
        return; // one chance in a million: the codes happen to match
    }
    let refused = second
        .post("/api/connect/mfa/code", json!({"code": first_code}))
        .await;
    assert_eq!(refused.status(), 422);
    assert_eq!(session(&first).await["step"], "ENTER_CODE");
    assert_eq!(session(&second).await["step"], "ENTER_CODE");
}

async fn case_05_a_resend_flood_gets_429_with_retry_after(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let connect = waiting_for_code(&app, &org, "sandbox-gas").await;
    for _ in 0..10 {
        let flood = connect.post("/api/connect/mfa/resend", json!({})).await;
        assert_eq!(flood.status(), 429);
        let retry_after: u64 = flood.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=30).contains(&retry_after), "{retry_after}");
        let body: Value = flood.json().await.unwrap();
        assert_eq!(body["code"], "TOO_MANY_REQUESTS");
    }
    assert_eq!(utility_calls(&app, "sandbox-gas", "sendCode").await, 1);
    app.state().clock.advance(time::Duration::seconds(31));
    expect_json(
        connect.post("/api/connect/mfa/resend", json!({})).await,
        200,
    )
    .await;
    assert_eq!(utility_calls(&app, "sandbox-gas", "sendCode").await, 2);
}

async fn case_41_choosing_the_same_method_again_is_a_resend_and_waits(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    // Sandbox Electric offers SMS, Call and Email; SMS was sent.
    let connect = waiting_for_code(&app, &org, "sandbox-electric").await;
    let choose =
        |method: &'static str| connect.post("/api/connect/mfa/method", json!({"method": method}));
    for _ in 0..5 {
        let again = choose("SMS").await;
        assert_eq!(again.status(), 429);
        assert!(again.headers().contains_key("retry-after"));
    }
    assert_eq!(utility_calls(&app, "sandbox-electric", "sendCode").await, 1);
    // Another method is another send, at once; then it has its own cooldown.
    expect_json(choose("EMAIL").await, 200).await;
    assert_eq!(choose("EMAIL").await.status(), 429);
    assert_eq!(utility_calls(&app, "sandbox-electric", "sendCode").await, 2);
    app.state().clock.advance(time::Duration::seconds(31));
    expect_json(choose("EMAIL").await, 200).await;
    assert_eq!(utility_calls(&app, "sandbox-electric", "sendCode").await, 3);
}

async fn case_06_malformed_codes_are_refused_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let connect = waiting_for_code(&app, &org, "sandbox-gas").await;
    let before = session(&connect).await;
    let huge = "1".repeat(1024 * 1024);
    for code in [
        "",
        huge.as_str(),
        "١٢٣٤٥٦",
        " 123456 ",
        "12a456",
        "123",
        "0000000123456",
    ] {
        let response = connect
            .post("/api/connect/mfa/code", json!({"code": code}))
            .await;
        let status = response.status().as_u16();
        assert!(
            (400..500).contains(&status),
            "{status} for a code of {} chars",
            code.len()
        );
        let body: Value = response.json().await.unwrap();
        assert!(
            body["code"].is_string() && body["message"].is_string(),
            "{body}"
        );
    }
    let not_a_string = connect
        .post("/api/connect/mfa/code", json!({"code": 123456}))
        .await;
    assert_eq!(not_a_string.status(), 400);
    assert_eq!(session(&connect).await, before, "nothing changed");
    assert_eq!(utility_calls(&app, "sandbox-gas", "verifyCode").await, 0);
}

async fn case_07_a_method_not_offered_or_not_a_method_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let connect = waiting_for_code(&app, &org, "sandbox-gas").await;
    let email = connect
        .post("/api/connect/mfa/method", json!({"method": "EMAIL"}))
        .await;
    assert_eq!(email.status(), 422);
    let fax = connect
        .post("/api/connect/mfa/method", json!({"method": "FAX"}))
        .await;
    assert!((400..500).contains(&fax.status().as_u16()));
    assert_eq!(utility_calls(&app, "sandbox-gas", "sendCode").await, 1);
}

async fn case_08_a_utility_failure_mid_flow_leaves_the_step_to_retry(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let connect = waiting_for_code(&app, &org, "sandbox-gas").await;
    let before = session(&connect).await;
    let code = app.latest_code("sandbox-gas", "user_good").await;
    app.sandbox_admin(
        "/api/admin/utilities/sandbox-gas/faults",
        json!({"failNext": 1}),
    )
    .await;
    let failed = connect
        .post("/api/connect/mfa/code", json!({"code": code}))
        .await;
    assert_eq!(failed.status(), 503);
    assert_eq!(
        session(&connect).await,
        before,
        "the attempt is not used up"
    );
    let done = expect_json(
        connect
            .post("/api/connect/mfa/code", json!({"code": code}))
            .await,
        200,
    )
    .await;
    assert_eq!(done["step"], "SUCCESS");
}

async fn case_13_two_concurrent_correct_codes_complete_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let connect = waiting_for_code(&app, &org, "sandbox-gas").await;
    let id = session(&connect).await["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = app.latest_code("sandbox-gas", "user_good").await;
    app.sandbox_admin(
        "/api/admin/utilities/sandbox-gas/faults",
        json!({"latencyMs": 300}),
    )
    .await;
    let (one, two) = tokio::join!(
        connect.post("/api/connect/mfa/code", json!({"code": code})),
        connect.post("/api/connect/mfa/code", json!({"code": code})),
    );
    let mut statuses = [one.status().as_u16(), two.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    assert_eq!(utility_calls(&app, "sandbox-gas", "verifyCode").await, 1);
    let credential = app
        .wait_for_detail(&org.api, &id, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
        .await;
    assert!(credential["tokenExpiresAt"].is_string());
    // The token that was won works: a sync reads data with it.
    app.wait_for_sync(&org.api, &id, None).await;
}

/// `futures::future::join_all` without the dependency: run them all at once.
async fn futures_join_all<
    T: Send + 'static,
    F: std::future::Future<Output = T> + Send + 'static,
>(
    futures: impl Iterator<Item = F>,
) -> Vec<T> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    results
}

database_tests!(
    case_01_a_code_after_its_expiry_is_refused_without_calling_the_utility,
    case_02_parallel_wrong_codes_reach_the_utility_at_most_five_times,
    case_02_the_daily_ceiling_of_code_checks_survives_reconnects,
    case_02_reconnects_are_capped_per_credential,
    case_03_a_code_replayed_after_success_is_refused,
    case_04_a_code_posted_to_another_connections_session_is_refused,
    case_05_a_resend_flood_gets_429_with_retry_after,
    case_06_malformed_codes_are_refused_and_change_nothing,
    case_41_choosing_the_same_method_again_is_a_resend_and_waits,
    case_07_a_method_not_offered_or_not_a_method_is_refused,
    case_08_a_utility_failure_mid_flow_leaves_the_step_to_retry,
    case_13_two_concurrent_correct_codes_complete_once,
    case_13_two_concurrent_completions_of_one_update_link_complete_once,
);

/// However the end-user retries, one credential starts at most five
/// connection attempts an hour (each one makes the utility send codes).
async fn case_02_reconnects_are_capped_per_credential(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let connect = waiting_for_code(&app, &org, "sandbox-gas").await;
    // The first attempt was the login itself; four reconnects fill the hour.
    for _ in 0..4 {
        expect_json(connect.post("/api/connect/reconnect", json!({})).await, 200).await;
        app.wait_for_step(&connect, "CHOOSE_METHOD").await;
    }
    let refused = connect.post("/api/connect/reconnect", json!({})).await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    let logins = utility_calls(&app, "sandbox-gas", "login").await;
    assert_eq!(logins, 5, "the refused reconnect did not reach the utility");
    // An hour later the credential may try again (through a fresh Connect
    // token: the first one's hour is over too).
    let id = session(&connect).await["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.state().clock.advance(time::Duration::minutes(61));
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
    let again = app.connect_client(retry["token"].as_str().unwrap());
    expect_json(again.post("/api/connect/reconnect", json!({})).await, 200).await;
}

/// Case 13 through an update link: two completions at once, one wins and its
/// token is kept; the other is refused and the utility saw one code.
async fn case_13_two_concurrent_completions_of_one_update_link_complete_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let first = waiting_for_code(&app, &org, "sandbox-gas").await;
    let id = session(&first).await["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = app.latest_code("sandbox-gas", "user_good").await;
    expect_json(
        first
            .post("/api/connect/mfa/code", json!({"code": code}))
            .await,
        200,
    )
    .await;
    app.wait_for_sync(&org.api, &id, None).await;
    app.sandbox_admin(
        "/api/admin/expire-tokens",
        json!({"username": "user_good", "utility": "sandbox-gas"}),
    )
    .await;
    expect_json(
        org.api
            .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
            .await,
        200,
    )
    .await;
    let link = expect_json(
        org.api
            .post(&format!("/api/v1/credentials/{id}/update-links"), json!({}))
            .await,
        201,
    )
    .await;
    let connect = app.connect_client(link["token"].as_str().unwrap());
    expect_json(connect.post("/api/connect/reconnect", json!({})).await, 200).await;
    app.wait_for_step(&connect, "CHOOSE_METHOD").await;
    expect_json(
        connect
            .post("/api/connect/mfa/method", json!({"method": "SMS"}))
            .await,
        200,
    )
    .await;
    let code = app.latest_code("sandbox-gas", "user_good").await;
    let verified_before = utility_calls(&app, "sandbox-gas", "verifyCode").await;
    app.sandbox_admin(
        "/api/admin/utilities/sandbox-gas/faults",
        json!({"latencyMs": 300}),
    )
    .await;
    let (one, two) = tokio::join!(
        connect.post("/api/connect/mfa/code", json!({"code": code})),
        connect.post("/api/connect/mfa/code", json!({"code": code})),
    );
    let mut statuses = [one.status().as_u16(), two.status().as_u16()];
    statuses.sort_unstable();
    assert!(
        statuses == [200, 409] || statuses == [200, 410],
        "{statuses:?}"
    );
    assert_eq!(
        utility_calls(&app, "sandbox-gas", "verifyCode").await,
        verified_before + 1
    );
    app.wait_for_detail(&org.api, &id, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
        .await;
    // The token that was won works: "Sync now" reads data with it.
    app.sandbox_admin(
        "/api/admin/utilities/sandbox-gas/faults",
        json!({"latencyMs": 0}),
    )
    .await;
    let synced = expect_json(
        org.api
            .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        synced["statusDetail"], "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL",
        "{synced}"
    );
}
