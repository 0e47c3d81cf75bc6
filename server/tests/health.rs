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

/// Hostile case 18: a master key that is not the one the data was sealed
/// with (even under the same key id) stops the server, naming the option,
/// before it can seal anything under the wrong key.
async fn case_18_a_different_master_key_with_the_same_id_is_refused_at_start(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    app.synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    let refused = app
        .try_restart_with(|argv| {
            for arg in argv.iter_mut() {
                if arg.starts_with("--master-key=") {
                    // Same id ("test"), other bytes.
                    *arg = format!(
                        "--master-key={}",
                        server::crypto::MasterKey::generate("test").to_config_value()
                    );
                }
            }
        })
        .await
        .err()
        .expect("the server refuses a different key");
    let message = format!("{refused:#}");
    assert!(
        message.contains("GRIDLINK_MASTER_KEY (--master-key)"),
        "{message}"
    );
    assert!(
        message.contains("not the key this database was sealed with"),
        "{message}"
    );
}

/// Health tells the truth: a database that answers reads but refuses writes
/// (a full disk, a read-only replica) is reported as not writable with 503.
async fn health_reports_a_database_that_refuses_writes(backend: Backend) {
    let app = spawn_app(backend).await;
    let pool = app.state().db.pool();
    match backend {
        Backend::Sqlite => {
            sqlx::query(
                "CREATE TRIGGER refuse_writes BEFORE UPDATE ON health_probe \
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
            )
            .execute(pool)
            .await
            .unwrap();
        }
        Backend::Postgres => {
            sqlx::query(
                "CREATE FUNCTION refuse_writes() RETURNS trigger AS $$ BEGIN \
                 RAISE EXCEPTION 'could not extend file: No space left on device'; END $$ LANGUAGE plpgsql",
            )
            .execute(pool)
            .await
            .unwrap();
            sqlx::query(
                "CREATE TRIGGER refuse_writes BEFORE UPDATE ON health_probe \
                 FOR EACH ROW EXECUTE FUNCTION refuse_writes()",
            )
            .execute(pool)
            .await
            .unwrap();
        }
    }
    let response = app.anonymous().get("/api/health").await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["database"], "not writable", "{body}");
    assert_eq!(body["status"], "degraded");
}

database_tests!(
    case_18_a_different_master_key_with_the_same_id_is_refused_at_start,
    health_reports_a_database_that_refuses_writes,
);
