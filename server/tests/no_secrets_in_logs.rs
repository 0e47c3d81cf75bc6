//! Runs the real binary with debug logging through a whole Connect flow, then
//! searches everything it logged for the secrets that passed through it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_until_up(url: &str) {
    let started = Instant::now();
    while reqwest::get(url).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(unix)]
#[tokio::test]
async fn case_14_no_password_code_or_token_reaches_the_log() {
    run_and_search_the_log("text").await;
}

/// The same flow with `GRIDLINK_LOG_FORMAT=json`: every line is one JSON
/// object with the standard fields, request lines carry their request id,
/// and no secret appears either.
#[cfg(unix)]
#[tokio::test]
async fn case_14_json_logs_are_one_object_a_line_without_secrets() {
    let log = run_and_search_the_log("json").await;
    let mut request_lines = 0;
    for line in log.lines() {
        let object: Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}"));
        for field in ["time", "level", "target", "message"] {
            assert!(object[field].is_string(), "no {field}: {line}");
        }
        assert!(
            line.starts_with(r#"{"time":"#),
            "time leads the line: {line}"
        );
        assert!(
            time::OffsetDateTime::parse(
                object["time"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339
            )
            .is_ok(),
            "time is not RFC 3339: {line}"
        );
        if object["span"] == "request" {
            assert!(
                object["request_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("req_")),
                "a request's line without its request id: {line}"
            );
            request_lines += 1;
        }
    }
    assert!(request_lines > 0, "no line logged inside a request:\n{log}");
    // A caller's W3C trace id is carried into the request's lines.
    assert!(
        log.contains(r#""trace_id":"4bf92f3577b34da6a3ce929d0e0e4736""#),
        "the caller's trace id is missing:\n{log}"
    );
}

/// Runs the binary with debug logging in `format` through a whole Connect
/// flow, then searches its log for every secret that passed; returns the log.
async fn run_and_search_the_log(format: &str) -> String {
    let data_dir =
        std::env::temp_dir().join(format!("gridlink-logs-{format}-{}", std::process::id()));
    let (port, sandbox_port) = (free_port(), free_port());
    let base = format!("http://127.0.0.1:{port}");
    let sandbox = format!("http://127.0.0.1:{sandbox_port}");
    let operator_password = "operator-Secret-7f3a9c";
    let utility_password_wrong = "utility-Secret-wrong-41b2";
    let mut child = Command::new(env!("CARGO_BIN_EXE_gridlink"))
        .args([
            "serve",
            "--demo",
            &format!("--listen=127.0.0.1:{port}"),
            &format!("--sandbox-listen=127.0.0.1:{sandbox_port}"),
            "--sandbox-smtp-listen=127.0.0.1:0",
            &format!("--data-dir={}", data_dir.display()),
            "--static-dir=/nonexistent",
            // The endpoint below is on loopback, refused without this.
            "--webhook-allow-private",
        ])
        .env("GRIDLINK_DEMO_PASSWORD", operator_password)
        .env("RUST_LOG", "debug")
        .env("GRIDLINK_LOG_FORMAT", format)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain the log as it is written: a full pipe would block the server.
    let mut stderr = child.stderr.take().unwrap();
    let log_reader = std::thread::spawn(move || {
        let mut log = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut log).unwrap();
        log
    });
    wait_until_up(&format!("{base}/api/health")).await;
    let http = reqwest::Client::new();

    let signed_in = http
        .post(format!("{base}/api/session"))
        .json(&json!({"email": "demo@example.com", "password": operator_password}))
        .send()
        .await
        .unwrap();
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let session: Value = signed_in.json().await.unwrap();
    let csrf = session["csrfToken"].as_str().unwrap().to_owned();
    let key: Value = http
        .post(format!("{base}/api/v1/api-keys"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"name": "log test"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api_key = key["secret"].as_str().unwrap().to_owned();

    // Webhooks are signed with a secret the log must not show either (the
    // endpoint does not answer: deliveries fail and are logged as failures).
    let endpoint: Value = http
        .put(format!("{base}/api/v1/webhook-endpoint"))
        .bearer_auth(&api_key)
        .json(&json!({"url": format!("http://127.0.0.1:{}/hooks", free_port())}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rotated: Value = http
        .post(format!("{base}/api/v1/webhook-endpoint/rotate-secret"))
        .bearer_auth(&api_key)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let webhook_secrets: Vec<String> = [&endpoint, &rotated]
        .iter()
        .map(|answer| {
            answer["secret"]
                .as_str()
                .unwrap()
                .trim_start_matches("whsec_")
                .to_owned()
        })
        .collect();

    // A wrong password, corrected in Connect, then an MFA code.
    let token: Value = http
        .post(format!("{base}/api/v1/connect-tokens"))
        .bearer_auth(&api_key)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let connect_token = token["token"].as_str().unwrap().to_owned();
    let submit = |password: &str| {
        http.post(format!("{base}/api/connect/credentials"))
            .bearer_auth(&connect_token)
            .json(&json!({"utilityId": "sandbox-electric", "username": "user_good", "password": password}))
            .send()
    };
    submit(utility_password_wrong).await.unwrap();
    let wait_for = |step: &'static str| {
        let http = http.clone();
        let base = base.clone();
        let connect_token = connect_token.clone();
        async move {
            let started = Instant::now();
            loop {
                let state: Value = http
                    .get(format!("{base}/api/connect/session"))
                    .bearer_auth(&connect_token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if state["step"] == step {
                    return state;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(15),
                    "stuck at {state}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    wait_for("FAILED").await;
    submit("pass_good").await.unwrap();
    wait_for("CHOOSE_METHOD").await;
    http.post(format!("{base}/api/connect/mfa/method"))
        .bearer_auth(&connect_token)
        .json(&json!({"method": "SMS"}))
        .send()
        .await
        .unwrap();
    let outbox: Vec<Value> = reqwest::get(format!("{sandbox}/api/outbox"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = outbox[0]["code"].as_str().unwrap().to_owned();
    http.post(format!("{base}/api/connect/mfa/code"))
        .bearer_auth(&connect_token)
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    let done = wait_for("SUCCESS").await;
    let credential_id = done["credentialId"].as_str().unwrap();
    http.post(format!("{base}/api/v1/credentials/{credential_id}/sync"))
        .bearer_auth(&api_key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    // Case 14: link tokens travel in page URLs too; an update link is opened
    // as an end-user would (the page, then the API with the token).
    let link: Value = http
        .post(format!(
            "{base}/api/v1/credentials/{credential_id}/update-links"
        ))
        .bearer_auth(&api_key)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link_token = link["token"].as_str().unwrap().to_owned();
    http.get(link["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    http.get(format!("{base}/connect/{connect_token}"))
        .send()
        .await
        .unwrap();
    http.get(format!("{base}/api/connect/session"))
        .bearer_auth(&link_token)
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .send()
        .await
        .unwrap();

    // Wait for the delivery job's first (failing) attempt.
    let started = Instant::now();
    loop {
        let page: Value = http
            .get(format!("{base}/api/v1/webhook-deliveries"))
            .bearer_auth(&api_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let attempted = page["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|delivery| delivery["attempts"].as_u64() > Some(0));
        if attempted {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no webhook attempt: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();

    child.wait().unwrap();
    let log = log_reader.join().unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
    assert!(
        log.contains("credential status changed"),
        "debug logging ran:\n{log}"
    );
    assert!(
        log.contains("webhook attempt failed"),
        "webhooks were sent:\n{log}"
    );
    let session_cookie = cookie.split_once('=').unwrap().1;
    for (name, secret) in [
        ("operator password", operator_password),
        ("utility password", utility_password_wrong),
        ("utility password", "pass_good"),
        ("MFA code", code.as_str()),
        ("API key", api_key.as_str()),
        ("Connect token", connect_token.as_str()),
        ("update link token", link_token.as_str()),
        ("session cookie", session_cookie),
        ("CSRF token", csrf.as_str()),
        ("utility session token", "sbx_tok_"),
        ("webhook secret", webhook_secrets[0].as_str()),
        ("rotated webhook secret", webhook_secrets[1].as_str()),
    ] {
        assert!(!log.contains(secret), "the {name} appears in the log");
    }
    log
}
