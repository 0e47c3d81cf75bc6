//! Single sign-on from outside, against an identity provider the test plays
//! (discovery, keys, a token endpoint that checks PKCE, ID tokens signed with
//! RS256) over HTTPS with a test CA Gridlink trusts. The provider can be made
//! to lie: an ID token for another audience, from another issuer, with
//! another nonce, signed by another key, expired, or with an unverified
//! email — each refused. And the settings: admins only, the secret sealed
//! and never shown, the discovery document read before saving, audited.
//! (The browser journey against a real provider is `end2end/tests/single-sign-on.spec.ts`.)

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::{Form, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::tls::{serve_https, TestCa};
use common::{expect_json, spawn_app_with, Backend, TestApp, TestAppOptions};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

/// How the provider's next ID token differs from an honest one.
#[derive(Clone, Copy, Default, PartialEq)]
enum Lie {
    #[default]
    None,
    Audience,
    Issuer,
    Nonce,
    Key,
    Expired,
    UnverifiedEmail,
}

#[derive(Default)]
struct Provider {
    issuer: String,
    lie: Lie,
    email: String,
    /// From the last authorization request Gridlink sent the browser to.
    nonce: String,
    code_challenge: String,
    codes_used: Vec<String>,
}

#[derive(Clone)]
struct FakeIdp {
    state: Arc<Mutex<Provider>>,
    key: PKey<Private>,
    other_key: PKey<Private>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl FakeIdp {
    fn jwt(&self, claims: Value, key: &PKey<Private>) -> String {
        let header = b64(json!({"alg": "RS256", "kid": "k1", "typ": "JWT"})
            .to_string()
            .as_bytes());
        let payload = b64(claims.to_string().as_bytes());
        let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
        signer
            .update(format!("{header}.{payload}").as_bytes())
            .unwrap();
        format!("{header}.{payload}.{}", b64(&signer.sign_to_vec().unwrap()))
    }
}

async fn discovery(State(idp): State<FakeIdp>) -> Json<Value> {
    let issuer = idp.state.lock().unwrap().issuer.clone();
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(State(idp): State<FakeIdp>) -> Json<Value> {
    let rsa = idp.key.rsa().unwrap();
    Json(json!({"keys": [{
        "kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
        "n": b64(&rsa.n().to_vec()), "e": b64(&rsa.e().to_vec()),
    }]}))
}

async fn token(
    State(idp): State<FakeIdp>,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> Result<Json<Value>, (axum::http::StatusCode, Json<Value>)> {
    let refuse = || {
        (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
    };
    let mut provider = idp.state.lock().unwrap();
    let code = form.get("code").cloned().unwrap_or_default();
    // PKCE: the verifier must hash to the challenge of the authorization request.
    let verifier = form.get("code_verifier").ok_or_else(refuse)?;
    if b64(&Sha256::digest(verifier.as_bytes())) != provider.code_challenge
        || provider.codes_used.contains(&code)
    {
        return Err(refuse());
    }
    provider.codes_used.push(code);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let lie = provider.lie;
    let claims = json!({
        "iss": if lie == Lie::Issuer { "https://evil.example".to_owned() } else { provider.issuer.clone() },
        "aud": if lie == Lie::Audience { "another-app" } else { "gridlink" },
        "sub": provider.email,
        "email": provider.email,
        "email_verified": lie != Lie::UnverifiedEmail,
        "nonce": if lie == Lie::Nonce { "a-nonce-of-another-sign-in".to_owned() } else { provider.nonce.clone() },
        "iat": now - 10,
        "exp": if lie == Lie::Expired { now - 5 } else { now + 300 },
    });
    let key = if lie == Lie::Key {
        &idp.other_key
    } else {
        &idp.key
    };
    Ok(Json(json!({
        "access_token": "at", "token_type": "Bearer", "expires_in": 300,
        "id_token": idp.jwt(claims, key),
    })))
}

struct Harness {
    app: TestApp,
    idp: FakeIdp,
    org: common::Organisation,
    _stop: tokio_util::sync::DropGuard,
}

async fn harness(backend: Backend, first_sign_in: &str) -> Harness {
    let ca = TestCa::new();
    let rsa = |bits| PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap();
    let idp = FakeIdp {
        state: Arc::default(),
        key: rsa(2048),
        other_key: rsa(2048),
    };
    let router = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", post(token))
        .with_state(idp.clone());
    let stop = CancellationToken::new();
    let port = serve_https(router, ca.server_config(), stop.clone()).await;
    idp.state.lock().unwrap().issuer = format!("https://localhost:{port}");
    let app = spawn_app_with(
        backend,
        TestAppOptions {
            ssl_cert_file: Some(ca.ca_file.clone()),
            ..TestAppOptions::default()
        },
    )
    .await;
    let org = app.organisation("SSO Co").await;
    let issuer = idp.state.lock().unwrap().issuer.clone();
    expect_json(
        org.admin
            .put(
                "/api/v1/sso",
                json!({
                    "displayName": "Fake IdP", "issuerUrl": issuer, "clientId": "gridlink",
                    "clientSecret": "the-client-secret", "allowedDomains": ["sso.example.com"],
                    "firstSignIn": first_sign_in,
                }),
            )
            .await,
        200,
    )
    .await;
    Harness {
        app,
        idp,
        org,
        _stop: stop.drop_guard(),
    }
}

/// A browser without redirects: what Gridlink answers, as (status, Location, cookies).
async fn navigate(app: &TestApp, path: &str, cookie: Option<&str>) -> (u16, String, Vec<String>) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client.get(app.url(path));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let answer = request.send().await.unwrap();
    let location = answer
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let cookies = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| {
            value
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    (answer.status().as_u16(), location, cookies)
}

/// Starts a sign-in as the browser would and comes back with `code`; where
/// Gridlink sends the browser then, and the cookies it sets.
async fn sign_in_as(h: &Harness, email: &str, lie: Lie, code: &str) -> (String, Vec<String>) {
    {
        let mut provider = h.idp.state.lock().unwrap();
        provider.email = email.to_owned();
        provider.lie = lie;
    }
    let providers = expect_json(h.app.anonymous().get("/api/sso/providers").await, 200).await;
    let start = providers[0]["startUrl"].as_str().unwrap().to_owned();
    let (status, location, cookies) = navigate(&h.app, &start, None).await;
    assert_eq!(status, 303);
    let authorize = reqwest::Url::parse(&location).unwrap();
    let param = |name: &str| {
        authorize
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    assert_eq!(param("code_challenge_method"), "S256");
    assert_eq!(param("client_id"), "gridlink");
    {
        let mut provider = h.idp.state.lock().unwrap();
        provider.nonce = param("nonce");
        provider.code_challenge = param("code_challenge");
    }
    let state_cookie = cookies
        .iter()
        .find(|cookie| cookie.starts_with("gridlink_sso="))
        .expect("the state cookie")
        .clone();
    let (status, location, cookies) = navigate(
        &h.app,
        &format!("/api/sso/callback?code={code}&state={}", param("state")),
        Some(&state_cookie),
    )
    .await;
    assert_eq!(status, 303);
    (location, cookies)
}

async fn lies_are_refused(backend: Backend) {
    let h = harness(backend, "CREATE_MEMBER").await;
    // An honest token for a new person in the domain: a member, signed in.
    let (location, cookies) = sign_in_as(&h, "ada@sso.example.com", Lie::None, "code-1").await;
    assert_eq!(location, "/dashboard");
    let session = cookies
        .iter()
        .find(|cookie| cookie.starts_with("gridlink_session="))
        .expect("a session");
    let me = h
        .app
        .anonymous()
        .request(reqwest::Method::GET, "/api/session")
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    let me = expect_json(me, 200).await;
    assert_eq!(me["operator"]["email"], "ada@sso.example.com");
    assert_eq!(me["operator"]["role"], "MEMBER");

    for (lie, code, why) in [
        (Lie::Audience, "code-2", "TOKEN_INVALID"),
        (Lie::Issuer, "code-3", "TOKEN_INVALID"),
        (Lie::Nonce, "code-4", "TOKEN_INVALID"),
        (Lie::Key, "code-5", "TOKEN_INVALID"),
        (Lie::Expired, "code-6", "TOKEN_INVALID"),
        (Lie::UnverifiedEmail, "code-7", "EMAIL_NOT_ALLOWED"),
        // A code the provider gave already.
        (Lie::None, "code-1", "CODE_REJECTED"),
    ] {
        let (location, cookies) = sign_in_as(&h, "ada@sso.example.com", lie, code).await;
        assert_eq!(location, format!("/dashboard/sign-in?sso={why}"), "{code}");
        assert!(
            !cookies
                .iter()
                .any(|cookie| cookie.starts_with("gridlink_session=")),
            "{code}: no session"
        );
    }
    let (location, _) = sign_in_as(&h, "eve@elsewhere.example", Lie::None, "code-8").await;
    assert_eq!(location, "/dashboard/sign-in?sso=EMAIL_NOT_ALLOWED");

    // The way back without this browser's state, or with a used one.
    let (_, location, _) = navigate(&h.app, "/api/sso/callback?code=x&state=y", None).await;
    assert_eq!(location, "/dashboard/sign-in?sso=STATE_MISMATCH");
    let (_, location, _) = navigate(
        &h.app,
        "/api/sso/callback?code=x&state=y",
        Some("gridlink_sso=y"),
    )
    .await;
    assert_eq!(location, "/dashboard/sign-in?sso=STATE_MISMATCH");
    let (_, location, _) = navigate(&h.app, "/api/sso/callback?error=access_denied", None).await;
    assert_eq!(location, "/dashboard/sign-in?sso=PROVIDER_REFUSED");

    // The trail: the member created by SSO, the sign-in and its factor.
    let audit = expect_json(
        h.org
            .admin
            .get("/api/v1/audit-events?action=SIGN_IN_SUCCEEDED")
            .await,
        200,
    )
    .await;
    assert!(
        audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|event| event["details"]["factor"] == "SSO"),
        "{audit}"
    );
    let invited = expect_json(
        h.org
            .admin
            .get("/api/v1/audit-events?action=OPERATOR_INVITED")
            .await,
        200,
    )
    .await;
    assert_eq!(invited["events"][0]["details"]["by"], "SSO");
    h.app.stop().await.unwrap();
}

async fn only_invited_operators_when_so_set(backend: Backend) {
    let h = harness(backend, "INVITED_ONLY").await;
    let (location, _) = sign_in_as(&h, "stranger@sso.example.com", Lie::None, "code-1").await;
    assert_eq!(location, "/dashboard/sign-in?sso=NOT_INVITED");
    let failed = expect_json(
        h.org
            .admin
            .get("/api/v1/audit-events?action=SIGN_IN_FAILED")
            .await,
        200,
    )
    .await;
    assert_eq!(failed["events"][0]["details"]["reason"], "NOT_INVITED");
    // Invited (an existing operator): signed in.
    expect_json(
        h.org
            .admin
            .post(
                "/api/v1/operators",
                json!({"email": "invited@sso.example.com", "role": "MEMBER"}),
            )
            .await,
        201,
    )
    .await;
    let (location, _) = sign_in_as(&h, "invited@sso.example.com", Lie::None, "code-2").await;
    assert_eq!(location, "/dashboard");
    // Someone else's operator, though in the domain: not this organisation's.
    let other = h.app.organisation("Other Co").await;
    expect_json(
        other
            .admin
            .post(
                "/api/v1/operators",
                json!({"email": "theirs@sso.example.com", "role": "MEMBER", "password": "a long member password"}),
            )
            .await,
        201,
    )
    .await;
    let (location, _) = sign_in_as(&h, "theirs@sso.example.com", Lie::None, "code-3").await;
    assert_eq!(location, "/dashboard/sign-in?sso=NOT_INVITED");
    h.app.stop().await.unwrap();
}

async fn the_settings_keep_the_secret_and_check_the_issuer(backend: Backend) {
    let h = harness(backend, "INVITED_ONLY").await;
    let settings = expect_json(h.org.admin.get("/api/v1/sso").await, 200).await;
    assert_eq!(settings["provider"]["displayName"], "Fake IdP");
    assert!(
        !settings.to_string().contains("the-client-secret"),
        "{settings}"
    );
    assert!(settings["redirectUri"]
        .as_str()
        .unwrap()
        .ends_with("/api/sso/callback"));
    let (sealed,): (String,) = sqlx::query_as("SELECT sealed_client_secret FROM sso_providers")
        .fetch_one(h.app.state().db.pool())
        .await
        .unwrap();
    assert!(!sealed.contains("the-client-secret"));
    let audit = expect_json(
        h.org
            .admin
            .get("/api/v1/audit-events?action=SSO_SETTINGS_CHANGED")
            .await,
        200,
    )
    .await;
    assert!(audit["events"][0]["details"]["fields"]
        .as_array()
        .unwrap()
        .contains(&json!("clientSecret")));
    assert!(!audit.to_string().contains("the-client-secret"));

    let issuer = settings["provider"]["issuerUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let change = |issuer: &str, secret: Option<&str>| {
        json!({"displayName": "Fake IdP", "issuerUrl": issuer, "clientId": "gridlink",
               "clientSecret": secret, "allowedDomains": ["sso.example.com"], "firstSignIn": "INVITED_ONLY"})
    };
    // Plain HTTP, or an issuer nothing answers at: refused, nothing saved.
    for bad in ["http://localhost:1", "https://127.0.0.1:1"] {
        let refused =
            expect_json(h.org.admin.put("/api/v1/sso", change(bad, None)).await, 422).await;
        assert_eq!(refused["fields"][0]["field"], "issuerUrl", "{bad}");
    }
    // Leaving the secret out keeps it.
    let kept = expect_json(
        h.org.admin.put("/api/v1/sso", change(&issuer, None)).await,
        200,
    )
    .await;
    assert_eq!(kept["provider"]["issuerUrl"], issuer.as_str());
    let (location, _) = {
        expect_json(
            h.org
                .admin
                .post(
                    "/api/v1/operators",
                    json!({"email": "kept@sso.example.com", "role": "MEMBER"}),
                )
                .await,
            201,
        )
        .await;
        sign_in_as(&h, "kept@sso.example.com", Lie::None, "code-9").await
    };
    assert_eq!(location, "/dashboard", "the kept secret still works");

    // Members and API keys cannot see or change it.
    expect_json(h.org.api.get("/api/v1/sso").await, 403).await;
    // Off: no button, and the start of a sign-in is gone.
    let removed = h.org.admin.delete("/api/v1/sso").await;
    assert_eq!(removed.status().as_u16(), 204);
    let audit = expect_json(
        h.org
            .admin
            .get("/api/v1/audit-events?action=SSO_SETTINGS_REMOVED")
            .await,
        200,
    )
    .await;
    assert_eq!(audit["events"][0]["actorKind"], "OPERATOR", "{audit}");
    let providers = expect_json(h.app.anonymous().get("/api/sso/providers").await, 200).await;
    assert_eq!(providers, json!([]));
    expect_json(h.org.admin.delete("/api/v1/sso").await, 404).await;
    h.app.stop().await.unwrap();
}

database_tests!(
    lies_are_refused,
    only_invited_operators_when_so_set,
    the_settings_keep_the_secret_and_check_the_issuer,
);
