//! Learned token lifetimes, against the sandbox utility that states no
//! expiry and refuses each token after 20 to 40 days: the refused token's
//! life is recorded, the utility's median and 90th percentile are shown, and
//! the next token's expiry is predicted from them — used by the expiry
//! warning, never by the sweep.

mod common;

use common::{expect_json, spawn_app, Backend, Organisation, TestApp};
use serde_json::{json, Value};

const SILENT: &str = "sandbox-silent-power";

async fn advance(app: &TestApp, by: time::Duration) {
    app.state().clock.advance(by);
    app.sandbox_admin(
        "/api/admin/clock/advance",
        json!({"seconds": by.whole_seconds()}),
    )
    .await;
}

/// Connects `username` at the silent utility through Connect (SMS code).
async fn connect(app: &TestApp, org: &Organisation, username: &str) -> Value {
    let done = app
        .connect_with_sms(&org.api, json!({}), SILENT, username)
        .await;
    let id = done["credentialId"].as_str().unwrap();
    let synced = app.wait_for_sync(&org.api, id, None).await;
    // The clock jumps weeks ahead here: no scheduled sync may meet the
    // token's random end first; each test step syncs when it means to.
    sqlx::query("UPDATE credentials SET next_sync_at = NULL")
        .execute(app.state().db.pool())
        .await
        .unwrap();
    synced
}

async fn a_refused_tokens_life_predicts_the_next_expiry(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Energy").await;
    let first = connect(&app, &org, "user_good+life1").await;
    assert_eq!(
        first["tokenExpiresAt"],
        Value::Null,
        "the utility says nothing"
    );
    assert_eq!(first["tokenExpiryPredicted"], true);
    let catalogue = expect_json(org.api.get("/api/v1/utilities").await, 200).await;
    assert!(catalogue
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["id"] == SILENT));

    // The sweep never flags a token without a stated expiry; the utility's
    // refusal does (its tokens live at most 40 days).
    advance(&app, time::Duration::days(41)).await;
    let swept = server::jobs::expiry::sweep_expired_tokens(&app.state().db, &app.state().clock)
        .await
        .unwrap();
    assert_eq!(swept, 0);
    let id = first["id"].as_str().unwrap();
    let still = expect_json(org.api.get(&format!("/api/v1/credentials/{id}")).await, 200).await;
    assert_eq!(still["statusDetail"], "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL");
    let refused = expect_json(
        org.api
            .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        refused["statusDetail"],
        "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED"
    );

    let lifetimes = expect_json(org.api.get("/api/v1/utilities/lifetimes").await, 200).await;
    let silent = lifetimes
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["utilityId"] == SILENT)
        .expect("the silent utility has a lifetime")
        .clone();
    assert_eq!(silent["observed"], 1);
    let median = silent["medianDays"].as_f64().unwrap();
    assert!((41.0..41.1).contains(&median), "{silent}");
    assert_eq!(silent["p90Days"], silent["medianDays"]);

    // The next token's expiry is predicted from that life…
    let second = connect(&app, &org, "user_good+life2").await;
    assert_eq!(second["tokenExpiryPredicted"], true);
    let expires = time::OffsetDateTime::parse(
        second["tokenExpiresAt"]
            .as_str()
            .expect("a predicted expiry"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let ahead = expires - app.state().clock.now();
    assert!(
        (ahead.whole_hours() - 41 * 24).abs() <= 1,
        "predicted {ahead} ahead"
    );
    let events = expect_json(
        org.api
            .get(&format!(
                "/api/v1/credentials/{}/events",
                second["id"].as_str().unwrap()
            ))
            .await,
        200,
    )
    .await;
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .any(|event| event["message"]
            .as_str()
            .unwrap_or_default()
            .contains("predicted until")));

    // …and warned about ahead of time like a stated one.
    advance(&app, time::Duration::days(35)).await;
    let warned = server::jobs::expiry::warn_expiring_tokens(
        &app.state().db,
        &app.state().clock,
        time::Duration::days(7),
    )
    .await
    .unwrap();
    assert_eq!(warned, 1);
}

database_tests!(a_refused_tokens_life_predicts_the_next_expiry);
