//! Serving the built web apps: files from the static folder, the dashboard's
//! `index.html` for its client-side routes and Connect's own page
//! (`connect-app/index.html`, a smaller bundle) for `/connect…` and
//! `/unsubscribe…` (the end-user's pages), long caching
//! for Trunk's hashed assets, and the Content-Security-Policy hashes of the
//! pages' inline scripts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use sha2::{Digest, Sha256};
use tower_http::services::ServeDir;

/// The built apps, read once at start.
#[derive(Debug)]
pub struct SpaAssets {
    dir: PathBuf,
    /// `None` when the app has not been built; API and health still work.
    index: Option<IndexPage>,
    /// Connect's own page; without it Connect is served from the main page.
    connect_index: Option<IndexPage>,
    /// `'sha256-…'` sources of both pages' inline scripts.
    script_hashes: Vec<String>,
}

/// Where Trunk puts Connect's bundle inside the static folder.
pub const CONNECT_APP_DIR: &str = "connect-app";

#[derive(Debug)]
struct IndexPage {
    html: String,
    /// `'sha256-…'` sources for every inline `<script>` (Trunk's loader).
    script_hashes: Vec<String>,
}

impl SpaAssets {
    pub fn load(dir: &Path) -> SpaAssets {
        let read_page = |path: PathBuf| {
            std::fs::read_to_string(path).map(|html| IndexPage {
                script_hashes: inline_script_hashes(&html),
                html,
            })
        };
        let connect_index = read_page(dir.join(CONNECT_APP_DIR).join("index.html")).ok();
        let index = match read_page(dir.join("index.html")) {
            Ok(page) => Some(page),
            Err(error) => {
                tracing::warn!(
                    dir = %dir.display(),
                    %error,
                    "the web app is not built (no index.html); the API works, pages answer 503. Run `trunk build --release`."
                );
                None
            }
        };
        let mut script_hashes: Vec<String> = index
            .iter()
            .chain(connect_index.iter())
            .flat_map(|page| page.script_hashes.clone())
            .collect();
        script_hashes.dedup();
        SpaAssets {
            dir: dir.to_owned(),
            index,
            connect_index,
            script_hashes,
        }
    }

    /// The `script-src` sources that allow exactly the pages' inline scripts.
    pub fn inline_script_sources(&self) -> &[String] {
        &self.script_hashes
    }

    /// A service for the static folder; unknown paths fall back to [`serve_index`]
    /// (with its own status: `not_found_service` would force 404 on client routes).
    pub fn service(self: &Arc<Self>) -> ServeDir<axum::routing::MethodRouter> {
        // The build leaves brotli and gzip copies next to each asset
        // (scripts/precompress.mjs): sent as they are to browsers that accept them.
        ServeDir::new(&self.dir)
            .precompressed_br()
            .precompressed_gzip()
            .append_index_html_on_directories(false)
            .fallback(axum::routing::any(serve_index).with_state(Arc::clone(self)))
    }
}

/// Client routes get `index.html` (200); other unknown paths get it too, with
/// 404, so the app shows its not-found page and crawlers see the truth.
async fn serve_index(State(spa): State<Arc<SpaAssets>>, request: Request) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let path = request.uri().path();
    let connect_page = spa
        .connect_index
        .as_ref()
        .filter(|_| is_end_user_page(path));
    let Some(index) = connect_page.or(spa.index.as_ref()) else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Html("<!doctype html><title>Gridlink</title><p>The Gridlink web app is not built. Run <code>trunk build --release</code>, then restart the server.</p>"),
        )
            .into_response();
    };
    let status = if is_client_route(path) {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let mut response = (status, Html(index.html.clone())).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn is_under(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn is_client_route(path: &str) -> bool {
    path == "/" || is_end_user_page(path) || is_under(path, "/dashboard")
}

/// Pages of the end-user bundle (Connect): Connect itself and the page an
/// unsubscribe link in a notice opens.
fn is_end_user_page(path: &str) -> bool {
    is_under(path, "/connect") || is_under(path, "/unsubscribe")
}

/// Sets `Cache-Control` on static files: a year for Trunk's content-hashed
/// files (`app-0123456789abcdef_bg.wasm`), revalidate for everything else;
/// and `Vary: Accept-Encoding` on the kinds of file the build compresses,
/// which go out as their brotli or gzip copy to browsers that accept one, so
/// a cache must not hand one browser's copy to another.
pub async fn cache_static_files(request: Request, next: Next) -> Response<Body> {
    let path = request.uri().path();
    let immutable = is_content_hashed(path);
    let precompressed = [".wasm", ".js", ".css", ".svg"]
        .iter()
        .any(|extension| path.ends_with(extension));
    let mut response = next.run(request).await;
    if response.status().is_success() && precompressed {
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if response.status().is_success() && !response.headers().contains_key(header::CACHE_CONTROL) {
        let value = if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

fn is_content_hashed(path: &str) -> bool {
    let file_name = path.rsplit('/').next().unwrap_or_default();
    file_name.split(['-', '_', '.']).any(|part| {
        part.len() == 16
            && part
                .bytes()
                .all(|byte| byte.is_ascii_hexdigit() && !byte.is_ascii_uppercase())
    })
}

fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after_tag = &rest[start..];
        let Some(tag_end) = after_tag.find('>') else {
            break;
        };
        let tag = &after_tag[..tag_end];
        let body_and_rest = &after_tag[tag_end + 1..];
        let Some(close) = body_and_rest.find("</script>") else {
            break;
        };
        let body = &body_and_rest[..close];
        if !tag.contains(" src=") && !body.trim().is_empty() {
            let digest = Sha256::digest(body.as_bytes());
            hashes.push(format!("'sha256-{}'", BASE64.encode(digest)));
        }
        rest = &body_and_rest[close..];
    }
    hashes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk_hashed_file_names_are_recognised() {
        assert!(is_content_hashed("/app-3f2a1b4c5d6e7f80_bg.wasm"));
        assert!(is_content_hashed("/app-3f2a1b4c5d6e7f80.js"));
        assert!(is_content_hashed("/main-0123456789abcdef.css"));
        assert!(!is_content_hashed("/index.html"));
        assert!(!is_content_hashed("/favicon.svg"));
        assert!(!is_content_hashed("/embed.js"));
    }

    #[test]
    fn client_routes_are_the_root_connect_unsubscribe_and_dashboard() {
        for path in [
            "/",
            "/connect",
            "/connect/abc",
            "/unsubscribe/gus_abc",
            "/dashboard",
            "/dashboard/credentials/1",
        ] {
            assert!(is_client_route(path), "{path}");
        }
        for path in ["/connections", "/dashboards", "/unsubscribers", "/nope"] {
            assert!(!is_client_route(path), "{path}");
        }
    }

    #[test]
    fn only_inline_scripts_are_hashed() {
        let html = r#"<script src="/a.js"></script><script type="module">init()</script>"#;
        let hashes = inline_script_hashes(html);
        assert_eq!(hashes.len(), 1);
        let expected = BASE64.encode(Sha256::digest(b"init()"));
        assert_eq!(hashes[0], format!("'sha256-{expected}'"));
    }
}
