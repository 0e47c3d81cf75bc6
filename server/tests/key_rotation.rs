//! `gridlink rotate-key` re-seals every secret under the new key, resumably.

mod common;

use common::{expect_json, spawn_app, Backend};
use serde_json::json;
use server::infra::crypto::{Keyring, MasterKey};

async fn rotation_reseals_every_secret_under_the_new_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let mut ids = Vec::new();
    for username in ["user_good", "user_nomfa"] {
        let created = expect_json(
            org.api.post("/api/v1/credentials", json!({"utilityId": "sandbox-water", "username": username, "password": "pass_good"})).await,
            201,
        )
        .await;
        let id = created["id"].as_str().unwrap().to_owned();
        app.wait_for_detail(&org.api, &id, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
            .await;
        ids.push(id);
    }
    // A webhook endpoint whose secret was rotated holds two sealed secrets.
    expect_json(
        org.api
            .put(
                "/api/v1/webhook-endpoint",
                json!({"url": "https://localhost:9/x"}),
            )
            .await,
        201,
    )
    .await;
    let rotated = expect_json(
        org.api
            .post("/api/v1/webhook-endpoint/rotate-secret", json!({}))
            .await,
        200,
    )
    .await;
    let db = &app.state().db;
    let old = app.state().keyring.current().clone();
    let new = MasterKey::generate("k2");
    let rotating = Keyring::parse(&format!(
        "{},{}",
        new.to_config_value(),
        old.to_config_value()
    ))
    .unwrap();

    let report = server::domain::key_rotation::rotate(db, &rotating)
        .await
        .unwrap();
    assert_eq!(
        report.resealed, 6,
        "two passwords, two tokens and two webhook secrets"
    );
    // Running it again (as after an interruption) finds nothing left to do.
    let again = server::domain::key_rotation::rotate(db, &rotating)
        .await
        .unwrap();
    assert_eq!((again.resealed, again.already_current), (0, 6));

    let only_new = Keyring::single(new);
    for id in &ids {
        let (password, token): (String, String) = sqlx::query_as(
            "SELECT sealed_password, sealed_session_token FROM credentials WHERE id = $1",
        )
        .bind(id)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert!(password.starts_with("v1.k2.") && token.starts_with("v1.k2."));
        let opened =
            server::domain::credentials::secrets::open_password(&only_new, id, &password).unwrap();
        assert_eq!(opened.expose(), "pass_good");
        assert!(server::domain::credentials::secrets::open_password(
            &Keyring::single(old.clone()),
            id,
            &password
        )
        .is_err());
    }
    let (secret,): (String,) =
        sqlx::query_as("SELECT sealed_secret FROM webhook_endpoints WHERE organisation_id = $1")
            .bind(&org.id)
            .fetch_one(db.pool())
            .await
            .unwrap();
    let opened =
        server::infra::webhook_signing::SigningSecret::open(&only_new, &org.id, &secret).unwrap();
    assert_eq!(opened.to_whsec(), rotated["secret"].as_str().unwrap());
}

database_tests!(rotation_reseals_every_secret_under_the_new_key);
