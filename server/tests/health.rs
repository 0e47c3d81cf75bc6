//! `GET /api/health` (liveness) and `GET /api/ready` (readiness) on both databases.

mod common;

use common::{spawn_app, spawn_app_with, Backend, TestAppOptions};
use serde_json::Value;

async fn readiness_reports_the_database_it_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.client.get(app.url("/api/ready")).send().await.unwrap();
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
    readiness_reports_the_database_it_checked,
    case_48_health_writes_nothing_and_readiness_probes_at_most_once_a_second,
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
                        server::infra::crypto::MasterKey::generate("test").to_config_value()
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
    let response = app.anonymous().get("/api/ready").await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["database"], "not writable", "{body}");
    assert_eq!(body["status"], "degraded");
    // Liveness does not depend on the database.
    let live = app.anonymous().get("/api/health").await;
    assert_eq!(live.status(), 200);
}

/// Counts the writes to the health probe's row from now on.
async fn count_probe_writes(app: &common::TestApp, backend: Backend) {
    let pool = app.state().db.pool();
    let statements: &[&str] = match backend {
        Backend::Sqlite => &[
            "CREATE TABLE probe_writes (n INTEGER NOT NULL)",
            "INSERT INTO probe_writes VALUES (0)",
            "CREATE TRIGGER count_probe_writes AFTER UPDATE ON health_probe \
             BEGIN UPDATE probe_writes SET n = n + 1; END",
        ],
        Backend::Postgres => &[
            "CREATE TABLE probe_writes (n BIGINT NOT NULL)",
            "INSERT INTO probe_writes VALUES (0)",
            "CREATE FUNCTION count_probe_writes() RETURNS trigger AS $$ BEGIN \
             UPDATE probe_writes SET n = n + 1; RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER count_probe_writes AFTER UPDATE ON health_probe \
             FOR EACH ROW EXECUTE FUNCTION count_probe_writes()",
        ],
    };
    for statement in statements {
        sqlx::query(statement).execute(pool).await.unwrap();
    }
}

async fn probe_writes(app: &common::TestApp) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT n FROM probe_writes")
        .fetch_one(app.state().db.pool())
        .await
        .unwrap();
    n
}

/// `count` GETs of `path` at once; their statuses.
async fn burst(app: &common::TestApp, path: &'static str, count: usize) -> Vec<u16> {
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..count {
        let client = app.anonymous();
        requests.spawn(async move { client.get(path).await.status().as_u16() });
    }
    requests.join_all().await
}

async fn case_48_health_writes_nothing_and_readiness_probes_at_most_once_a_second(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    count_probe_writes(&app, backend).await;
    let statuses = burst(&app, "/api/health", 300).await;
    assert!(statuses.iter().all(|status| *status == 200));
    assert_eq!(probe_writes(&app).await, 0, "liveness wrote");

    let started = std::time::Instant::now();
    let statuses = burst(&app, "/api/ready", 300).await;
    let seconds = started.elapsed().as_secs_f64();
    assert!(statuses.iter().all(|status| *status == 200));
    let writes = probe_writes(&app).await;
    assert!(writes >= 1, "readiness never probed");
    assert!(
        (writes as f64) <= 1.0 + seconds.ceil(),
        "{writes} probes in {seconds:.2} s"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(burst(&app, "/api/ready", 1).await, [200]);
    assert_eq!(
        probe_writes(&app).await,
        writes + 1,
        "a second later it probes again"
    );
}

database_tests!(
    case_18_a_different_master_key_with_the_same_id_is_refused_at_start,
    health_reports_a_database_that_refuses_writes,
);
