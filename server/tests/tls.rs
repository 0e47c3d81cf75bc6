//! Real TLS everywhere Gridlink connects out or listens, with a certificate
//! authority made by the test: webhooks to an HTTPS receiver, an HTTPS
//! utility, HTTPS served directly, mail over SMTPS, and PostgreSQL with `sslmode=verify-full`.

mod common;

use std::time::Duration;

use common::tls::{serve_https, TestCa};
use common::webhook_receiver::{verify, ReceiverOptions, WebhookReceiver};
use common::{expect_json, spawn_app_with, Backend, TestAppOptions};
use serde_json::json;
use server::infra::utility::{UtilityConnector, UtilityError};
use tokio_util::sync::CancellationToken;

async fn https_receiver(ca: &TestCa) -> WebhookReceiver {
    WebhookReceiver::start_with(ReceiverOptions {
        tls: Some(ca.server_config()),
        ..ReceiverOptions::default()
    })
    .await
}

async fn a_webhook_reaches_an_https_receiver_whose_ca_is_in_ssl_cert_file(backend: Backend) {
    let ca = TestCa::new();
    let app = spawn_app_with(
        backend,
        TestAppOptions {
            ssl_cert_file: Some(ca.ca_file.clone()),
            ..TestAppOptions::default()
        },
    )
    .await;
    let org = app.organisation("Acme Solar").await;
    let receiver = https_receiver(&ca).await;
    let secret = org.send_webhooks_to(&receiver).await;
    let delivery = common::test_event_with_its_first_attempt(&org).await;
    assert_eq!(
        delivery["attemptLog"][0]["responseStatus"], 200,
        "{delivery}"
    );
    let received = receiver.wait_for(1).await;
    assert!(verify(&secret, &received[0]), "the signature verifies");
    assert_eq!(received[0].json()["type"], "WEBHOOK_TEST");
}

async fn a_webhook_to_an_untrusted_certificate_fails_saying_so(backend: Backend) {
    let ca = TestCa::new();
    // The server trusts only the system store: the test CA is unknown to it.
    let app = spawn_app_with(backend, TestAppOptions::default()).await;
    let org = app.organisation("Acme Solar").await;
    let receiver = https_receiver(&ca).await;
    org.send_webhooks_to(&receiver).await;
    let delivery = common::test_event_with_its_first_attempt(&org).await;
    let attempt = &delivery["attemptLog"][0];
    assert!(attempt["responseStatus"].is_null(), "{delivery}");
    let error = attempt["error"].as_str().unwrap();
    assert!(error.contains("certificate is not trusted"), "{error}");
    assert!(receiver.received().is_empty(), "no request got through");
    // The delivery list (the dashboard's table) shows the same reason.
    let list = expect_json(org.api.get("/api/v1/webhook-deliveries").await, 200).await;
    assert!(
        list["deliveries"][0]["lastError"]
            .as_str()
            .unwrap()
            .contains("not trusted"),
        "{list}"
    );
}

async fn a_utility_over_https_is_reached_when_its_ca_is_trusted(backend: Backend) {
    let ca = TestCa::new();
    let stop = CancellationToken::new();
    let port = serve_https(
        server::tools::sandbox::router(),
        ca.server_config(),
        stop.clone(),
    )
    .await;
    let app = spawn_app_with(
        backend,
        TestAppOptions {
            utility_url: Some(format!("https://localhost:{port}")),
            ssl_cert_file: Some(ca.ca_file.clone()),
            ..TestAppOptions::default()
        },
    )
    .await;
    let org = app.organisation("Acme Solar").await;
    let id = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    let statements = expect_json(
        org.api
            .get(&format!("/api/v1/credentials/{id}/statements"))
            .await,
        200,
    )
    .await;
    assert!(!statements.as_array().unwrap().is_empty(), "{statements}");
    stop.cancel();
}

database_tests!(
    a_webhook_reaches_an_https_receiver_whose_ca_is_in_ssl_cert_file,
    a_webhook_to_an_untrusted_certificate_fails_saying_so,
    a_utility_over_https_is_reached_when_its_ca_is_trusted,
);

#[tokio::test]
async fn a_utility_with_an_untrusted_certificate_is_refused_and_not_retried_as_an_outage() {
    let ca = TestCa::new();
    let stop = CancellationToken::new();
    let port = serve_https(
        server::tools::sandbox::router(),
        ca.server_config(),
        stop.clone(),
    )
    .await;
    let url = reqwest::Url::parse(&format!("https://localhost:{port}")).unwrap();
    let retry = server::infra::utility::http::RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(10),
    };
    let untrusting = server::infra::utility::http::HttpUtilityConnector::new(
        url.clone(),
        Duration::from_secs(5),
        retry,
        &server::infra::outbound::TrustRoots::only(Vec::new()),
    )
    .unwrap();
    let error = untrusting.list_utilities().await.unwrap_err();
    assert!(
        matches!(&error, UtilityError::Protocol(details) if details.contains("not trusted")),
        "{error:?}"
    );
    let trusting = server::infra::utility::http::HttpUtilityConnector::new(
        url,
        Duration::from_secs(5),
        retry,
        &ca.trust_roots(),
    )
    .unwrap();
    let utilities = trusting.list_utilities().await.unwrap();
    assert!(utilities
        .iter()
        .any(|utility| utility.id == "sandbox-electric"));
    stop.cancel();
}

