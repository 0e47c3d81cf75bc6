//! `GET /api/health` on both databases.

mod common;

use common::{spawn_app, spawn_app_with, Backend, TestAppOptions};
use serde_json::Value;

async fn health_reports_the_database_it_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.client.get(app.url("/api/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    let expected_kind = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(body["databaseKind"], expected_kind);
    assert_eq!(body["demo"], false);
}

async fn a_restarted_server_keeps_its_database_and_migrates_nothing_twice(backend: Backend) {
    let app = spawn_app(backend).await;
    let app = app.restart().await;
    let response = app.client.get(app.url("/api/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    app.stop().await.expect("clean shutdown");
}

async fn demo_mode_keeps_its_generated_master_key_across_restarts(backend: Backend) {
    let app = spawn_app_with(
        backend,
        TestAppOptions {
            demo: true,
            ..Default::default()
        },
    )
    .await;
    let key_file = app.data_dir().join("master.key");
    let first_key = std::fs::read_to_string(&key_file).expect("demo key written");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key file must be private to its owner");
    }
    let app = app.restart().await;
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), first_key);
    let body: Value = app
        .client
        .get(app.url("/api/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["demo"], true);
}

database_tests!(
    health_reports_the_database_it_checked,
    a_restarted_server_keeps_its_database_and_migrates_nothing_twice,
    demo_mode_keeps_its_generated_master_key_across_restarts,
);
