//! Configuration errors and option names: every problem names the option it
//! comes from, in one line, so a misconfigured server stops with a message an
//! operator can act on. Also the parsers every floor shares (durations, counts,
//! addresses, URLs) and the database URL. This file imports nothing of the crate;
//! `app::config` assembles the whole configuration.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use reqwest::Url;

/// A configuration value that cannot be used, with the option it came from.
#[derive(Debug, thiserror::Error)]
#[error("{option}: {problem}")]
pub struct ConfigError {
    /// The environment variable and flag, e.g. `GRIDLINK_LISTEN (--listen)`.
    pub option: &'static str,
    pub problem: String,
}

impl ConfigError {
    pub fn new(option: &'static str, problem: impl Into<String>) -> Self {
        ConfigError {
            option,
            problem: problem.into(),
        }
    }
}

pub const LISTEN: &str = "GRIDLINK_LISTEN (--listen)";
pub const PUBLIC_URL: &str = "GRIDLINK_PUBLIC_URL (--public-url)";
pub const MASTER_KEY: &str = "GRIDLINK_MASTER_KEY (--master-key)";
pub const SANDBOX: &str = "GRIDLINK_SANDBOX (--sandbox)";
pub const SANDBOX_LISTEN: &str = "GRIDLINK_SANDBOX_LISTEN (--sandbox-listen)";
/// Named when a production start has no utility to talk to.
pub const UTILITY_SOURCE: &str =
    "GRIDLINK_ADAPTERS (--adapters) or GRIDLINK_UTILITY_URL (--utility-url)";
pub const SANDBOX_SMTP_LISTEN: &str = "GRIDLINK_SANDBOX_SMTP_LISTEN (--sandbox-smtp-listen)";
pub const SMTP_URL: &str = "GRIDLINK_SMTP_URL (--smtp-url)";
pub const MAIL_FROM: &str = "GRIDLINK_MAIL_FROM (--mail-from)";
pub const UTILITY_URL: &str = "GRIDLINK_UTILITY_URL (--utility-url)";
pub const UTILITY_SECRET: &str = "GRIDLINK_UTILITY_SECRET (--utility-secret)";
pub const SANDBOX_SECRET: &str = "GRIDLINK_SANDBOX_SECRET (--secret)";
pub const DATABASE_URL: &str = "GRIDLINK_DATABASE_URL (--database-url)";
pub const DATA_DIR: &str = "GRIDLINK_DATA_DIR (--data-dir)";
pub const DATABASE_WAIT: &str = "GRIDLINK_DATABASE_WAIT (--database-wait)";
pub const STATIC_DIR: &str = "GRIDLINK_STATIC_DIR (--static-dir)";
pub const DEMO_PASSWORD: &str = "GRIDLINK_DEMO_PASSWORD (--demo-password)";
pub const SYNC_INTERVAL: &str = "GRIDLINK_SYNC_INTERVAL (--sync-interval)";
pub const EXPIRY_WARNING: &str = "GRIDLINK_EXPIRY_WARNING (--expiry-warning)";
pub const STALE_AFTER: &str = "GRIDLINK_STALE_AFTER (--stale-after)";
pub const AUDIT_RETENTION: &str = "GRIDLINK_AUDIT_RETENTION (--audit-retention)";
pub const SYNC_CONCURRENCY: &str = "GRIDLINK_SYNC_CONCURRENCY (--sync-concurrency)";
pub const UTILITY_MAX_IN_FLIGHT: &str = "GRIDLINK_UTILITY_MAX_IN_FLIGHT (--utility-max-in-flight)";
pub const JOB_LEASE: &str = "GRIDLINK_JOB_LEASE (--job-lease)";
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE (--ssl-cert-file)";
pub const TLS_CERT: &str = "GRIDLINK_TLS_CERT (--tls-cert)";
pub const TLS_KEY: &str = "GRIDLINK_TLS_KEY (--tls-key)";
pub const TRUSTED_PROXIES: &str = "GRIDLINK_TRUSTED_PROXIES (--trusted-proxies)";
pub const FORWARDED_HEADER: &str = "GRIDLINK_FORWARDED_HEADER (--forwarded-header)";
pub const HEADER_TIMEOUT: &str = "GRIDLINK_HEADER_TIMEOUT (--header-timeout)";
pub const BODY_TIMEOUT: &str = "GRIDLINK_BODY_TIMEOUT (--body-timeout)";
pub const MAX_CONNECTIONS: &str = "GRIDLINK_MAX_CONNECTIONS (--max-connections)";
pub const METRICS_LISTEN: &str = "GRIDLINK_METRICS_LISTEN (--metrics-listen)";
pub const LOG: &str = "GRIDLINK_LOG (--log)";
pub const LOG_FORMAT: &str = "GRIDLINK_LOG_FORMAT (--log-format)";

/// A database URL of a kind Gridlink supports.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite { path: PathBuf },
    Postgres { url: String },
}

