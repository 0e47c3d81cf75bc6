//! Bulk update links and the credentials CSV: one new link per matching
//! credential (older ones replaced), answered as JSON or CSV; the list's
//! filters; CSV that is safe to open in a spreadsheet.

mod common;

use common::{expect_json, spawn_app, Backend, Organisation, TestApp};
use serde_json::json;

const REFRESH: &str = "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED";

/// A connected credential of `username` (a login without MFA), then flagged
/// as needing its MFA refreshed.
async fn needing_refresh(app: &TestApp, org: &Organisation, username: &str) -> String {
    let id = app
        .synced_credential(&org.api, "sandbox-water", username)
        .await;
    app.sandbox_admin("/api/admin/expire-tokens", json!({"username": username}))
        .await;
    let flagged = expect_json(
        org.api
            .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(flagged["statusDetail"], REFRESH);
    id
}

async fn post_bulk(org: &Organisation, query: &str, accept: &str) -> reqwest::Response {
    org.api
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/update-links/bulk?{query}"),
        )
        .header("accept", accept)
        .send()
        .await
        .unwrap()
}

async fn session_count(app: &TestApp) -> i64 {
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM connect_sessions")
        .fetch_one(app.state().db.pool())
        .await
        .unwrap();
    count
}

async fn one_link_per_matching_credential_as_json_or_csv(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Energy").await;
    let mut needing = Vec::new();
    for n in 1..=3 {
        needing.push(needing_refresh(&app, &org, &format!("user_nomfa+bulk{n}")).await);
    }
    let connected = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa+fine")
        .await;

    let before = session_count(&app).await;
    let refused = expect_json(
        post_bulk(&org, "statusDetail=NOT_A_DETAIL", "application/json").await,
        422,
    )
    .await;
    assert_eq!(refused["fields"][0]["field"], "statusDetail");
    assert_eq!(
        session_count(&app).await,
        before,
        "a refused request makes nothing"
    );

    let filter = format!("statusDetail={REFRESH}");
    let first = expect_json(post_bulk(&org, &filter, "application/json").await, 201).await;
    assert_eq!(first["count"], 3);
    let mut ids: Vec<&str> = first["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|link| link["credentialId"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected: Vec<&str> = needing.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(
        ids, expected,
        "only the matching credentials, not {connected}"
    );
    let old_link = first["links"][0]["link"].as_str().unwrap().to_owned();

    // Again, as CSV: new links replace the first ones.
    let response = post_bulk(&org, &filter, "text/csv").await;
    assert_eq!(response.status(), 201);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|line| !line.is_empty()).collect();
    assert_eq!(
        lines[0],
        "credentialId,correlationId,utility,username,link,expiresAt"
    );
    assert_eq!(lines.len(), 4);
    let new_link = lines[1].split(',').nth(4).unwrap().to_owned();
    let end_user = app.connect_client(new_link.rsplit('/').next().unwrap());
    let start = expect_json(end_user.get("/api/connect/session").await, 200).await;
    assert_eq!(start["step"], "START");
    let replaced = app.connect_client(old_link.rsplit('/').next().unwrap());
    let gone = expect_json(replaced.get("/api/connect/session").await, 410).await;
    assert_eq!(gone["code"], "CONNECT_LINK_REPLACED");

    // Each credential's timeline says a link was made, twice.
    let events = expect_json(
        org.api
            .get(&format!("/api/v1/credentials/{}/events", needing[0]))
            .await,
        200,
    )
    .await;
    let created = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["kind"] == "UPDATE_LINK_CREATED")
        .count();
    assert_eq!(created, 2);
}

async fn the_csv_export_takes_the_lists_filters_and_defuses_formulas(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Energy").await;
    let hostile = "=HYPERLINK(\"http://evil.example\",\"a, b\")";
    expect_json(
        org.api
            .post(
                "/api/v1/credentials",
                json!({
                    "utilityId": "sandbox-gas",
                    "username": hostile,
                    "password": "pass_good",
                    "correlationId": "+cmd|' /C calc'!A0, \"quoted\"",
                    "contactEmail": "jane@example.com",
                }),
            )
            .await,
        201,
    )
    .await;
    app.synced_credential(&org.api, "sandbox-water", "user_nomfa+plain")
        .await;

    let response = org
        .api
        .get("/api/v1/credentials/export.csv?utilityId=sandbox-gas")
        .await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("credentials.csv"));
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|line| !line.is_empty()).collect();
    assert_eq!(lines.len(), 2, "the filter keeps one credential: {csv}");
    let row = lines[1];
    assert!(
        row.contains("\"'+cmd|' /C calc'!A0, \"\"quoted\"\"\""),
        "the correlation id is quoted and defused: {row}"
    );
    assert!(
        row.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"a, b\"\")\""),
        "the username is quoted and defused: {row}"
    );
    assert!(
        row.contains("j•••@example.com"),
        "contacts are masked: {row}"
    );
    assert!(!row.contains("jane@example.com"));
    let all = org.api.get("/api/v1/credentials/export.csv").await;
    let all = all.text().await.unwrap();
    assert_eq!(all.split("\r\n").filter(|line| !line.is_empty()).count(), 3);
    let refused = expect_json(
        org.api
            .get("/api/v1/credentials/export.csv?stale=maybe")
            .await,
        400,
    )
    .await;
    assert_eq!(refused["code"], "MALFORMED_REQUEST");
}

database_tests!(
    one_link_per_matching_credential_as_json_or_csv,
    the_csv_export_takes_the_lists_filters_and_defuses_formulas,
);
