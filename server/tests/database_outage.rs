//! When the database cannot serve, Gridlink answers fast and says why:
//! PostgreSQL cut off (a proxy the test controls drops every connection)
//! makes requests answer `503 DATABASE_UNAVAILABLE` with `Retry-After`
//! within the configured wait, readiness fails, and both recover by
//! themselves when it is back; SQLite on a full disk (a small tmpfs) makes
//! writes answer `503 STORAGE_FULL`, never 500, and writes work again once
//! space is freed, nothing acknowledged lost.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{expect_json, fresh_postgres_database, spawn_app_with, Backend, TestAppOptions};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// A TCP proxy to PostgreSQL that the test can cut (every connection
/// dropped, new ones refused at once) and restore.
struct CuttableProxy {
    port: u16,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl CuttableProxy {
    async fn start(target: String) -> CuttableProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(Mutex::new(Vec::<AbortHandle>::new()));
        let accept = {
            let up = Arc::clone(&up);
            let connections = Arc::clone(&connections);
            tokio::spawn(async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        continue;
                    };
                    if !up.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    let target = target.clone();
                    let piping = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(&target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    connections.lock().unwrap().push(piping.abort_handle());
                }
            })
            .abort_handle()
        };
        CuttableProxy {
            port,
            up,
            connections,
            accept,
        }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// Polls `path` until it answers `status` (up to 20 s).
