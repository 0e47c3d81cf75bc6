//! The whole configuration, validated and assembled from the command line and
//! the environment (every option is both). Problems are [`ConfigError`]s that
//! name their option.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use reqwest::Url;

use crate::app::cli::{ConformanceArgs, DatabaseArgs, SandboxArgs, ServeArgs};
use crate::domain::settings::{JobSettings, STALE_AFTER_SYNC_INTERVALS};
use crate::http::client_ip::{ForwardedHeader, TrustedProxies};
use crate::http::serving::ConnectionLimits;
use crate::infra::config::{
    parse_count, parse_duration, parse_http_url, parse_listen_address, parse_retention,
    ConfigError, DatabaseUrl, AUDIT_RETENTION, BODY_TIMEOUT, DATA_DIR, DEMO_PASSWORD,
    EXPIRY_WARNING, HEADER_TIMEOUT, JOB_LEASE, LISTEN, MAIL_FROM, MASTER_KEY, MAX_CONNECTIONS,
    METRICS_LISTEN, PUBLIC_URL, SANDBOX, SANDBOX_LISTEN, SANDBOX_SECRET, SANDBOX_SMTP_LISTEN,
    STALE_AFTER, STATIC_DIR, SYNC_CONCURRENCY, SYNC_INTERVAL, TLS_CERT, TLS_KEY,
    UTILITY_MAX_IN_FLIGHT, UTILITY_SECRET, UTILITY_SOURCE, UTILITY_URL,
};
use crate::infra::crypto::Keyring;
use crate::infra::mail_transport::{parse_from, SmtpConfig};
use crate::infra::outbound::TrustRoots;
use crate::infra::utility::adapters::{self, AdapterConfig};
use crate::infra::webhook_signing::SigningSecret;
use crate::tools::sandbox::SandboxOptions;

/// Where the database lives.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: DatabaseUrl,
    pub data_dir: PathBuf,
    /// `SSL_CERT_FILE`: the CA bundle outgoing TLS trusts instead of the system store.
    pub ca_file: Option<PathBuf>,
    /// `GRIDLINK_DATABASE_WAIT`: a request's longest wait for the database.
    pub wait: std::time::Duration,
}

impl DatabaseConfig {
    pub fn from_args(args: &DatabaseArgs) -> Result<DatabaseConfig, ConfigError> {
        if args.data_dir.trim().is_empty() {
            return Err(ConfigError::new(
                DATA_DIR,
                "the data folder cannot be empty",
            ));
        }
        let data_dir = PathBuf::from(&args.data_dir);
        let ca_file = non_empty(&args.ssl_cert_file).map(PathBuf::from);
        let url = match args.database_url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => DatabaseUrl::parse(url)?.trusting(ca_file.as_deref()),
            _ => DatabaseUrl::Sqlite {
                path: data_dir.join("gridlink.db"),
            },
        };
        Ok(DatabaseConfig {
            url,
            data_dir,
            ca_file,
            wait: crate::infra::config::parse_database_wait(&args.database_wait)?,
        })
    }
}

/// Which utility service Gridlink talks to.
#[derive(Debug, Clone)]
pub enum UtilitySource {
    /// Start the sandbox utilities inside this process, on this address.
    EmbeddedSandbox { listen: SocketAddr },
    /// Talk to utility adapters somewhere else (GRIDLINK_ADAPTERS, or the one
    /// of GRIDLINK_UTILITY_URL).
    Adapters(Vec<AdapterConfig>),
}

/// Where Gridlink's mail goes.
#[derive(Debug, Clone)]
pub enum MailRoute {
    /// A real mail server (`GRIDLINK_SMTP_URL`).
    Smtp(SmtpConfig),
    /// The embedded sandbox's mail catcher, listening here.
    SandboxCatcher { listen: SocketAddr },
    /// Neither: mail is queued and waits until `GRIDLINK_SMTP_URL` is set.
    Unconfigured,
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub route: MailRoute,
    /// The sender's address (`GRIDLINK_MAIL_FROM`).
    pub from: lettre::message::Mailbox,
}

