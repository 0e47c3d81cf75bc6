//! The sandbox service over HTTP: its pages, its outbox, its admin knobs, and
//! a clear 4xx (never a 500) for every malformed request.

mod common;

use common::{spawn_app, spawn_sandbox, Backend};
use serde_json::{json, Value};

async fn post_raw(url: &str, content_type: &str, body: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_index_page_lists_the_utilities_and_the_scenario_logins() {
    let sandbox = spawn_sandbox().await;
    let page = reqwest::get(sandbox.url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for text in [
        "Sandbox Electric",
        "Sandbox Gas",
        "Sandbox Water",
        "Sandbox Municipal Power",
        "Sandbox Legacy Utility",
        "user_good",
        "user_nomfa",
        "user_locked",
        "user_down",
        "user_slow",
        "pass_good",
        "/outbox",
    ] {
        assert!(page.contains(text), "index page lacks {text}");
    }
}

#[tokio::test]
async fn the_outbox_page_shows_sent_codes_newest_first() {
    let sandbox = spawn_sandbox().await;
    let empty = reqwest::get(sandbox.url("/outbox"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(empty.contains("No codes sent yet"));
    let client = reqwest::Client::new();
    for utility in ["sandbox-gas", "sandbox-municipal-power"] {
        let login: Value = client
            .post(sandbox.url(&format!("/api/utilities/{utility}/login")))
            .json(&json!({"username": "user_good", "password": "pass_good"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let challenge = login["challengeId"].as_str().unwrap();
        let method = login["methods"][0]["method"].as_str().unwrap();
        let sent = client
            .post(sandbox.url(&format!("/api/utilities/{utility}/mfa/{challenge}/send")))
            .json(&json!({"method": method}))
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), 200);
    }
    let entries: Vec<Value> = reqwest::get(sandbox.url("/api/outbox"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["utility"], "Sandbox Municipal Power");
    assert_eq!(entries[1]["utility"], "Sandbox Gas");
    let page = reqwest::get(sandbox.url("/outbox"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let newest = page.find(entries[0]["code"].as_str().unwrap()).unwrap();
    let oldest = page.find(entries[1]["code"].as_str().unwrap()).unwrap();
    assert!(newest < oldest, "newest first on the page");
    let filtered: Vec<Value> = reqwest::get(sandbox.url("/api/outbox?utility=sandbox-gas"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(filtered.len(), 1);
}

#[tokio::test]
async fn malformed_requests_get_a_clear_4xx_with_the_protocol_error_body() {
    let sandbox = spawn_sandbox().await;
    let login = sandbox.url("/api/utilities/sandbox-electric/login");
    let cases = [
        (
            "missing field",
            login.clone(),
            "application/json",
            r#"{"username": "user_good"}"#,
            422,
        ),
        (
            "wrong type",
            login.clone(),
            "application/json",
            r#"{"username": 5, "password": "pass_good"}"#,
            422,
        ),
        (
            "unknown field",
            login.clone(),
            "application/json",
            r#"{"username": "a", "password": "b", "otp": 1}"#,
            422,
        ),
        (
            "broken JSON",
            login.clone(),
            "application/json",
            r#"{"username": "#,
            400,
        ),
        ("not JSON", login.clone(), "text/plain", "username=a", 415),
        (
            "unknown utility",
            sandbox.url("/api/utilities/nowhere-power/login"),
            "application/json",
            r#"{"username": "user_good", "password": "pass_good"}"#,
            404,
        ),
        (
            "unknown challenge",
            sandbox.url("/api/utilities/sandbox-electric/mfa/sbx_chl_nope/send"),
            "application/json",
            r#"{"method": "sms"}"#,
            404,
        ),
        (
            "admin without username",
            sandbox.url("/api/admin/expire-tokens"),
            "application/json",
            r#"{"username": " "}"#,
            422,
        ),
        (
            "failure rate above one",
            sandbox.url("/api/admin/utilities/sandbox-gas/faults"),
            "application/json",
            r#"{"failureRate": 2}"#,
            422,
        ),
        (
            "negative clock",
            sandbox.url("/api/admin/clock/advance"),
            "application/json",
            r#"{"seconds": -5}"#,
            422,
        ),
    ];
    for (case, url, content_type, body, expected) in cases {
        let (status, body) = post_raw(&url, content_type, body).await;
        assert_eq!(status, expected, "{case}: {body}");
        assert!(body["error"].is_string(), "{case}: no error kind in {body}");
        assert!(
            !body["message"].as_str().unwrap_or_default().is_empty(),
            "{case}: no message"
        );
    }
}

#[tokio::test]
async fn an_unknown_method_is_refused_with_the_methods_on_offer() {
    let sandbox = spawn_sandbox().await;
    let login: Value = reqwest::Client::new()
        .post(sandbox.url("/api/utilities/sandbox-gas/login"))
        .json(&json!({"username": "user_good", "password": "pass_good"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let challenge = login["challengeId"].as_str().unwrap();
    let (status, body) = post_raw(
        &sandbox.url(&format!("/api/utilities/sandbox-gas/mfa/{challenge}/send")),
        "application/json",
        r#"{"method": "carrier_pigeon"}"#,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"], "method_not_offered");
    assert!(body["message"].as_str().unwrap().contains("sms"));
}

#[tokio::test]
async fn a_code_check_before_any_code_was_sent_is_a_conflict() {
    let sandbox = spawn_sandbox().await;
    let login: Value = reqwest::Client::new()
        .post(sandbox.url("/api/utilities/sandbox-gas/login"))
        .json(&json!({"username": "user_good", "password": "pass_good"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let challenge = login["challengeId"].as_str().unwrap();
    let (status, body) = post_raw(
        &sandbox.url(&format!(
            "/api/utilities/sandbox-gas/mfa/{challenge}/verify"
        )),
        "application/json",
        r#"{"code": "123456"}"#,
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"], "no_code_sent");
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_with_the_protocol_error_body() {
    let sandbox = spawn_sandbox().await;
    let missing = reqwest::get(sandbox.url("/api/nothing-here"))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    let wrong_method = reqwest::get(sandbox.url("/api/utilities/sandbox-gas/login"))
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
}

#[tokio::test]
async fn bills_need_a_bearer_token() {
    let sandbox = spawn_sandbox().await;
    let response = reqwest::get(sandbox.url("/api/utilities/sandbox-water/accounts"))
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
}

#[tokio::test]
async fn reset_forgets_sessions_codes_and_faults() {
    let sandbox = spawn_sandbox().await;
    let connector = sandbox.connector(std::time::Duration::from_secs(10));
    use server::infra::utility::{LoginOutcome, UtilityConnector};
    let user = shared::validation::Username::parse("user_good").unwrap();
    let password = shared::validation::Password::parse("pass_good").unwrap();
    let LoginOutcome::Authenticated(session) = connector
        .login("sandbox-water", &user, &password)
        .await
        .unwrap()
    else {
        panic!("no MFA at Sandbox Water");
    };
    sandbox
        .admin(
            "/api/admin/utilities/sandbox-gas/faults",
            json!({"down": true}),
        )
        .await;
    let reset = reqwest::Client::new()
        .post(sandbox.url("/api/admin/reset"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 204);
    assert!(connector
        .accounts("sandbox-water", &session.secret)
        .await
        .is_err());
    assert!(connector
        .login("sandbox-gas", &user, &password)
        .await
        .is_ok());
}

#[tokio::test]
async fn gridlink_serve_starts_the_sandbox_on_its_own_port() {
    let app = spawn_app(Backend::Sqlite).await;
    assert_ne!(app.sandbox_url, app.base_url);
    // Gridlink signs its calls to the embedded sandbox, which refuses unsigned ones…
    let unsigned = reqwest::get(app.sandbox("/api/utilities")).await.unwrap();
    assert_eq!(unsigned.status(), 401);
    // …while its test knobs stay open, and Gridlink itself reads the catalogue.
    let stats = reqwest::get(app.sandbox("/api/admin/stats")).await.unwrap();
    assert_eq!(stats.status(), 200);
    let org = app.organisation("Acme Solar").await;
    let utilities: Value = common::expect_json(org.api.get("/api/v1/utilities").await, 200).await;
    assert_eq!(utilities.as_array().unwrap().len(), 7);
}

#[tokio::test]
async fn admin_stats_count_the_calls_each_utility_received() {
    let sandbox = spawn_sandbox().await;
    let client = reqwest::Client::new();
    for password in ["wrong", "pass_good"] {
        client
            .post(sandbox.url("/api/utilities/sandbox-gas/login"))
            .json(&json!({"username": "user_good", "password": password}))
            .send()
            .await
            .unwrap();
    }
    let login: Value = client
        .post(sandbox.url("/api/utilities/sandbox-water/login"))
        .json(&json!({"username": "user_nomfa", "password": "pass_good"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["sessionToken"].as_str().unwrap();
    client
        .get(sandbox.url("/api/utilities/sandbox-water/accounts"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let stats: Value = reqwest::get(sandbox.url("/api/admin/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["sandbox-gas"]["login"], 2, "{stats}");
    assert_eq!(stats["sandbox-water"]["login"], 1, "{stats}");
    assert_eq!(stats["sandbox-water"]["accounts"], 1, "{stats}");
    assert!(stats["sandbox-electric"].is_null(), "{stats}");
    sandbox.admin("/api/admin/reset", json!({})).await;
    let stats: Value = reqwest::get(sandbox.url("/api/admin/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats, json!({}), "a reset starts the counts again");
}

#[tokio::test]
async fn case_49_admin_knobs_refuse_form_and_text_bodies() {
    let sandbox = spawn_sandbox().await;
    let client = reqwest::Client::new();
    let knobs = [
        ("/api/admin/reset", ""),
        ("/api/admin/expire-tokens", r#"{"username":"user_good"}"#),
        (
            "/api/admin/utilities/sandbox-gas/faults",
            r#"{"down":true}"#,
        ),
        ("/api/admin/clock/advance", r#"{"seconds":600}"#),
        ("/api/admin/mail/outage", r#"{"down":true}"#),
    ];
    for (path, body) in knobs {
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
        ] {
            let mut request = client.post(sandbox.url(path)).body(body);
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 415, "{path} as {content_type:?}");
            let error: Value = response.json().await.unwrap();
            assert!(
                error["message"]
                    .as_str()
                    .unwrap()
                    .contains("application/json"),
                "{error}"
            );
        }
    }
    // Nothing changed: Sandbox Gas still answers.
    let connector = sandbox.connector(std::time::Duration::from_secs(10));
    use server::infra::utility::UtilityConnector;
    let user = shared::validation::Username::parse("user_nomfa").unwrap();
    let password = shared::validation::Password::parse("pass_good").unwrap();
    assert!(connector
        .login("sandbox-gas", &user, &password)
        .await
        .is_ok());
}
