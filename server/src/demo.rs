//! Demo mode: a master key kept in the data folder, a demo organisation, and
//! a banner that makes it impossible to mistake this for production.

use std::path::Path;

use anyhow::Context;

use crate::crypto::MasterKey;
use crate::store::Database;

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

/// Creates the demo organisation unless it exists.
pub async fn seed(db: &Database, now_ms: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO organisations (id, name, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(DEMO_ORGANISATION_ID)
    .bind(DEMO_ORGANISATION_NAME)
    .bind(now_ms)
    .execute(db.pool())
    .await
    .context("Failed to seed the demo organisation")?;
    Ok(())
}

/// The banner printed on start in demo mode.
pub fn banner(app_url: &str, sandbox_url: Option<&str>) -> String {
    let rule = "=".repeat(72);
    let mut lines = vec![
        rule.clone(),
        "  GRIDLINK DEMO MODE: generated master key, demo data. Not for production.".to_owned(),
        String::new(),
        format!("  Dashboard:     {app_url}/dashboard"),
        format!("  Connect:       {app_url}/connect"),
        format!("  Organisation:  {DEMO_ORGANISATION_NAME}"),
    ];
    if let Some(sandbox_url) = sandbox_url {
        lines.push(format!(
            "  Sandbox:       {sandbox_url}  (codes sent appear at {sandbox_url}/outbox)"
        ));
    }
    lines.push(rule);
    lines.join("\n")
}
