//! Organisation settings: branding and embed origins, their validation, and
//! what Connect and the framing policy make of them.

mod common;

use common::{expect_json, spawn_app, spawn_app_serving, Backend, TempDir};
use serde_json::json;

async fn admins_set_branding_and_embed_origins_and_connect_shows_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let settings = expect_json(
        org.admin
            .put(
                "/api/v1/organisation",
                json!({
                    "name": "Acme Solar Ltd",
                    "logoUrl": "https://cdn.acme.example/logo.svg",
                    "accentColor": "#0B6E4F",
                    "termsUrl": "https://acme.example/terms",
                    "privacyUrl": null,
                    "embedOrigins": ["https://app.acme.example/", "http://localhost:5173", "https://app.acme.example"]
                }),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(settings["name"], "Acme Solar Ltd");
    assert_eq!(settings["accentColor"], "#0b6e4f");
    assert_eq!(
        settings["embedOrigins"],
        json!(["http://localhost:5173", "https://app.acme.example"])
    );
    assert_eq!(
        expect_json(org.api.get("/api/v1/organisation").await, 200).await,
        settings
    );

    let token = expect_json(org.api.post("/api/v1/connect-tokens", json!({})).await, 201).await;
    let connect = app.connect_client(token["token"].as_str().unwrap());
    let state = expect_json(connect.get("/api/connect/session").await, 200).await;
    assert_eq!(state["organisationName"], "Acme Solar Ltd");
    assert_eq!(
        state["branding"]["logoUrl"],
        "https://cdn.acme.example/logo.svg"
    );
    assert_eq!(state["branding"]["termsUrl"], "https://acme.example/terms");

    // Terms are set: the login needs the end-user's consent.
    let refused = expect_json(
        connect
            .post("/api/connect/credentials", json!({"utilityId": "sandbox-water", "username": "user_good", "password": "pass_good"}))
            .await,
        422,
    )
    .await;
    assert_eq!(refused["fields"][0]["field"], "acceptedTerms");
    expect_json(
        connect
            .post(
                "/api/connect/credentials",
                json!({"utilityId": "sandbox-water", "username": "user_good", "password": "pass_good", "acceptedTerms": true}),
            )
            .await,
        200,
    )
    .await;
}

async fn bad_settings_are_refused_field_by_field_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let body = expect_json(
        org.admin
            .put(
                "/api/v1/organisation",
                json!({
                    "name": " ",
                    "logoUrl": "http://insecure.example/logo.png",
                    "accentColor": "#ffff00",
                    "embedOrigins": ["https://ok.example", "http://evil.example", "https://x.example/path"]
                }),
            )
            .await,
        422,
    )
    .await;
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "name",
            "logoUrl",
            "accentColor",
            "embedOrigins[1]",
            "embedOrigins[2]"
        ]
    );
    let unchanged = expect_json(org.api.get("/api/v1/organisation").await, 200).await;
    assert_eq!(unchanged["name"], "Acme Solar");
    assert_eq!(unchanged["embedOrigins"], json!([]));
    // Members and API keys cannot change settings.
    expect_json(
        org.api
            .put("/api/v1/organisation", json!({"name": "Hijacked"}))
            .await,
        403,
    )
    .await;
}

database_tests!(
    admins_set_branding_and_embed_origins_and_connect_shows_them,
    bad_settings_are_refused_field_by_field_and_change_nothing,
    a_put_accepts_what_the_get_answered,
);

/// The server on SQLite with a one-page web app (its folder goes with the second value).
async fn app_serving_a_page() -> (common::TestApp, TempDir) {
    let dist = TempDir::new("gridlink-dist");
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><title>Gridlink</title>",
    )
    .unwrap();
    (spawn_app_serving(dist.path()).await, dist)
}

