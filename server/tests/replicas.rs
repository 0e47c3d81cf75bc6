//! Several `gridlink serve` processes on one PostgreSQL database, as a
//! multi-replica deployment runs them: the jobs share the work through the
//! database, every transition, webhook and mail happens exactly once, and a replica
//! killed with SIGKILL mid-sync loses nothing: another one finishes its work
//! once the lease runs out.
//!
//! The names end in `on_postgres`, so `scripts/test` skips them with the
//! other PostgreSQL tests when no PostgreSQL answers.

mod common;

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::webhook_receiver::{verify, WebhookReceiver};
use common::{expect_json, spawn_sandbox, Auth, Client, TempDir};
use serde_json::{json, Value};
use server::infra::config::DatabaseUrl;
use server::infra::crypto::MasterKey;
use server::infra::store::Database;

/// One `gridlink serve` process.
struct Replica {
    child: Child,
    url: String,
    log: PathBuf,
    _data_dir: TempDir,
}

impl Replica {
    fn start(database_url: &str, utility_url: &str, master_key: &str, extra: &[&str]) -> Replica {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data_dir = TempDir::new("gridlink-replica");
        let log = data_dir.path().join("stderr.log");
        let child = Command::new(env!("CARGO_BIN_EXE_gridlink"))
            .arg("serve")
            .arg(format!("--listen=127.0.0.1:{port}"))
            .arg(format!("--database-url={database_url}"))
            .arg(format!("--utility-url={utility_url}"))
            // The tests' webhook receivers listen on loopback.
            .arg("--webhook-allow-private")
            .arg(format!("--data-dir={}", data_dir.path().display()))
            .arg(format!(
                "--static-dir={}",
                data_dir.path().join("no-web-app").display()
            ))
            .args(extra)
            .env("GRIDLINK_MASTER_KEY", master_key)
            .env("RUST_LOG", "info,sqlx=warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start gridlink serve");
        Replica {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _data_dir: data_dir,
        }
    }

