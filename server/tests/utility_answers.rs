//! What Gridlink does with a utility's answers it cannot trust: its own
//! error text never reaches Connect or a webhook (only the operator's
//! timeline, cut short), and an answer larger than the cap is refused
//! instead of read into memory.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use common::webhook_receiver::WebhookReceiver;
use common::{expect_json, spawn_app_with, Backend, TestAppOptions};
use serde_json::json;
use server::infra::utility::{UtilityConnector, UtilityError};
use tokio_util::sync::CancellationToken;

const MARKER: &str = "INTERNAL-STACK-TRACE-db01.corp";

/// A utility service that lists one utility and answers every login with a
/// 503 whose message is long and full of internals.
async fn talkative_utility(stop: CancellationToken) -> String {
    let router = Router::new()
        .route(
            "/api/utilities",
            get(|| async {
                axum::Json(json!([{"id": "talkative-power", "name": "Talkative Power",
                                   "mfaMethods": [], "tokenLifetimeDays": 30}]))
            }),
        )
        .route(
            "/api/utilities/talkative-power/login",
            post(|| async {
                let message = format!("{MARKER} <script>alert(1)</script> {}", "x".repeat(5_000));
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    axum::Json(json!({"error": "unavailable", "message": message})),
                )
            }),
        )
        .route(
            "/api/utilities/talkative-power/accounts",
            get(|| async { "[".repeat(2 * 1024 * 1024) }),
        );
    serve(router, stop).await
}

async fn serve(router: Router, stop: CancellationToken) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
            .ok();
    });
    url
}

async fn a_utilitys_error_text_reaches_only_the_operators_timeline(backend: Backend) {
    let stop = CancellationToken::new();
    let utility_url = talkative_utility(stop.clone()).await;
    let app = spawn_app_with(
        backend,
        TestAppOptions {
            utility_url: Some(utility_url),
            ..TestAppOptions::default()
        },
    )
    .await;
    let org = app.organisation("Acme Solar").await;
    let receiver = WebhookReceiver::start(0).await;
    org.send_webhooks_to(&receiver).await;
    let token = expect_json(
        org.api
            .post("/api/v1/connect-tokens", json!({"owner": "END_USER"}))
            .await,
        201,
    )
    .await;
    let connect = app.connect_client(token["token"].as_str().unwrap());
    let submitted = expect_json(
        connect
            .post(
                "/api/connect/credentials",
                json!({"utilityId": "talkative-power", "username": "someone", "password": "pass_good"}),
            )
            .await,
        200,
    )
    .await;
    let id = submitted["credentialId"].as_str().unwrap().to_owned();
    app.wait_for_detail(&org.api, &id, "PROVIDER_WEBSITE_INACCESSIBLE")
        .await;
    let status_change = receiver.wait_for_delivered("STATUS_CHANGE", &id).await;

    let connect_state = connect
        .get("/api/connect/session")
        .await
        .text()
        .await
        .unwrap();
    let credential = org
        .api
        .get(&format!("/api/v1/credentials/{id}"))
        .await
        .text()
        .await
        .unwrap();
    for (place, text) in [
        ("Connect", connect_state.as_str()),
        ("the webhook", &status_change.to_string()),
        ("the credential", credential.as_str()),
    ] {
        assert!(
            !text.contains(MARKER),
            "{place} repeats the utility's text: {text}"
        );
    }

    let events = expect_json(
        org.api
            .get(&format!("/api/v1/credentials/{id}/events"))
            .await,
        200,
    )
    .await;
    let utility_error = events
        .as_array()
        .or_else(|| events["items"].as_array())
        .unwrap()
        .iter()
        .find(|event| event["kind"] == "UTILITY_ERROR")
        .unwrap_or_else(|| panic!("no UTILITY_ERROR on the timeline: {events}"))
        .clone();
    let message = utility_error["message"].as_str().unwrap();
    assert!(message.contains(MARKER), "{message}");
    assert!(
        message.chars().count() < 400,
        "cut short: {} chars",
        message.chars().count()
    );
    stop.cancel();
}

database_tests!(a_utilitys_error_text_reaches_only_the_operators_timeline);

#[tokio::test]
async fn an_answer_larger_than_the_cap_is_refused_not_read() {
    let stop = CancellationToken::new();
    let url = talkative_utility(stop.clone()).await;
    let connector = server::infra::utility::http::HttpUtilityConnector::new(
        reqwest::Url::parse(&url).unwrap(),
        Duration::from_secs(5),
        server::infra::utility::http::RetryPolicy {
            attempts: 1,
            first_delay: Duration::from_millis(10),
        },
        &server::infra::outbound::TrustRoots::only(Vec::new()),
    )
    .unwrap();
    let token = server::infra::utility::SecretToken::new("any".into());
    let error = connector
        .accounts("talkative-power", &token)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, UtilityError::Protocol(details) if details.contains("larger than 1024 KiB")),
        "{error:?}"
    );
    stop.cancel();
}
