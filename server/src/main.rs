//! The `gridlink` binary: parse the command line, run, and turn any failure
//! into one line on stderr and a non-zero exit code.

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use server::app::backup;
use server::app::cli::{Cli, Command};
use server::app::config::{DatabaseConfig, SandboxConfig, ServeConfig};
use server::app::telemetry::{self, LogFormat};
use server::app::{server as gridlink, shutdown};
use server::infra::config::ConfigError;
use server::infra::crypto::Keyring;
use server::infra::store::Database;
use server::tools::sandbox;
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = match LogFormat::parse(&cli.log_format)
        .map_err(anyhow::Error::from)
        .and_then(|format| telemetry::init(format, cli.log.as_deref()))
    {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("gridlink: error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let command = cli.into_command();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("gridlink: error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(command));
    drop(runtime);
    telemetry.shutdown();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("gridlink: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    tokio::spawn(shutdown::cancel_on_signal(shutdown.clone()));
    match command {
        Command::Serve(args) => {
            let config = ServeConfig::from_args(&args)?;
            gridlink::start(config, shutdown).await?.wait().await
        }
        Command::Sandbox(args) => {
            let config = SandboxConfig::from_args(&args)?;
            let listener =
                gridlink::bind(server::infra::config::SANDBOX_LISTEN, config.listen).await?;
            let smtp = gridlink::bind(
                server::infra::config::SANDBOX_SMTP_LISTEN,
                config.smtp_listen,
            )
            .await?;
            tracing::info!(url = %format!("http://{}", listener.local_addr()?), "sandbox utilities listening");
            tracing::info!(address = %smtp.local_addr()?, "sandbox mail catcher (SMTP) listening");
            sandbox::serve_all(
                listener,
                smtp,
                shutdown,
                sandbox::Sandbox::with_options(config.options),
            )
            .await
        }
        Command::Migrate(args) => {
            let config = DatabaseConfig::from_args(&args)?;
            let db = Database::connect(&config.url).await?;
            db.migrate().await?;
            db.close().await;
            println!("Migrations applied to {}", config.url.redacted());
            Ok(())
        }
        Command::RotateKey(args) => {
            let keyring =
                server::infra::crypto::Keyring::parse(&args.master_key).map_err(|problem| {
                    server::infra::config::ConfigError::new(
                        server::infra::config::MASTER_KEY,
                        problem,
                    )
                })?;
            let config = DatabaseConfig::from_args(&args.database)?;
            let db = Database::connect(&config.url).await?;
            db.migrate().await?;
            let now_ms = server::infra::clock::Clock::default().now_ms();
            server::app::key_check::verify_master_key(&db, &keyring, now_ms).await?;
            let report = server::domain::key_rotation::rotate(&db, &keyring).await?;
            db.close().await;
            println!(
                "Re-sealed {} secret(s) under key {:?}; {} already used it. Keys other than the first can now be removed.",
                report.resealed,
                keyring.current().id(),
                report.already_current
            );
            Ok(())
        }
        Command::Conformance(args) => {
            let options = server::app::config::conformance_options(&args)?;
            let report = server::tools::conformance::run(options).await;
            print!("{}", report.table());
            let failed = report.failures().len();
            anyhow::ensure!(failed == 0, "{failed} conformance checks failed");
            Ok(())
        }
        Command::Backup(args) => {
            let config = DatabaseConfig::from_args(&args.database)?;
            let contents = backup::backup(&config.url, Path::new(&args.to)).await?;
            println!("Snapshot written to {}:\n{contents}", args.to);
            println!(
                "The master key is not in it: keep GRIDLINK_MASTER_KEY apart from the backup."
            );
            Ok(())
        }
        Command::Restore(args) => {
            let config = DatabaseConfig::from_args(&args.database)?;
            let contents = backup::restore(Path::new(&args.from), &config.url).await?;
            println!(
                "Restored {} to {}:\n{contents}",
                args.from,
                config.url.redacted()
            );
            println!("Start Gridlink with the master key the backup was made under; `gridlink migrate` brings an older schema forward.");
            Ok(())
        }
        Command::VerifyBackup(args) => {
            let keyring = Keyring::parse(&args.master_key)
                .map_err(|problem| ConfigError::new(server::infra::config::MASTER_KEY, problem))?;
            let config = DatabaseConfig::from_args(&args.database)?;
            let file = args.file.as_deref().map(Path::new);
            let verification = backup::verify(file, &config.url, &keyring).await?;
            print!("{verification}");
            let unopened = verification.unopened();
            anyhow::ensure!(
                unopened == 0,
                "{unopened} sealed secret(s) did not open with this master key"
            );
            println!("Every sealed secret opened with the master key.");
            Ok(())
        }
        Command::CreateOrganisation(args) => {
            let config = DatabaseConfig::from_args(&args.database)?;
            let db = Database::connect(&config.url).await?;
            db.migrate().await?;
            let now = server::infra::clock::Clock::default().now_ms();
            let created = server::domain::organisations::create_with_admin(
                &db,
                &args.name,
                &args.admin_email,
                &args.admin_password,
                now,
            )
            .await?;
            db.close().await;
            println!(
                "Organisation {} created with admin {} ({}).",
                created.organisation_id, args.admin_email, created.operator_id
            );
            Ok(())
        }
    }
}