    async fn wait_until_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = reqwest::get(format!("{}/api/health", self.url)).await {
                if response.status().is_success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{} did not start:\n{}",
                self.url,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    fn api(&self, key: &str) -> Client {
        Client {
            base: self.url.clone(),
            http: reqwest::Client::new(),
            auth: Auth::Bearer(key.to_owned()),
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An organisation made straight in the database, and an API key for it made through `replica`.
async fn organisation_with_api_key(database_url: &str, replica: &Replica) -> String {
    let db = Database::connect(&DatabaseUrl::parse(database_url).unwrap())
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    server::domain::organisations::create_with_admin(
        &db,
        "Acme Solar",
        "admin@example.com",
        "a long admin password",
        now,
    )
    .await
    .unwrap();
    db.close().await;
    let http = reqwest::Client::new();
    let signed_in = http
        .post(format!("{}/api/session", replica.url))
        .json(&json!({"email": "admin@example.com", "password": "a long admin password"}))
        .send()
        .await
        .unwrap();
    let cookie = signed_in
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let session: Value = signed_in.json().await.unwrap();
    let admin = Client {
        base: replica.url.clone(),
        http,
        auth: Auth::Session {
            cookie,
            csrf: session["csrfToken"].as_str().unwrap().to_owned(),
        },
    };
    let key = expect_json(
        admin
            .post("/api/v1/api-keys", json!({"name": "replicas"}))
            .await,
        201,
    )
    .await;
    key["secret"].as_str().unwrap().to_owned()
}

/// Every credential of the organisation (one page of up to 100).
async fn credentials(api: &Client) -> Vec<Value> {
    let page = expect_json(api.get("/api/v1/credentials?pageSize=100").await, 200).await;
    page["items"].as_array().unwrap().clone()
}

async fn wait_until(what: &str, timeout: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Webhooks received per (credential, type, status detail), counting each message id once.
fn messages_per_change(receiver: &WebhookReceiver) -> HashMap<(String, String, String), usize> {
    let mut seen = HashSet::new();
    let mut counts = HashMap::new();
    for received in receiver.received() {
        if received.answered != 200 || !seen.insert(received.id.clone()) {
            continue;
        }
        let body = received.json();
        let key = (
            body["data"]["credentialId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            body["type"].as_str().unwrap().to_owned(),
            body["data"]["statusDetail"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        *counts.entry(key).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_do_each_transition_and_webhook_exactly_once_on_postgres() {
    let database_url = common::fresh_postgres_database().await;
    let sandbox = spawn_sandbox().await;
    let receiver = WebhookReceiver::start(0).await;
    let master_key = MasterKey::generate("k1").to_config_value();
    let options = ["--sync-interval=2s"];
    let a = Replica::start(&database_url, &sandbox.url, &master_key, &options);
    a.wait_until_healthy().await;
    let b = Replica::start(&database_url, &sandbox.url, &master_key, &options);
    b.wait_until_healthy().await;
    let key = organisation_with_api_key(&database_url, &a).await;
    let (api_a, api_b) = (a.api(&key), b.api(&key));
    let created = expect_json(
        api_a
            .put("/api/v1/webhook-endpoint", json!({"url": receiver.url}))
            .await,
        201,
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_owned();

    const CREDENTIALS: usize = 40;
    for index in 0..CREDENTIALS {
        let api = if index % 2 == 0 { &api_a } else { &api_b };
        expect_json(
            api.post(
                "/api/v1/credentials",
                json!({"utilityId": "sandbox-water", "username": "user_nomfa", "password": "pass_good", "correlationId": format!("c{index}")}),
            )
            .await,
            201,
        )
        .await;
    }
    wait_until(
        "every credential connected and synced",
        Duration::from_secs(60),
        async || {
            credentials(&api_a)
                .await
                .iter()
                .all(|c| c["lastSyncedAt"].is_string())
        },
    )
    .await;
    // Let both replicas run a few scheduled syncs that find nothing new.
    tokio::time::sleep(Duration::from_secs(5)).await;

    sandbox
        .admin(
            "/api/admin/expire-tokens",
            json!({"username": "user_nomfa"}),
        )
        .await;
    wait_until(
        "every credential flagged for an MFA refresh",
        Duration::from_secs(60),
        async || {
            credentials(&api_b)
                .await
                .iter()
                .all(|c| c["statusDetail"] == "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED")
        },
    )
    .await;
    wait_until(
        "every webhook delivered",
        Duration::from_secs(60),
        async || receiver.received().len() >= 3 * CREDENTIALS,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let received = receiver.received();
    let ids: HashSet<&str> = received.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), received.len(), "a message was sent twice");
    assert!(received.iter().all(|r| verify(&secret, r)));
    let counts = messages_per_change(&receiver);
    let all = credentials(&api_a).await;
    assert_eq!(all.len(), CREDENTIALS);
    for credential in &all {
        let id = credential["id"].as_str().unwrap().to_owned();
        for (kind, detail) in [
            ("STATUS_CHANGE", "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL"),
            ("NEW_DATA_AVAILABLE", "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL"),
            (
                "STATUS_CHANGE",
                "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED",
            ),
        ] {
            assert_eq!(
                counts.get(&(id.clone(), kind.to_owned(), detail.to_owned())),
                Some(&1),
                "{id}: {kind} {detail}"
            );
        }
        let events = expect_json(
            api_b.get(&format!("/api/v1/credentials/{id}/events")).await,
            200,
        )
        .await;
        let kinds: Vec<&str> = events
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "CREATED",
                "STATUS_CHANGE",
                "NEW_DATA_AVAILABLE",
                "STATUS_CHANGE"
            ],
            "{id}"
        );
    }
    assert_eq!(received.len(), 3 * CREDENTIALS);

    // Both replicas did some of the work.
    for replica in [&a, &b] {
        assert!(
            replica.log_text().contains("credential status changed"),
            "{} ran no job:\n{}",
            replica.url,
            replica.log_text()
        );
    }
    for replica in [&a, &b] {
        replica.signal("-TERM");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_sync_loses_nothing_and_another_finishes_on_postgres() {
    let database_url = common::fresh_postgres_database().await;
    let sandbox = spawn_sandbox().await;
    let receiver = WebhookReceiver::start(0).await;
    let master_key = MasterKey::generate("k1").to_config_value();
    let options = ["--job-lease=8s"];
    let first = Replica::start(&database_url, &sandbox.url, &master_key, &options);
    first.wait_until_healthy().await;
    let key = organisation_with_api_key(&database_url, &first).await;
    let api = first.api(&key);
    expect_json(
        api.put("/api/v1/webhook-endpoint", json!({"url": receiver.url}))
            .await,
        201,
    )
    .await;
    // Every answer of the utility takes 1.5 s: a sync (accounts, then each account's statements) takes seconds.
    sandbox
        .admin(
            "/api/admin/utilities/sandbox-water/faults",
            json!({"latencyMs": 1500}),
        )
        .await;
    const CREDENTIALS: usize = 10;
    for index in 0..CREDENTIALS {
        expect_json(
            api.post(
                "/api/v1/credentials",
                json!({"utilityId": "sandbox-water", "username": "user_nomfa", "password": "pass_good", "correlationId": format!("c{index}")}),
            )
            .await,
            201,
        )
        .await;
    }
    let db = Database::connect(&DatabaseUrl::parse(&database_url).unwrap())
        .await
        .unwrap();
    wait_until("a sync in flight", Duration::from_secs(60), async || {
        let (in_flight,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM credentials WHERE sync_lease_until IS NOT NULL AND last_synced_at IS NULL",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        in_flight > 0
    })
    .await;
    first.signal("-KILL");
    drop(first);
    let (unsynced,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM credentials WHERE last_synced_at IS NULL")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert!(unsynced > 0, "the kill came too late to interrupt a sync");
    sandbox
        .admin("/api/admin/utilities/sandbox-water/faults", json!({}))
        .await;

    let second = Replica::start(&database_url, &sandbox.url, &master_key, &options);
    second.wait_until_healthy().await;
    let api = second.api(&key);
    wait_until(
        "the other replica finishing every sync",
        Duration::from_secs(90),
        async || {
            credentials(&api)
                .await
                .iter()
                .all(|c| c["lastSyncedAt"].is_string())
        },
    )
    .await;
    wait_until(
        "every NEW_DATA_AVAILABLE webhook",
        Duration::from_secs(30),
        async || {
            messages_per_change(&receiver)
                .keys()
                .filter(|(_, kind, _)| kind == "NEW_DATA_AVAILABLE")
                .count()
                == CREDENTIALS
        },
    )
    .await;
    let counts = messages_per_change(&receiver);
    for credential in credentials(&api).await {
        let id = credential["id"].as_str().unwrap();
        assert_eq!(
            credential["statusDetail"],
            "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL"
        );
        let accounts = expect_json(
            api.get(&format!("/api/v1/credentials/{id}/accounts")).await,
            200,
        )
        .await;
        let statements = expect_json(
            api.get(&format!("/api/v1/credentials/{id}/statements"))
                .await,
            200,
        )
        .await;
        assert_eq!(
            statements.as_array().unwrap().len(),
            12 * accounts.as_array().unwrap().len(),
            "{id}"
        );
        let events = expect_json(
            api.get(&format!("/api/v1/credentials/{id}/events")).await,
            200,
        )
        .await;
        let new_data = events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "NEW_DATA_AVAILABLE")
            .count();
        assert_eq!(
            new_data, 1,
            "{id}: the interrupted sync left nothing half-done"
        );
        for kind in ["STATUS_CHANGE", "NEW_DATA_AVAILABLE"] {
            let key = (
                id.to_owned(),
                kind.to_owned(),
                "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL".to_owned(),
            );
            assert_eq!(counts.get(&key), Some(&1), "{id}: {kind}");
        }
    }
    db.close().await;
    second.signal("-TERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_send_each_queued_mail_exactly_once_on_postgres() {
    let database_url = common::fresh_postgres_database().await;
    let sandbox = spawn_sandbox().await;
    // One mail server for both replicas: the sandbox's catcher, run here.
    let catcher = server::tools::sandbox::Sandbox::default();
    let smtp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let smtp_url = format!("--smtp-url=smtp://{}", smtp.local_addr().unwrap());
    let stop_catcher = tokio_util::sync::CancellationToken::new();
    tokio::spawn(server::tools::sandbox::serve_smtp(
        smtp,
        catcher.clone(),
        stop_catcher.clone(),
    ));
    let master_key = MasterKey::generate("k1").to_config_value();
    let options = [
        smtp_url.as_str(),
        "--mail-from=Gridlink <no-reply@example.com>",
    ];
    let a = Replica::start(&database_url, &sandbox.url, &master_key, &options);
    a.wait_until_healthy().await;
    let b = Replica::start(&database_url, &sandbox.url, &master_key, &options);
    b.wait_until_healthy().await;

    // Mail queued while both run: their mail jobs race for it.
    const MAILS: usize = 60;
    let db = Database::connect(&DatabaseUrl::parse(&database_url).unwrap())
        .await
        .unwrap();
    let keyring = server::infra::crypto::Keyring::parse(&master_key).unwrap();
    let now = server::infra::clock::to_ms(time::OffsetDateTime::now_utc());
    let mut tx = db.begin_write().await.unwrap();
    for index in 0..MAILS {
        let to = format!("operator{index}@example.com");
        server::domain::mail::outbox::enqueue(
            &mut tx,
            &keyring,
            &server::domain::mail::outbox::OutgoingMail {
                organisation_id: None,
                credential_id: None,
                kind: server::domain::mail::outbox::MailKind::PasswordReset,
                to: &to,
                content: server::domain::mail::outbox::Content {
                    from_name: None,
                    subject: format!("Mail {index}"),
                    text: "Hello".to_owned(),
                    html: "<p>Hello</p>".to_owned(),
                    unsubscribe_url: None,
                },
            },
            now,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    wait_until("every mail caught", Duration::from_secs(60), async || {
        catcher.lock().mail.len() >= MAILS
    })
    .await;
    // Time for a duplicate to show up, if there were one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let recipients: Vec<String> = catcher
        .lock()
        .mail
        .iter()
        .map(|mail| mail.to.clone())
        .collect();
    assert_eq!(recipients.len(), MAILS, "each mail once");
    assert_eq!(recipients.iter().collect::<HashSet<_>>().len(), MAILS);
    let (sent, attempts): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(SUM(attempts) AS BIGINT) FROM mail_outbox WHERE state = 'SENT'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!((sent, attempts), (MAILS as i64, MAILS as i64));
    db.close().await;
    stop_catcher.cancel();
    a.signal("-TERM");
    b.signal("-TERM");
}
