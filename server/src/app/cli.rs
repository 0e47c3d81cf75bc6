//! Command-line interface: every option is a flag and an environment variable.
//!
//! Values stay raw strings here; [`crate::infra::config`] validates them so that a bad
//! value stops the server with one line naming the option.

use clap::{Args, Parser, Subcommand};

/// `gridlink --version`: the release and the commit it was built from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("GRIDLINK_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "gridlink",
    version = VERSION,
    about = "Gridlink keeps utility accounts connected behind multi-factor authentication.",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// How log lines are written to stderr: `text` (coloured on a terminal) or `json`
    /// (one object a line: time, level, target, message, request_id, trace_id, fields).
    #[arg(
        long,
        global = true,
        env = "GRIDLINK_LOG_FORMAT",
        value_name = "FORMAT",
        default_value = "text"
    )]
    pub log_format: String,

    /// Which log lines are written, as `RUST_LOG` directives (e.g. `info,server=debug`).
    /// Default: `RUST_LOG`, else `info`.
    #[arg(long, global = true, env = "GRIDLINK_LOG", value_name = "FILTER")]
    pub log: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API, the web app and the background jobs (and, with --demo or --sandbox, the sandbox utilities).
    Serve(Box<ServeArgs>),
    /// Run only the sandbox utilities.
    Sandbox(SandboxArgs),
    /// Apply the database migrations and exit.
    Migrate(DatabaseArgs),
    /// Create an organisation and its first admin operator.
    CreateOrganisation(CreateOrganisationArgs),
    /// Re-seal every stored secret under the first (current) master key.
    RotateKey(RotateKeyArgs),
    /// Run the utility protocol's scenarios against an adapter and print a pass/fail table.
    Conformance(ConformanceArgs),
    /// Take a consistent snapshot of a SQLite deployment into a new file, while it runs.
    /// The master key is not in it: keep the key apart.
    Backup(BackupArgs),
    /// Restore a snapshot into an empty data directory (SQLite).
    Restore(RestoreArgs),
    /// Open every sealed secret of a snapshot (or, without FILE, of the configured
    /// database, e.g. a restored PostgreSQL one) with the master key, and report counts.
    VerifyBackup(VerifyBackupArgs),
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// The snapshot file to write; it must not exist yet.
    #[arg(long, value_name = "FILE")]
    pub to: String,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// The snapshot `gridlink backup` wrote.
    #[arg(long, value_name = "FILE")]
    pub from: String,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyBackupArgs {
    /// The snapshot to check. Without it, the configured database is checked.
    #[arg(value_name = "FILE")]
    pub file: Option<String>,

    /// The keyring the deployment runs with (`KEY_ID:BASE64,…`).
    #[arg(
        long,
        env = "GRIDLINK_MASTER_KEY",
        value_name = "KEY_ID:BASE64,…",
        hide_env_values = true
    )]
    pub master_key: String,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ConformanceArgs {
    /// The adapter's base URL.
    #[arg(long, value_name = "URL")]
    pub utility_url: String,

    /// The environment variable holding the adapter's `whsec_…` secret: calls are signed
    /// with it, and the adapter must refuse unsigned and stale ones. Without it, nothing is signed.
    #[arg(long, value_name = "NAME")]
    pub secret_env: Option<String>,

    /// The utility to test. Default: the first the catalogue lists with a code method.
    #[arg(long, value_name = "ID")]
    pub utility: Option<String>,

    /// Where the codes "sent" can be read (JSON, newest first, `?utility=&username=`).
    /// Default: the sandbox's `/api/outbox` at the adapter's address.
    #[arg(long, value_name = "URL")]
    pub outbox_url: Option<String>,

    /// A test hook that moves the adapter's clock (`POST {"seconds": N}`), to check that
    /// codes expire. Default: the sandbox's `/api/admin/clock/advance` at the adapter's address.
    #[arg(long, value_name = "URL")]
    pub clock_url: Option<String>,

    /// The password of the scenario logins.
    #[arg(long, default_value = "pass_good")]
    pub password: String,

    /// A login that is asked for MFA.
    #[arg(long, default_value = "user_good")]
    pub login_with_mfa: String,

    /// A login that is never asked for MFA.
    #[arg(long, default_value = "user_nomfa")]
    pub login_without_mfa: String,

    /// A login whose account is locked.
    #[arg(long, default_value = "user_locked")]
    pub login_locked: String,

    /// A login for which the utility is down.
    #[arg(long, default_value = "user_down")]
    pub login_unavailable: String,
}