async fn eventually(client: &common::Client, path: &str, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = client.get(path).await.status().as_u16();
        if answer == status {
            return;
        }
        assert!(Instant::now() < deadline, "{path} still answers {answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn postgres_out_of_reach_answers_503_fast_and_recovers_by_itself() {
    let Some((proxy, database_url)) = postgres_behind_a_proxy().await else {
        return;
    };
    let app = spawn_app_with(
        Backend::Postgres,
        TestAppOptions {
            database_url: Some(database_url),
            extra_args: vec!["--database-wait=1s".into()],
            ..TestAppOptions::default()
        },
    )
    .await;
    let org = app.organisation("Outage Co").await;
    let token = expect_json(org.api.post("/api/v1/connect-tokens", json!({})).await, 201).await;
    let connect = app.connect_client(token["token"].as_str().unwrap());
    let created = expect_json(
        org.api
            .post(
                "/api/v1/credentials",
                json!({"utilityId": "sandbox-electric", "username": "user_good+outage", "password": "pass_good"}),
            )
            .await,
        201,
    )
    .await;

    proxy.cut();
    for (who, method, path) in [
        (&org.api, "GET", "/api/v1/credentials"),
        (&org.api, "POST", "/api/v1/connect-tokens"),
        (&connect, "GET", "/api/connect/session"),
    ] {
        let started = Instant::now();
        let answer = if method == "GET" {
            who.get(path).await
        } else {
            who.post(path, json!({})).await
        };
        let elapsed = started.elapsed();
        let retry_after = answer
            .headers()
            .get("retry-after")
            .map(|value| value.to_str().unwrap().to_owned());
        let body = expect_json(answer, 503).await;
        assert_eq!(body["code"], "DATABASE_UNAVAILABLE", "{path}: {body}");
        assert_eq!(retry_after.as_deref(), Some("5"), "{path}");
        // The wait is one second: nothing like the ten-second hang of old.
        assert!(elapsed < Duration::from_secs(6), "{path} took {elapsed:?}");
    }
    let ready = app.anonymous().get("/api/ready").await;
    assert_eq!(ready.status().as_u16(), 503);

    proxy.restore();
    eventually(&app.anonymous(), "/api/ready", 200).await;
    eventually(&org.api, "/api/v1/credentials", 200).await;
    // What was acknowledged before is still there.
    let id = created["id"].as_str().unwrap();
    expect_json(org.api.get(&format!("/api/v1/credentials/{id}")).await, 200).await;
    app.stop().await.unwrap();
}

/// The test database behind a proxy the test can cut, and its URL through
/// it; `None` (the test skips) without a test PostgreSQL.
async fn postgres_behind_a_proxy() -> Option<(CuttableProxy, String)> {
    if std::env::var("GRIDLINK_TEST_POSTGRES_URL").is_err() {
        eprintln!("SKIPPED: GRIDLINK_TEST_POSTGRES_URL is not set (scripts/test sets it)");
        return None;
    }
    let database = reqwest::Url::parse(&fresh_postgres_database().await).unwrap();
    let target = format!(
        "{}:{}",
        database.host_str().unwrap(),
        database.port().unwrap_or(5432)
    );
    let proxy = CuttableProxy::start(target).await;
    let mut through_proxy = database.clone();
    through_proxy.set_port(Some(proxy.port)).unwrap();
    through_proxy.set_host(Some("127.0.0.1")).unwrap();
    Some((proxy, through_proxy.to_string()))
}

/// Logins that were talking to the utility when PostgreSQL went away, and
/// the webhooks they owe, are neither lost nor done twice: the jobs pause
/// while it is out of reach and pick their claims up again after it.
#[tokio::test]
async fn jobs_pause_while_postgres_is_out_of_reach_and_resume_without_losing_a_claim() {
    let Some((proxy, database_url)) = postgres_behind_a_proxy().await else {
        return;
    };
    let app = spawn_app_with(
        Backend::Postgres,
        TestAppOptions {
            database_url: Some(database_url),
            extra_args: vec!["--database-wait=1s".into()],
            job_lease: Some("3s".into()),
            ..TestAppOptions::default()
        },
    )
    .await;
    let receiver = common::webhook_receiver::WebhookReceiver::start(0).await;
    let org = app.organisation("Outage Co").await;
    org.send_webhooks_to(&receiver).await;
    // Each login is still with the utility when the database goes away.
    app.sandbox_admin(
        "/api/admin/utilities/sandbox-water/faults",
        json!({"latencyMs": 1500}),
    )
    .await;
    const CREDENTIALS: usize = 3;
    for index in 0..CREDENTIALS {
        expect_json(
            org.api
                .post(
                    "/api/v1/credentials",
                    json!({"utilityId": "sandbox-water", "username": format!("user_nomfa+{index}"), "password": "pass_good"}),
                )
                .await,
            201,
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(4)).await;
    proxy.restore();
    app.sandbox_admin("/api/admin/utilities/sandbox-water/faults", json!({}))
        .await;

    let deadline = Instant::now() + Duration::from_secs(30);
    let credentials = loop {
        let page = org.api.get("/api/v1/credentials").await;
        if page.status() == 200 {
            let page: serde_json::Value = page.json().await.unwrap();
            let items = page["items"].as_array().unwrap().clone();
            if items.len() == CREDENTIALS && items.iter().all(|c| c["lastSyncedAt"].is_string()) {
                break items;
            }
        }
        assert!(Instant::now() < deadline, "the logins did not resume");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let received = receiver.wait_for(2 * CREDENTIALS).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        receiver.received().len(),
        received.len(),
        "a webhook came twice"
    );
    for credential in credentials {
        let id = credential["id"].as_str().unwrap();
        let kinds = org.event_kinds(id).await;
        assert_eq!(
            kinds,
            ["CREATED", "STATUS_CHANGE", "NEW_DATA_AVAILABLE"],
            "{id}"
        );
        for kind in ["STATUS_CHANGE", "NEW_DATA_AVAILABLE"] {
            assert_eq!(receiver.delivered(kind, id).len(), 1, "{id}: {kind}");
        }
    }
    app.stop().await.unwrap();
}

/// Mounts a tmpfs of `megabytes` at `dir`; false where this process may not.
fn mount_tmpfs(dir: &std::path::Path, megabytes: u32) -> bool {
    std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
        .arg(dir)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[tokio::test]
async fn sqlite_on_a_full_disk_answers_503_storage_full_and_recovers() {
    let disk = common::TempDir::new("full-disk");
    if !mount_tmpfs(disk.path(), 8) {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (it needs root); the full-disk case runs in CI"
        );
        return;
    }
    struct Unmount<'a>(&'a std::path::Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(disk.path());
    let app = spawn_app_with(
        Backend::Sqlite,
        TestAppOptions {
            database_url: Some(format!(
                "sqlite://{}",
                disk.path().join("gridlink.db").display()
            )),
            extra_args: vec!["--database-wait=1s".into()],
            ..TestAppOptions::default()
        },
    )
    .await;
    let org = app.organisation("Full Disk Co").await;
    let kept = expect_json(org.api.post("/api/v1/connect-tokens", json!({})).await, 201).await;

    // Fill what is left of the disk.
    let filler = disk.path().join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
    }
    // Writes now fail as storage full, never as a 500.
    let mut refused = 0;
    for _ in 0..50 {
        let answer = org.api.post("/api/v1/connect-tokens", json!({})).await;
        let status = answer.status().as_u16();
        if status == 201 {
            continue;
        }
        let body = expect_json(answer, 503).await;
        assert_eq!(body["code"], "STORAGE_FULL", "{body}");
        refused += 1;
        if refused == 3 {
            break;
        }
    }
    assert!(refused > 0, "a full disk refused no write");
    let ready = app.anonymous().get("/api/ready").await;
    assert_eq!(ready.status().as_u16(), 503);

    std::fs::remove_file(&filler).unwrap();
    eventually(&app.anonymous(), "/api/ready", 200).await;
    expect_json(org.api.post("/api/v1/connect-tokens", json!({})).await, 201).await;
    assert!(kept["token"].is_string());
    app.stop().await.unwrap();
}
