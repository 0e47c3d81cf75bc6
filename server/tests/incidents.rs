//! Utility incidents end to end: the sandbox's fault knobs make a utility
//! stop answering; Gridlink opens one incident (API, utility list, webhook),
//! holds that utility's syncs, probes it, and resolves once it answers again,
//! with the waiting credentials resuming by themselves.

mod common;

use common::webhook_receiver::WebhookReceiver;
use common::{expect_json, spawn_app, Backend, TestApp};
use serde_json::{json, Value};
use server::jobs::incident_watch::watch_once;
use time::Duration;

const WATER: &str = "sandbox-water";

/// The distinct messages of `kind` the receiver accepted.
fn delivered_of_kind(receiver: &WebhookReceiver, kind: &str) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    receiver
        .received()
        .into_iter()
        .filter(|received| received.answered == 200 && seen.insert(received.id.clone()))
        .map(|received| received.json())
        .filter(|body| body["type"] == kind)
        .collect()
}

async fn wait_for_kind(receiver: &WebhookReceiver, kind: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        if let Some(message) = delivered_of_kind(receiver, kind).into_iter().next() {
            return message;
        }
        assert!(std::time::Instant::now() < deadline, "no {kind} arrived");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

async fn water_calls(app: &TestApp) -> u64 {
    app.sandbox_stats().await[WATER]["accounts"]
        .as_u64()
        .unwrap_or(0)
}

async fn last_synced(org: &common::Organisation, id: &str) -> Value {
    expect_json(org.api.get(&format!("/api/v1/credentials/{id}")).await, 200).await["lastSyncedAt"]
        .clone()
}

async fn a_utility_that_stops_answering_opens_one_incident_and_resolves_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let receiver = WebhookReceiver::start(0).await;
    org.send_webhooks_to(&receiver).await;
    let mut water = Vec::new();
    for username in ["user_nomfa", "user_nomfa+b", "user_nomfa+c", "user_nomfa+d"] {
        water.push(app.synced_credential(&org.api, WATER, username).await);
    }
    let gas = app
        .synced_credential(&org.api, "sandbox-gas", "user_nomfa")
        .await;

    // A few failures are not an incident; twenty in ten minutes are.
    app.sandbox_admin(
        &format!("/api/admin/utilities/{WATER}/faults"),
        json!({"down": true}),
    )
    .await;

    for id in &water[..2] {
        let answer = org
            .api
            .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
            .await;
        assert_eq!(answer.status(), 503);
    }
    let report = watch_once(&app.state().job_ctx()).await.unwrap();
    assert!(report.opened.is_empty(), "{report:?}");
    let mut attempts = tokio::task::JoinSet::new();
    for index in 0..18 {
        let api = org.api.clone();
        let path = format!("/api/v1/credentials/{}/sync", water[index % water.len()]);
        attempts.spawn(async move { api.post(&path, json!({})).await.status().as_u16() });
    }
    while let Some(status) = attempts.join_next().await {
        assert_eq!(status.unwrap(), 503);
    }
    let report = watch_once(&app.state().job_ctx()).await.unwrap();
    assert_eq!(report.opened, vec![WATER.to_owned()]);
    let report = watch_once(&app.state().job_ctx()).await.unwrap();
    assert!(report.opened.is_empty(), "opened once: {report:?}");

    let open = expect_json(org.api.get("/api/v1/utility-incidents").await, 200).await;
    let open = open.as_array().unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["utilityId"], WATER);
    assert_eq!(open[0]["utilityName"], "Sandbox Water");
    assert_eq!(open[0]["affectedCredentials"], 4);
    assert!(open[0]["resolvedAt"].is_null());
    let utilities = expect_json(org.api.get("/api/v1/utilities").await, 200).await;
    for utility in utilities.as_array().unwrap() {
        assert_eq!(
            utility["troubleSince"].is_string(),
            utility["id"] == WATER,
            "{utility}"
        );
    }
    let opened = wait_for_kind(&receiver, "UTILITY_INCIDENT_OPENED").await;
    assert_eq!(opened["data"]["utilityId"], WATER);
    assert_eq!(opened["data"]["affectedCredentials"], 4);
    assert!(opened["data"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Sandbox Water is not answering since "));

    // While it is open, the water syncs wait together; gas syncs on schedule.
    let water_before = water_calls(&app).await;
    let gas_before = last_synced(&org, &gas).await;
    app.state().clock.advance(Duration::hours(25));
    app.state().wakeups.syncs.notify_one();
    app.wait_for_sync(&org.api, &gas, gas_before.as_str()).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(water_calls(&app).await, water_before, "water syncs wait");

    // It answers again: two good probes in a row resolve the incident.
    app.sandbox_admin(&format!("/api/admin/utilities/{WATER}/faults"), json!({}))
        .await;
    let water_synced_before: Vec<Value> = {
        let mut synced = Vec::new();
        for id in &water {
            synced.push(last_synced(&org, id).await);
        }
        synced
    };
    let report = watch_once(&app.state().job_ctx()).await.unwrap();
    assert_eq!(report.probed, vec![WATER.to_owned()]);
    assert!(report.resolved.is_empty(), "one probe is not enough");
    let report = watch_once(&app.state().job_ctx()).await.unwrap();
    assert!(report.probed.is_empty(), "probes are spaced: {report:?}");
    app.state().clock.advance(Duration::seconds(31));
    let report = watch_once(&app.state().job_ctx()).await.unwrap();
    assert_eq!(report.resolved, vec![WATER.to_owned()]);
    assert!(
        expect_json(org.api.get("/api/v1/utility-incidents").await, 200)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    let all = expect_json(
        org.api.get("/api/v1/utility-incidents?state=all").await,
        200,
    )
    .await;
    assert!(all[0]["resolvedAt"].is_string(), "{all}");
    let resolved = wait_for_kind(&receiver, "UTILITY_INCIDENT_RESOLVED").await;
    assert_eq!(resolved["data"]["incidentId"], opened["data"]["incidentId"]);

    // Every waiting credential resumes by itself, and nothing reopens it.
    for (id, before) in water.iter().zip(&water_synced_before) {
        app.wait_for_sync(&org.api, id, before.as_str()).await;
    }
    let report = watch_once(&app.state().job_ctx()).await.unwrap();
    assert!(report.opened.is_empty(), "{report:?}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        delivered_of_kind(&receiver, "UTILITY_INCIDENT_OPENED").len(),
        1
    );
    assert_eq!(
        delivered_of_kind(&receiver, "UTILITY_INCIDENT_RESOLVED").len(),
        1
    );
}

/// A wrong password is an answer: it is counted as a call, not as a failure.
async fn refusals_are_answers_not_failures(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let id = app.synced_credential(&org.api, WATER, "user_nomfa").await;
    expect_json(
        org.api
            .patch(
                &format!("/api/v1/credentials/{id}"),
                json!({"password": "wrong_password"}),
            )
            .await,
        200,
    )
    .await;
    app.wait_for_detail(&org.api, &id, "INVALID_CREDENTIALS")
        .await;
    let report = watch_once(&app.state().job_ctx()).await.unwrap();
    assert!(report.opened.is_empty(), "{report:?}");
    let (calls, failures): (i64, i64) = sqlx::query_as(
        "SELECT CAST(SUM(calls) AS BIGINT), CAST(SUM(failures) AS BIGINT) FROM utility_call_tallies WHERE utility_id = $1",
    )
    .bind(WATER)
    .fetch_one(app.state().db.pool())
    .await
    .unwrap();
    // The first login, the sync's calls and the refused login.
    assert!(calls >= 3, "{calls} calls");
    assert_eq!(failures, 0);
}

/// `state` is open or all.
async fn the_incident_list_refuses_an_unknown_state(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let refused = expect_json(
        org.api.get("/api/v1/utility-incidents?state=closed").await,
        422,
    )
    .await;
    assert!(refused.to_string().contains("state"), "{refused}");
}

/// Makes Sandbox Water fail twenty syncs of `credential` and opens its incident.
async fn water_incident(app: &TestApp, org: &common::Organisation, credential: &str) {
    app.sandbox_admin(
        &format!("/api/admin/utilities/{WATER}/faults"),
        json!({"down": true}),
    )
    .await;
    for _ in 0..20 {
        let answer = org
            .api
            .post(&format!("/api/v1/credentials/{credential}/sync"), json!({}))
            .await;
        assert_eq!(answer.status(), 503);
    }
    let report = watch_once(&app.state().job_ctx()).await.unwrap();
    assert_eq!(report.opened, vec![WATER.to_owned()]);
}

/// Resolves Sandbox Water's incident: it answers, and two probes 31 s apart succeed.
async fn water_recovers(app: &TestApp) {
    app.sandbox_admin(&format!("/api/admin/utilities/{WATER}/faults"), json!({}))
        .await;
    for probe in 1..=2 {
        app.state().clock.advance(Duration::seconds(31));
        let report = watch_once(&app.state().job_ctx()).await.unwrap();
        assert_eq!(report.resolved.is_empty(), probe == 1, "{report:?}");
    }
}

/// "Email me when it works again": an address left in Connect during an
/// incident gets one mail with a fresh link, in the visit's language, when it
/// resolves; bad input changes nothing.
async fn an_end_user_who_asks_is_mailed_once_when_the_utility_works_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let probe = app.synced_credential(&org.api, WATER, "user_nomfa").await;
    let token = expect_json(
        org.api
            .post(
                "/api/v1/connect-tokens",
                json!({"correlationId": "visit-during-trouble"}),
            )
            .await,
        201,
    )
    .await;
    let connect = app.connect_client(token["token"].as_str().unwrap());
    let ask = |body: Value| {
        connect
            .request(reqwest::Method::POST, "/api/connect/recovery-alert")
            .header("accept-language", "es")
            .json(&body)
            .send()
    };

    // No incident: nothing to wait for.
    let answer = ask(json!({"utilityId": WATER, "email": "ana@example.com"}))
        .await
        .unwrap();
    assert_eq!(answer.status(), 409);
    let body: Value = answer.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("vuelve a responder"),
        "{body}"
    );

    water_incident(&app, &org, &probe).await;
    for (body, field) in [
        (
            json!({"utilityId": WATER, "email": "not an address"}),
            "email",
        ),
        (
            json!({"utilityId": "no-such-utility", "email": "ana@example.com"}),
            "utilityId",
        ),
    ] {
        let answer = ask(body).await.unwrap();
        assert_eq!(answer.status(), 422);
        let error: Value = answer.json().await.unwrap();
        assert_eq!(error["fields"][0]["field"], field, "{error}");
    }
    let answer = ask(json!({"utilityId": WATER, "email": "first@example.com"}))
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    // A second address from the same visit replaces the first.
    let answer = ask(json!({"utilityId": WATER, "email": "ana@example.com"}))
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    let saved: Value = answer.json().await.unwrap();
    assert_eq!(saved["email"], "a•••@example.com");
    assert_eq!(saved["utilityId"], WATER);

    water_recovers(&app).await;
    let mail = app.wait_for_mail("ana@example.com", 1).await;
    let message = &mail[0];
    assert_eq!(
        message["subject"],
        "Sandbox Water vuelve a funcionar: conecte su cuenta con Acme Solar"
    );
    assert!(message["html"]
        .as_str()
        .unwrap()
        .contains("Conectar mi cuenta"));
    let text = message["text"].as_str().unwrap();
    let link = text
        .split_whitespace()
        .find(|word| word.contains("/connect/gct_"))
        .expect("a Connect link");
    let fresh = app.connect_client(link.rsplit('/').next().unwrap());
    let state = expect_json(fresh.get("/api/connect/session").await, 200).await;
    assert_eq!(state["purpose"], "NEW_CREDENTIAL");
    assert_eq!(state["utilityId"], WATER, "{state}");

    // Once: nothing more on later watches, and nothing to the replaced address.
    watch_once(&app.state().job_ctx()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mail_to("ana@example.com").await.len(), 1);
    assert!(app.mail_to("first@example.com").await.is_empty());
    let (mailed,): (Option<i64>,) = sqlx::query_as("SELECT mailed_at FROM utility_recovery_alerts")
        .fetch_one(app.state().db.pool())
        .await
        .unwrap();
    assert!(mailed.is_some());
}

database_tests!(
    an_end_user_who_asks_is_mailed_once_when_the_utility_works_again,
    a_utility_that_stops_answering_opens_one_incident_and_resolves_it,
    refusals_are_answers_not_failures,
    the_incident_list_refuses_an_unknown_state,
);