#[derive(Debug, Clone, Args)]
pub struct RotateKeyArgs {
    /// The keyring: the new key first, then every key still in use, comma-separated.
    #[arg(
        long,
        env = "GRIDLINK_MASTER_KEY",
        value_name = "KEY_ID:BASE64,…",
        hide_env_values = true
    )]
    pub master_key: String,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct CreateOrganisationArgs {
    /// The organisation's name, as end-users see it in Connect.
    #[arg(long)]
    pub name: String,

    /// The first admin operator's email address.
    #[arg(long, value_name = "EMAIL")]
    pub admin_email: String,

    /// The admin's password (at least 12 characters).
    #[arg(
        long,
        env = "GRIDLINK_ADMIN_PASSWORD",
        value_name = "PASSWORD",
        hide_env_values = true
    )]
    pub admin_password: String,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

impl Cli {
    /// The command to run; `gridlink` alone means `gridlink serve`.
    pub fn into_command(self) -> Command {
        match self.command {
            Some(command) => command,
            None => match Cli::parse_from(["gridlink", "serve"]).command {
                Some(command) => command,
                None => unreachable!("`serve` was given explicitly"),
            },
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL: `sqlite://path/to/file.db` or `postgres://user@host/db`.
    /// Default: a SQLite file in the data folder.
    #[arg(long, env = "GRIDLINK_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,

    /// Folder for the default SQLite database and, in demo mode, the generated master key.
    #[arg(
        long,
        env = "GRIDLINK_DATA_DIR",
        value_name = "DIR",
        default_value = "data"
    )]
    pub data_dir: String,

    /// A PEM bundle of the certificate authorities that outgoing TLS trusts (utilities,
    /// webhook receivers, PostgreSQL), instead of the operating system's store.
    #[arg(long, env = "SSL_CERT_FILE", value_name = "FILE")]
    pub ssl_cert_file: Option<String>,

