//! The conformance kit: the sandbox passes every check; a deliberately broken
//! adapter fails the checks it breaks, each failure showing what was sent and
//! what came back.

mod common;

use axum::routing::{get, post};
use axum::{Json, Router};
use common::{spawn_sandbox_with, TestSandbox};
use reqwest::Url;
use serde_json::{json, Value};
use server::infra::webhook_signing::SigningSecret;
use server::tools::conformance::{run, Logins, Options, Outcome};
use server::tools::sandbox::SandboxOptions;

fn options(url: &str, secret: Option<SigningSecret>, outbox: Option<String>) -> Options {
    Options {
        url: Url::parse(&format!("{url}/")).unwrap(),
        secret,
        utility: None,
        clock_url: outbox
            .as_ref()
            .map(|_| Url::parse(&format!("{url}/api/admin/clock/advance")).unwrap()),
        outbox_url: outbox.map(|outbox| Url::parse(&outbox).unwrap()),
        logins: Logins::default(),
    }
}

#[tokio::test]
async fn the_sandbox_passes_every_check() {
    let secret = SigningSecret::generate();
    let sandbox: TestSandbox = spawn_sandbox_with(SandboxOptions {
        secret: Some(secret.clone()),
        utilities: None,
    })
    .await;
    let report = run(options(
        &sandbox.url,
        Some(secret),
        Some(sandbox.url("/api/outbox")),
    ))
    .await;
    let table = report.table();
    assert!(report.failures().is_empty(), "{table}");
    assert!(
        report
            .checks
            .iter()
            .all(|check| check.outcome == Outcome::Pass),
        "{table}"
    );
    // Every method of the tested utility (Sandbox Electric: sms, call, email) was sent and verified.
    assert!(report.checks.len() >= 18, "{table}");
    assert!(
        table.contains("PASS  an expired code is code_expired"),
        "{table}"
    );
}

/// An adapter that gets much wrong: no signature check, a catalogue missing a
/// field, every login accepted, and any token good enough.
async fn broken_adapter() -> String {
    let app = Router::new()
        .route(
            "/api/utilities",
            get(|| async { Json(json!([{"id": "broken-power", "name": "Broken Power", "mfaMethods": ["sms"]}])) }),
        )
        .route(
            "/api/utilities/{utility}/login",
            post(|| async {
                Json(json!({"result": "authenticated", "sessionToken": "t", "expiresAt": "2030-01-01T00:00:00Z"}))
            }),
        )
        .route(
            "/api/utilities/{utility}/accounts",
            get(|| async { Json(Value::Array(Vec::new())) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn a_broken_adapter_fails_the_checks_it_breaks_and_shows_the_exchange() {
    let url = broken_adapter().await;
    let report = run(Options {
        utility: Some("broken-power".into()),
        ..options(&url, Some(SigningSecret::generate()), None)
    })
    .await;
    let failed: Vec<&str> = report.failures().iter().map(|check| check.name).collect();
    for expected in [
        "catalogue lists utilities with id, name, mfaMethods and tokenLifetimeDays",
        "an unsigned call is refused with 401 unauthorized",
        "a call signed more than 5 minutes ago is refused",
        "a wrong password is invalid_credentials",
        "a locked account is account_locked",
        "a utility that is down answers unavailable",
        "an unknown utility is unknown_utility",
        "a login with MFA answers mfa_required with a challenge and masked destinations",
        "accounts have an accountNumber, a serviceAddress and a fuel",
        "a token the adapter never issued is invalid_token or token_expired",
    ] {
        assert!(
            failed.contains(&expected),
            "{expected} should fail:\n{}",
            report.table()
        );
    }
    assert!(
        !failed
            .contains(&"a login without MFA is authenticated with a session token and its expiry"),
        "{}",
        report.table()
    );
    let wrong_password = report
        .checks
        .iter()
        .find(|check| check.name == "a wrong password is invalid_credentials")
        .unwrap();
    let Outcome::Fail(detail) = &wrong_password.outcome else {
        unreachable!()
    };
    assert!(
        detail.contains("sent: POST /api/utilities/broken-power/login"),
        "{detail}"
    );
    assert!(
        detail.contains("\"password\":\"•••\""),
        "passwords are never shown: {detail}"
    );
    assert!(detail.contains("received: HTTP 200"), "{detail}");
    assert!(report
        .table()
        .contains("FAIL  a wrong password is invalid_credentials"));
}