/// `sslmode=require` would encrypt without checking whom it talks to; Gridlink
/// always verifies certificates, so it is read as `verify-ca` (as libpq does
/// when a root certificate is at hand). `verify-ca`, `verify-full` and
/// `sslrootcert` are passed on as they are.
fn verified_tls_modes(mut url: Url) -> Result<Url, ConfigError> {
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    for (name, value) in &mut pairs {
        if name == "sslmode" {
            match value.as_str() {
                "require" => *value = "verify-ca".to_owned(),
                "disable" | "allow" | "prefer" | "verify-ca" | "verify-full" => {}
                other => {
                    return Err(ConfigError::new(
                        DATABASE_URL,
                        format!("sslmode={other:?} is not a PostgreSQL TLS mode: use disable, prefer, require, verify-ca or verify-full"),
                    ))
                }
            }
        }
    }
    if !pairs.is_empty() {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    Ok(url)
}

impl DatabaseUrl {
    /// The PostgreSQL URL with `sslrootcert` set to `ca_file` when it names no
    /// root certificate itself, so `--ssl-cert-file` reaches the database too.
    pub fn trusting(self, ca_file: Option<&Path>) -> DatabaseUrl {
        let (DatabaseUrl::Postgres { url }, Some(ca_file)) = (&self, ca_file) else {
            return self;
        };
        let Ok(mut parsed) = Url::parse(url) else {
            return self;
        };
        if parsed.query_pairs().any(|(name, _)| name == "sslrootcert") {
            return self;
        }
        parsed
            .query_pairs_mut()
            .append_pair("sslrootcert", &ca_file.display().to_string());
        DatabaseUrl::Postgres {
            url: parsed.to_string(),
        }
    }

    pub fn parse(value: &str) -> Result<DatabaseUrl, ConfigError> {
        if let Some(rest) = value
            .strip_prefix("sqlite://")
            .or_else(|| value.strip_prefix("sqlite:"))
        {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(ConfigError::new(
                    DATABASE_URL,
                    "a SQLite URL needs a file path, like sqlite://data/gridlink.db",
                ));
            }
            if path == ":memory:" {
                return Err(ConfigError::new(DATABASE_URL, "an in-memory SQLite database would lose everything on restart; give a file path"));
            }
            return Ok(DatabaseUrl::Sqlite {
                path: PathBuf::from(path),
            });
        }
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            let url = Url::parse(value).map_err(|error| {
                ConfigError::new(
                    DATABASE_URL,
                    format!("not a valid PostgreSQL URL ({error})"),
                )
            })?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err(ConfigError::new(
                    DATABASE_URL,
                    "a PostgreSQL URL needs a host, like postgres://user@127.0.0.1:5432/gridlink",
                ));
            }
            return Ok(DatabaseUrl::Postgres {
                url: verified_tls_modes(url)?.to_string(),
            });
        }
        Err(ConfigError::new(
            DATABASE_URL,
            format!(
                "{:?} is not a database URL: use sqlite://FILE or postgres://USER@HOST/DATABASE",
                redact(value)
            ),
        ))
    }

    /// The URL with any password replaced, fit for messages and logs.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite { path } => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres { url } => redact(url),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("redacted"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// A count from 1 to 10,000.
pub fn parse_count(option: &'static str, value: &str) -> Result<usize, ConfigError> {
    match value.trim().parse::<usize>() {
        Ok(count) if (1..=10_000).contains(&count) => Ok(count),
        _ => Err(ConfigError::new(
            option,
            format!("{value:?} is not a whole number from 1 to 10000"),
        )),
    }
}

/// A duration written as a whole number and a unit: `90s`, `15m`, `24h`, `7d`.
pub fn parse_duration(option: &'static str, value: &str) -> Result<time::Duration, ConfigError> {
    parse_duration_up_to(option, value, 365)
}

/// A retention period: a duration (as [`parse_duration`]) of at least a day
/// and at most ten years.
pub fn parse_retention(option: &'static str, value: &str) -> Result<time::Duration, ConfigError> {
    let retention = parse_duration_up_to(option, value, 3650)?;
    if retention < time::Duration::days(1) {
        return Err(ConfigError::new(
            option,
            format!("{value:?} is too short: keep records at least 1d"),
        ));
    }
    Ok(retention)
}

fn parse_duration_up_to(
    option: &'static str,
    value: &str,
    max_days: i64,
) -> Result<time::Duration, ConfigError> {
    let value = value.trim();
    let problem = || {
        ConfigError::new(
            option,
            format!(
                "{value:?} is not a duration: write a number and a unit, like 90s, 15m, 24h or 7d"
            ),
        )
    };
    let split = value.len().checked_sub(1).ok_or_else(problem)?;
    let (number, unit) = value.split_at(split);
    let number: i64 = number.parse().map_err(|_| problem())?;
    let duration = match unit {
        "s" => time::Duration::seconds(number),
        "m" => time::Duration::minutes(number),
        "h" => time::Duration::hours(number),
        "d" => time::Duration::days(number),
        _ => return Err(problem()),
    };
    if duration <= time::Duration::ZERO || duration > time::Duration::days(max_days) {
        return Err(ConfigError::new(
            option,
            format!("{value:?} must be more than zero and at most {max_days}d"),
        ));
    }
    Ok(duration)
}

/// How long a request may wait for the database before it answers 503: a
/// duration (as [`parse_duration`]) of 1 to 60 seconds.
pub fn parse_database_wait(value: &str) -> Result<std::time::Duration, ConfigError> {
    let wait = parse_duration(DATABASE_WAIT, value)?;
    if wait > time::Duration::seconds(60) {
        return Err(ConfigError::new(
            DATABASE_WAIT,
            format!("{value:?} is too long: a client waits at most 60s before hearing 503"),
        ));
    }
    Ok(std::time::Duration::from_secs(
        wait.whole_seconds().unsigned_abs(),
    ))
}

pub fn parse_listen_address(option: &'static str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.trim().parse().map_err(|_| {
        ConfigError::new(option, format!("{value:?} is not an address: use HOST:PORT with an IP address, like 127.0.0.1:3000"))
    })
}

pub fn parse_http_url(option: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value.trim())
        .map_err(|error| ConfigError::new(option, format!("{value:?} is not a URL ({error})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::new(
            option,
            format!("{value:?} must be an http:// or https:// URL with a host"),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::new(
            option,
            format!("{value:?} cannot have a query or fragment"),
        ));
    }
    Ok(url)
}