    /// How long a request waits for a database connection (or SQLite's writer) before it
    /// answers 503 DATABASE_UNAVAILABLE with Retry-After, instead of hanging.
    #[arg(
        long,
        env = "GRIDLINK_DATABASE_WAIT",
        value_name = "DURATION",
        default_value = "3s"
    )]
    pub database_wait: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address the API and web app listen on.
    #[arg(
        long,
        env = "GRIDLINK_LISTEN",
        value_name = "HOST:PORT",
        default_value = "127.0.0.1:3000"
    )]
    pub listen: String,

    /// Address of a second listener that serves only Prometheus metrics at `/metrics`
    /// (e.g. `127.0.0.1:9464`). Off when unset. Keep it off the public network.
    #[arg(long, env = "GRIDLINK_METRICS_LISTEN", value_name = "HOST:PORT")]
    pub metrics_listen: Option<String>,

    /// URL people use to reach Gridlink (for links sent to end-users).
    /// Default: `http://` + the listen address.
    #[arg(long, env = "GRIDLINK_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Master key that encrypts utility passwords and session tokens: `KEY_ID:BASE64` with
    /// 32 random bytes, e.g. `k1:$(head -c32 /dev/urandom | base64)`. To rotate, put the new
    /// key first and keep the old ones after it, comma-separated, then run `gridlink rotate-key`.
    /// Required unless `--demo` is given.
    #[arg(
        long,
        env = "GRIDLINK_MASTER_KEY",
        value_name = "KEY_ID:BASE64",
        hide_env_values = true
    )]
    pub master_key: Option<String>,

    /// Run the sandbox utilities and their mail catcher inside this server (demo mode does).
    /// Anyone who can reach the sandbox's port reads every mail it caught: never in
    /// production. Without it (and without --demo), a utility adapter is required.
    #[arg(long, env = "GRIDLINK_SANDBOX")]
    pub sandbox: bool,

    #[command(flatten)]
    pub sandbox_addresses: SandboxAddresses,

    /// The mail server for end-user notices and operator mail: `smtps://user:pass@host`
    /// (TLS) or `smtp://user:pass@host` (STARTTLS required). Default: the sandbox's mail
    /// catcher when the sandbox runs (--demo, --sandbox); otherwise mail waits in the queue
    /// until this is set.
    #[arg(
        long,
        env = "GRIDLINK_SMTP_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub smtp_url: Option<String>,

    /// The sender of Gridlink's mail, e.g. `Gridlink <no-reply@example.com>` (required with
    /// GRIDLINK_SMTP_URL). End-user notices go out under the organisation's name at this address.
    #[arg(long, env = "GRIDLINK_MAIL_FROM", value_name = "ADDRESS")]
    pub mail_from: Option<String>,

    /// Base URL of the one utility adapter to talk to (shorthand for an adapters file
    /// with one adapter). Required, or GRIDLINK_ADAPTERS, unless --demo or --sandbox is given.
    #[arg(long, env = "GRIDLINK_UTILITY_URL", value_name = "URL")]
    pub utility_url: Option<String>,

    /// The shared secret (`whsec_…`) that signs calls to GRIDLINK_UTILITY_URL.
    #[arg(
        long,
        env = "GRIDLINK_UTILITY_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub utility_secret: Option<String>,

    /// A TOML file listing the utility adapters: `[[adapter]]` with `name`, `url` and
    /// `secret_env` (the variable holding its secret). Instead of GRIDLINK_UTILITY_URL.
    #[arg(long, env = "GRIDLINK_ADAPTERS", value_name = "FILE")]
    pub adapters: Option<String>,

    /// Folder with the built web app (Trunk's output). Default: `dist` in the
    /// working folder, else the installed `../share/gridlink/dist` beside the binary
    /// (`/usr/share/gridlink/dist` for `/usr/bin/gridlink`).
    #[arg(long, env = "GRIDLINK_STATIC_DIR", value_name = "DIR")]
    pub static_dir: Option<String>,

    /// Demo mode: generate and keep a master key in the data folder and seed demo data.
    /// Never use it in production.
    #[arg(long, env = "GRIDLINK_DEMO")]
    pub demo: bool,

    /// Password of the demo operator (demo mode only). Default: a random one, printed at start.
    #[arg(
        long,
        env = "GRIDLINK_DEMO_PASSWORD",
        value_name = "PASSWORD",
        hide_env_values = true
    )]
    pub demo_password: Option<String>,

    /// How often each connected credential's data is synced, e.g. `24h`, `6h`, `30m`.
    #[arg(
        long,
        env = "GRIDLINK_SYNC_INTERVAL",
        value_name = "DURATION",
        default_value = "24h"
    )]
    pub sync_interval: String,

    /// How long before a session token expires the SESSION_TOKEN_EXPIRING warning goes out.
    #[arg(
        long,
        env = "GRIDLINK_EXPIRY_WARNING",
        value_name = "DURATION",
        default_value = "7d"
    )]
    pub expiry_warning: String,

    /// A connected credential without a successful sync for this long is flagged stale
    /// (a CREDENTIAL_STALE webhook, once). Default: 3 × the sync interval.
    #[arg(long, env = "GRIDLINK_STALE_AFTER", value_name = "DURATION")]
    pub stale_after: Option<String>,

    /// How long the audit trail keeps a record; only this removes one.
    #[arg(
        long,
        env = "GRIDLINK_AUDIT_RETENTION",
        value_name = "DURATION",
        default_value = "400d"
    )]
    pub audit_retention: String,

    /// Syncs one server runs at once. Syncs mostly wait for utilities, so many can run
    /// on few cores; GRIDLINK_UTILITY_MAX_IN_FLIGHT keeps each utility's share polite.
    #[arg(
        long,
        env = "GRIDLINK_SYNC_CONCURRENCY",
        value_name = "COUNT",
        default_value = "256"
    )]
    pub sync_concurrency: String,

    /// Requests one server keeps open to any one utility at a time (logins, codes,
    /// syncs); calls beyond it wait their turn.
    #[arg(
        long,
        env = "GRIDLINK_UTILITY_MAX_IN_FLIGHT",
        value_name = "COUNT",
        default_value = "64"
    )]
    pub utility_max_in_flight: String,

    /// How long a claimed background job (login, sync, webhook) stays with a server that
    /// stopped answering before another replica takes it over.
    #[arg(
        long,
        env = "GRIDLINK_JOB_LEASE",
        value_name = "DURATION",
        default_value = "2m"
    )]
    pub job_lease: String,

    /// Serve HTTPS directly with this certificate chain (PEM), for deployments without a
    /// TLS-terminating proxy. Needs --tls-key.
    #[arg(long, env = "GRIDLINK_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<String>,

    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "GRIDLINK_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<String>,

    /// Let webhooks go to loopback, private, link-local and other non-public addresses
    /// (development and tests only; off by default, demo mode included).
    #[arg(long, env = "GRIDLINK_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,

    /// Comma-separated networks (CIDRs) of the proxies in front of Gridlink whose
    /// `X-Forwarded-For` / `Forwarded` headers name the client. Default: none (the peer
    /// address is the client).
    #[arg(long, env = "GRIDLINK_TRUSTED_PROXIES", value_name = "CIDR,…")]
    pub trusted_proxies: Option<String>,

    /// The header those proxies append the client's address to: `x-forwarded-for` or
    /// `forwarded`. Only this one is read, so a client cannot choose its address by
    /// sending the other.
    #[arg(
        long,
        env = "GRIDLINK_FORWARDED_HEADER",
        value_name = "HEADER",
        default_value = "x-forwarded-for"
    )]
    pub forwarded_header: String,

    /// How long a client has to send a request's headers; a keep-alive connection left
    /// idle this long is closed too.
    #[arg(
        long,
        env = "GRIDLINK_HEADER_TIMEOUT",
        value_name = "DURATION",
        default_value = "10s"
    )]
    pub header_timeout: String,

    /// How long a client has to send a request's whole body.
    #[arg(
        long,
        env = "GRIDLINK_BODY_TIMEOUT",
        value_name = "DURATION",
        default_value = "30s"
    )]
    pub body_timeout: String,

    /// Connections open at once; more are closed as they arrive.
    #[arg(
        long,
        env = "GRIDLINK_MAX_CONNECTIONS",
        value_name = "COUNT",
        default_value = "10000"
    )]
    pub max_connections: String,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Where the sandbox utilities and their mail catcher listen (`serve --sandbox`, `sandbox`).
