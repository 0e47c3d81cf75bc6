//! Connect in English and Spanish, as the server sees it: the errors Connect
//! shows come in the language its requests ask for, and the organisation
//! picks Connect's default language.

mod common;

use common::{expect_json, spawn_app, Auth, Backend, Client, TestApp};
use serde_json::{json, Value};

/// A Connect client whose requests ask for `accept_language`, as Connect's do.
async fn connect_in(app: &TestApp, org: &common::Organisation, accept_language: &str) -> Client {
    let token = expect_json(
        org.api
            .post("/api/v1/connect-tokens", json!({"owner": "END_USER"}))
            .await,
        201,
    )
    .await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_LANGUAGE,
        accept_language.parse().unwrap(),
    );
    Client {
        base: app.url(""),
        http: reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap(),
        auth: Auth::Bearer(token["token"].as_str().unwrap().to_owned()),
    }
}

fn field_message(body: &Value, field: &str) -> String {
    body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["field"] == field)
        .unwrap_or_else(|| panic!("no {field} in {body}"))["message"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn connect_errors_come_in_the_language_connect_asks_for(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let empty_login = json!({"utilityId": "sandbox-gas", "username": " ", "password": ""});

    let spanish = connect_in(&app, &org, "es-MX,es;q=0.9,en;q=0.5").await;
    let refused = expect_json(
        spanish
            .post("/api/connect/credentials", empty_login.clone())
            .await,
        422,
    )
    .await;
    assert_eq!(field_message(&refused, "username"), "Ingrese un usuario.");
    assert_eq!(
        field_message(&refused, "password"),
        "Ingrese una contraseña."
    );
    let refused = expect_json(
        spanish.get("/api/connect/session?waitSeconds=90").await,
        422,
    )
    .await;
    assert_eq!(
        field_message(&refused, "waitSeconds"),
        "El tiempo de espera es un número entero de segundos entre 1 y 30."
    );

    // A browser preferring a language Connect does not speak gets English.
    let french = connect_in(&app, &org, "fr-FR, de;q=0.8").await;
    let refused = expect_json(
        french.post("/api/connect/credentials", empty_login).await,
        422,
    )
    .await;
    assert_eq!(field_message(&refused, "username"), "Enter a username.");

    // Through to a wrong code, with its plural.
    expect_json(
        spanish
            .post(
                "/api/connect/credentials",
                json!({"utilityId": "sandbox-gas", "username": "user_good", "password": "pass_good"}),
            )
            .await,
        200,
    )
    .await;
    app.wait_for_step(&spanish, "CHOOSE_METHOD").await;
    let not_offered = expect_json(
        spanish
            .post("/api/connect/mfa/method", json!({"method": "EMAIL"}))
            .await,
        422,
    )
    .await;
    assert_eq!(
        field_message(&not_offered, "method"),
        "Su empresa de servicios no ofrece este método para su cuenta."
    );
    expect_json(
        spanish
            .post("/api/connect/mfa/method", json!({"method": "SMS"}))
            .await,
        200,
    )
    .await;
    let real = app.latest_code("sandbox-gas", "user_good").await;
    let wrong = if real == "000000" { "111111" } else { "000000" };
    let refused = expect_json(
        spanish
            .post("/api/connect/mfa/code", json!({"code": wrong}))
            .await,
        422,
    )
    .await;
    assert_eq!(
        field_message(&refused, "code"),
        "Ese código no es correcto. Quedan 4 intentos."
    );
    let too_soon = expect_json(
        spanish.post("/api/connect/mfa/resend", json!({})).await,
        429,
    )
    .await;
    assert_eq!(
        too_soon["message"],
        "Se acaba de enviar un código. Espere un momento antes de pedir otro."
    );
}

async fn the_organisation_sets_connects_default_language(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let mut settings = expect_json(org.api.get("/api/v1/organisation").await, 200).await;
    assert_eq!(settings["connectLanguage"], "en");
    settings["connectLanguage"] = json!("es");
    let saved = expect_json(
        org.admin
            .put("/api/v1/organisation", settings.clone())
            .await,
        200,
    )
    .await;
    assert_eq!(saved["connectLanguage"], "es");

    let connect = connect_in(&app, &org, "en").await;
    let state = expect_json(connect.get("/api/connect/session").await, 200).await;
    assert_eq!(state["branding"]["defaultLanguage"], "es");

    // Only languages Connect speaks; nothing changes otherwise.
    settings["connectLanguage"] = json!("fr");
    let refused = org.admin.put("/api/v1/organisation", settings).await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("connectLanguage"),
        "{body}"
    );
    let unchanged = expect_json(org.api.get("/api/v1/organisation").await, 200).await;
    assert_eq!(unchanged["connectLanguage"], "es");
}

/// The embed script passes its `language` option to Connect as `?lang=`.
async fn the_embed_script_forces_a_language(backend: Backend) {
    let app = spawn_app(backend).await;
    let script = app.anonymous().get("/embed.js").await.text().await.unwrap();
    assert!(
        script.contains("url.searchParams.set('lang', String(options.language))"),
        "{script}"
    );
}

database_tests!(
    connect_errors_come_in_the_language_connect_asks_for,
    the_organisation_sets_connects_default_language,
    the_embed_script_forces_a_language,
);
