//! Connect over HTTP, on both databases: new credentials, update mode from the
//! dashboard and from update links, and every way a link stops working.

mod common;

use common::{
    expect_json, spawn_app, spawn_app_with, spawn_sandbox, Backend, Client, TestApp, TestAppOptions,
};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn new_connect_token(org: &common::Organisation) -> Value {
    expect_json(
        org.api
            .post(
                "/api/v1/connect-tokens",
                json!({"correlationId": "customer-42", "owner": "END_USER"}),
            )
            .await,
        201,
    )
    .await
}

/// Submits a login through Connect and waits for the step after connecting.
async fn submit_login(
    app: &TestApp,
    connect: &Client,
    utility: &str,
    username: &str,
    password: &str,
    next_step: &str,
) -> Value {
    let state = expect_json(
        connect
            .post(
                "/api/connect/credentials",
                json!({"utilityId": utility, "username": username, "password": password}),
            )
            .await,
        200,
    )
    .await;
    assert!(state["credentialId"].is_string(), "{state}");
    app.wait_for_step(connect, next_step).await
}

/// Enters `code` in Connect, expecting `status`; the answer.
async fn enter_code(connect: &Client, code: &str, status: u16) -> Value {
    expect_json(
        connect
            .post("/api/connect/mfa/code", json!({"code": code}))
            .await,
        status,
    )
    .await
}

fn wrong_code_for(code: &str) -> &'static str {
    if code == "000000" {
        "111111"
    } else {
        "000000"
    }
}

async fn a_new_credential_connects_through_connect_with_each_method(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    for (method, username_hint) in [
        ("SMS", "•••-•••-"),
        ("CALL", "•••-•••-"),
        ("EMAIL", "u•••@example.com"),
    ] {
        let token = new_connect_token(&org).await;
        assert!(token["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/connect/gct_", app.base_url)));
        let connect = app.connect_client(token["token"].as_str().unwrap());
        let start = expect_json(connect.get("/api/connect/session").await, 200).await;
        assert_eq!(start["step"], "ENTER_CREDENTIALS");
        assert_eq!(start["organisationName"], "Acme Solar");
        let utilities = expect_json(connect.get("/api/connect/utilities").await, 200).await;
        assert_eq!(utilities.as_array().unwrap().len(), 7);

        let choose = submit_login(
            &app,
            &connect,
            "sandbox-electric",
            "user_good",
            "pass_good",
            "CHOOSE_METHOD",
        )
        .await;
        let methods: Vec<&str> = choose["mfaOptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["method"].as_str().unwrap())
            .collect();
        assert_eq!(methods, ["SMS", "CALL", "EMAIL"]);

        let code_step = expect_json(
            connect
                .post("/api/connect/mfa/method", json!({"method": method}))
                .await,
            200,
        )
        .await;
        assert_eq!(code_step["step"], "ENTER_CODE");
        assert_eq!(code_step["mfaMethod"], method);
        assert!(
            code_step["codeSentTo"]
                .as_str()
                .unwrap()
                .starts_with(username_hint),
            "{code_step}"
        );
        assert_eq!(code_step["attemptsLeft"], 5);
        assert_eq!(code_step["resendsLeft"], 3);
        let code = app.latest_code("sandbox-electric", "user_good").await;
        let done = enter_code(&connect, &code, 200).await;
        assert_eq!(done["step"], "SUCCESS");
        let credential_id = done["credentialId"].as_str().unwrap();
        let credential = expect_json(
            org.api
                .get(&format!("/api/v1/credentials/{credential_id}"))
                .await,
            200,
        )
        .await;
        assert_eq!(
            credential["statusDetail"],
            "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL"
        );
        assert_eq!(credential["correlationId"], "customer-42");
        assert_eq!(credential["owner"], "END_USER");
        // The session is used up: it shows its success but cannot act again.
        assert_eq!(
            expect_json(connect.get("/api/connect/session").await, 200).await["step"],
            "SUCCESS"
        );
        let used = expect_json(connect.post("/api/connect/reconnect", json!({})).await, 410).await;
        assert_eq!(used["code"], "CONNECT_LINK_USED");
    }
}

