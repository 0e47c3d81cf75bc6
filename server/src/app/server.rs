//! Starting and stopping `gridlink serve`: bind the sockets, open and migrate
//! the database, start the sandbox when it is embedded, serve until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use reqwest::Url;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::app::banner::{banner, MailShown, StartSummary};
use crate::app::config::{MailRoute, ServeConfig, UtilitySource};
use crate::app::demo;
use crate::domain::ctx::{Ctx, Wakeups};
use crate::domain::incidents::tally::{CallTally, ObservedConnector};
use crate::domain::settings::Settings;
use crate::http::spa::SpaAssets;
use crate::http::state::AppState;
use crate::http::{metrics_endpoint, router, serving};
use crate::infra::clock::Clock;
use crate::infra::config::{self, ConfigError};
use crate::infra::crypto::Keyring;
use crate::infra::https::TlsListener;
use crate::infra::mail_transport::{Mailer, SmtpConfig};
use crate::infra::store::Database;
use crate::infra::utility::adapters::AdapterSet;
use crate::infra::utility::catalog::UtilityCatalog;
use crate::infra::utility::http::{HttpUtilityConnector, RetryPolicy};
use crate::infra::utility::in_flight::InFlightSlots;
use crate::infra::utility::UtilityConnector;
use crate::infra::webhook_signing::SigningSecret;
use crate::jobs::{self, Schedule};
use crate::tools::sandbox;
use crate::tools::sandbox::{Sandbox, SandboxOptions};

/// How long Gridlink waits for one answer from a utility. Real utility sites
/// are slow; the sandbox's slow scenario answers in about five seconds.
const UTILITY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// A started server. Dropping it does not stop it: cancel the shutdown token.
pub struct RunningServer {
    pub local_addr: SocketAddr,
    pub public_url: Url,
    /// Where the embedded sandbox listens, when it runs in this process.
    pub sandbox_addr: Option<SocketAddr>,
    /// Where its mail catcher (SMTP) listens, when mail goes there.
    pub sandbox_smtp_addr: Option<SocketAddr>,
    /// The state the handlers and jobs share (tests drive jobs and the clock through it).
    pub state: AppState,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    /// Waits until the server has stopped (after the shutdown token was cancelled).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("The server task panicked")?
    }
}

/// Binds a listener, naming the option when the address is taken or not ours.
pub async fn bind(option: &'static str, addr: SocketAddr) -> Result<TcpListener, ConfigError> {
    TcpListener::bind(addr)
        .await
        .map_err(|error| ConfigError::new(option, format!("cannot listen on {addr}: {error}")))
}

