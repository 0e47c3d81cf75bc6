//! Backups that restore: the real binary serves and is written to without
//! pause while `gridlink backup` snapshots it; the snapshot restores into a
//! fresh data directory, a server started on it finds every credential,
//! update link and queued webhook acknowledged before the backup began, and
//! `gridlink verify-backup` opens every secret with the master key (and
//! only with it). Restores refuse a non-empty data directory and a snapshot
//! from a newer schema.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{free_port, fresh_postgres_database, spawn_app, Backend, TempDir};
use serde_json::{json, Value};
use sqlx::{AnyConnection, Connection};

const DEMO_PASSWORD: &str = "a demo password for backups";

fn gridlink(args: &[&str], master_key: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gridlink"))
        .args(args)
        .env("GRIDLINK_MASTER_KEY", master_key)
        .env_remove("GRIDLINK_DATABASE_URL")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A server process, stopped when dropped (a failing test leaves none behind).
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `gridlink serve --demo` on `data_dir` with `master_key`; its base URL.
async fn serve(data_dir: &Path, master_key: &str) -> (Serving, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_gridlink"))
        .args([
            "serve",
            "--demo",
            &format!("--listen=127.0.0.1:{port}"),
            "--sandbox-listen=127.0.0.1:0",
            "--sandbox-smtp-listen=127.0.0.1:0",
            &format!("--data-dir={}", data_dir.display()),
            "--static-dir=/nonexistent",
            "--webhook-allow-private",
        ])
        .env("GRIDLINK_MASTER_KEY", master_key)
        .env("GRIDLINK_DEMO_PASSWORD", DEMO_PASSWORD)
        .env_remove("GRIDLINK_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = Serving(child);
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/api/health")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "no server");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (child, base)
}

/// Stops the server as systemd would (SIGTERM) and waits for it.
fn stop(mut serving: Serving) {
    Command::new("kill")
        .args(["-TERM", &serving.0.id().to_string()])
        .status()
        .unwrap();
    serving.0.wait().unwrap();
}

/// An API key of the demo organisation.
async fn api_key(http: &reqwest::Client, base: &str) -> String {
    let signed_in = http
        .post(format!("{base}/api/session"))
        .json(&json!({"email": "demo@example.com", "password": DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let session: Value = signed_in.json().await.unwrap();
    let key: Value = http
        .post(format!("{base}/api/v1/api-keys"))
        .header("cookie", cookie)
        .header("x-csrf-token", session["csrfToken"].as_str().unwrap())
        .json(&json!({"name": "backups"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    key["secret"].as_str().unwrap().to_owned()
}

/// Sends what `request` builds until it is not refused as too many: update
/// links are limited per client (a burst of 100, then 5 a second), and four
/// writers as fast as they go can outrun that on a quick machine. Like any
/// client, a writer waits as long as `Retry-After` says, then tries again.
async fn waiting_out_rate_limits(
    request: impl Fn() -> reqwest::RequestBuilder,
) -> reqwest::Response {
    loop {
        let response = request().send().await.unwrap();
        if response.status() != reqwest::StatusCode::TOO_MANY_REQUESTS {
            return response;
        }
        let wait = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(1);
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
}

/// What the writers had acknowledged: credentials, and update-link tokens.
#[derive(Default)]
struct Acknowledged {
    credentials: Vec<String>,
    links: Vec<String>,
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_everything_acknowledged_before_it() {
    let master_key = server::infra::crypto::MasterKey::generate("k1").to_config_value();
    let original = TempDir::new("gridlink-backup-original");
    let restored = TempDir::new("gridlink-backup-restored");
    let snapshots = TempDir::new("gridlink-backup-files");
    let snapshot = snapshots.path().join("gridlink-backup.db");
    let (child, base) = serve(original.path(), &master_key).await;
    let http = reqwest::Client::new();
    let key = api_key(&http, &base).await;
    // Webhooks to a port where nothing listens stay queued, retried later.
    let endpoint = http
        .put(format!("{base}/api/v1/webhook-endpoint"))
        .bearer_auth(&key)
        .json(&json!({"url": format!("http://127.0.0.1:{}/hooks", free_port())}))
        .send()
        .await
        .unwrap();
    assert!(endpoint.status().is_success(), "{}", endpoint.status());

    // Four writers: each creates credentials and mints an update link for each.
    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let stop_writing = tokio_util::sync::CancellationToken::new();
    let mut writers = Vec::new();
    for writer in 0..4 {
        let (http, base, key) = (http.clone(), base.clone(), key.clone());
        let acknowledged = Arc::clone(&acknowledged);
        let stop_writing = stop_writing.clone();
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop_writing.is_cancelled() {
                n += 1;
                let created = http
                    .post(format!("{base}/api/v1/credentials"))
                    .bearer_auth(&key)
                    .json(&json!({
                        "utilityId": "sandbox-water",
                        "username": format!("user_nomfa+{writer}-{n}"),
                        "password": "pass_good",
                    }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
                let id = created.json::<Value>().await.unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                acknowledged.lock().unwrap().credentials.push(id.clone());
                let link = waiting_out_rate_limits(|| {
                    http.post(format!("{base}/api/v1/credentials/{id}/update-links"))
                        .bearer_auth(&key)
                        .json(&json!({}))
                })
                .await;
                assert_eq!(link.status(), 201, "{}", link.text().await.unwrap());
                let token = link.json::<Value>().await.unwrap()["token"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                acknowledged.lock().unwrap().links.push(token);
            }
        }));
    }
    // Let the writers and the jobs behind them get going, then back up.
    while acknowledged.lock().unwrap().credentials.len() < 20 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (before_credentials, before_links) = {
        let acknowledged = acknowledged.lock().unwrap();
        (acknowledged.credentials.clone(), acknowledged.links.clone())
    };
    // Deliveries queued (committed) before the backup begins.
    let queued: Value = http
        .get(format!("{base}/api/v1/webhook-deliveries?state=PENDING"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let backup = tokio::task::spawn_blocking({
        let (snapshot, original, key) = (
            snapshot.clone(),
            original.path().to_path_buf(),
            master_key.clone(),
        );
        move || {
            gridlink(
                &[
                    "backup",
                    &format!("--to={}", snapshot.display()),
                    &format!("--data-dir={}", original.display()),
                ],
                &key,
            )
        }
    })
    .await
    .unwrap();
    assert!(backup.status.success(), "{}", text(&backup));
    assert!(text(&backup).contains("The master key is not in it"));
    let during = acknowledged.lock().unwrap().credentials.len();
    stop_writing.cancel();
    for writer in writers {
        writer.await.unwrap();
    }
    assert!(
        during > before_credentials.len(),
        "the writers kept writing while the backup ran"
    );
    stop(child);

    // Restores refuse a data directory with something in it.
    let refused = gridlink(
        &[
            "restore",
            &format!("--from={}", snapshot.display()),
            &format!("--data-dir={}", original.path().display()),
        ],
        &master_key,
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("is not empty"),
        "{}",
        text(&refused)
    );
    // And a snapshot from a newer schema.
    let newer = snapshots.path().join("from-a-newer-gridlink.db");
    std::fs::copy(&snapshot, &newer).unwrap();
    sqlx::any::install_default_drivers();
    let mut connection = AnyConnection::connect(&format!("sqlite://{}", newer.display()))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (999999, 'from the future', TRUE, X'00', 0)",
    )
    .execute(&mut connection)
    .await
    .unwrap();
    connection.close().await.unwrap();
    let empty = TempDir::new("gridlink-backup-empty");
    let refused = gridlink(
        &[
            "restore",
            &format!("--from={}", newer.display()),
            &format!("--data-dir={}", empty.path().display()),
        ],
        &master_key,
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("newer than this Gridlink's"),
        "{}",
        text(&refused)
    );

    // The snapshot's secrets open with the master key, and not without it.
    let verified = gridlink(
        &["verify-backup", &snapshot.display().to_string()],
        &master_key,
    );
    assert!(verified.status.success(), "{}", text(&verified));
    assert!(text(&verified).contains("Every sealed secret opened"));
    let opened_passwords: u64 = text(&verified)
        .lines()
        .find_map(|line| {
            line.strip_prefix("sealed credentials.sealed_password: ")?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .expect("the passwords' line");
    assert!(opened_passwords >= before_credentials.len() as u64);
    let other_key = server::infra::crypto::MasterKey::generate("k1").to_config_value();
    let wrong = gridlink(
        &["verify-backup", &snapshot.display().to_string()],
        &other_key,
    );
    assert!(!wrong.status.success());
    assert!(text(&wrong).contains("did not open with this master key"));

    // Restore into a fresh directory and serve it.
    let restore = gridlink(
        &[
            "restore",
            &format!("--from={}", snapshot.display()),
            &format!("--data-dir={}", restored.path().display()),
        ],
        &master_key,
    );
    assert!(restore.status.success(), "{}", text(&restore));
    let (child, base) = serve(restored.path(), &master_key).await;
    for id in &before_credentials {
        let found = http
            .get(format!("{base}/api/v1/credentials/{id}"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            found.status(),
            200,
            "credential {id} was acknowledged, then lost"
        );
    }
    for token in &before_links {
        let opened = http
            .get(format!("{base}/api/connect/session"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            opened.status(),
            200,
            "an update link was acknowledged, then lost"
        );
    }
    let queued_before: Vec<(&str, &str)> = queued["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|delivery| {
            (
                delivery["id"].as_str().unwrap(),
                delivery["credentialId"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(!queued_before.is_empty(), "webhooks were queued: {queued}");
    for (id, credential_id) in queued_before {
        let page: Value = http
            .get(format!(
                "{base}/api/v1/webhook-deliveries?credentialId={credential_id}&limit=200"
            ))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found: BTreeSet<&str> = page["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|delivery| delivery["id"].as_str().unwrap())
            .collect();
        assert!(found.contains(id), "the queued webhook {id} was lost");
    }
    stop(child);
}

/// PostgreSQL deployments back up with pg_dump; `verify-backup` then checks
/// the database pg_restore made, with the deployment's master key.
#[tokio::test]
async fn a_pg_dump_restored_elsewhere_verifies_with_the_master_key_on_postgres() {
    let app = spawn_app(Backend::Postgres).await;
    let org = app.organisation("Dumped Power").await;
    app.connect_with_sms(&org.api, json!({}), "sandbox-electric", "user_good")
        .await;
    let live = app.arg("database-url").unwrap().to_owned();
    let master_key = app.arg("master-key").unwrap().to_owned();
    app.stop().await.unwrap();

    let files = TempDir::new("gridlink-pg-dump");
    let dump = files.path().join("gridlink.dump");
    let dumped = Command::new("pg_dump")
        .args([
            "--format=custom",
            &format!("--file={}", dump.display()),
            &live,
        ])
        .output()
        .expect("pg_dump (Debian's postgresql-client) runs");
    assert!(dumped.status.success(), "{}", text(&dumped));
    let restored = fresh_postgres_database().await;
    let loaded = Command::new("pg_restore")
        .args([
            "--no-owner",
            &format!("--dbname={restored}"),
            &dump.display().to_string(),
        ])
        .output()
        .unwrap();
    assert!(loaded.status.success(), "{}", text(&loaded));

    let verified = gridlink(
        &["verify-backup", &format!("--database-url={restored}")],
        &master_key,
    );
    assert!(verified.status.success(), "{}", text(&verified));
    let report = text(&verified);
    assert!(report.contains("credentials      1"), "{report}");
    assert!(
        report.contains("sealed credentials.sealed_session_token: 1 opened, 0 did not"),
        "{report}"
    );
    let other_key = server::infra::crypto::MasterKey::generate("test").to_config_value();
    let wrong = gridlink(
        &["verify-backup", &format!("--database-url={restored}")],
        &other_key,
    );
    assert!(!wrong.status.success(), "{}", text(&wrong));
}
