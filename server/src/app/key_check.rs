//! The master key check: a value sealed under each master key the first time
//! it is used, and opened at every start. A server given a different key (even
//! one with the same key id) would seal new rows under it and fail to open
//! every old one; instead it refuses to start, naming `GRIDLINK_MASTER_KEY`.

use crate::infra::config::{ConfigError, MASTER_KEY};
use crate::infra::crypto::Keyring;
use crate::infra::store::Database;

/// What the check value is bound to (associated data); it holds nothing secret.
const CHECK_CONTEXT: &str = "gridlink:master-key-check";
const CHECK_PLAINTEXT: &[u8] = b"gridlink master key check v1";

/// Verifies every stored check of a key in `keyring`, then records a check
/// for the current key if it has none yet.
pub async fn verify_master_key(
    db: &Database,
    keyring: &Keyring,
    now_ms: i64,
) -> Result<(), CheckError> {
    let checks: Vec<(String, String)> =
        sqlx::query_as("SELECT key_id, sealed_check FROM master_key_checks")
            .fetch_all(db.pool())
            .await?;
    for (key_id, sealed) in &checks {
        if !keyring.has_key(key_id) {
            // A key retired after a rotation: nothing sealed under it remains in use.
            continue;
        }
        let opened = keyring.open(sealed, CHECK_CONTEXT);
        if opened.as_deref() != Ok(CHECK_PLAINTEXT) {
            return Err(CheckError::WrongKey(ConfigError::new(
                MASTER_KEY,
                format!(
                    "the key with id {key_id:?} is not the key this database was sealed with; \
                     start with the original key (a different key would make every stored \
                     secret unreadable)"
                ),
            )));
        }
    }
    let current = keyring.current().id();
    if !checks.iter().any(|(key_id, _)| key_id == current) {
        sqlx::query(
            "INSERT INTO master_key_checks (key_id, sealed_check, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key_id) DO NOTHING",
        )
        .bind(current)
        .bind(keyring.seal(CHECK_PLAINTEXT, CHECK_CONTEXT))
        .bind(now_ms)
        .execute(&mut *db.writer().await?)
        .await?;
        // Another replica may have recorded one at the same moment: check what won.
        let (sealed,): (String,) =
            sqlx::query_as("SELECT sealed_check FROM master_key_checks WHERE key_id = $1")
                .bind(current)
                .fetch_one(db.pool())
                .await?;
        if keyring.open(&sealed, CHECK_CONTEXT).as_deref() != Ok(CHECK_PLAINTEXT) {
            return Err(CheckError::WrongKey(ConfigError::new(
                MASTER_KEY,
                format!("another server recorded a different key with the id {current:?}"),
            )));
        }
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    WrongKey(ConfigError),
    #[error("Failed to read or record the master key check: {0}")]
    Database(#[from] sqlx::Error),
}