async fn a_utility_without_mfa_goes_straight_to_success(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let token = new_connect_token(&org).await;
    let connect = app.connect_client(token["token"].as_str().unwrap());
    submit_login(
        &app,
        &connect,
        "sandbox-water",
        "user_good",
        "pass_good",
        "SUCCESS",
    )
    .await;
}

async fn a_wrong_code_then_the_right_one_succeeds(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let connect = app.connect_client(new_connect_token(&org).await["token"].as_str().unwrap());
    submit_login(
        &app,
        &connect,
        "sandbox-gas",
        "user_good",
        "pass_good",
        "CHOOSE_METHOD",
    )
    .await;
    expect_json(
        connect
            .post("/api/connect/mfa/method", json!({"method": "SMS"}))
            .await,
        200,
    )
    .await;
    let code = app.latest_code("sandbox-gas", "user_good").await;
    let wrong = enter_code(&connect, wrong_code_for(&code), 422).await;
    assert_eq!(wrong["fields"][0]["field"], "code");
    assert_eq!(
        wrong["fields"][0]["message"],
        "That code is not right. 4 attempts left."
    );
    assert_eq!(
        expect_json(connect.get("/api/connect/session").await, 200).await["attemptsLeft"],
        4
    );
    let malformed = enter_code(&connect, "12ab", 422).await;
    assert_eq!(
        malformed["fields"][0]["message"],
        "The code is made of digits only."
    );
    let done = enter_code(&connect, &code, 200).await;
    assert_eq!(done["step"], "SUCCESS");
}

async fn five_wrong_codes_end_the_attempt_and_connect_can_start_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let connect = app.connect_client(new_connect_token(&org).await["token"].as_str().unwrap());
    submit_login(
        &app,
        &connect,
        "sandbox-electric",
        "user_good",
        "pass_good",
        "CHOOSE_METHOD",
    )
    .await;
    expect_json(
        connect
            .post("/api/connect/mfa/method", json!({"method": "EMAIL"}))
            .await,
        200,
    )
    .await;
    let code = app.latest_code("sandbox-electric", "user_good").await;
    for _ in 0..4 {
        enter_code(&connect, wrong_code_for(&code), 422).await;
    }
    let failed = enter_code(&connect, wrong_code_for(&code), 200).await;
    assert_eq!(failed["step"], "FAILED");
    assert_eq!(failed["failure"], "MFA_FAILED");
    let credential_id = failed["credentialId"].as_str().unwrap();
    app.wait_for_detail(
        &org.api,
        credential_id,
        "MULTI_FACTOR_AUTHENTICATION_FAILED",
    )
    .await;
    // The sandbox locked the login for 15 minutes after five wrong codes.
    app.sandbox_admin("/api/admin/clock/advance", json!({"seconds": 16 * 60}))
        .await;
    expect_json(connect.post("/api/connect/reconnect", json!({})).await, 200).await;
    app.wait_for_step(&connect, "CHOOSE_METHOD").await;
}

async fn sends_are_limited_per_attempt(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let connect = app.connect_client(new_connect_token(&org).await["token"].as_str().unwrap());
    submit_login(
        &app,
        &connect,
        "sandbox-electric",
        "user_good",
        "pass_good",
        "CHOOSE_METHOD",
    )
    .await;
    expect_json(
        connect
            .post("/api/connect/mfa/method", json!({"method": "SMS"}))
            .await,
        200,
    )
    .await;
    for resends_left in [2, 1, 0] {
        // Past the resend cooldown each time.
        app.state().clock.advance(time::Duration::seconds(31));
        let state = expect_json(
            connect.post("/api/connect/mfa/resend", json!({})).await,
            200,
        )
        .await;
        assert_eq!(state["resendsLeft"], resends_left);
    }
    let refused = expect_json(
        connect.post("/api/connect/mfa/resend", json!({})).await,
        429,
    )
    .await;
    assert_eq!(refused["code"], "TOO_MANY_REQUESTS");
    let other = expect_json(
        connect
            .post("/api/connect/mfa/method", json!({"method": "PIGEON"}))
            .await,
        400,
    )
    .await;
    assert_eq!(other["code"], "MALFORMED_REQUEST");
}

