//! Utility adapters as a boundary: calls are signed with the adapter's
//! secret and a sandbox with a secret refuses unsigned, tampered, stale and
//! replayed calls; several adapters share the catalogue, each utility routed
//! to the adapter that lists it, and two adapters listing one utility is a
//! start-up error naming both.

mod common;

use std::time::Duration;

use common::{
    expect_json, spawn_app, spawn_app_with, spawn_sandbox_with, Backend, TestAppOptions,
    TestSandbox,
};
use serde_json::{json, Value};
use server::infra::utility::adapters::AdapterSet;
use server::infra::utility::http::HttpUtilityConnector;
use server::infra::utility::{LoginOutcome, UtilityConnector};
use server::infra::webhook_signing::SigningSecret;
use server::tools::sandbox::SandboxOptions;
use shared::validation::{Password, Username};

async fn signed_sandbox(secret: &SigningSecret, utilities: Option<&[&str]>) -> TestSandbox {
    spawn_sandbox_with(SandboxOptions {
        secret: Some(secret.clone()),
        utilities: utilities.map(|ids| ids.iter().map(|id| (*id).to_owned()).collect()),
    })
    .await
}

fn connector(sandbox: &TestSandbox, secret: Option<&SigningSecret>) -> HttpUtilityConnector {
    sandbox
        .connector(Duration::from_secs(5))
        .with_secret(secret.cloned())
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A GET of the catalogue with these signature headers.
async fn catalogue_with(
    sandbox: &TestSandbox,
    headers: &[(&'static str, String)],
) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(sandbox.url("/api/utilities"));
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_sandbox_with_a_secret_refuses_unsigned_stale_tampered_and_replayed_calls() {
    let secret = SigningSecret::generate();
    let sandbox = signed_sandbox(&secret, None).await;
    let unsigned = catalogue_with(&sandbox, &[]).await;
    assert_eq!(unsigned.status(), 401);
    let body: Value = unsigned.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized", "{body}");

    let signed =
        server::infra::utility::signing::headers(&secret, "GET", "/api/utilities", b"", now());
    assert_eq!(catalogue_with(&sandbox, &signed).await.status(), 200);
    let replayed = catalogue_with(&sandbox, &signed).await;
    assert_eq!(replayed.status(), 401);
    let body: Value = replayed.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("replay"),
        "{body}"
    );

    let stale = server::infra::utility::signing::headers(
        &secret,
        "GET",
        "/api/utilities",
        b"",
        now() - 301,
    );
    assert_eq!(catalogue_with(&sandbox, &stale).await.status(), 401);
    let elsewhere =
        server::infra::utility::signing::headers(&secret, "GET", "/api/utilities/x", b"", now());
    assert_eq!(catalogue_with(&sandbox, &elsewhere).await.status(), 401);
    let other_secret = server::infra::utility::signing::headers(
        &SigningSecret::generate(),
        "GET",
        "/api/utilities",
        b"",
        now(),
    );
    assert_eq!(catalogue_with(&sandbox, &other_secret).await.status(), 401);

    // Gridlink's connector signs every call, the POSTs' bodies included.
    let signing = connector(&sandbox, Some(&secret));
    assert_eq!(signing.list_utilities().await.unwrap().len(), 7);
    let outcome = signing
        .login(
            "sandbox-water",
            &Username::parse("user_nomfa").unwrap(),
            &Password::parse("pass_good").unwrap(),
        )
        .await
        .unwrap();
    assert!(matches!(outcome, LoginOutcome::Authenticated(_)));
    // Without the secret the adapter's refusal is a protocol error, not an outage.
    let error = connector(&sandbox, None)
        .list_utilities()
        .await
        .unwrap_err();
    assert!(!error.is_transient(), "{error:?}");
    assert!(
        error
            .details()
            .unwrap()
            .contains("refused Gridlink's signature"),
        "{error:?}"
    );
}

#[tokio::test]
async fn each_utility_is_routed_to_the_adapter_that_lists_it() {
    let (first_secret, second_secret) = (SigningSecret::generate(), SigningSecret::generate());
    let first = signed_sandbox(&first_secret, Some(&["sandbox-electric", "sandbox-gas"])).await;
    let second = signed_sandbox(&second_secret, Some(&["sandbox-water"])).await;
    let set = AdapterSet::new(vec![
        ("first".into(), connector(&first, Some(&first_secret))),
        ("second".into(), connector(&second, Some(&second_secret))),
    ]);
    set.check_at_start().await.unwrap();
    let mut ids: Vec<String> = set
        .list_utilities()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    ids.sort();
    assert_eq!(ids, ["sandbox-electric", "sandbox-gas", "sandbox-water"]);
    let login = |utility: &'static str| {
        let set = &set;
        async move {
            set.login(
                utility,
                &Username::parse("user_nomfa").unwrap(),
                &Password::parse("pass_good").unwrap(),
            )
            .await
        }
    };
    assert!(login("sandbox-water").await.is_ok());
    assert!(login("sandbox-gas").await.is_ok());
    // Each call reached its own adapter (each sandbox counts the calls it got).
    let stats = |sandbox: &TestSandbox| {
        let url = sandbox.url("/api/admin/stats");
        async move {
            reqwest::get(url)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(stats(&second).await["sandbox-water"]["login"], 1);
    assert!(stats(&first).await["sandbox-water"].is_null());
    assert_eq!(stats(&first).await["sandbox-gas"]["login"], 1);
    assert!(matches!(
        login("sandbox-legacy").await,
        Err(server::infra::utility::UtilityError::UnknownUtility)
    ));
}

#[tokio::test]
async fn two_adapters_listing_one_utility_stop_the_start_naming_both() {
    let secret = SigningSecret::generate();
    let first = signed_sandbox(&secret, Some(&["sandbox-gas", "sandbox-water"])).await;
    let second = signed_sandbox(&secret, Some(&["sandbox-water"])).await;
    let set = AdapterSet::new(vec![
        ("gas-and-water".into(), connector(&first, Some(&secret))),
        ("water-co".into(), connector(&second, Some(&secret))),
    ]);
    let error = set.check_at_start().await.unwrap_err().to_string();
    assert!(
        error.contains("sandbox-water")
            && error.contains("gas-and-water")
            && error.contains("water-co"),
        "{error}"
    );
}

/// The whole server over a signed adapter (`GRIDLINK_UTILITY_URL` with its
/// secret): a credential connects and syncs; with a wrong secret nothing reaches it.
async fn gridlink_talks_to_a_signed_adapter(backend: Backend) {
    let secret = SigningSecret::generate();
    let sandbox = signed_sandbox(&secret, None).await;
    let app = spawn_app_with(
        backend,
        TestAppOptions {
            utility_url: Some(sandbox.url.clone()),
            utility_secret: Some(secret.to_whsec()),
            ..TestAppOptions::default()
        },
    )
    .await;
    let org = app.organisation("Acme Solar").await;
    app.synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    // Settings → Utilities reads this: the adapter, its utilities and its health.
    server::jobs::incident_watch::watch_once(&app.state().job_ctx())
        .await
        .unwrap();
    let adapters = expect_json(org.api.get("/api/v1/adapters").await, 200).await;
    let adapter = &adapters[0];
    assert_eq!(adapter["name"], "default");
    assert_eq!(adapter["signed"], true);
    assert_eq!(adapter["utilities"].as_array().unwrap().len(), 7);
    assert!(adapter["lastRefreshAt"].is_string(), "{adapter}");
    assert_eq!(adapter["lastRefreshFailed"], false, "{adapter}");
    // Case 46: organisations share the adapters; their addresses stay out of view.
    assert!(adapter.get("url").is_none(), "{adapter}");
    assert!(!adapters.to_string().contains(&sandbox.url), "{adapters}");
    assert!(adapter["callsLastHour"].as_u64().unwrap() >= 3, "{adapter}");
    assert_eq!(adapter["failuresLastHour"], 0);
    // An admin reads the catalogues again on demand; an API key cannot.
    let refreshed = expect_json(
        org.admin.post("/api/v1/adapters/refresh", json!({})).await,
        200,
    )
    .await;
    assert_eq!(refreshed[0]["name"], "default");
    assert_eq!(
        org.api
            .post("/api/v1/adapters/refresh", json!({}))
            .await
            .status(),
        403
    );

    let wrong = spawn_app_with(
        backend,
        TestAppOptions {
            utility_url: Some(sandbox.url.clone()),
            utility_secret: Some(SigningSecret::generate().to_whsec()),
            ..TestAppOptions::default()
        },
    )
    .await;
    let org = wrong.organisation("Acme Solar").await;
    let refused = expect_json(
        org.api
            .post(
                "/api/v1/credentials",
                json!({"utilityId": "sandbox-water", "username": "user_nomfa", "password": "pass_good"}),
            )
            .await,
        503,
    )
    .await;
    assert!(
        refused["message"].as_str().unwrap().contains("utilities"),
        "{refused}"
    );
    let adapters = expect_json(org.api.get("/api/v1/adapters").await, 200).await;
    assert_eq!(adapters[0]["lastRefreshFailed"], true, "{adapters}");
    assert!(!adapters.to_string().contains("signature"), "{adapters}");
    assert!(!adapters.to_string().contains(&sandbox.url), "{adapters}");
    assert!(adapters[0]["lastRefreshAt"].is_null());
}

database_tests!(gridlink_talks_to_a_signed_adapter);

/// The protocol's OpenAPI document comes from the protocol types; the
/// published copy in docs/ must be the same (`GRIDLINK_BLESS=1` rewrites it).
#[tokio::test]
async fn the_protocol_document_is_generated_served_and_published() {
    let document = server::http::adapter_protocol::document();
    let schemas = &document["components"]["schemas"];
    for name in [
        "UtilityInfo",
        "LoginRequest",
        "LoginResponse",
        "OfferedMethod",
        "SendCodeRequest",
        "CodeSentResponse",
        "VerifyCodeRequest",
        "SessionTokenResponse",
        "Account",
        "Statement",
        "UtilityErrorBody",
        "UtilityErrorKind",
    ] {
        assert!(schemas[name].is_object(), "{name} missing: {schemas}");
    }
    assert_eq!(
        schemas["Statement"]["properties"]["periodStart"]["format"],
        "date"
    );
    assert!(schemas["UtilityErrorKind"]
        .to_string()
        .contains("unauthorized"));
    let refs = document.to_string();
    for reference in refs.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(schemas[name].is_object(), "dangling $ref {name}");
    }

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/utility-protocol.openapi.json");
    let text = serde_json::to_string_pretty(&document).unwrap() + "\n";
    if std::env::var_os("GRIDLINK_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == text,
        "docs/utility-protocol.openapi.json is not the generated document: run \
         `GRIDLINK_BLESS=1 cargo test -p server --test adapters the_protocol_document` and commit it"
    );

    let app = common::spawn_app(Backend::Sqlite).await;
    let served: Value = app
        .anonymous()
        .get("/api/adapter-protocol.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(served, document);
}

/// An adapter whose catalogue the test controls: it serves "Fading Power"
/// until told to stop listing it.
async fn fading_adapter(listed: std::sync::Arc<std::sync::atomic::AtomicBool>) -> String {
    use axum::routing::{get, post};
    use std::sync::atomic::Ordering;
    let catalogue = move || {
        let listed = listed.load(Ordering::SeqCst);
        async move {
            axum::Json(if listed {
                json!([{"id": "fading-power", "name": "Fading Power", "mfaMethods": [], "tokenLifetimeDays": 30}])
            } else {
                json!([])
            })
        }
    };
    let app = axum::Router::new()
        .route("/api/utilities", get(catalogue))
        .route(
            "/api/utilities/{utility}/login",
            post(|| async {
                axum::Json(json!({"result": "authenticated", "sessionToken": "fading-token", "expiresAt": "2099-01-01T00:00:00Z"}))
            }),
        )
        .route(
            "/api/utilities/{utility}/accounts",
            get(|| async {
                axum::Json(json!([{"accountNumber": "1", "serviceAddress": "1 Main St", "fuel": "electricity"}]))
            }),
        )
        .route(
            "/api/utilities/{utility}/accounts/{account}/statements",
            get(|| async { axum::Json(json!([])) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A utility its adapter stops listing keeps its credentials: they cannot
/// sync (shown as PROVIDER_WEBSITE_INACCESSIBLE after three tries) and
/// resume once it is listed again. Nothing is deleted.
async fn a_utility_that_disappears_keeps_its_credentials(backend: Backend) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let listed = std::sync::Arc::new(AtomicBool::new(true));
    let url = fading_adapter(std::sync::Arc::clone(&listed)).await;
    let app = spawn_app_with(
        backend,
        TestAppOptions {
            utility_url: Some(url),
            ..TestAppOptions::default()
        },
    )
    .await;
    let org = app.organisation("Acme Solar").await;
    let id = app
        .synced_credential(&org.api, "fading-power", "someone")
        .await;

    listed.store(false, Ordering::SeqCst);
    expect_json(
        org.admin.post("/api/v1/adapters/refresh", json!({})).await,
        200,
    )
    .await;
    let sync = format!("/api/v1/credentials/{id}/sync");
    for _ in 0..3 {
        assert_eq!(org.api.post(&sync, json!({})).await.status(), 503);
    }
    let kept = expect_json(org.api.get(&format!("/api/v1/credentials/{id}")).await, 200).await;
    assert_eq!(
        kept["statusDetail"], "PROVIDER_WEBSITE_INACCESSIBLE",
        "{kept}"
    );
    let listed_now = expect_json(org.api.get("/api/v1/utilities").await, 200).await;
    assert!(listed_now.as_array().unwrap().is_empty(), "{listed_now}");

    listed.store(true, Ordering::SeqCst);
    expect_json(
        org.admin.post("/api/v1/adapters/refresh", json!({})).await,
        200,
    )
    .await;
    let back = expect_json(org.api.post(&sync, json!({})).await, 200).await;
    assert_eq!(
        back["statusDetail"], "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL",
        "{back}"
    );
}

database_tests!(a_utility_that_disappears_keeps_its_credentials);

async fn case_46_tenants_see_no_adapter_address_and_refresh_catalogues_sparingly(backend: Backend) {
    let app = spawn_app(backend).await;
    let acme = app.organisation("Acme Solar").await;
    let other = app.organisation("Other Energy").await;
    for client in [&acme.api, &acme.admin, &other.api] {
        let adapters = expect_json(client.get("/api/v1/adapters").await, 200).await;
        assert!(adapters[0]["name"].is_string(), "{adapters}");
        assert!(adapters[0].get("url").is_none(), "{adapters}");
        assert!(
            !adapters.to_string().contains(&app.sandbox_url),
            "{adapters}"
        );
    }
    let mut refused_at = None;
    for attempt in 0..8 {
        let response = acme.admin.post("/api/v1/adapters/refresh", json!({})).await;
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
            refused_at = Some(attempt);
            break;
        }
        assert_eq!(response.status(), 200);
    }
    assert_eq!(refused_at, Some(5), "a burst of five, then refused");
    // Another organisation has its own turns.
    expect_json(
        other
            .admin
            .post("/api/v1/adapters/refresh", json!({}))
            .await,
        200,
    )
    .await;
}

database_tests!(case_46_tenants_see_no_adapter_address_and_refresh_catalogues_sparingly);
