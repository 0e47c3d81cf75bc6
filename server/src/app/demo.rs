//! Demo mode: a master key kept in the data folder, a demo organisation, and
//! a banner that makes it impossible to mistake this for production.

use std::path::Path;

use anyhow::Context;

use shared::credentials::Owner;
use shared::validation::{Password, Username};

use crate::app::config::DemoSettings;
use crate::domain::audit::AuditActor;
use crate::domain::credentials::ValidatedCredential;
use crate::domain::lifecycle::records::insert_credential;
use crate::http::state::AppState;
use crate::infra::crypto::MasterKey;
use crate::infra::passwords::hash_password;
use shared::audit::AuditActorKind;

pub const DEMO_ORGANISATION_ID: &str = "org_demo";
pub const DEMO_ORGANISATION_NAME: &str = "Demo Energy Co";

/// Reads the demo master key from `DATA_DIR/master.key`, creating it (readable
/// only by this user) on first start.
pub fn load_or_create_master_key(data_dir: &Path) -> anyhow::Result<MasterKey> {
    let path = data_dir.join("master.key");
    match std::fs::read_to_string(&path) {
        Ok(value) => MasterKey::parse(&value)
            .map_err(|problem| anyhow::anyhow!("{}: {problem}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir).with_context(|| {
                format!("Failed to create the data folder {}", data_dir.display())
            })?;
            let key = MasterKey::generate("demo");
            write_private_file(&path, &key.to_config_value()).with_context(|| {
                format!("Failed to write the demo master key to {}", path.display())
            })?;
            Ok(key)
        }
        Err(error) => Err(error).with_context(|| format!("Failed to read {}", path.display())),
    }
}

fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

/// The demo operator's email address.
pub const DEMO_OPERATOR_EMAIL: &str = "demo@example.com";

/// Seeds the demo organisation, its admin operator (whose password is reset to
/// the configured or a fresh random one, returned for the banner), and, on the
/// first start, credentials in several states so the dashboard is not empty.
pub async fn seed(state: &AppState, settings: &DemoSettings) -> anyhow::Result<String> {
    let db = &state.db;
    let now = state.clock.now_ms();
    sqlx::query("INSERT INTO organisations (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
        .bind(DEMO_ORGANISATION_ID)
        .bind(DEMO_ORGANISATION_NAME)
        .bind(now)
        .execute(&mut *db.writer().await?)
        .await
        .context("Failed to seed the demo organisation")?;
    let password = settings.operator_password.clone().unwrap_or_else(|| {
        crate::infra::tokens::generate("")
            .chars()
            .take(16)
            .collect()
    });
    let password_hash = hash_password(password.clone()).await?;
    sqlx::query(
        "INSERT INTO operators (id, organisation_id, email, password_hash, role, created_at) \
         VALUES ($1, $2, $3, $4, 'ADMIN', $5) \
         ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash, removed_at = NULL",
    )
    .bind("op_demo")
    .bind(DEMO_ORGANISATION_ID)
    .bind(DEMO_OPERATOR_EMAIL)
    .bind(password_hash)
    .bind(now)
    .execute(&mut *db.writer().await?)
    .await
    .context("Failed to seed the demo operator")?;
    seed_credentials(state).await?;
    Ok(password)
}

/// Sandbox logins that land in different states through real background logins.
const DEMO_LOGINS: [(&str, &str, &str, &str); 6] = [
    (
        "sandbox-water",
        "user_nomfa",
        "pass_good",
        "demo-home-water",
    ),
    (
        "sandbox-electric",
        "user_nomfa",
        "pass_good",
        "demo-home-electric",
    ),
    (
        "sandbox-electric",
        "user_good",
        "pass_good",
        "demo-awaiting-verification",
    ),
    (
        "sandbox-electric",
        "user_locked",
        "pass_good",
        "demo-locked",
    ),
    (
        "sandbox-legacy",
        "user_good",
        "pass_good",
        "demo-security-questions",
    ),
    (
        "sandbox-municipal-power",
        "user_good",
        "wrong_password",
        "demo-wrong-password",
    ),
];

async fn seed_credentials(state: &AppState) -> anyhow::Result<()> {
    let (existing,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM credentials WHERE organisation_id = $1")
            .bind(DEMO_ORGANISATION_ID)
            .fetch_one(state.db.pool())
            .await?;
    if existing > 0 {
        return Ok(());
    }
    let seeder = AuditActor::new(AuditActorKind::System, None, "demo seed", "", "");
    for (utility_id, username, password, correlation_id) in DEMO_LOGINS {
        let credential = ValidatedCredential {
            utility_id: utility_id.to_owned(),
            username: Username::parse(username).map_err(|error| anyhow::anyhow!("{error}"))?,
            password: Password::parse(password).map_err(|error| anyhow::anyhow!("{error}"))?,
            correlation_id: Some(correlation_id.to_owned()),
            owner: Owner::EndUser,
            contact: None,
        };
        insert_credential(
            state,
            DEMO_ORGANISATION_ID,
            &credential,
            "demo:seed",
            &seeder,
        )
        .await
        .map_err(|error| anyhow::anyhow!("Failed to seed a demo credential: {error}"))?;
    }
    state.wakeups.logins.notify_one();
    Ok(())
}
