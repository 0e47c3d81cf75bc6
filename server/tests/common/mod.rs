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
use server::cli::{Cli, Command};
use server::config::ServeConfig;
use server::crypto::MasterKey;
use server::server::RunningServer;
use sqlx::{AnyConnection, Connection, Executor};
use tokio_util::sync::CancellationToken;

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

    pub fn sandbox(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox_url)
    }

    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// Stops the server the way SIGTERM does and waits until it has stopped.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        match self.server.take() {
            Some(server) => server.wait().await,
            None => Ok(()),
        }
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
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, TestAppOptions::default()).await
}

pub async fn spawn_app_with(backend: Backend, options: TestAppOptions) -> TestApp {
    let data_dir = TempDir::new("gridlink-test");
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}", data_dir.path().join("gridlink.db").display()),
        Backend::Postgres => fresh_postgres_database().await,
    };
    let static_dir = options
        .static_dir
        .unwrap_or_else(|| data_dir.path().join("no-web-app"));
    let mut argv = vec![
        "gridlink".to_owned(),
        "serve".to_owned(),
        "--listen=127.0.0.1:0".to_owned(),
        "--sandbox-listen=127.0.0.1:0".to_owned(),
        format!("--database-url={database_url}"),
        format!("--data-dir={}", data_dir.path().display()),
        format!("--static-dir={}", static_dir.display()),
    ];
    if options.demo {
        argv.push("--demo".to_owned());
    } else {
        argv.push(format!(
            "--master-key={}",
            MasterKey::generate("test").to_config_value()
        ));
    }
    start(backend, argv, data_dir).await
}

async fn start(backend: Backend, argv: Vec<String>, data_dir: TempDir) -> TestApp {
    let Command::Serve(args) = <Cli as clap::Parser>::parse_from(&argv).into_command() else {
        unreachable!("serve was given")
    };
    let config = ServeConfig::from_args(&args).expect("valid test configuration");
    let shutdown = CancellationToken::new();
    let server = server::server::start(config, shutdown.clone())
        .await
        .expect("the server starts");
    TestApp {
        base_url: format!("http://{}", server.local_addr),
        sandbox_url: format!("http://{}", server.sandbox_addr.expect("embedded sandbox")),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        backend,
        shutdown,
        server: Some(server),
        argv,
        data_dir,
    }
}

/// Creates an empty database on the test PostgreSQL server and returns its URL.
async fn fresh_postgres_database() -> String {
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
    ) -> server::utility::http::HttpUtilityConnector {
        server::utility::http::HttpUtilityConnector::new(
            reqwest::Url::parse(&self.url).unwrap(),
            timeout,
            server::utility::http::RetryPolicy {
                attempts: 3,
                first_delay: std::time::Duration::from_millis(20),
            },
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    tokio::spawn(server::sandbox::serve(listener, shutdown.clone()));
    TestSandbox { url, shutdown }
}