async fn a_wrong_password_can_be_corrected_in_connect(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let connect = app.connect_client(new_connect_token(&org).await["token"].as_str().unwrap());
    let failed = submit_login(
        &app,
        &connect,
        "sandbox-water",
        "user_good",
        "pass_bad",
        "FAILED",
    )
    .await;
    assert_eq!(failed["failure"], "INVALID_CREDENTIALS");
    let credential_id = failed["credentialId"].as_str().unwrap().to_owned();
    let retried = submit_login(
        &app,
        &connect,
        "sandbox-water",
        "user_good",
        "pass_good",
        "SUCCESS",
    )
    .await;
    assert_eq!(
        retried["credentialId"],
        credential_id.as_str(),
        "the same credential is corrected"
    );
    let all = expect_json(org.api.get("/api/v1/credentials").await, 200).await;
    assert_eq!(all["total"], 1);
}

/// A connected credential whose token the utility expired, found by "Sync now".
async fn refresh_required_credential(
    app: &TestApp,
    org: &common::Organisation,
    username: &str,
) -> String {
    let connect = app.connect_client(new_connect_token(org).await["token"].as_str().unwrap());
    submit_login(
        app,
        &connect,
        "sandbox-electric",
        username,
        "pass_good",
        "CHOOSE_METHOD",
    )
    .await;
    expect_json(
        connect
            .post("/api/connect/mfa/method", json!({"method": "SMS"}))
            .await,
        200,
    )
    .await;
    let code = app.latest_code("sandbox-electric", username).await;
    let done = enter_code(&connect, &code, 200).await;
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

/// Update mode: connecting, method, code, success; no login re-entry.
async fn reauthenticate(app: &TestApp, connect: &Client, username: &str) -> Value {
    let start = expect_json(connect.get("/api/connect/session").await, 200).await;
    assert_eq!(start["step"], "START");
    assert_eq!(start["username"], username);
    expect_json(connect.post("/api/connect/reconnect", json!({})).await, 200).await;
    app.wait_for_step(connect, "CHOOSE_METHOD").await;
    expect_json(
        connect
            .post("/api/connect/mfa/method", json!({"method": "CALL"}))
            .await,
        200,
    )
    .await;
    let code = app.latest_code("sandbox-electric", username).await;
    enter_code(connect, &code, 200).await
}

async fn an_operator_retries_mfa_in_update_mode(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let id = refresh_required_credential(&app, &org, "user_good").await;
    let retry = expect_json(
        org.admin
            .post(
                &format!("/api/v1/credentials/{id}/connect-tokens"),
                json!({}),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(retry["purpose"], "RETRY_MFA");
    let connect = app.connect_client(retry["token"].as_str().unwrap());
    let done = reauthenticate(&app, &connect, "user_good").await;
    assert_eq!(done["step"], "SUCCESS");
    let credential = app
        .wait_for_detail(&org.api, &id, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
        .await;
    assert!(credential["tokenExpiresAt"].is_string());
    // The new token works: a sync succeeds.
    expect_json(
        org.api
            .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
            .await,
        200,
    )
    .await;
}

async fn an_update_link_reconnects_once_and_then_is_used_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let id = refresh_required_credential(&app, &org, "user_good").await;
    let link = expect_json(
        org.admin
            .post(&format!("/api/v1/credentials/{id}/update-links"), json!({}))
            .await,
        201,
    )
    .await;
    let created = time::OffsetDateTime::parse(
        link["createdAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expires = time::OffsetDateTime::parse(
        link["expiresAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!((expires - created).whole_hours(), 72);
    let active = expect_json(
        org.admin
            .get(&format!("/api/v1/credentials/{id}/update-links"))
            .await,
        200,
    )
    .await;
    assert_eq!(active[0]["id"], link["id"]);
    assert!(
        active[0].get("token").is_none(),
        "the token is shown once only"
    );

    // The end-user has no account: only the link.
    let end_user = app.connect_client(link["token"].as_str().unwrap());
    let done = reauthenticate(&app, &end_user, "user_good").await;
    assert_eq!(done["step"], "SUCCESS");
    app.wait_for_detail(&org.api, &id, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
        .await;
    let reused = expect_json(
        end_user.post("/api/connect/reconnect", json!({})).await,
        410,
    )
    .await;
    assert_eq!(reused["code"], "CONNECT_LINK_USED");
    assert_eq!(
        expect_json(
            org.admin
                .get(&format!("/api/v1/credentials/{id}/update-links"))
                .await,
            200
        )
        .await,
        json!([])
    );
}

async fn an_update_link_expires_after_72_hours(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let id = refresh_required_credential(&app, &org, "user_good").await;
    let link = expect_json(
        org.admin
            .post(&format!("/api/v1/credentials/{id}/update-links"), json!({}))
            .await,
        201,
    )
    .await;
    let end_user = app.connect_client(link["token"].as_str().unwrap());
    app.state()
        .clock
        .advance(time::Duration::hours(71) + time::Duration::minutes(59));
    assert_eq!(
        expect_json(end_user.get("/api/connect/session").await, 200).await["step"],
        "START"
    );
    app.state().clock.advance(time::Duration::minutes(1));
    let expired = expect_json(end_user.get("/api/connect/session").await, 410).await;
    assert_eq!(expired["code"], "CONNECT_LINK_EXPIRED");
    assert_eq!(
        expect_json(
            end_user.post("/api/connect/reconnect", json!({})).await,
            410
        )
        .await["code"],
        "CONNECT_LINK_EXPIRED"
    );
}

async fn a_revoked_or_replaced_update_link_stops_working(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let id = refresh_required_credential(&app, &org, "user_good").await;
    let first = expect_json(
        org.admin
            .post(&format!("/api/v1/credentials/{id}/update-links"), json!({}))
            .await,
        201,
    )
    .await;
    let second = expect_json(
        org.admin
            .post(&format!("/api/v1/credentials/{id}/update-links"), json!({}))
            .await,
        201,
    )
    .await;
    let replaced = expect_json(
        app.connect_client(first["token"].as_str().unwrap())
            .get("/api/connect/session")
            .await,
        410,
    )
    .await;
    assert_eq!(replaced["code"], "CONNECT_LINK_REPLACED");
    let second_link = app.connect_client(second["token"].as_str().unwrap());
    assert_eq!(
        expect_json(second_link.get("/api/connect/session").await, 200).await["step"],
        "START"
    );
    let link_id = second["id"].as_str().unwrap();
    assert_eq!(
        org.admin
            .delete(&format!("/api/v1/credentials/{id}/update-links/{link_id}"))
            .await
            .status(),
        204
    );
    let revoked = expect_json(second_link.get("/api/connect/session").await, 410).await;
    assert_eq!(revoked["code"], "CONNECT_LINK_REVOKED");
    expect_json(
        org.admin
            .delete(&format!("/api/v1/credentials/{id}/update-links/{link_id}"))
            .await,
        404,
    )
    .await;
    let events = expect_json(
        org.api
            .get(&format!("/api/v1/credentials/{id}/events"))
            .await,
        200,
    )
    .await;
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        &kinds[..3],
        [
            "UPDATE_LINK_REVOKED",
            "UPDATE_LINK_CREATED",
            "UPDATE_LINK_CREATED"
        ]
    );
}

async fn an_update_link_acts_only_on_its_own_credential(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let first = refresh_required_credential(&app, &org, "user_good").await;
    let second = refresh_required_credential(&app, &org, "user_slow").await;
    let link = expect_json(
        org.admin
            .post(
                &format!("/api/v1/credentials/{first}/update-links"),
                json!({}),
            )
            .await,
        201,
    )
    .await;
    let end_user = app.connect_client(link["token"].as_str().unwrap());
    let state = expect_json(end_user.get("/api/connect/session").await, 200).await;
    assert_eq!(state["credentialId"], first.as_str());
    // Submitting a login is refused: an update link cannot create or switch credentials.
    let refused = expect_json(
        end_user
            .post("/api/connect/credentials", json!({"utilityId": "sandbox-electric", "username": "user_slow", "password": "pass_good"}))
            .await,
        409,
    )
    .await;
    assert_eq!(refused["code"], "CONFLICT");
    reauthenticate(&app, &end_user, "user_good").await;
    app.wait_for_detail(&org.api, &first, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
        .await;
    app.wait_for_detail(
        &org.api,
        &second,
        "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED",
    )
    .await;
}

async fn a_verification_left_idle_for_30_minutes_expires(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let connect = app.connect_client(new_connect_token(&org).await["token"].as_str().unwrap());
    submit_login(
        &app,
        &connect,
        "sandbox-gas",
        "user_good",
        "pass_good",
        "CHOOSE_METHOD",
    )
    .await;
    // No method chosen, so no code expires first (that ends a verification
    // after 10 minutes: see hostile_mfa.rs, case 1).
    app.state().clock.advance(time::Duration::minutes(31));
    let state = expect_json(connect.get("/api/connect/session").await, 200).await;
    assert_eq!(state["step"], "FAILED");
    assert_eq!(state["failure"], "MFA_FAILED");
    assert!(state["message"].as_str().unwrap().contains("30 minutes"));
}

async fn connect_resumes_after_a_server_restart(backend: Backend) {
    // The utility keeps running while Gridlink restarts.
    let sandbox = spawn_sandbox().await;
    let app = spawn_app_with(
        backend,
        TestAppOptions {
            utility_url: Some(sandbox.url.clone()),
            ..Default::default()
        },
    )
    .await;
    let org = app.organisation("Acme Solar").await;
    let token = new_connect_token(&org).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let connect = app.connect_client(&token);
    submit_login(
        &app,
        &connect,
        "sandbox-electric",
        "user_good",
        "pass_good",
        "CHOOSE_METHOD",
    )
    .await;
    expect_json(
        connect
            .post("/api/connect/mfa/method", json!({"method": "SMS"}))
            .await,
        200,
    )
    .await;

    let app = app.restart().await;
    let connect = app.connect_client(&token);
    let resumed = expect_json(connect.get("/api/connect/session").await, 200).await;
    assert_eq!(resumed["step"], "ENTER_CODE");
    let code = sandbox.latest_code("sandbox-electric", "user_good").await;
    let done = enter_code(&connect, &code, 200).await;
    assert_eq!(done["step"], "SUCCESS");
}

async fn unknown_and_expired_connect_tokens_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let unknown = expect_json(
        app.connect_client("gct_nope")
            .get("/api/connect/session")
            .await,
        401,
    )
    .await;
    assert_eq!(unknown["code"], "UNAUTHENTICATED");
    let anonymous = expect_json(app.anonymous().get("/api/connect/session").await, 401).await;
    assert_eq!(anonymous["code"], "UNAUTHENTICATED");
    let connect = app.connect_client(new_connect_token(&org).await["token"].as_str().unwrap());
    app.state().clock.advance(time::Duration::minutes(61));
    assert_eq!(
        expect_json(connect.get("/api/connect/session").await, 410).await["code"],
        "CONNECT_LINK_EXPIRED"
    );
}

/// Logins wait for the utility side by side, not a few at a time: sixteen
/// end-users submitting at once against a utility that takes 1.5 s to
/// answer (long enough that the sixteen submits overlap on a busy machine)
/// all reach the method choice, and the utility saw more than eight of them
/// at once (the login worker once ran eight at a time, which capped a
/// server at a few logins a second against real utilities).
async fn many_logins_wait_for_the_utility_side_by_side(backend: Backend) {
    const END_USERS: usize = 16;
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    app.sandbox_admin(
        "/api/admin/utilities/sandbox-gas/faults",
        json!({"latencyMs": 1500}),
    )
    .await;
    let mut connects = Vec::new();
    for index in 0..END_USERS {
        let token = new_connect_token(&org).await;
        let connect = app.connect_client(token["token"].as_str().unwrap());
        expect_json(
            connect
                .post(
                    "/api/connect/credentials",
                    json!({"utilityId": "sandbox-gas", "username": format!("user_good+{index}"), "password": "pass_good"}),
                )
                .await,
            200,
        )
        .await;
        connects.push(connect);
    }
    for connect in &connects {
        app.wait_for_step(connect, "CHOOSE_METHOD").await;
    }
    let stats = app.sandbox_stats().await;
    assert_eq!(stats["sandbox-gas"]["login"], END_USERS as u64, "{stats}");
    let peak = stats["sandbox-gas"]["maxInFlight"].as_u64().unwrap();
    assert!(
        peak > 8,
        "at most {peak} logins reached the utility at once: {stats}"
    );
}

/// A login submitted twice at once on one Connect session (a double click,
/// a retried request) creates one credential: the loser is told the login
/// was submitted and leaves nothing behind.
async fn a_login_submitted_twice_at_once_creates_one_credential(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    for _ in 0..5 {
        let token = new_connect_token(&org).await;
        let connect = app.connect_client(token["token"].as_str().unwrap());
        let login = json!({"utilityId": "sandbox-electric", "username": "user_good", "password": "pass_good"});
        let (one, two) = tokio::join!(
            connect.post("/api/connect/credentials", login.clone()),
            connect.post("/api/connect/credentials", login.clone()),
        );
        let mut statuses = [one.status().as_u16(), two.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409]);
    }
    let all = expect_json(org.api.get("/api/v1/credentials").await, 200).await;
    assert_eq!(all["total"], 5, "{all}");
    let (events,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM credential_events WHERE kind = 'CREATED' AND organisation_id = $1",
    )
    .bind(&org.id)
    .fetch_one(app.state().db.pool())
    .await
    .unwrap();
    assert_eq!(events, 5, "one CREATED event per credential");
}

/// Each step that writes answers with the state as stored, though it no
/// longer reads it back (the login, the method, a resend and the code
/// answer from the rows they wrote): a read of the session right after each
/// shows the very same state.
async fn each_step_answers_the_state_it_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let token = expect_json(
        org.api
            .post(
                "/api/v1/connect-tokens",
                json!({"correlationId": "customer-42", "owner": "END_USER",
                       "contactEmail": "end.user@example.com", "contactLanguage": "es"}),
            )
            .await,
        201,
    )
    .await;
    let connect = app.connect_client(token["token"].as_str().unwrap());
    let read_back = || async { expect_json(connect.get("/api/connect/session").await, 200).await };
    // The utility takes two seconds to answer the login: it stays CONNECTING meanwhile.
    let connecting = log_in_slowly(&app, &connect, 2000).await;
    assert_eq!(connecting, read_back().await);
    app.sandbox_admin("/api/admin/utilities/sandbox-gas/faults", json!({}))
        .await;
    app.wait_for_step(&connect, "CHOOSE_METHOD").await;

    let code_step = expect_json(
        connect
            .post("/api/connect/mfa/method", json!({"method": "SMS"}))
            .await,
        200,
    )
    .await;
    assert_eq!(code_step["step"], "ENTER_CODE", "{code_step}");
    assert_eq!(code_step, read_back().await);
    // Past the resend cooldown.
    app.state().clock.advance(time::Duration::seconds(31));
    let resent = expect_json(
        connect.post("/api/connect/mfa/resend", json!({})).await,
        200,
    )
    .await;
    assert_eq!(resent["resendsLeft"], 2, "{resent}");
    assert_eq!(resent, read_back().await);

    let code = app.latest_code("sandbox-gas", "user_good").await;
    let done = enter_code(&connect, &code, 200).await;
    assert_eq!(done["step"], "SUCCESS", "{done}");
    assert_eq!(done["contactEmail"], "e•••@example.com", "{done}");
    assert_eq!(done, read_back().await);
}

/// The credential a Connect login answers with, built without reading it
/// back, is the row as stored, field by field (with the integrator's contact).
async fn a_connect_login_knows_the_credential_it_stored(backend: Backend) {
    use server::domain::credentials::store::find_by_id;
    use server::domain::credentials::ValidatedCredential;
    use server::domain::credentials::{Contact, ContactSource};
    use server::domain::lifecycle::records;
    use shared::validation::{EmailAddress, Password, Username};

    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let token = new_connect_token(&org).await;
    let (session_id,): (String,) = sqlx::query_as(
        "SELECT id FROM connect_sessions WHERE organisation_id = $1 AND credential_id IS NULL",
    )
    .bind(&org.id)
    .fetch_one(app.state().db.pool())
    .await
    .unwrap();
    assert!(token["token"].is_string());
    let new = ValidatedCredential {
        utility_id: "sandbox-gas".into(),
        username: Username::parse("user_good").unwrap(),
        password: Password::parse("pass_good").unwrap(),
        correlation_id: Some("customer-42".into()),
        owner: shared::credentials::Owner::EndUser,
        contact: Some(Contact {
            email: EmailAddress::parse("end.user@example.com").unwrap(),
            source: ContactSource::Integrator,
            language: Some(shared::i18n::Language::Es),
        }),
    };
    let end_user = server::domain::audit::AuditActor::new(
        shared::audit::AuditActorKind::EndUser,
        None,
        "",
        "127.0.0.1",
        "",
    );
    let created = records::insert_credential_for_session(
        app.state(),
        &session_id,
        &org.id,
        &new,
        "end_user",
        &end_user,
    )
    .await
    .unwrap()
    .expect("the session had no credential");
    let stored = find_by_id(&app.state().db, &created.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created, stored);
    let again = records::insert_credential_for_session(
        app.state(),
        &session_id,
        &org.id,
        &new,
        "end_user",
        &end_user,
    )
    .await
    .unwrap();
    assert!(
        again.is_none(),
        "a second login on the session wrote {again:?}"
    );
}

/// Submits `user_good`'s login at Sandbox Gas, which takes `latency_ms` to
/// answer it (and every call after, until the faults are cleared), and
/// returns Connect's answer: CONNECTING.
async fn log_in_slowly(app: &TestApp, connect: &Client, latency_ms: u64) -> Value {
    app.sandbox_admin(
        "/api/admin/utilities/sandbox-gas/faults",
        json!({"latencyMs": latency_ms}),
    )
    .await;
    let login =
        json!({"utilityId": "sandbox-gas", "username": "user_good", "password": "pass_good"});
    let connecting = expect_json(connect.post("/api/connect/credentials", login).await, 200).await;
    assert_eq!(connecting["step"], "CONNECTING", "{connecting}");
    connecting
}

/// Connect waiting on "Connecting with your utility" asks once and is told
/// the moment the login ends, instead of asking every second.
async fn a_waiting_read_answers_when_the_login_ends(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let token = new_connect_token(&org).await;
    let connect = app.connect_client(token["token"].as_str().unwrap());
    // Nothing to wait for before a login: answered at once, whatever it asked.
    let before = Instant::now();
    let entering = expect_json(
        connect.get("/api/connect/session?waitSeconds=30").await,
        200,
    )
    .await;
    assert_eq!(entering["step"], "ENTER_CREDENTIALS", "{entering}");
    assert!(before.elapsed() < Duration::from_secs(15), "it waited");

    log_in_slowly(&app, &connect, 1500).await;
    // Without waiting, the utility has not answered yet.
    let polled = expect_json(connect.get("/api/connect/session").await, 200).await;
    assert_eq!(polled["step"], "CONNECTING", "{polled}");
    // The test server looks again only when its login worker says so (an
    // hour otherwise): answered well before the 30 seconds end, it was told.
    let before = Instant::now();
    let waited = expect_json(
        connect.get("/api/connect/session?waitSeconds=30").await,
        200,
    )
    .await;
    assert_eq!(waited["step"], "CHOOSE_METHOD", "{waited}");
    assert!(
        before.elapsed() < Duration::from_secs(20),
        "the login's end did not end the wait"
    );
    assert_eq!(
        waited,
        expect_json(connect.get("/api/connect/session").await, 200).await
    );
}

/// A wait ends after its seconds with "Connecting" if the utility is still
/// answering; Connect asks again.
async fn a_wait_ends_after_its_seconds_while_the_utility_answers(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let token = new_connect_token(&org).await;
    let connect = app.connect_client(token["token"].as_str().unwrap());
    log_in_slowly(&app, &connect, 8000).await;
    let before = Instant::now();
    let waited = expect_json(connect.get("/api/connect/session?waitSeconds=2").await, 200).await;
    assert_eq!(waited["step"], "CONNECTING", "{waited}");
    assert!(
        before.elapsed() >= Duration::from_secs(2),
        "it did not wait"
    );
    app.sandbox_admin("/api/admin/utilities/sandbox-gas/faults", json!({}))
        .await;
}

/// How long to wait is checked like any other input.
async fn a_wait_out_of_range_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let token = new_connect_token(&org).await;
    let connect = app.connect_client(token["token"].as_str().unwrap());
    for wait in ["0", "31", "-1", "1.5", "soon", ""] {
        let refused = expect_json(
            connect
                .get(&format!("/api/connect/session?waitSeconds={wait}"))
                .await,
            422,
        )
        .await;
        assert_eq!(
            refused["fields"][0]["field"], "waitSeconds",
            "{wait}: {refused}"
        );
        assert_eq!(
            refused["fields"][0]["message"],
            "How long to wait is a whole number of seconds from 1 to 30."
        );
    }
}

database_tests!(
    a_waiting_read_answers_when_the_login_ends,
    a_wait_ends_after_its_seconds_while_the_utility_answers,
    a_wait_out_of_range_is_refused,
    each_step_answers_the_state_it_stored,
    a_connect_login_knows_the_credential_it_stored,
    a_login_submitted_twice_at_once_creates_one_credential,
    a_new_credential_connects_through_connect_with_each_method,
    many_logins_wait_for_the_utility_side_by_side,
    a_utility_without_mfa_goes_straight_to_success,
    a_wrong_code_then_the_right_one_succeeds,
    five_wrong_codes_end_the_attempt_and_connect_can_start_again,
    sends_are_limited_per_attempt,
    a_wrong_password_can_be_corrected_in_connect,
    an_operator_retries_mfa_in_update_mode,
    an_update_link_reconnects_once_and_then_is_used_up,
    an_update_link_expires_after_72_hours,
    a_revoked_or_replaced_update_link_stops_working,
    an_update_link_acts_only_on_its_own_credential,
    a_verification_left_idle_for_30_minutes_expires,
    connect_resumes_after_a_server_restart,
    unknown_and_expired_connect_tokens_are_refused,
);