#[tokio::test]
async fn case_19_connect_pages_may_be_framed_only_by_their_organisations_origins() {
    let (app, _dist) = app_serving_a_page().await;
    let acme = app.organisation("Acme").await;
    let other = app.organisation("Other").await;
    expect_json(
        acme.admin
            .put(
                "/api/v1/organisation",
                json!({"name": "Acme", "embedOrigins": ["https://app.acme.example"]}),
            )
            .await,
        200,
    )
    .await;
    let acme_token = expect_json(
        acme.api.post("/api/v1/connect-tokens", json!({})).await,
        201,
    )
    .await;
    let other_token = expect_json(
        other.api.post("/api/v1/connect-tokens", json!({})).await,
        201,
    )
    .await;
    let csp_of = |response: reqwest::Response| {
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned()
    };

    let acme_page = app
        .client
        .get(app.url(&format!(
            "/connect/{}",
            acme_token["token"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert!(csp_of(acme_page).contains("frame-ancestors 'self' https://app.acme.example"));
    let other_page = app
        .client
        .get(app.url(&format!(
            "/connect/{}",
            other_token["token"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    let other_csp = csp_of(other_page);
    assert!(other_csp.ends_with("frame-ancestors 'self'"), "{other_csp}");
    let unknown = app
        .client
        .get(app.url("/connect/gct_unknown"))
        .send()
        .await
        .unwrap();
    assert!(csp_of(unknown).ends_with("frame-ancestors 'self'"));
    let script = app.client.get(app.url("/embed.js")).send().await.unwrap();
    assert_eq!(script.status(), 200);
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(script.text().await.unwrap().contains("GridlinkConnect"));
}

/// What a GET answers, a PUT accepts back as it is; a changed read-only field
/// is refused and changes nothing.
async fn a_put_accepts_what_the_get_answered(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let settings = expect_json(org.admin.get("/api/v1/organisation").await, 200).await;
    let again = expect_json(
        org.admin
            .put("/api/v1/organisation", settings.clone())
            .await,
        200,
    )
    .await;
    assert_eq!(again, settings);
    let mut other_id = settings.clone();
    other_id["id"] = serde_json::json!("org_someone_else");
    other_id["name"] = serde_json::json!("Renamed");
    let refused = expect_json(org.admin.put("/api/v1/organisation", other_id).await, 422).await;
    assert_eq!(refused["fields"][0]["field"], "id");
    let unchanged = expect_json(org.admin.get("/api/v1/organisation").await, 200).await;
    assert_eq!(unchanged["name"], "Acme Solar");

    let receiver = common::webhook_receiver::WebhookReceiver::start(0).await;
    org.send_webhooks_to(&receiver).await;
    let endpoint = expect_json(org.api.get("/api/v1/webhook-endpoint").await, 200).await;
    expect_json(
        org.api
            .put("/api/v1/webhook-endpoint", endpoint.clone())
            .await,
        200,
    )
    .await;
    let mut changed = endpoint;
    changed["createdAt"] = serde_json::json!("2020-01-01T00:00:00Z");
    let refused = expect_json(org.api.put("/api/v1/webhook-endpoint", changed).await, 422).await;
    assert_eq!(refused["fields"][0]["field"], "createdAt");
}

async fn case_39_origins_that_could_bend_a_security_header_are_refused_at_save(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    for bad in [
        "https://a.example;script-src *",
        "https://a.example https://b.example",
        "https://a.example\tx",
        "https://a.example\u{1}",
        "https://a.example/path",
        "https://*.example.com",
        "*",
    ] {
        let body = expect_json(
            org.admin
                .put(
                    "/api/v1/organisation",
                    json!({"name": "Acme Solar", "embedOrigins": ["https://ok.example", bad]}),
                )
                .await,
            422,
        )
        .await;
        assert_eq!(body["fields"][0]["field"], "embedOrigins[1]", "{bad:?}");
    }
    let unchanged = expect_json(org.api.get("/api/v1/organisation").await, 200).await;
    assert_eq!(unchanged["embedOrigins"], json!([]));
}

database_tests!(case_39_origins_that_could_bend_a_security_header_are_refused_at_save);

/// A row stored before the rule tightened (or written by hand) never makes
/// Connect's page lose its Content-Security-Policy, nor gets into it.
#[tokio::test]
async fn case_39_a_stored_origin_that_cannot_be_a_header_never_drops_the_policy() {
    let (app, _dist) = app_serving_a_page().await;
    let org = app.organisation("Acme").await;
    for origin in [
        "https://ok.example",
        "https://bad.example\u{1}",
        "https://x.example;script-src *",
    ] {
        sqlx::query(
            "INSERT INTO embed_origins (organisation_id, origin, created_at) VALUES ($1, $2, 0)",
        )
        .bind(&org.id)
        .bind(origin)
        .execute(app.state().db.pool())
        .await
        .unwrap();
    }
    let token = expect_json(org.api.post("/api/v1/connect-tokens", json!({})).await, 201).await;
    let page = app
        .client
        .get(app.url(&format!("/connect/{}", token["token"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.ends_with("frame-ancestors 'self' https://ok.example"),
        "{csp}"
    );
}
