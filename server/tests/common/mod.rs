//! Test harness: starts the real server on port 0, with the embedded sandbox,
//! against a fresh database per test (a SQLite file, or a new PostgreSQL database).
//!
//! Tests that touch the database are written once and run on both backends
//! with [`database_tests!`]. The PostgreSQL variants need
//! `GRIDLINK_TEST_POSTGRES_URL` (an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/test`); `scripts/test` sets it when
//! PostgreSQL answers and otherwise skips them with a visible message.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::path::{Path, PathBuf};

use rand::Rng;
use server::app::cli::{Cli, Command};
use server::app::config::ServeConfig;
use server::app::server::RunningServer;
use server::infra::clock::Clock;
use server::infra::crypto::MasterKey;
use sqlx::{AnyConnection, Connection, Executor};
use tokio_util::sync::CancellationToken;

pub mod tls;
pub mod webhook_receiver;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates, for each named `async fn(Backend)`, a module with an
/// `on_sqlite` and an `on_postgres` test.
#[macro_export]
macro_rules! database_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn on_sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }

            #[tokio::test]
            async fn on_postgres() {
                super::$name($crate::common::Backend::Postgres).await
            }
        }
    )*};
}

/// A port nothing listens on now, on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A folder under the system's temp folder, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let suffix: u64 = rand::thread_rng().gen();
        let path = std::env::temp_dir().join(format!("{prefix}-{suffix:016x}"));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.0.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A running Gridlink, stopped when dropped.
pub struct TestApp {
    pub base_url: String,
    pub sandbox_url: String,
    pub client: reqwest::Client,
    pub backend: Backend,
    shutdown: CancellationToken,
    server: Option<RunningServer>,
    argv: Vec<String>,
    data_dir: TempDir,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The value the server was started with for `--name`, if any.
    pub fn arg(&self, name: &str) -> Option<&str> {
        let prefix = format!("--{name}=");
        self.argv.iter().find_map(|arg| arg.strip_prefix(&prefix))
    }

