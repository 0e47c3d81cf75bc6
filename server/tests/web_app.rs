//! Hosting the built web app: client routes, caching, compression, security
//! headers, and the JSON errors of the API beside it.

mod common;

use base64::Engine;
use common::{spawn_app, spawn_app_serving, Backend, TempDir};
use sha2::{Digest, Sha256};

const LOADER: &str = "import init from '/app-0123456789abcdef.js'; await init();";

/// A folder shaped like Trunk's output: an index with an inline loader and hashed assets.
fn built_web_app() -> TempDir {
    let dir = TempDir::new("gridlink-dist");
    std::fs::write(
        dir.path().join("index.html"),
        format!("<!doctype html><html><head><title>Gridlink</title><script type=\"module\">{LOADER}</script></head><body></body></html>"),
    )
    .unwrap();
    // Large and repetitive, like real JavaScript, so compression applies.
    let script = "export function init() { return 'gridlink'; }\n".repeat(200);
    std::fs::write(dir.path().join("app-0123456789abcdef.js"), script).unwrap();
    std::fs::write(
        dir.path().join("favicon.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("connect-app")).unwrap();
    std::fs::write(
        dir.path().join("connect-app/index.html"),
        format!("<!doctype html><html><head><title>Connect</title><script type=\"module\">{CONNECT_LOADER}</script></head><body></body></html>"),
    )
    .unwrap();
    dir
}

const CONNECT_LOADER: &str =
    "import init from '/connect-app/connect-0123456789abcdef.js'; await init();";

#[tokio::test]
async fn connect_routes_get_connects_own_smaller_page_and_its_loader_is_allowed() {
    let dist = built_web_app();
    let app = spawn_app_serving(dist.path()).await;
    for path in ["/connect", "/connect/gct_token"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let hash = base64::engine::general_purpose::STANDARD
            .encode(Sha256::digest(CONNECT_LOADER.as_bytes()));
        assert!(csp.contains(&hash), "{csp}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("<title>Connect</title>"),
            "{path}"
        );
    }
    let dashboard = app
        .client
        .get(app.url("/dashboard"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(dashboard.contains("<title>Gridlink</title>"));
}

#[tokio::test]
async fn client_routes_get_the_app_page_revalidated_on_every_visit() {
    let dist = built_web_app();
    let app = spawn_app_serving(dist.path()).await;
    for path in ["/", "/dashboard", "/dashboard/credentials/abc"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-cache", "{path}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("<title>Gridlink</title>"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn an_unknown_page_gets_the_app_with_a_404_status() {
    let dist = built_web_app();
    let app = spawn_app_serving(dist.path()).await;
    let response = app
        .client
        .get(app.url("/no-such-page"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("<title>Gridlink</title>"));
}

/// The build's brotli and gzip copies (scripts/precompress.mjs) are sent as
/// they are to a browser that accepts them, with the asset's caching.
#[tokio::test]
async fn precompressed_copies_are_sent_to_browsers_that_accept_them() {
    let dist = built_web_app();
    let asset = dist.path().join("app-0123456789abcdef.js");
    let plain = std::fs::read(&asset).unwrap();
    std::fs::write(
        dist.path().join("app-0123456789abcdef.js.br"),
        b"brotli bytes",
    )
    .unwrap();
    std::fs::write(
        dist.path().join("app-0123456789abcdef.js.gz"),
        b"gzip bytes",
    )
    .unwrap();
    let app = spawn_app_serving(dist.path()).await;
    let fetch = |accept: &'static str| {
        let request = app.client.get(app.url("/app-0123456789abcdef.js"));
        async move {
            let response = request
                .header("accept-encoding", accept)
                .send()
                .await
                .unwrap();
            let encoding = response
                .headers()
                .get("content-encoding")
                .map(|value| value.to_str().unwrap().to_owned());
            let cache = response.headers()["cache-control"]
                .to_str()
                .unwrap()
                .to_owned();
            // Every answer depends on Accept-Encoding, the plain one too.
            let vary = response
                .headers()
                .get("vary")
                .map(|value| value.to_str().unwrap().to_owned());
            assert_eq!(vary.as_deref(), Some("accept-encoding"), "for {accept}");
            (encoding, cache, response.bytes().await.unwrap().to_vec())
        }
    };
    let (encoding, cache, body) = fetch("gzip, deflate, br").await;
    assert_eq!(encoding.as_deref(), Some("br"));
    assert_eq!(body, b"brotli bytes");
    assert_eq!(cache, "public, max-age=31536000, immutable");
    let (encoding, _, body) = fetch("gzip").await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert_eq!(body, b"gzip bytes");
    let (encoding, _, body) = fetch("identity").await;
    assert_eq!(encoding, None);
    assert_eq!(body, plain);
}

#[tokio::test]
async fn content_hashed_assets_are_cached_for_a_year_and_compressed() {
    let dist = built_web_app();
    let app = spawn_app_serving(dist.path()).await;
    let response = app
        .client
        .get(app.url("/app-0123456789abcdef.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let unhashed = app
        .client
        .get(app.url("/favicon.svg"))
        .send()
        .await
        .unwrap();
    assert_eq!(unhashed.headers()["cache-control"], "no-cache");
}

#[tokio::test]
async fn the_page_allows_exactly_its_own_inline_loader_and_cannot_be_framed() {
    let dist = built_web_app();
    let app = spawn_app_serving(dist.path()).await;
    let response = app.client.get(app.url("/dashboard")).send().await.unwrap();
    let headers = response.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    let loader_hash =
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(LOADER.as_bytes()));
    assert!(csp.contains(&format!("'sha256-{loader_hash}'")), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    // Served over plain HTTP: HSTS would be wrong here.
    assert!(!headers.contains_key("strict-transport-security"));
}

#[tokio::test]
async fn without_a_built_app_pages_explain_how_to_build_it_and_the_api_still_works() {
    let app = spawn_app(Backend::Sqlite).await;
    let page = app.client.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(page.status(), 503);
    assert!(page.text().await.unwrap().contains("trunk build"));
    let health = app.client.get(app.url("/api/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn an_unknown_api_route_answers_with_the_shared_error_body() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app
        .client
        .get(app.url("/api/no-such-endpoint"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: shared::ErrorBody = response.json().await.unwrap();
    assert_eq!(body.code, shared::ErrorCode::NotFound);
}

#[tokio::test]
async fn a_wrong_method_on_an_api_route_answers_with_the_shared_error_body() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app
        .client
        .delete(app.url("/api/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let body: shared::ErrorBody = response.json().await.unwrap();
    assert_eq!(body.code, shared::ErrorCode::MethodNotAllowed);
}

#[tokio::test]
async fn every_documented_operation_exists() {
    let app = spawn_app(Backend::Sqlite).await;
    let document: serde_json::Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() > 20);
    for (path, operations) in paths {
        let concrete = path.replace("{id}", "x").replace("{link_id}", "y");
        for method in operations.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app
                .client
                .request(method.clone(), app.url(&concrete))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            assert_ne!(status, 405, "{method} {path}");
            assert_ne!(
                body["message"], "The API endpoint was not found.",
                "{method} {path}"
            );
        }
    }
}

#[tokio::test]
async fn case_19_connect_can_be_framed_by_gridlink_itself_and_the_dashboard_by_nobody() {
    let dist = built_web_app();
    let app = spawn_app_serving(dist.path()).await;
    let connect = app
        .client
        .get(app.url("/connect/gct_token"))
        .send()
        .await
        .unwrap();
    let csp = connect.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
    assert_eq!(connect.headers()["x-frame-options"], "SAMEORIGIN");
    let dashboard = app
        .client
        .get(app.url("/dashboard/credentials"))
        .send()
        .await
        .unwrap();
    assert!(dashboard.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(dashboard.headers()["x-frame-options"], "DENY");
}

#[tokio::test]
async fn api_answers_are_never_cached() {
    let app = spawn_app(Backend::Sqlite).await;
    for path in [
        "/api/health",
        "/api/connect/session",
        "/api/no-such-endpoint",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
}