#[derive(Debug, Clone, Args)]
pub struct SandboxAddresses {
    /// Address the sandbox utilities listen on.
    #[arg(
        id = "sandbox_listen",
        long = "sandbox-listen",
        env = "GRIDLINK_SANDBOX_LISTEN",
        value_name = "HOST:PORT",
        default_value = "127.0.0.1:3001"
    )]
    pub listen: String,

    /// Address the sandbox's mail catcher (SMTP) listens on; used for Gridlink's own mail
    /// when GRIDLINK_SMTP_URL is unset and the sandbox runs.
    #[arg(
        id = "sandbox_smtp_listen",
        long = "sandbox-smtp-listen",
        env = "GRIDLINK_SANDBOX_SMTP_LISTEN",
        value_name = "HOST:PORT",
        default_value = "127.0.0.1:2525"
    )]
    pub smtp_listen: String,
}

#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {
    #[command(flatten)]
    pub addresses: SandboxAddresses,

    /// Require every protocol call to be signed with this secret (`whsec_…`), as an
    /// adapter should.
    #[arg(
        long,
        env = "GRIDLINK_SANDBOX_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub secret: Option<String>,

    /// Offer only these utilities (comma-separated ids), e.g. to act as a second adapter.
    #[arg(long, env = "GRIDLINK_SANDBOX_UTILITIES", value_name = "IDS")]
    pub utilities: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// The package's settings file (packaging/debian/gridlink.env) lists every
    /// option of `serve`, so an operator finds each one there.
    #[test]
    fn the_packaged_settings_file_lists_every_serve_option() {
        let settings = include_str!("../../../packaging/debian/gridlink.env");
        let command = Cli::command();
        let serve = command.find_subcommand("serve").unwrap();
        let mut missing = Vec::new();
        for argument in serve.get_arguments().chain(command.get_arguments()) {
            let Some(variable) = argument.get_env() else {
                continue;
            };
            let variable = variable.to_string_lossy();
            if !settings.contains(&format!("#{variable}=")) {
                missing.push(variable.into_owned());
            }
        }
        assert!(missing.is_empty(), "not in gridlink.env: {missing:?}");
    }

    #[test]
    fn every_serve_option_names_its_environment_variable_in_help() {
        let help = Cli::command()
            .find_subcommand_mut("serve")
            .unwrap()
            .render_long_help()
            .to_string();
        for variable in [
            "GRIDLINK_LISTEN",
            "GRIDLINK_DATABASE_URL",
            "GRIDLINK_MASTER_KEY",
            "GRIDLINK_PUBLIC_URL",
            "GRIDLINK_SANDBOX",
            "GRIDLINK_SANDBOX_LISTEN",
            "GRIDLINK_SANDBOX_SMTP_LISTEN",
            "GRIDLINK_SMTP_URL",
            "GRIDLINK_MAIL_FROM",
            "GRIDLINK_UTILITY_URL",
            "GRIDLINK_DEMO_PASSWORD",
            "GRIDLINK_TLS_CERT",
            "GRIDLINK_TLS_KEY",
            "GRIDLINK_WEBHOOK_ALLOW_PRIVATE",
            "GRIDLINK_TRUSTED_PROXIES",
            "GRIDLINK_FORWARDED_HEADER",
            "GRIDLINK_HEADER_TIMEOUT",
            "GRIDLINK_BODY_TIMEOUT",
            "GRIDLINK_MAX_CONNECTIONS",
            "SSL_CERT_FILE",
        ] {
            assert!(help.contains(variable), "{variable} missing from --help");
        }
    }
}