    pub fn sandbox(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox_url)
    }

    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// The code an authenticator app shows for `secret` (base32) at the
    /// server's time (RFC 6238: SHA-1, 6 digits, 30 s).
    pub fn authenticator_code(&self, secret: &str) -> String {
        let bytes = totp_rs::Secret::Encoded(secret.to_owned())
            .to_bytes()
            .expect("a base32 secret");
        let totp = totp_rs::TOTP::new(
            totp_rs::Algorithm::SHA1,
            6,
            0,
            30,
            bytes,
            None,
            "operator".into(),
        )
        .expect("a valid TOTP");
        totp.generate((self.state().clock.now_ms() / 1000) as u64)
    }

    /// The running server's shared state: its database, clock and jobs.
    pub fn state(&self) -> &server::http::state::AppState {
        &self.server.as_ref().expect("the server runs").state
    }

    /// A client without credentials.
    pub fn anonymous(&self) -> Client {
        Client {
            base: self.base_url.clone(),
            http: self.client.clone(),
            auth: Auth::None,
        }
    }

    /// A client holding a Connect token, as Connect does.
    pub fn connect_client(&self, token: &str) -> Client {
        Client {
            base: self.base_url.clone(),
            http: self.client.clone(),
            auth: Auth::Bearer(token.to_owned()),
        }
    }

    /// Signs an operator in through the API.
    pub async fn sign_in(&self, email: &str, password: &str) -> Client {
        let response = self
            .anonymous()
            .post(
                "/api/session",
                serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(response.status(), 200, "sign-in of {email} failed");
        let cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let body: serde_json::Value = response.json().await.unwrap();
        Client {
            base: self.base_url.clone(),
            http: self.client.clone(),
            auth: Auth::Session {
                cookie,
                csrf: body["csrfToken"].as_str().unwrap().to_owned(),
            },
        }
    }

    /// A new organisation with a signed-in admin and an API key.
    pub async fn organisation(&self, name: &str) -> Organisation {
        let slug: String = name
            .to_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let email = format!(
            "admin-{slug}-{:08x}@example.com",
            rand::thread_rng().gen::<u32>()
        );
        let password = "a long admin password";
        let created = server::domain::organisations::create_with_admin(
            &self.state().db,
            name,
            &email,
            password,
            self.state().clock.now_ms(),
        )
        .await
        .expect("create an organisation");
        let admin = self.sign_in(&email, password).await;
        let key: serde_json::Value = admin
            .post("/api/v1/api-keys", serde_json::json!({"name": "tests"}))
            .await
            .json()
            .await
            .unwrap();
        let api = Client {
            base: self.base_url.clone(),
            http: self.client.clone(),
            auth: Auth::Bearer(key["secret"].as_str().expect("an API key").to_owned()),
        };
        Organisation {
            id: created.organisation_id,
            admin_email: email,
            admin,
            api,
        }
    }

    /// Waits (up to 15 s) until the credential has `detail`; returns its body.
    pub async fn wait_for_detail(
        &self,
        client: &Client,
        credential_id: &str,
        detail: &str,
    ) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let body: serde_json::Value = client
                .get(&format!("/api/v1/credentials/{credential_id}"))
                .await
                .json()
                .await
                .unwrap();
            if body["statusDetail"] == detail {
                return body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "credential stayed {} instead of {detail}",
                body["statusDetail"]
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 15 s) until a sync has stored the credential's data after
    /// `after` (an RFC 3339 time, or none for the first sync); returns its body.
    pub async fn wait_for_sync(
        &self,
        client: &Client,
        credential_id: &str,
        after: Option<&str>,
    ) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let body: serde_json::Value = client
                .get(&format!("/api/v1/credentials/{credential_id}"))
                .await
                .json()
                .await
                .unwrap();
            let synced = body["lastSyncedAt"].as_str();
            let newer = match (synced, after) {
                (Some(synced), Some(after)) => {
                    let parse = |text: &str| {
                        time::OffsetDateTime::parse(
                            text,
                            &time::format_description::well_known::Rfc3339,
                        )
                        .unwrap()
                    };
                    parse(synced) > parse(after)
                }
                (Some(_), None) => true,
                (None, _) => false,
            };
            if newer {
                return body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no sync after {after:?}: {body}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Creates a credential for a login without MFA and waits until its first
    /// sync has stored its data; returns its id.
    pub async fn synced_credential(
        &self,
        client: &Client,
        utility: &str,
        username: &str,
    ) -> String {
        let created = expect_json(
            client
                .post(
                    "/api/v1/credentials",
                    serde_json::json!({"utilityId": utility, "username": username, "password": "pass_good"}),
                )
                .await,
            201,
        )
        .await;
        let id = created["id"].as_str().unwrap().to_owned();
        self.wait_for_sync(client, &id, None).await;
        id
    }

    /// Waits until Connect shows `step`; returns the Connect state.
    pub async fn wait_for_step(&self, connect: &Client, step: &str) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let body: serde_json::Value = connect
                .get("/api/connect/session")
                .await
                .json()
                .await
                .unwrap();
            if body["step"] == step {
                return body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "Connect stayed at {} instead of {step}: {body}",
                body["step"]
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The sandbox's call counts per utility (`GET /api/admin/stats`).
    pub async fn sandbox_stats(&self) -> serde_json::Value {
        self.client
            .get(self.sandbox("/api/admin/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The newest code the sandbox's outbox shows for `username` at `utility`.
    pub async fn latest_code(&self, utility: &str, username: &str) -> String {
        let entries: Vec<serde_json::Value> = self
            .client
            .get(self.sandbox("/api/outbox"))
            .query(&[("utility", utility), ("username", username)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        entries.first().expect("a code was sent")["code"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Connects `username` at `utility` through Connect, as an end-user with
    /// the Connect token `api` makes from `token_body`: the login, SMS, the
    /// code from the outbox. Returns Connect's last state (SUCCESS).
    pub async fn connect_with_sms(
        &self,
        api: &Client,
        token_body: serde_json::Value,
        utility: &str,
        username: &str,
    ) -> serde_json::Value {
        let token = expect_json(api.post("/api/v1/connect-tokens", token_body).await, 201).await;
        let connect = self.connect_client(token["token"].as_str().unwrap());
        expect_json(
            connect
                .post(
                    "/api/connect/credentials",
                    serde_json::json!({"utilityId": utility, "username": username, "password": "pass_good"}),
                )
                .await,
            200,
        )
        .await;
        self.wait_for_step(&connect, "CHOOSE_METHOD").await;
        expect_json(
            connect
                .post(
                    "/api/connect/mfa/method",
                    serde_json::json!({"method": "SMS"}),
                )
                .await,
            200,
        )
        .await;
        let code = self.latest_code(utility, username).await;
        let done = expect_json(
            connect
                .post("/api/connect/mfa/code", serde_json::json!({"code": code}))
                .await,
            200,
        )
        .await;
        assert_eq!(done["step"], "SUCCESS");
        done
    }

    /// The mail the sandbox's catcher took for `to`, newest first.
    pub async fn mail_to(&self, to: &str) -> Vec<serde_json::Value> {
        self.client
            .get(self.sandbox("/api/mail"))
            .query(&[("to", to)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits (up to 15 s) until the catcher holds `count` messages for `to`; returns them, newest first.
    pub async fn wait_for_mail(&self, to: &str, count: usize) -> Vec<serde_json::Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let mail = self.mail_to(to).await;
            if mail.len() >= count {
                return mail;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} mail for {to} instead of {count}",
                mail.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// POSTs to a sandbox admin endpoint.
    pub async fn sandbox_admin(&self, path: &str, body: serde_json::Value) {
        let response = self
            .client
            .post(self.sandbox(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }

    /// Stops the server the way SIGTERM does and waits until it has stopped.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        match self.server.take() {
            Some(server) => server.wait().await,
            None => Ok(()),
        }
    }

    /// Stops the server and tries to start a new one on the same database and
    /// data folder with its arguments changed by `change`; the error if it
    /// refuses to start.
    pub async fn try_restart_with(
        mut self,
        change: impl FnOnce(&mut Vec<String>),
    ) -> anyhow::Result<TestApp> {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.wait().await.expect("clean shutdown");
        }
        let data_dir = std::mem::replace(&mut self.data_dir, TempDir(PathBuf::new()));
        let mut argv = self.argv.clone();
        change(&mut argv);
        try_start(self.backend, argv, data_dir, Clock::default()).await
    }

    /// Stops the server and starts a new one on the same database and data folder.
    pub async fn restart(mut self) -> TestApp {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.wait().await.expect("clean shutdown");
        }
        let data_dir = std::mem::replace(&mut self.data_dir, TempDir(PathBuf::new()));
        start(self.backend, self.argv.clone(), data_dir).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Options for [`spawn_app_with`].
#[derive(Default)]
pub struct TestAppOptions {
    /// The web app folder; default: a folder that does not exist (app not built).
    pub static_dir: Option<PathBuf>,
    pub demo: bool,
    /// Talk to this utility service instead of starting the embedded sandbox.
    pub utility_url: Option<String>,
    /// `--utility-secret`: sign the calls to `utility_url` with it.
    pub utility_secret: Option<String>,
    pub public_url: Option<String>,
    /// `--job-lease`, e.g. `1s`; default: the server's default.
    pub job_lease: Option<String>,
    /// Keep the production rule that webhooks only go to public addresses.
    /// Off by default here: test receivers listen on loopback.
    pub refuse_private_webhooks: bool,
    /// `--ssl-cert-file`: the CA bundle outgoing TLS trusts.
    pub ssl_cert_file: Option<PathBuf>,
    /// `--tls-cert` and `--tls-key`: serve HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `--trusted-proxies`, e.g. `127.0.0.1` to let a test play several
    /// clients through `X-Forwarded-For`.
    pub trusted_proxies: Option<String>,
    /// More `gridlink serve` arguments, e.g. `--header-timeout=2s`.
    pub extra_args: Vec<String>,
    /// The database, instead of the backend's fresh one (e.g. through a
    /// proxy the test can cut, or on a disk it can fill).
    pub database_url: Option<String>,
    /// The master key, e.g. to run a second replica on the same database;
    /// default: a new one.
    pub master_key: Option<String>,
    /// The server's clock, e.g. one whose system clock is set wrong.
    pub clock: Option<Clock>,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, TestAppOptions::default()).await
}

/// The server on SQLite, serving the web app found in `static_dir`.
pub async fn spawn_app_serving(static_dir: &Path) -> TestApp {
    spawn_app_with(
        Backend::Sqlite,
        TestAppOptions {
            static_dir: Some(static_dir.into()),
            ..Default::default()
        },
    )
    .await
}

pub async fn spawn_app_with(backend: Backend, options: TestAppOptions) -> TestApp {
    let data_dir = TempDir::new("gridlink-test");
    let database_url = match (&options.database_url, backend) {
        (Some(url), _) => url.clone(),
        (None, Backend::Sqlite) => {
            format!("sqlite://{}", data_dir.path().join("gridlink.db").display())
        }
        (None, Backend::Postgres) => fresh_postgres_database().await,
    };
    let static_dir = options
        .static_dir
        .unwrap_or_else(|| data_dir.path().join("no-web-app"));
    let mut argv = vec![
        "gridlink".to_owned(),
        "serve".to_owned(),
        "--listen=127.0.0.1:0".to_owned(),
        "--sandbox-listen=127.0.0.1:0".to_owned(),
        "--sandbox-smtp-listen=127.0.0.1:0".to_owned(),
        format!("--database-url={database_url}"),
        format!("--data-dir={}", data_dir.path().display()),
        format!("--static-dir={}", static_dir.display()),
    ];
    if let Some(url) = &options.public_url {
        argv.push(format!("--public-url={url}"));
    }
    match &options.utility_url {
        Some(url) => argv.push(format!("--utility-url={url}")),
        None => argv.push("--sandbox".to_owned()),
    }
    if let Some(secret) = &options.utility_secret {
        argv.push(format!("--utility-secret={secret}"));
    }
    if let Some(lease) = &options.job_lease {
        argv.push(format!("--job-lease={lease}"));
    }
    if !options.refuse_private_webhooks {
        argv.push("--webhook-allow-private".to_owned());
    }
    if let Some(file) = &options.ssl_cert_file {
        argv.push(format!("--ssl-cert-file={}", file.display()));
    }
    if let Some(proxies) = &options.trusted_proxies {
        argv.push(format!("--trusted-proxies={proxies}"));
    }
    if let Some((cert, key)) = &options.tls {
        argv.push(format!("--tls-cert={}", cert.display()));
        argv.push(format!("--tls-key={}", key.display()));
    }
    argv.extend(options.extra_args.iter().cloned());
    if options.demo {
        argv.push("--demo".to_owned());
    } else {
        argv.push(format!(
            "--master-key={}",
            options
                .master_key
                .unwrap_or_else(|| MasterKey::generate("test").to_config_value())
        ));
    }
    try_start(backend, argv, data_dir, options.clock.unwrap_or_default())
        .await
        .expect("the server starts")
}

async fn start(backend: Backend, argv: Vec<String>, data_dir: TempDir) -> TestApp {
    try_start(backend, argv, data_dir, Clock::default())
        .await
        .expect("the server starts")
}

async fn try_start(
    backend: Backend,
    argv: Vec<String>,
    data_dir: TempDir,
    clock: Clock,
) -> anyhow::Result<TestApp> {
    let Command::Serve(args) = <Cli as clap::Parser>::parse_from(&argv).into_command() else {
        unreachable!("serve was given")
    };
    let config = ServeConfig::from_args(&args)?;
    let shutdown = CancellationToken::new();
    // Logins, syncs and webhooks are picked up at once; sweeps and retention
    // run only when a test calls them.
    let schedule = server::jobs::Schedule {
        login_poll: std::time::Duration::from_millis(100),
        sync_poll: std::time::Duration::from_millis(100),
        webhook_poll: std::time::Duration::from_millis(100),
        expiry_sweep: std::time::Duration::from_secs(3600),
        staleness_check: std::time::Duration::from_secs(3600),
        incident_watch: std::time::Duration::from_secs(3600),
        catalogue_refresh: std::time::Duration::from_secs(3600),
        retention: std::time::Duration::from_secs(3600),
        count_fold: std::time::Duration::from_secs(1),
        mail_poll: std::time::Duration::from_millis(100),
        notices: std::time::Duration::from_secs(3600),
        // Connect's waits end when this process's login worker says so: a
        // test that waits shows that it does.
        connect_recheck: std::time::Duration::from_secs(3600),
        clock_sync: std::time::Duration::from_secs(3600),
    };
    let server = server::app::server::start_with(config, shutdown.clone(), clock, schedule).await?;
    Ok(TestApp {
        base_url: format!(
            "{}://{}",
            if argv.iter().any(|arg| arg.starts_with("--tls-cert=")) {
                "https"
            } else {
                "http"
            },
            server.local_addr
        ),
        sandbox_url: match server.sandbox_addr {
            Some(addr) => format!("http://{addr}"),
            None => argv
                .iter()
                .find_map(|arg| arg.strip_prefix("--utility-url="))
                .expect("an external utility URL")
                .trim_end_matches('/')
                .to_owned(),
        },
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        backend,
        shutdown,
        server: Some(server),
        argv,
        data_dir,
    })
}

/// Creates an empty database on the test PostgreSQL server and returns its URL.
pub async fn fresh_postgres_database() -> String {
    let admin_url = std::env::var("GRIDLINK_TEST_POSTGRES_URL").expect(
        "GRIDLINK_TEST_POSTGRES_URL is not set: run the PostgreSQL tests through scripts/test, \
         or set it to an admin URL like postgres://postgres@127.0.0.1:5432/test",
    );
    sqlx::any::install_default_drivers();
    let name = format!("gridlink_test_{:016x}", rand::thread_rng().gen::<u64>());
    let mut admin = AnyConnection::connect(&admin_url)
        .await
        .expect("connect to the test PostgreSQL server");
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create a test database");
    admin.close().await.ok();
    let mut url = reqwest::Url::parse(&admin_url).expect("a valid PostgreSQL URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// The sandbox utilities alone, on port 0, stopped when dropped.
pub struct TestSandbox {
    pub url: String,
    shutdown: CancellationToken,
}

impl TestSandbox {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// A connector to this sandbox that gives up after `timeout`, retrying reads quickly.
    pub fn connector(
        &self,
        timeout: std::time::Duration,
    ) -> server::infra::utility::http::HttpUtilityConnector {
        server::infra::utility::http::HttpUtilityConnector::new(
            reqwest::Url::parse(&self.url).unwrap(),
            timeout,
            server::infra::utility::http::RetryPolicy {
                attempts: 3,
                first_delay: std::time::Duration::from_millis(20),
            },
            &server::infra::outbound::TrustRoots::only(Vec::new()),
        )
        .unwrap()
    }

    /// The newest code the outbox shows for `username` at `utility`.
    pub async fn latest_code(&self, utility: &str, username: &str) -> String {
        let entries: Vec<serde_json::Value> = reqwest::get(self.url(&format!(
            "/api/outbox?utility={utility}&username={username}"
        )))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        entries.first().expect("a code was sent")["code"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// POSTs JSON to an admin endpoint and checks it succeeded.
    pub async fn admin(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let response = reqwest::Client::new()
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(serde_json::Value::Null)
    }
}

impl Drop for TestSandbox {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub async fn spawn_sandbox() -> TestSandbox {
    spawn_sandbox_with(server::tools::sandbox::SandboxOptions::default()).await
}

/// A sandbox that checks signatures, or offers only some utilities.
pub async fn spawn_sandbox_with(options: server::tools::sandbox::SandboxOptions) -> TestSandbox {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    tokio::spawn(server::tools::sandbox::serve(
        listener,
        shutdown.clone(),
        server::tools::sandbox::Sandbox::with_options(options),
    ));
    TestSandbox { url, shutdown }
}

/// How a [`Client`] authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    /// An operator's session cookie and its CSRF token.
    Session {
        cookie: String,
        csrf: String,
    },
    /// An API key or a Connect token.
    Bearer(String),
}

/// An HTTP client for the Gridlink API with one way of authenticating.
#[derive(Debug, Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub auth: Auth,
}

impl Client {
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let is_safe = method == reqwest::Method::GET;
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        match &self.auth {
            Auth::None => {}
            Auth::Session { cookie, csrf } => {
                request = request.header("cookie", cookie);
                if !is_safe {
                    request = request.header("x-csrf-token", csrf);
                }
            }
            Auth::Bearer(token) => request = request.bearer_auth(token),
        }
        request
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.request(reqwest::Method::PUT, path)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.request(reqwest::Method::PATCH, path)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::DELETE, path)
            .send()
            .await
            .unwrap()
    }

    /// The same session without its CSRF token, as a forged cross-site request would be.
    pub fn without_csrf(&self) -> Client {
        let auth = match &self.auth {
            Auth::Session { cookie, .. } => Auth::Session {
                cookie: cookie.clone(),
                csrf: String::new(),
            },
            other => other.clone(),
        };
        Client {
            auth,
            ..self.clone()
        }
    }
}

/// An organisation made for a test, with its admin and an API key.
pub struct Organisation {
    pub id: String,
    pub admin_email: String,
    pub admin: Client,
    pub api: Client,
}

impl Organisation {
    /// The credential's timeline, newest first.
    pub async fn timeline(&self, credential_id: &str) -> Vec<serde_json::Value> {
        let all = expect_json(
            self.api
                .get(&format!("/api/v1/credentials/{credential_id}/events"))
                .await,
            200,
        )
        .await;
        all.as_array().unwrap().clone()
    }

    /// The credential's timeline events of `kind`, newest first.
    pub async fn events(&self, credential_id: &str, kind: &str) -> Vec<serde_json::Value> {
        let mut events = self.timeline(credential_id).await;
        events.retain(|event| event["kind"] == kind);
        events
    }

    /// The kinds of the credential's timeline events, oldest first.
    pub async fn event_kinds(&self, credential_id: &str) -> Vec<String> {
        let timeline = self.timeline(credential_id).await;
        timeline
            .iter()
            .rev()
            .map(|event| event["kind"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Points the organisation's webhooks at `receiver` (as an API key does);
    /// returns the signing secret, shown this once.
    pub async fn send_webhooks_to(&self, receiver: &webhook_receiver::WebhookReceiver) -> String {
        let created = expect_json(
            self.api
                .put(
                    "/api/v1/webhook-endpoint",
                    serde_json::json!({"url": receiver.url}),
                )
                .await,
            201,
        )
        .await;
        assert_eq!(created["endpoint"]["url"], receiver.url.as_str());
        created["secret"].as_str().unwrap().to_owned()
    }
}

/// Asserts the response status and returns the JSON body.
pub async fn expect_json(response: reqwest::Response, status: u16) -> serde_json::Value {
    let actual = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
    assert_eq!(actual, status, "unexpected status; body: {body}");
    body
}

/// Queues a WEBHOOK_TEST message for `org` and waits (up to 20 s) until its
/// first attempt is recorded; returns the delivery with its attempt log.
pub async fn test_event_with_its_first_attempt(org: &Organisation) -> serde_json::Value {
    let queued = expect_json(
        org.api
            .post("/api/v1/webhook-endpoint/test", serde_json::json!({}))
            .await,
        202,
    )
    .await;
    let id = queued["id"].as_str().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let delivery = expect_json(
            org.api
                .get(&format!("/api/v1/webhook-deliveries/{id}"))
                .await,
            200,
        )
        .await;
        if delivery["attemptLog"]
            .as_array()
            .is_some_and(|log| !log.is_empty())
        {
            return delivery;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no attempt: {delivery}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