#[tokio::test]
async fn gridlink_serves_https_with_hsts_and_secure_cookies_when_given_a_certificate() {
    let ca = TestCa::new();
    let app = spawn_app_with(
        Backend::Sqlite,
        TestAppOptions {
            tls: Some((ca.cert_file.clone(), ca.key_file.clone())),
            ..TestAppOptions::default()
        },
    )
    .await;
    assert!(app.base_url.starts_with("https://"), "{}", app.base_url);
    let client = ca.client();
    let health = client.get(app.url("/api/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let hsts = health.headers()["strict-transport-security"]
        .to_str()
        .unwrap();
    assert!(hsts.contains("max-age="), "{hsts}");

    // Sign-in over HTTPS sets a Secure cookie.
    let email = "tls-admin@example.com";
    server::domain::organisations::create_with_admin(
        &app.state().db,
        "Acme Solar",
        email,
        "a long admin password",
        app.state().clock.now_ms(),
    )
    .await
    .unwrap();
    let signed_in = client
        .post(app.url("/api/session"))
        .json(&json!({"email": email, "password": "a long admin password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");

    // Plain HTTP on the TLS port gets no answer from the application.
    let plain = reqwest::Client::new()
        .get(app.url("/api/health").replacen("https://", "http://", 1))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP must not be served: {plain:?}");
}

/// PostgreSQL over TLS with full verification. `scripts/test` turns TLS on
/// for the local PostgreSQL and sets `GRIDLINK_TEST_POSTGRES_TLS_ROOT` to
/// the CA that issued its certificate; without it this test says so and ends.
#[tokio::test]
async fn postgres_connects_over_tls_with_verify_full() {
    let (Ok(admin_url), Ok(root)) = (
        std::env::var("GRIDLINK_TEST_POSTGRES_URL"),
        std::env::var("GRIDLINK_TEST_POSTGRES_TLS_ROOT"),
    ) else {
        eprintln!(
            "SKIPPED postgres_connects_over_tls_with_verify_full: PostgreSQL with TLS is not \
             available (GRIDLINK_TEST_POSTGRES_TLS_ROOT is unset; scripts/test sets it when it \
             can turn TLS on)"
        );
        return;
    };
    let mut url = reqwest::Url::parse(&admin_url).unwrap();
    url.query_pairs_mut()
        .append_pair("sslmode", "verify-full")
        .append_pair("sslrootcert", &root);
    let verified = server::infra::config::DatabaseUrl::parse(url.as_str()).unwrap();
    let db = server::infra::store::Database::connect(&verified)
        .await
        .expect("verify-full with the server's CA connects");
    let (encrypted,): (bool,) =
        sqlx::query_as("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert!(encrypted, "the connection is encrypted");
    db.close().await;

    // `require` is verified too: without the server's CA it is refused.
    let mut unverifiable = reqwest::Url::parse(&admin_url).unwrap();
    unverifiable
        .query_pairs_mut()
        .append_pair("sslmode", "require");
    let refused = server::infra::store::Database::connect(
        &server::infra::config::DatabaseUrl::parse(unverifiable.as_str()).unwrap(),
    )
    .await
    .expect_err("an unverifiable certificate is refused");
    assert_eq!(refused.option, server::infra::config::DATABASE_URL);
}

/// An SMTPS server (TLS from the first byte) with the test CA's certificate,
/// catching mail into `sandbox`; returns its port.
async fn smtps_server(ca: &TestCa, sandbox: server::tools::sandbox::Sandbox) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tokio_rustls::TlsAcceptor::from(ca.server_config());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let sandbox = sandbox.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    server::tools::sandbox::converse_smtp(tls, &sandbox)
                        .await
                        .ok();
                }
            });
        }
    });
    port
}

fn message() -> lettre::Message {
    lettre::Message::builder()
        .from("Gridlink <no-reply@example.com>".parse().unwrap())
        .to("jane@example.com".parse().unwrap())
        .subject("Over TLS")
        .body("Hello".to_owned())
        .unwrap()
}

#[tokio::test]
async fn mail_goes_over_verified_tls_and_never_to_an_untrusted_server() {
    let ca = TestCa::new();
    let sandbox = server::tools::sandbox::Sandbox::default();
    let port = smtps_server(&ca, sandbox.clone()).await;
    let config =
        server::infra::mail_transport::SmtpConfig::parse(&format!("smtps://localhost:{port}"))
            .unwrap();

    let trusting = server::infra::mail_transport::Mailer::new(&config, &ca.trust_roots()).unwrap();
    trusting.send(message()).await.expect("sent over TLS");
    assert_eq!(sandbox.lock().mail.len(), 1);
    assert_eq!(sandbox.lock().mail[0].subject, "Over TLS");

    // The same server, but Gridlink trusts another CA: nothing is sent.
    let other = TestCa::new();
    let doubting =
        server::infra::mail_transport::Mailer::new(&config, &other.trust_roots()).unwrap();
    let failure = doubting
        .send(message())
        .await
        .expect_err("an untrusted certificate");
    assert!(
        !failure.permanent,
        "a TLS failure is retried: {}",
        failure.description
    );
    assert_eq!(sandbox.lock().mail.len(), 1, "nothing reached the server");
}
