//! Security headers on every response: a strict Content-Security-Policy,
//! no framing, no referrer (URLs may carry tokens), no MIME sniffing.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::http::state::AppState;

pub async fn set_security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response<Body> {
    // Connect may be framed by Gridlink's own pages (the dashboard's dialogs)
    // and by the origins its organisation allowed; everything else, the
    // dashboard above all, can never be framed.
    let framable = is_connect_page(request.uri().path());
    let frame_ancestors = if framable {
        let mut sources = vec!["'self'".to_owned()];
        sources.extend(allowed_embedders(&state, request.uri().path()).await);
        sources.join(" ")
    } else {
        "'none'".to_owned()
    };
    let is_api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let csp = content_security_policy(state.spa.inline_script_sources(), &frame_ancestors);
    // A policy that cannot be a header is never dropped: the strictest one stands in.
    let csp = HeaderValue::from_str(&csp).unwrap_or_else(|_| {
        tracing::error!(
            "the Content-Security-Policy could not be built; nothing may frame this page"
        );
        HeaderValue::from_static(
            "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        )
    });
    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let frame_options = if framable { "SAMEORIGIN" } else { "DENY" };
    headers.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static(frame_options),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    // API answers carry tokens and per-caller data: never cached. (A cached
    // 410 for one Connect token would otherwise be served for the next.)
    if is_api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.settings.is_https() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    response
}

fn is_connect_page(path: &str) -> bool {
    path == "/connect" || path.starts_with("/connect/")
}

/// The embed origins of the organisation whose Connect token is in `path`
/// (`/connect/TOKEN`); none for an unknown token.
async fn allowed_embedders(state: &AppState, path: &str) -> Vec<String> {
    let Some(token) = path
        .strip_prefix("/connect/")
        .filter(|token| !token.is_empty() && !token.contains('/'))
    else {
        return Vec::new();
    };
    let organisation: Result<Option<(String,)>, sqlx::Error> =
        sqlx::query_as("SELECT organisation_id FROM connect_sessions WHERE token_hash = $1")
            .bind(crate::infra::tokens::hash(token))
            .fetch_optional(state.db.pool())
            .await;
    match organisation {
        // Stored origins were checked when saved; one saved before the rule
        // tightened (case 39) is left out rather than let into the header.
        Ok(Some((organisation_id,))) => {
            crate::domain::organisations::embed_origins(&state.db, &organisation_id)
                .await
                .unwrap_or_default()
                .into_iter()
                .filter(|origin| {
                    let valid = shared::validation::EmbedOrigin::parse(origin)
                        .is_ok_and(|parsed| parsed.as_str() == origin);
                    if !valid {
                        tracing::warn!(
                            origin,
                            "a stored embed origin is not valid; left out of frame-ancestors"
                        );
                    }
                    valid
                })
                .collect()
        }
        Ok(None) => Vec::new(),
        Err(error) => {
            tracing::warn!(%error, "cannot read embed origins; Connect is framable by Gridlink only");
            Vec::new()
        }
    }
}

/// The policy: only our own origin, wasm allowed, inline scripts only by hash.
fn content_security_policy(inline_script_sources: &[String], frame_ancestors: &str) -> String {
    let mut script_src = String::from("'self' 'wasm-unsafe-eval'");
    for source in inline_script_sources {
        script_src.push(' ');
        script_src.push_str(source);
    }
    format!(
        "default-src 'self'; script-src {script_src}; style-src 'self'; img-src 'self' data: https:; \
         connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors {frame_ancestors}"
    )
}