impl MailConfig {
    fn from_args(args: &ServeArgs, utility: &UtilitySource) -> Result<MailConfig, ConfigError> {
        let route = match (non_empty(&args.smtp_url), utility) {
            (Some(url), _) => MailRoute::Smtp(SmtpConfig::parse(url)?),
            (None, UtilitySource::EmbeddedSandbox { .. }) => MailRoute::SandboxCatcher {
                listen: parse_listen_address(
                    SANDBOX_SMTP_LISTEN,
                    &args.sandbox_addresses.smtp_listen,
                )?,
            },
            (None, UtilitySource::Adapters(_)) => MailRoute::Unconfigured,
        };
        let from = match (non_empty(&args.mail_from), &route) {
            (Some(value), _) => parse_from(value)?,
            (None, MailRoute::Smtp(_)) => {
                return Err(ConfigError::new(
                    MAIL_FROM,
                    "a sender is required with GRIDLINK_SMTP_URL, e.g. \"Gridlink <no-reply@example.com>\"",
                ))
            }
            (None, _) => parse_from("Gridlink <no-reply@gridlink.localhost>")?,
        };
        Ok(MailConfig { route, from })
    }
}

/// Demo mode's settings.
#[derive(Debug, Clone)]
pub struct DemoSettings {
    /// The demo operator's password, when set; otherwise one is generated.
    pub operator_password: Option<String>,
}

