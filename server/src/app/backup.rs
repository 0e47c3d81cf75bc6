//! `gridlink backup`, `gridlink restore` and `gridlink verify-backup`.
//!
//! A backup of a SQLite deployment is one SQLite file, taken online with
//! `VACUUM INTO`: a consistent snapshot of the moment it began, while requests
//! and jobs keep writing. It holds the schema version (the migrations table)
//! and every row, secrets still sealed. It does NOT hold the master key: keep
//! that apart, or the backup's secrets can never be opened again.
//! PostgreSQL deployments back up with `pg_dump`; `verify-backup` then checks
//! the restored database (README, "Operations").

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context};
use sqlx::{AnyConnection, Connection};

use crate::domain::key_rotation::{open_every_secret, SealedCount};
use crate::infra::config::DatabaseUrl;
use crate::infra::crypto::Keyring;
use crate::infra::store::{Database, DatabaseKind};

/// What a snapshot holds, as `backup` and `verify-backup` report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contents {
    pub schema_version: i64,
    pub organisations: i64,
    pub credentials: i64,
    pub update_links: i64,
    pub queued_webhooks: i64,
    pub queued_mail: i64,
}

impl std::fmt::Display for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "schema version   {}", self.schema_version)?;
        writeln!(f, "organisations    {}", self.organisations)?;
        writeln!(f, "credentials      {}", self.credentials)?;
        writeln!(f, "update links     {}", self.update_links)?;
        writeln!(f, "queued webhooks  {}", self.queued_webhooks)?;
        write!(f, "queued mail      {}", self.queued_mail)
    }
}

/// Snapshots the SQLite database at `database` into `to`, which must not
/// exist yet. The file is written beside `to` and renamed into place, so a
/// backup interrupted midway leaves no file that looks complete.
pub async fn backup(database: &DatabaseUrl, to: &Path) -> anyhow::Result<Contents> {
    let DatabaseUrl::Sqlite { path } = database else {
        bail!(
            "gridlink backup takes SQLite snapshots; back up PostgreSQL with pg_dump \
             (README, Operations), then check it with gridlink verify-backup --database-url"
        );
    };
    ensure!(path.is_file(), "no database at {}", path.display());
    ensure!(
        !to.exists(),
        "{} exists already: choose a new file for each backup",
        to.display()
    );
    let partial = with_suffix(to, ".partial");
    let _ = std::fs::remove_file(&partial);
    let mut live = open_sqlite(path, "ro").await?;
    sqlx::query("VACUUM INTO $1")
        .bind(partial.to_string_lossy().into_owned())
        .execute(&mut live)
        .await
        .with_context(|| format!("Failed to write the snapshot to {}", partial.display()))?;
    live.close().await?;
    keep_private(&partial)?;
    let contents = {
        let mut snapshot = open_sqlite(&partial, "ro").await?;
        let contents = read_contents(&mut snapshot).await?;
        snapshot.close().await?;
        contents
    };
    std::fs::rename(&partial, to)
        .with_context(|| format!("Failed to move the snapshot to {}", to.display()))?;
    Ok(contents)
}

/// Restores the snapshot `from` as the SQLite database at `database`, whose
/// folder must be empty or absent: a restore never overwrites data. Refuses a
/// damaged snapshot and one from a newer Gridlink (a later schema).
pub async fn restore(from: &Path, database: &DatabaseUrl) -> anyhow::Result<Contents> {
    let DatabaseUrl::Sqlite { path } = database else {
        bail!("gridlink restore restores SQLite snapshots; restore PostgreSQL with pg_restore (README, Operations)");
    };
    let folder = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if folder.exists() {
        let mut entries = std::fs::read_dir(folder)
            .with_context(|| format!("Failed to read {}", folder.display()))?;
        ensure!(
            entries.next().is_none(),
            "the data directory {} is not empty: restore into an empty one (move what is there aside first)",
            folder.display()
        );
    }
    let contents = check_snapshot(from).await?;
    std::fs::create_dir_all(folder)
        .with_context(|| format!("Failed to create {}", folder.display()))?;
    let partial = with_suffix(path, ".partial");
    std::fs::copy(from, &partial)
        .with_context(|| format!("Failed to copy {} into place", from.display()))?;
    keep_private(&partial)?;
    std::fs::rename(&partial, path)
        .with_context(|| format!("Failed to move the database to {}", path.display()))?;
    Ok(contents)
}

/// What `verify-backup` found.
#[derive(Debug, Clone)]
pub struct Verification {
    pub contents: Contents,
    pub secrets: Vec<SealedCount>,
}

