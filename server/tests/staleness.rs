//! Stale credentials: connected, yet no successful sync for
//! GRIDLINK_STALE_AFTER. Flagged once (event, webhook, list filter, overview
//! count), cleared once by the next successful sync.

mod common;

use common::webhook_receiver::WebhookReceiver;
use common::{expect_json, spawn_app, Backend};
use serde_json::{json, Value};
use time::Duration;

async fn events_of_kind(org: &common::Organisation, id: &str, kind: &str) -> Vec<Value> {
    let events = expect_json(
        org.api
            .get(&format!("/api/v1/credentials/{id}/events"))
            .await,
        200,
    )
    .await;
    events
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["kind"] == kind)
        .cloned()
        .collect()
}

async fn stale_ids(org: &common::Organisation) -> Vec<String> {
    let page = expect_json(org.api.get("/api/v1/credentials?stale=true").await, 200).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_credential_without_data_goes_stale_once_and_recovers_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let receiver = WebhookReceiver::start(0).await;
    org.send_webhooks_to(&receiver).await;
    let id = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    let fresh = app
        .synced_credential(&org.api, "sandbox-gas", "user_nomfa")
        .await;
    let flag = || server::jobs::staleness::flag_stale_credentials(app.state());

    // The water utility stops answering; two days (less than 3 × 24 h) is not stale yet.
    app.sandbox_admin(
        "/api/admin/utilities/sandbox-water/faults",
        json!({"down": true}),
    )
    .await;
    app.state().clock.advance(Duration::hours(48));
    assert_eq!(flag().await.unwrap(), 0);
    let before = expect_json(org.api.get(&format!("/api/v1/credentials/{id}")).await, 200).await;
    assert!(before["staleSince"].is_null(), "{before}");

    // The gas credential syncs on schedule; the water one cannot.
    let gas = expect_json(
        org.api.get(&format!("/api/v1/credentials/{fresh}")).await,
        200,
    )
    .await;
    app.state().clock.advance(Duration::hours(25));
    app.state().wakeups.syncs.notify_one();
    app.wait_for_sync(&org.api, &fresh, gas["lastSyncedAt"].as_str())
        .await;
    assert_eq!(flag().await.unwrap(), 1);
    assert_eq!(flag().await.unwrap(), 0, "announced once");
    let stale = expect_json(org.api.get(&format!("/api/v1/credentials/{id}")).await, 200).await;
    assert!(stale["staleSince"].is_string(), "{stale}");
    assert_eq!(stale_ids(&org).await, vec![id.clone()]);
    let counts = expect_json(org.api.get("/api/v1/credentials/counts").await, 200).await;
    assert_eq!(counts["stale"], 1);
    let notices = events_of_kind(&org, &id, "CREDENTIAL_STALE").await;
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Stale: no data since "),
        "{notices:?}"
    );
    let webhook = receiver.wait_for_delivered("CREDENTIAL_STALE", &id).await;
    assert_eq!(webhook["data"]["lastSyncedAt"], before["lastSyncedAt"]);
    assert!(webhook["data"]["staleSince"].is_string());

    // The utility answers again: the next sync clears the flag, once.
    app.sandbox_admin("/api/admin/utilities/sandbox-water/faults", json!({}))
        .await;
    expect_json(
        org.api
            .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
            .await,
        200,
    )
    .await;
    let recovered = expect_json(org.api.get(&format!("/api/v1/credentials/{id}")).await, 200).await;
    assert!(recovered["staleSince"].is_null(), "{recovered}");
    assert!(stale_ids(&org).await.is_empty());
    receiver
        .wait_for_delivered("CREDENTIAL_RECOVERED", &id)
        .await;
    expect_json(
        org.api
            .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        events_of_kind(&org, &id, "CREDENTIAL_RECOVERED")
            .await
            .len(),
        1
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(receiver.delivered("CREDENTIAL_STALE", &id).len(), 1);
    assert_eq!(receiver.delivered("CREDENTIAL_RECOVERED", &id).len(), 1);
    assert!(receiver.delivered("CREDENTIAL_STALE", &fresh).is_empty());
}

/// A credential that already asks for action (here: its token expired) is
/// loud on its own; it is not flagged stale on top.
async fn a_credential_needing_action_is_not_also_stale(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let id = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    app.sandbox_admin(
        "/api/admin/expire-tokens",
        json!({"username": "user_nomfa"}),
    )
    .await;
    expect_json(
        org.api
            .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
            .await,
        200,
    )
    .await;
    app.wait_for_detail(
        &org.api,
        &id,
        "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED",
    )
    .await;
    app.state().clock.advance(Duration::days(30));
    assert_eq!(
        server::jobs::staleness::flag_stale_credentials(app.state())
            .await
            .unwrap(),
        0
    );
    let page = expect_json(org.api.get("/api/v1/credentials?stale=false").await, 200).await;
    assert_eq!(page["total"], 1);
}

/// `stale` is a boolean; anything else is refused with the field named.
async fn the_stale_filter_takes_a_boolean(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let refused = expect_json(org.api.get("/api/v1/credentials?stale=maybe").await, 400).await;
    assert!(
        refused["message"].as_str().unwrap().contains("stale"),
        "{refused}"
    );
}

database_tests!(
    a_credential_without_data_goes_stale_once_and_recovers_once,
    a_credential_needing_action_is_not_also_stale,
    the_stale_filter_takes_a_boolean,
);