/// Everything `gridlink serve` needs, validated.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    /// Where Prometheus scrapes `/metrics`; no metrics when `None`.
    pub metrics_listen: Option<SocketAddr>,
    /// Set explicitly, or derived from the bound address once it is known.
    pub public_url: Option<Url>,
    /// `None` in demo mode until the key is loaded from the data folder.
    pub master_key: Option<Keyring>,
    pub utility: UtilitySource,
    pub static_dir: PathBuf,
    pub demo: Option<DemoSettings>,
    pub database: DatabaseConfig,
    pub jobs: JobSettings,
    /// Serve HTTPS with this configuration; plain HTTP when `None` (behind a proxy).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The CAs outgoing TLS trusts.
    pub trust: TrustRoots,
    /// Whether webhooks may go to loopback, private and other non-public addresses.
    pub webhook_allow_private: bool,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` headers are believed.
    pub trusted_proxies: TrustedProxies,
    pub mail: MailConfig,
    /// How long clients may take, and how many may be connected.
    pub connections: ConnectionLimits,
}

/// The jobs' pace, from `serve`'s options.
fn job_settings(args: &ServeArgs) -> Result<JobSettings, ConfigError> {
    let sync_interval = parse_duration(SYNC_INTERVAL, &args.sync_interval)?;
    let stale_after = match non_empty(&args.stale_after) {
        Some(value) => parse_duration(STALE_AFTER, value)?,
        None => sync_interval * STALE_AFTER_SYNC_INTERVALS,
    };
    if stale_after <= sync_interval {
        return Err(ConfigError::new(
            STALE_AFTER,
            "must be longer than the sync interval: a credential is stale only after a sync it should have had",
        ));
    }
    Ok(JobSettings {
        sync_interval,
        expiry_warning: parse_duration(EXPIRY_WARNING, &args.expiry_warning)?,
        stale_after,
        lease: parse_duration(JOB_LEASE, &args.job_lease)?,
        sync_concurrency: parse_count(SYNC_CONCURRENCY, &args.sync_concurrency)?,
        utility_max_in_flight: parse_count(UTILITY_MAX_IN_FLIGHT, &args.utility_max_in_flight)?,
        audit_retention: parse_retention(AUDIT_RETENTION, &args.audit_retention)?,
    })
}

/// `dist` in the working folder (a checkout), else the web app installed
/// beside the binary (`/usr/bin/gridlink` → `/usr/share/gridlink/dist`).
fn default_static_dir() -> PathBuf {
    let checkout = PathBuf::from("dist");
    if checkout.is_dir() {
        return checkout;
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("share/gridlink/dist")))
        .filter(|installed| installed.is_dir())
        .unwrap_or(checkout)
}

/// A cap on open connections: from 16 to a million.
fn parse_connection_count(value: &str) -> Result<usize, ConfigError> {
    match value.trim().parse::<usize>() {
        Ok(count) if (16..=1_000_000).contains(&count) => Ok(count),
        _ => Err(ConfigError::new(
            MAX_CONNECTIONS,
            format!("{value:?} is not a whole number from 16 to 1000000"),
        )),
    }
}

impl ServeConfig {
    pub fn from_args(args: &ServeArgs) -> Result<ServeConfig, ConfigError> {
        let listen = parse_listen_address(LISTEN, &args.listen)?;
        let metrics_listen = non_empty(&args.metrics_listen)
            .map(|value| parse_listen_address(METRICS_LISTEN, value))
            .transpose()?;
        let public_url = match non_empty(&args.public_url) {
            Some(value) => Some(parse_http_url(PUBLIC_URL, value)?),
            None => None,
        };
        let tls = match (non_empty(&args.tls_cert), non_empty(&args.tls_key)) {
            (Some(cert), Some(key)) => Some(crate::infra::https::load_server_config(
                Path::new(cert),
                Path::new(key),
            )?),
            (Some(_), None) => {
                return Err(ConfigError::new(
                    TLS_KEY,
                    "a certificate needs its private key: set it too, or neither",
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    TLS_CERT,
                    "a private key needs its certificate: set it too, or neither",
                ))
            }
            (None, None) => None,
        };
        let database = DatabaseConfig::from_args(&args.database)?;
        let trust = TrustRoots::load(database.ca_file.as_deref())?;
        let master_key = match non_empty(&args.master_key) {
            Some(value) => Some(Keyring::parse(value).map_err(|problem| ConfigError::new(MASTER_KEY, problem))?),
            None if args.demo => None,
            None => {
                return Err(ConfigError::new(
                    MASTER_KEY,
                    "a master key is required outside demo mode; generate one with: echo \"k1:$(head -c32 /dev/urandom | base64)\"",
                ))
            }
        };
        let adapters_set =
            non_empty(&args.adapters).is_some() || non_empty(&args.utility_url).is_some();
        if args.sandbox && adapters_set {
            return Err(ConfigError::new(
                SANDBOX,
                "the sandbox utilities stand in for utility adapters: set either --sandbox or the adapters, not both",
            ));
        }
        let utility = match (non_empty(&args.adapters), non_empty(&args.utility_url)) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    adapters::ADAPTERS,
                    "set either an adapters file or GRIDLINK_UTILITY_URL, not both",
                ))
            }
            (Some(path), None) => {
                UtilitySource::Adapters(adapters::load(Path::new(path), |name| {
                    std::env::var(name).ok()
                })?)
            }
            (None, Some(value)) => UtilitySource::Adapters(vec![AdapterConfig {
                name: "default".to_owned(),
                url: parse_http_url(UTILITY_URL, value)?,
                secret: non_empty(&args.utility_secret)
                    .map(|secret| {
                        SigningSecret::parse(secret).map_err(|error| {
                            ConfigError::new(
                                UTILITY_SECRET,
                                format!("not a whsec_ secret: {error}"),
                            )
                        })
                    })
                    .transpose()?,
            }]),
            // The sandbox (and its open mail catcher) runs only when asked for:
            // a production start without adapters is a mistake, not a demo.
            (None, None) if args.demo || args.sandbox => UtilitySource::EmbeddedSandbox {
                listen: parse_listen_address(SANDBOX_LISTEN, &args.sandbox_addresses.listen)?,
            },
            (None, None) => {
                return Err(ConfigError::new(
                    UTILITY_SOURCE,
                    "no utility adapter is configured: set one of them, or add --sandbox \
                     (GRIDLINK_SANDBOX=true) to run the sandbox utilities, which are never for production",
                ))
            }
        };
        let static_dir = match args.static_dir.as_deref() {
            Some(dir) if dir.trim().is_empty() => {
                return Err(ConfigError::new(
                    STATIC_DIR,
                    "the web app folder cannot be empty",
                ))
            }
            Some(dir) => PathBuf::from(dir),
            None => default_static_dir(),
        };
        let demo = if args.demo {
            Some(DemoSettings {
                operator_password: non_empty(&args.demo_password).map(str::to_owned),
            })
        } else {
            if args.demo_password.is_some() {
                return Err(ConfigError::new(
                    DEMO_PASSWORD,
                    "only used in demo mode; add --demo or remove it",
                ));
            }
            None
        };
        let mail = MailConfig::from_args(args, &utility)?;
        let connections = ConnectionLimits {
            header_timeout: parse_duration(HEADER_TIMEOUT, &args.header_timeout)?.unsigned_abs(),
            body_timeout: parse_duration(BODY_TIMEOUT, &args.body_timeout)?.unsigned_abs(),
            max_connections: parse_connection_count(&args.max_connections)?,
        };
        Ok(ServeConfig {
            listen,
            public_url,
            master_key,
            utility,
            mail,
            static_dir,
            demo,
            database,
            jobs: job_settings(args)?,
            tls,
            trust,
            metrics_listen,
            webhook_allow_private: args.webhook_allow_private,
            connections,
            trusted_proxies: TrustedProxies::parse(
                args.trusted_proxies.as_deref().unwrap_or_default(),
            )?
            .reading(ForwardedHeader::parse(&args.forwarded_header)?),
        })
    }
}

pub const CONFORMANCE_URL: &str = "--utility-url";
pub const CONFORMANCE_SECRET: &str = "--secret-env";

/// `gridlink conformance`'s options, validated.
pub fn conformance_options(
    args: &ConformanceArgs,
) -> Result<crate::tools::conformance::Options, ConfigError> {
    let mut url = parse_http_url(CONFORMANCE_URL, &args.utility_url)?;
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    let secret = match non_empty(&args.secret_env) {
        None => None,
        Some(variable) => {
            let value = std::env::var(variable).map_err(|_| {
                ConfigError::new(
                    CONFORMANCE_SECRET,
                    format!("the variable {variable} is not set"),
                )
            })?;
            Some(SigningSecret::parse(&value).map_err(|error| {
                ConfigError::new(
                    CONFORMANCE_SECRET,
                    format!("{variable} is not a whsec_ secret: {error}"),
                )
            })?)
        }
    };
    let outbox_url = match non_empty(&args.outbox_url) {
        Some(value) => parse_http_url("--outbox-url", value)?,
        None => url
            .join("api/outbox")
            .map_err(|error| ConfigError::new(CONFORMANCE_URL, error.to_string()))?,
    };
    let clock_url = match non_empty(&args.clock_url) {
        Some(value) => parse_http_url("--clock-url", value)?,
        None => url
            .join("api/admin/clock/advance")
            .map_err(|error| ConfigError::new(CONFORMANCE_URL, error.to_string()))?,
    };
    Ok(crate::tools::conformance::Options {
        url,
        secret,
        utility: non_empty(&args.utility).map(str::to_owned),
        outbox_url: Some(outbox_url),
        clock_url: Some(clock_url),
        logins: crate::tools::conformance::Logins {
            password: args.password.clone(),
            with_mfa: args.login_with_mfa.clone(),
            without_mfa: args.login_without_mfa.clone(),
            locked: args.login_locked.clone(),
            unavailable: args.login_unavailable.clone(),
        },
    })
}

/// Everything `gridlink sandbox` needs, validated.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub listen: SocketAddr,
    /// Where its mail catcher (SMTP) listens.
    pub smtp_listen: SocketAddr,
    pub options: SandboxOptions,
}

impl SandboxConfig {
    pub fn from_args(args: &SandboxArgs) -> Result<SandboxConfig, ConfigError> {
        Ok(SandboxConfig {
            listen: parse_listen_address(SANDBOX_LISTEN, &args.addresses.listen)?,
            smtp_listen: parse_listen_address(SANDBOX_SMTP_LISTEN, &args.addresses.smtp_listen)?,
            options: SandboxOptions {
                secret: non_empty(&args.secret)
                    .map(|secret| {
                        SigningSecret::parse(secret).map_err(|error| {
                            ConfigError::new(
                                SANDBOX_SECRET,
                                format!("not a whsec_ secret: {error}"),
                            )
                        })
                    })
                    .transpose()?,
                utilities: non_empty(&args.utilities).map(|list| {
                    list.split(',')
                        .map(str::trim)
                        .filter(|id| !id.is_empty())
                        .map(str::to_owned)
                        .collect()
                }),
            },
        })
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::config::DATABASE_URL;
    use clap::Parser;

    fn serve_args(extra: &[&str]) -> ServeArgs {
        let mut argv = vec!["gridlink", "serve"];
        argv.extend_from_slice(extra);
        match crate::app::cli::Cli::parse_from(argv).into_command() {
            crate::app::cli::Command::Serve(args) => *args,
            other => panic!("expected serve, got {other:?}"),
        }
    }

    #[test]
    fn job_durations_have_defaults_and_reject_what_is_not_a_duration() {
        let config = ServeConfig::from_args(&serve_args(&["--demo"])).unwrap();
        assert_eq!(config.jobs, JobSettings::default());
        let config = ServeConfig::from_args(&serve_args(&[
            "--demo",
            "--sync-interval=90s",
            "--expiry-warning=2d",
            "--job-lease=5s",
        ]))
        .unwrap();
        assert_eq!(config.jobs.sync_interval, time::Duration::seconds(90));
        assert_eq!(config.jobs.expiry_warning, time::Duration::days(2));
        assert_eq!(config.jobs.lease, time::Duration::seconds(5));
        assert_eq!(config.jobs.stale_after, time::Duration::seconds(270));
        let config = ServeConfig::from_args(&serve_args(&["--demo", "--stale-after=2d"])).unwrap();
        assert_eq!(config.jobs.stale_after, time::Duration::days(2));
        let error =
            ServeConfig::from_args(&serve_args(&["--demo", "--stale-after=12h"])).unwrap_err();
        assert_eq!(error.option, STALE_AFTER);
        let config =
            ServeConfig::from_args(&serve_args(&["--demo", "--audit-retention=2000d"])).unwrap();
        assert_eq!(config.jobs.audit_retention, time::Duration::days(2000));
        for bad in ["12h", "4000d", "x"] {
            let error = ServeConfig::from_args(&serve_args(&[
                "--demo",
                &format!("--audit-retention={bad}"),
            ]))
            .unwrap_err();
            assert_eq!(error.option, AUDIT_RETENTION, "{bad:?}");
        }
        for bad in ["", "24", "h", "1.5h", "-1h", "0s", "400d", "2w"] {
            let error =
                ServeConfig::from_args(&serve_args(&["--demo", &format!("--sync-interval={bad}")]))
                    .unwrap_err();
            assert_eq!(error.option, SYNC_INTERVAL, "{bad:?}");
        }
    }

    #[test]
    fn sync_concurrency_and_the_utility_ceiling_are_counts() {
        let config = ServeConfig::from_args(&serve_args(&[
            "--demo",
            "--sync-concurrency=32",
            "--utility-max-in-flight=4",
        ]))
        .unwrap();
        assert_eq!(
            (
                config.jobs.sync_concurrency,
                config.jobs.utility_max_in_flight
            ),
            (32, 4)
        );
        for bad in ["0", "-1", "many", "1.5", "10001", ""] {
            let error = ServeConfig::from_args(&serve_args(&[
                "--demo",
                &format!("--sync-concurrency={bad}"),
            ]))
            .unwrap_err();
            assert_eq!(error.option, SYNC_CONCURRENCY, "{bad:?}");
            let error = ServeConfig::from_args(&serve_args(&[
                "--demo",
                &format!("--utility-max-in-flight={bad}"),
            ]))
            .unwrap_err();
            assert_eq!(error.option, UTILITY_MAX_IN_FLIGHT, "{bad:?}");
        }
    }

    #[test]
    fn demo_mode_needs_no_master_key_and_defaults_to_sqlite_in_the_data_folder() {
        let config =
            ServeConfig::from_args(&serve_args(&["--demo", "--data-dir", "somewhere"])).unwrap();
        assert!(config.master_key.is_none());
        assert_eq!(
            config.database.url,
            DatabaseUrl::Sqlite {
                path: PathBuf::from("somewhere/gridlink.db")
            }
        );
        assert!(matches!(
            config.utility,
            UtilitySource::EmbeddedSandbox { .. }
        ));
    }

    #[test]
    fn case_33_the_sandbox_and_its_mail_catcher_run_only_when_asked_for() {
        let key = format!("--master-key=k1:{}", "A".repeat(43) + "=");
        let error = ServeConfig::from_args(&serve_args(&[&key])).unwrap_err();
        assert_eq!(error.option, UTILITY_SOURCE);
        let asked = ServeConfig::from_args(&serve_args(&[&key, "--sandbox"])).unwrap();
        assert!(matches!(
            asked.utility,
            UtilitySource::EmbeddedSandbox { .. }
        ));
        assert!(matches!(asked.mail.route, MailRoute::SandboxCatcher { .. }));
        let production = ServeConfig::from_args(&serve_args(&[
            &key,
            "--utility-url=https://adapter.example",
        ]))
        .unwrap();
        assert!(matches!(production.utility, UtilitySource::Adapters(_)));
        assert!(matches!(production.mail.route, MailRoute::Unconfigured));
        let both = ServeConfig::from_args(&serve_args(&[
            &key,
            "--sandbox",
            "--utility-url=https://adapter.example",
        ]))
        .unwrap_err();
        assert_eq!(both.option, SANDBOX);
    }

    #[test]
    fn outside_demo_mode_a_missing_master_key_names_the_option() {
        let error = ServeConfig::from_args(&serve_args(&[])).unwrap_err();
        assert_eq!(error.option, MASTER_KEY);
    }

    #[test]
    fn an_unparseable_listen_address_names_the_option() {
        let error =
            ServeConfig::from_args(&serve_args(&["--demo", "--listen", "localhost"])).unwrap_err();
        assert_eq!(error.option, LISTEN);
        assert!(error
            .to_string()
            .starts_with("GRIDLINK_LISTEN (--listen): "));
    }

    #[test]
    fn an_unparseable_utility_url_names_the_option() {
        let error = ServeConfig::from_args(&serve_args(&["--demo", "--utility-url", "ftp://x"]))
            .unwrap_err();
        assert_eq!(error.option, UTILITY_URL);
    }

    #[test]
    fn an_unknown_database_scheme_is_rejected_without_echoing_its_password() {
        let error = DatabaseUrl::parse("mysql://root:hunter2@db/gridlink").unwrap_err();
        assert_eq!(error.option, DATABASE_URL);
        assert!(!error.to_string().contains("hunter2"));
    }

    #[test]
    fn a_postgres_url_is_shown_with_its_password_redacted() {
        let url = DatabaseUrl::parse("postgres://gridlink:hunter2@127.0.0.1/gridlink").unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
        assert!(url.redacted().contains("127.0.0.1"));
    }

    #[test]
    fn postgres_sslmode_require_is_verified_and_other_modes_pass_unchanged() {
        let url = |value: &str| match DatabaseUrl::parse(value).unwrap() {
            DatabaseUrl::Postgres { url } => url,
            other => panic!("{other:?}"),
        };
        assert!(
            url("postgres://db.example.com/gridlink?sslmode=require").contains("sslmode=verify-ca")
        );
        assert!(
            url("postgres://db.example.com/g?sslmode=verify-full&sslrootcert=%2Fca.pem")
                .contains("sslmode=verify-full&sslrootcert=%2Fca.pem")
        );
        assert_eq!(url("postgres://127.0.0.1/g"), "postgres://127.0.0.1/g");
        let error =
            DatabaseUrl::parse("postgres://db.example.com/g?sslmode=sometimes").unwrap_err();
        assert_eq!(error.option, DATABASE_URL);
    }

    #[test]
    fn the_ca_file_becomes_the_postgres_root_certificate_unless_the_url_names_one() {
        let ca = Path::new("/etc/company-ca.pem");
        let trusted = DatabaseUrl::parse("postgres://db.example.com/g?sslmode=verify-full")
            .unwrap()
            .trusting(Some(ca));
        assert!(trusted
            .redacted()
            .contains("sslrootcert=%2Fetc%2Fcompany-ca.pem"));
        let own = DatabaseUrl::parse("postgres://db.example.com/g?sslrootcert=%2Fown.pem")
            .unwrap()
            .trusting(Some(ca));
        assert!(!own.redacted().contains("company-ca"));
    }

    #[test]
    fn a_tls_certificate_without_its_key_names_the_missing_option() {
        let error = ServeConfig::from_args(&serve_args(&["--demo", "--tls-cert", "/tmp/cert.pem"]))
            .unwrap_err();
        assert_eq!(error.option, TLS_KEY);
        let error = ServeConfig::from_args(&serve_args(&["--demo", "--tls-key", "/tmp/key.pem"]))
            .unwrap_err();
        assert_eq!(error.option, TLS_CERT);
        let error = ServeConfig::from_args(&serve_args(&[
            "--demo",
            "--tls-cert",
            "/nonexistent/cert.pem",
            "--tls-key",
            "/nonexistent/key.pem",
        ]))
        .unwrap_err();
        assert_eq!(error.option, TLS_CERT);
    }

    #[test]
    fn webhooks_to_private_addresses_are_off_by_default_even_in_demo_mode() {
        let config = ServeConfig::from_args(&serve_args(&["--demo"])).unwrap();
        assert!(!config.webhook_allow_private);
        let config =
            ServeConfig::from_args(&serve_args(&["--demo", "--webhook-allow-private"])).unwrap();
        assert!(config.webhook_allow_private);
    }

    #[test]
    fn a_demo_password_outside_demo_mode_is_refused() {
        let key = format!("k1:{}", "A".repeat(43) + "=");
        let error = ServeConfig::from_args(&serve_args(&[
            "--master-key",
            &key,
            "--sandbox",
            "--demo-password",
            "x",
        ]))
        .unwrap_err();
        assert_eq!(error.option, DEMO_PASSWORD);
    }
}