impl Verification {
    pub fn unopened(&self) -> u64 {
        self.secrets.iter().map(|count| count.unopened).sum()
    }
}

impl std::fmt::Display for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.contents)?;
        for count in &self.secrets {
            writeln!(
                f,
                "sealed {}.{}: {} opened, {} did not",
                count.table, count.column, count.opened, count.unopened
            )?;
        }
        Ok(())
    }
}

/// Opens the snapshot `file` (or, without one, the database at `database`:
/// a restored PostgreSQL one) read-only, checks its schema, and opens every
/// sealed secret with `keyring`.
pub async fn verify(
    file: Option<&Path>,
    database: &DatabaseUrl,
    keyring: &Keyring,
) -> anyhow::Result<Verification> {
    let mut connection = match (file, database) {
        (Some(file), _) => {
            check_snapshot(file).await?;
            open_sqlite(file, "ro").await?
        }
        (None, DatabaseUrl::Sqlite { path }) => {
            ensure!(path.is_file(), "no database at {}", path.display());
            open_sqlite(path, "ro").await?
        }
        (None, DatabaseUrl::Postgres { url }) => {
            sqlx::any::install_default_drivers();
            let mut connection = AnyConnection::connect(url)
                .await
                .with_context(|| format!("Failed to open {}", database.redacted()))?;
            let newest = Database::latest_schema_version(DatabaseKind::Postgres);
            let version = schema_version(&mut connection).await?;
            ensure_not_newer(version, newest)?;
            connection
        }
    };
    let contents = read_contents(&mut connection).await?;
    let secrets = open_every_secret(&mut connection, keyring).await?;
    connection.close().await?;
    Ok(Verification { contents, secrets })
}

/// The snapshot is a whole SQLite database of a schema this build knows.
async fn check_snapshot(file: &Path) -> anyhow::Result<Contents> {
    ensure!(file.is_file(), "no snapshot at {}", file.display());
    let mut snapshot = open_sqlite(file, "ro")
        .await
        .with_context(|| format!("{} is not a SQLite snapshot", file.display()))?;
    let (integrity,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut snapshot)
        .await
        .with_context(|| format!("{} is not a SQLite snapshot", file.display()))?;
    ensure!(
        integrity == "ok",
        "{} is damaged: {integrity}",
        file.display()
    );
    let contents = read_contents(&mut snapshot).await?;
    ensure_not_newer(
        contents.schema_version,
        Database::latest_schema_version(DatabaseKind::Sqlite),
    )?;
    snapshot.close().await?;
    Ok(contents)
}

fn ensure_not_newer(version: i64, newest: i64) -> anyhow::Result<()> {
    ensure!(
        version <= newest,
        "the backup has schema version {version}, newer than this Gridlink's {newest}: \
         restore it with the Gridlink release that made it, or a later one"
    );
    Ok(())
}

async fn schema_version(connection: &mut AnyConnection) -> anyhow::Result<i64> {
    let (version,): (Option<i64>,) =
        sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *connection)
            .await
            .context("Not a Gridlink database: it has no migrations table")?;
    version.context("Not a Gridlink database: no migration was applied")
}

async fn read_contents(connection: &mut AnyConnection) -> anyhow::Result<Contents> {
    let schema_version = schema_version(connection).await?;
    let mut count = async |sql: &str| -> anyhow::Result<i64> {
        let (count,): (i64,) = sqlx::query_as(sql).fetch_one(&mut *connection).await?;
        Ok(count)
    };
    Ok(Contents {
        schema_version,
        organisations: count("SELECT COUNT(*) FROM organisations").await?,
        credentials: count("SELECT COUNT(*) FROM credentials WHERE deactivated_at IS NULL").await?,
        update_links: count("SELECT COUNT(*) FROM connect_sessions WHERE purpose = 'UPDATE_LINK'")
            .await?,
        queued_webhooks: count("SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'PENDING'")
            .await?,
        queued_mail: count("SELECT COUNT(*) FROM mail_outbox WHERE state = 'PENDING'").await?,
    })
}

async fn open_sqlite(path: &Path, mode: &str) -> anyhow::Result<AnyConnection> {
    sqlx::any::install_default_drivers();
    AnyConnection::connect(&format!("sqlite://{}?mode={mode}", path.display()))
        .await
        .with_context(|| format!("Failed to open {}", path.display()))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// Snapshots hold sealed secrets and password hashes: owner-only.
fn keep_private(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("Failed to restrict {}", path.display()))?;
    }
    Ok(())
}
