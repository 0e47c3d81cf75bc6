//! Prometheus metrics (`GRIDLINK_METRICS_LISTEN`): read after a Connect flow
//! and a webhook delivery, checked figure by figure and by Prometheus's own
//! `promtool check metrics` (required when `GRIDLINK_TEST_REQUIRE_PROMTOOL`
//! is set, as `scripts/test` does).
//!
//! One test in this binary: the metrics recorder belongs to the process.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::webhook_receiver::WebhookReceiver;
use common::{expect_json, free_port, spawn_app_with, Backend, TestAppOptions};
use serde_json::json;

/// The value of the sample `name{labels}` (labels exactly as rendered), if any.
fn sample(scrape: &str, name_and_labels: &str) -> Option<f64> {
    scrape.lines().find_map(|line| {
        let value = line.strip_prefix(name_and_labels)?.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

async fn scrape(port: u16) -> String {
    let response = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_a_connect_flow_a_webhook_and_pass_promtool() {
    let metrics_port = free_port();
    let app = spawn_app_with(
        Backend::Sqlite,
        TestAppOptions {
            extra_args: vec![format!("--metrics-listen=127.0.0.1:{metrics_port}")],
            ..Default::default()
        },
    )
    .await;
    let org = app.organisation("Metered Power").await;
    let receiver = WebhookReceiver::start(0).await;
    org.send_webhooks_to(&receiver).await;

    let done = app
        .connect_with_sms(&org.api, json!({}), "sandbox-electric", "user_good")
        .await;
    let credential_id = done["credentialId"].as_str().unwrap().to_owned();
    receiver
        .wait_for_delivered("NEW_DATA_AVAILABLE", &credential_id)
        .await;
    expect_json(
        org.api
            .get(&format!("/api/v1/credentials/{credential_id}"))
            .await,
        200,
    )
    .await;

    // Deliveries are counted once the job has recorded them: wait for that.
    let started = Instant::now();
    let scrape = loop {
        let scrape = scrape(metrics_port).await;
        if sample(
            &scrape,
            r#"gridlink_webhook_delivery_attempts_total{outcome="delivered"}"#,
        )
        .is_some()
        {
            break scrape;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{scrape}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // The Connect funnel, step by step.
    assert_eq!(
        sample(&scrape, "gridlink_connect_flows_started_total"),
        Some(1.0)
    );
    for step in ["connecting", "choose_method", "enter_code"] {
        assert_eq!(
            sample(
                &scrape,
                &format!(r#"gridlink_connect_steps_reached_total{{step="{step}"}}"#)
            ),
            Some(1.0),
            "step {step}"
        );
    }
    assert_eq!(
        sample(
            &scrape,
            r#"gridlink_connect_flows_finished_total{outcome="succeeded"}"#
        ),
        Some(1.0)
    );
    // Utility calls by utility, call and outcome, with their latency.
    assert_eq!(
        sample(
            &scrape,
            r#"gridlink_utility_calls_total{utility="sandbox-electric",call="verify_code",outcome="ok"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &scrape,
            r#"gridlink_utility_call_duration_seconds_count{utility="sandbox-electric",call="login"}"#
        ),
        Some(1.0)
    );
    // Requests by route template, never by their ids.
    assert_eq!(
        sample(
            &scrape,
            r#"gridlink_http_request_duration_seconds_count{method="POST",route="/api/connect/mfa/code",status_class="2xx"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &scrape,
            r#"gridlink_http_request_duration_seconds_count{method="GET",route="/api/v1/credentials/{id}",status_class="2xx"}"#
        ),
        Some(1.0)
    );
    assert!(
        !scrape.contains(&credential_id) && !scrape.contains(&org.id),
        "an id reached a label:\n{scrape}"
    );
    // Counts read from the database at the scrape.
    assert_eq!(
        sample(
            &scrape,
            r#"gridlink_credentials{status_detail="LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL"}"#
        ),
        Some(1.0)
    );
    assert_eq!(sample(&scrape, "gridlink_webhook_backlog"), Some(0.0));
    assert_eq!(
        sample(&scrape, "gridlink_utility_incidents_open"),
        Some(0.0)
    );
    assert_eq!(
        sample(&scrape, "gridlink_session_tokens_expiring"),
        Some(0.0)
    );
    assert_eq!(
        sample(&scrape, "gridlink_sqlite_writer_queue_depth"),
        Some(0.0)
    );
    // The jobs ran, and recently.
    let last_sync = sample(
        &scrape,
        r#"gridlink_job_last_run_timestamp_seconds{job="syncs"}"#,
    )
    .expect("the syncs job's last run");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - last_sync).abs() < 60.0, "{last_sync} vs {now}");
    assert!(sample(&scrape, r#"gridlink_job_lag_seconds{job="syncs"}"#).is_some());

    // A wrong password: a sign-in failure.
    let refused = app
        .anonymous()
        .post(
            "/api/session",
            json!({"email": org.admin_email, "password": "not the password at all"}),
        )
        .await;
    assert_eq!(refused.status(), 401);
    let scrape = self::scrape(metrics_port).await;
    assert_eq!(
        sample(
            &scrape,
            r#"gridlink_sign_in_failures_total{reason="wrong_password"}"#
        ),
        Some(1.0)
    );

    check_with_promtool(&scrape);
    app.stop().await.unwrap();
}

/// `promtool check metrics` reads the scrape from stdin and lists problems
/// (names, units, help text) on stdout; it exits non-zero on any.
fn check_with_promtool(scrape: &str) {
    let required = std::env::var_os("GRIDLINK_TEST_REQUIRE_PROMTOOL").is_some();
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) if !required => {
            eprintln!("promtool is not installed ({error}): the scrape is not checked by it");
            return;
        }
        Err(error) => panic!("promtool is required here and cannot run: {error}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(scrape.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success() && output.stdout.is_empty(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