/// Starts everything `gridlink serve` runs; it stops when `shutdown` is cancelled.
pub async fn start(
    config: ServeConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<RunningServer> {
    start_with(config, shutdown, Clock::default(), Schedule::default()).await
}

/// [`start`] with a given clock and job schedule (tests move the clock).
pub async fn start_with(
    config: ServeConfig,
    shutdown: CancellationToken,
    clock: Clock,
    schedule: Schedule,
) -> anyhow::Result<RunningServer> {
    let listener = bind(config::LISTEN, config.listen).await?;
    let local_addr = listener
        .local_addr()
        .context("Failed to read the bound address")?;
    // Installed first, so that everything from here on is counted.
    let metrics = match config.metrics_listen {
        Some(addr) => Some((
            bind(config::METRICS_LISTEN, addr).await?,
            crate::infra::metrics::install()?,
        )),
        None => None,
    };
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let public_url = match &config.public_url {
        Some(url) => url.clone(),
        None => Url::parse(&format!("{scheme}://{local_addr}"))
            .context("Failed to build the public URL")?,
    };

    let db = Database::connect_waiting(&config.database.url, config.database.wait).await?;
    db.migrate().await?;
    crate::jobs::clock_sync::start(&db, &clock).await?;

    let (master_key, demo) = match (&config.master_key, &config.demo) {
        (Some(key), demo) => (key.clone(), demo.is_some()),
        (None, Some(_)) => (
            Keyring::single(demo::load_or_create_master_key(&config.database.data_dir)?),
            true,
        ),
        (None, None) => unreachable!("config validation requires a master key outside demo mode"),
    };
    crate::app::key_check::verify_master_key(&db, &master_key, clock.now_ms()).await?;
    tracing::info!(
        key_id = master_key.current().id(),
        "master key loaded and verified"
    );

    let mut tasks = tokio::task::JoinSet::new();
    tracing::info!(
        source = config.trust.source,
        certificates = config.trust.count,
        "outgoing TLS trusts these certificate authorities"
    );
    let connector = |url: Url, secret: Option<SigningSecret>| {
        HttpUtilityConnector::new(url, UTILITY_TIMEOUT, RetryPolicy::default(), &config.trust)
            .map(|connector| connector.with_secret(secret))
            .context("Failed to create the HTTP client for utilities")
    };
    let mut sandbox_smtp_addr = None;
    let (sandbox_addr, adapters) = match &config.utility {
        UtilitySource::EmbeddedSandbox { listen } => {
            let sandbox_listener = bind(config::SANDBOX_LISTEN, *listen).await?;
            let addr = sandbox_listener
                .local_addr()
                .context("Failed to read the sandbox address")?;
            // The embedded sandbox checks signatures too, with a secret of this run.
            let secret = SigningSecret::generate();
            let sandbox = Sandbox::with_options(SandboxOptions {
                secret: Some(secret.clone()),
                utilities: None,
            });
            if let MailRoute::SandboxCatcher { listen } = &config.mail.route {
                let smtp_listener = bind(config::SANDBOX_SMTP_LISTEN, *listen).await?;
                let smtp_addr = smtp_listener
                    .local_addr()
                    .context("Failed to read the mail catcher's address")?;
                tasks.spawn(sandbox::serve_smtp(
                    smtp_listener,
                    sandbox.clone(),
                    shutdown.clone(),
                ));
                sandbox_smtp_addr = Some(smtp_addr);
            }
            tasks.spawn(sandbox::serve(sandbox_listener, shutdown.clone(), sandbox));
            let url =
                Url::parse(&format!("http://{addr}")).context("Failed to build the sandbox URL")?;
            (
                Some(addr),
                vec![("sandbox".to_owned(), connector(url, Some(secret))?)],
            )
        }
        UtilitySource::Adapters(list) => {
            let mut adapters = Vec::with_capacity(list.len());
            for adapter in list {
                tracing::info!(adapter = adapter.name, url = %adapter.url, signed = adapter.secret.is_some(), "utility adapter");
                adapters.push((
                    adapter.name.clone(),
                    connector(adapter.url.clone(), adapter.secret.clone())?,
                ));
            }
            (None, adapters)
        }
    };
    let adapters = Arc::new(AdapterSet::new(adapters));
    adapters.check_at_start().await?;

    let utility_calls = CallTally::default();
    let utility: Arc<dyn UtilityConnector> = Arc::new(ObservedConnector::new(
        Arc::clone(&adapters) as Arc<dyn UtilityConnector>,
        InFlightSlots::new(config.jobs.utility_max_in_flight),
        utility_calls.clone(),
        clock.clone(),
    ));
    let ctx = Ctx {
        db: db.clone(),
        clock,
        keyring: Arc::new(master_key),
        settings: Arc::new(Settings {
            public_url: public_url.clone(),
            demo,
            jobs: config.jobs,
            trust: config.trust.clone(),
            webhook_allow_private: config.webhook_allow_private,
            mail_from: config.mail.from.clone(),
        }),
        wakeups: Wakeups::new(schedule.connect_recheck, &shutdown),
    };
    let state = AppState {
        ctx,
        utilities: UtilityCatalog::new(Arc::clone(&utility)),
        utility,
        adapters,
        utility_calls,
        spa: Arc::new(SpaAssets::load(&config.static_dir)),
        trusted_proxies: Arc::new(config.trusted_proxies.clone()),
        rate_limits: Arc::default(),
        readiness: Arc::default(),
    };
    let demo_operator_password = match &config.demo {
        Some(settings) => Some(demo::seed(&state, settings).await?),
        None => None,
    };
    let mailer = match (&config.mail.route, sandbox_smtp_addr) {
        (MailRoute::Smtp(smtp), _) => Some(smtp.clone()),
        (MailRoute::SandboxCatcher { .. }, Some(addr)) => Some(
            SmtpConfig::parse(&format!("smtp://{addr}"))
                .context("Failed to address the mail catcher")?,
        ),
        _ => None,
    }
    .map(|smtp| Mailer::new(&smtp, &config.trust).map(Arc::new))
    .transpose()
    .context("Failed to set up the mail transport")?;
    jobs::spawn_all(&mut tasks, &state.job_ctx(), schedule, &shutdown, mailer);
    let router = router::app(state.clone());
    tasks.spawn(forget_idle_clients(state.clone(), shutdown.clone()));
    let limits = config.connections;
    if let Some((metrics_listener, handle)) = metrics {
        let url = format!("http://{}/metrics", metrics_listener.local_addr()?);
        tracing::info!(%url, "Prometheus metrics listening");
        let metrics = metrics_endpoint::router(state.ctx.clone(), handle);
        tasks.spawn(serving::serve(
            metrics_listener,
            metrics,
            limits,
            shutdown.clone(),
        ));
    }
    match &config.tls {
        Some(tls) => {
            let listener = TlsListener::new(listener, Arc::clone(tls), shutdown.clone())
                .context("Failed to start the HTTPS listener")?;
            tasks.spawn(serving::serve(listener, router, limits, shutdown.clone()));
        }
        None => {
            tasks.spawn(serving::serve(listener, router, limits, shutdown.clone()));
        }
    }

    let app_url = public_url.as_str().trim_end_matches('/').to_owned();
    let sandbox_url = sandbox_addr.map(|addr| format!("http://{addr}"));
    let mail = match (&config.mail.route, &sandbox_url) {
        (MailRoute::Smtp(smtp), _) => MailShown::Smtp(smtp.describe()),
        (MailRoute::SandboxCatcher { .. }, Some(url)) => MailShown::Caught(format!("{url}/mail")),
        _ => {
            tracing::warn!(
                "no mail server (GRIDLINK_SMTP_URL): mail to operators and end-users waits in the queue until one is set"
            );
            MailShown::Queued
        }
    };
    let adapter_names: Vec<&str> = match &config.utility {
        UtilitySource::Adapters(list) => list.iter().map(|adapter| adapter.name.as_str()).collect(),
        UtilitySource::EmbeddedSandbox { .. } => Vec::new(),
    };
    println!(
        "{}",
        banner(&StartSummary {
            app_url: &app_url,
            demo_password: demo_operator_password.as_deref(),
            sandbox_url: sandbox_url.as_deref(),
            adapters: adapter_names,
            mail,
        })
    );
    if demo {
        tracing::warn!("demo mode: generated master key and demo data; never use it in production");
    }
    if let Some(url) = &sandbox_url {
        tracing::warn!(%url, mail_caught = sandbox_smtp_addr.is_some(), "the sandbox utilities run: never in production");
    }
    tracing::info!(url = %app_url, "Gridlink is listening");

    let task = tokio::spawn(async move {
        let mut outcome = Ok(());
        while let Some(joined) = tasks.join_next().await {
            let result = joined
                .context("A server task panicked")
                .and_then(|result| result);
            if let Err(error) = result {
                // One part failing takes the others down rather than half-running.
                shutdown.cancel();
                outcome = Err(error);
            }
        }
        db.close().await;
        tracing::info!("Gridlink stopped");
        outcome
    });

    Ok(RunningServer {
        local_addr,
        public_url,
        sandbox_addr,
        sandbox_smtp_addr,
        state,
        task,
    })
}

/// Keeps the rate limiters' memory small: clients quiet for a while are forgotten.
async fn forget_idle_clients(state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(std::time::Duration::from_secs(60)) => {
                state.rate_limits.forget_idle_clients();
            }
        }
    }
}
